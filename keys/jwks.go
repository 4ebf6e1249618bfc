package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// ErrDuplicateKID means two different keys were configured with one kid, so
// a verifier could not tell which one a token names.
var ErrDuplicateKID = errors.New("two different keys share a kid")

// Set is the current signing key and the public keys of retired ones. It
// renders the JWKS and verifies the tokens signed by any of its keys. A Set
// is safe for concurrent use.
type Set struct {
	current *Key
	public  []*PublicKey // current first, then previous, in the order given
	byID    map[string]*PublicKey
	jwks    []byte

	verified verifiedTokens // tokens that Verify accepted
}

// NewSet returns the set of current and the previous public keys. A previous
// key equal to one already listed is dropped; a different key under a kid
// already listed gives an error wrapping [ErrDuplicateKID].
func NewSet(current *Key, previous ...*PublicKey) (*Set, error) {
	s := &Set{current: current, byID: make(map[string]*PublicKey)}
	for _, p := range append([]*PublicKey{current.Public()}, previous...) {
		if err := s.add(p); err != nil {
			return nil, err
		}
	}

	data, err := json.Marshal(struct {
		Keys []*PublicKey `json:"keys"`
	}{s.public})
	if err != nil {
		return nil, fmt.Errorf("encoding JWKS: %w", err)
	}
	s.jwks = data
	return s, nil
}

// Current returns the key that signs new tokens.
func (s *Set) Current() *Key {
	return s.current
}

// Keys returns the public keys of the set, the current one first.
func (s *Set) Keys() []*PublicKey {
	return slices.Clone(s.public)
}

// JWKS returns the JSON document {"keys": [...]} with the public JWK of the
// current key and of each previous key, each with kid, alg and use "sig".
func (s *Set) JWKS() []byte {
	return slices.Clone(s.jwks)
}

// add lists p unless an equal key is listed already.
func (s *Set) add(p *PublicKey) error {
	if old, ok := s.byID[p.ID]; ok {
		if old.Equal(p) {
			return nil
		}
		return fmt.Errorf("kid %q: %w", p.ID, ErrDuplicateKID)
	}

	s.byID[p.ID] = p
	s.public = append(s.public, p)
	return nil
}
