package keys

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// The algorithms that [Generate] and [LoadOrCreate] support.
const (
	// RS256 is RSA PKCS #1 v1.5 with SHA-256; generated keys have 2048 bits.
	RS256 = "RS256"
	// ES256 is ECDSA on the P-256 curve with SHA-256.
	ES256 = "ES256"
	// EdDSA is Ed25519.
	EdDSA = "EdDSA"
)

// DefaultAlg is the algorithm used when none is configured.
const DefaultAlg = RS256

const (
	kidPrefix  = "psmongo-"
	kidHexLen  = 10
	rsaBits    = 2048
	minRSABits = 2048
)

var (
	// ErrKeyFormat means a value is neither a base64 JSON JWK nor a PEM key
	// of a supported kind, is damaged, or holds the wrong half of a key pair.
	ErrKeyFormat = errors.New("invalid key format")

	// ErrKeyAlgorithm means a key has no algorithm and none can be inferred,
	// or its algorithm does not fit the key.
	ErrKeyAlgorithm = errors.New("unusable key algorithm")

	// ErrSymmetricKey means a key is a shared secret (kty oct or an HS*
	// algorithm), which psmongo refuses: anyone who can verify could sign.
	ErrSymmetricKey = errors.New("symmetric key; use RS256, ES256 or EdDSA")

	// ErrKeyMismatch means the configured public key is not the public half
	// of the private key, or the two carry different kids or algorithms.
	ErrKeyMismatch = errors.New("public key does not match private key")
)

// Key is a private signing key with its key ID and JWS algorithm.
//
// Its String and GoString methods print only the ID and algorithm, so a Key
// passed to a logger by mistake reveals nothing secret.
type Key struct {
	// ID is the key ID ("kid") that every token signed with the key carries.
	ID string
	// Alg is the JWS algorithm, such as RS256.
	Alg string

	signer crypto.Signer
	public *PublicKey
}

// Generate returns a new key for alg (RS256, ES256 or EdDSA; empty means
// [DefaultAlg]) with a random kid of the form psmongo-<10 hex digits>.
// An unsupported alg gives an error wrapping [ErrKeyAlgorithm].
func Generate(alg string) (*Key, error) {
	alg = cmp.Or(alg, DefaultAlg)
	if err := checkGenerateAlg(alg); err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}

	signer, err := generateSigner(alg)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}

	return newKey(randomKID(), alg, signer)
}

// Public returns the public half of k, with the same ID and algorithm.
func (k *Key) Public() *PublicKey {
	return k.public
}

// PrivateString returns k as a private JSON Web Key (with kid, alg and use)
// encoded in standard base64: the value for POWERSYNC_PRIVATE_KEY.
func (k *Key) PrivateString() (string, error) {
	data, err := k.privateJSON()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(data), nil
}

// PublicString returns the public half of k as a JSON Web Key encoded in
// standard base64: the value for POWERSYNC_PUBLIC_KEY.
func (k *Key) PublicString() (string, error) {
	return k.public.String(), nil
}

// String returns the key's ID and algorithm, never its material.
func (k *Key) String() string {
	return fmt.Sprintf("keys.Key{ID: %s, Alg: %s}", k.ID, k.Alg)
}

// GoString is like String, so that %#v reveals no key material either.
func (k *Key) GoString() string {
	return k.String()
}

// privateJSON returns k as a private JSON Web Key.
func (k *Key) privateJSON() ([]byte, error) {
	j, err := privateJWK(k.signer)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}

	j.Kid, j.Alg, j.Use = k.ID, k.Alg, "sig"
	return json.Marshal(j)
}

// PublicKey is a public verification key with its key ID and JWS algorithm.
type PublicKey struct {
	// ID is the key ID ("kid") of the tokens the key verifies.
	ID string
	// Alg is the JWS algorithm, such as RS256.
	Alg string

	key crypto.PublicKey
	jwk jwk
}

// String returns p as a JSON Web Key (with kid, alg and use "sig") encoded in
// standard base64, the form POWERSYNC_PUBLIC_KEY takes.
func (p *PublicKey) String() string {
	data, _ := json.Marshal(p.jwk) // a struct of strings always encodes
	return base64.StdEncoding.EncodeToString(data)
}

// MarshalJSON returns p as a JSON Web Key with kid, alg and use "sig", as it
// appears in a JWKS.
func (p *PublicKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(p.jwk)
}

// Equal reports whether p and q hold the same key material, ID and
// algorithm.
func (p *PublicKey) Equal(q *PublicKey) bool {
	return p.ID == q.ID && p.Alg == q.Alg && sameKey(p.key, q.key)
}

// newKey assembles a Key and precomputes its public half.
func newKey(id, alg string, signer crypto.Signer) (*Key, error) {
	public, err := newPublicKey(id, alg, signer.Public())
	if err != nil {
		return nil, err
	}
	return &Key{ID: id, Alg: alg, signer: signer, public: public}, nil
}

// newPublicKey assembles a PublicKey and precomputes its JWK.
func newPublicKey(id, alg string, key crypto.PublicKey) (*PublicKey, error) {
	j, err := publicJWK(key)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}

	j.Kid, j.Alg, j.Use = id, alg, "sig"
	return &PublicKey{ID: id, Alg: alg, key: key, jwk: j}, nil
}

// generateSigner makes the key material for alg.
func generateSigner(alg string) (crypto.Signer, error) {
	switch alg {
	case RS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("alg %q: %w", alg, ErrKeyAlgorithm)
}

// checkGenerateAlg refuses the algorithms that Generate does not support.
func checkGenerateAlg(alg string) error {
	switch alg {
	case RS256, ES256, EdDSA:
		return nil
	}
	return fmt.Errorf("alg %q is not one of RS256, ES256, EdDSA: %w", alg, ErrKeyAlgorithm)
}

// randomKID returns psmongo- and 10 random lowercase hex digits.
func randomKID() string {
	b := make([]byte, kidHexLen/2)
	rand.Read(b) // never fails: crypto/rand aborts the program instead
	return kidPrefix + hex.EncodeToString(b)
}

// sameKey reports whether a and b are the same public key.
func sameKey(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
