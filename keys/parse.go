package keys

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/ecdh"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
)

// Parse returns the key that private holds and checks it against public,
// which may be empty: then the public key is derived from the private one.
//
// Each value is a JSON Web Key, encoded in base64 (standard or URL-safe,
// padded or not) or given as plain JSON, or a PEM key: PKCS #8, PKCS #1 or
// SEC 1 for the private key, PKIX or PKCS #1 for the public one.
//
// The kid is the one the JWK carries, else one derived from the key's RFC
// 7638 thumbprint, so a key gets the same kid in every encoding. The alg is
// the JWK's, else inferred: RS256 for RSA, ES256 for EC P-256, EdDSA for
// Ed25519. When only the public JWK states a kid or alg, the key takes it.
//
// Errors wrap ErrKeyFormat, ErrKeyAlgorithm, ErrSymmetricKey or
// ErrKeyMismatch, and never contain key material.
func Parse(private, public string) (*Key, error) {
	priv, err := decodeOne(private)
	if err != nil {
		return nil, fmt.Errorf("parsing private key: %w", err)
	}
	if priv.signer == nil {
		return nil, fmt.Errorf("parsing private key: value holds a public key: %w", ErrKeyFormat)
	}

	if strings.TrimSpace(public) != "" {
		pub, err := decodeOne(public)
		if err != nil {
			return nil, fmt.Errorf("parsing public key: %w", err)
		}
		if err := priv.adopt(pub); err != nil {
			return nil, fmt.Errorf("checking public key: %w", err)
		}
	}

	id, alg, err := priv.settle()
	if err != nil {
		return nil, fmt.Errorf("parsing private key: %w", err)
	}
	return newKey(id, alg, priv.signer)
}

// ParsePublic returns the public key that s holds, in the encodings Parse
// accepts. A private key is refused, so that a secret is not configured
// where a public value is expected.
func ParsePublic(s string) (*PublicKey, error) {
	m, err := decodeOne(s)
	if err != nil {
		return nil, fmt.Errorf("parsing public key: %w", err)
	}
	return m.publicKey()
}

// ParsePublicKeys returns the public keys that values hold, such as the keys
// of earlier rotations that stay in the JWKS. Each value is one key as
// ParsePublic takes it, a JWKS ({"keys": [...]}) in the same encodings, or a
// PEM bundle of several public keys. Empty values are skipped.
func ParsePublicKeys(values ...string) ([]*PublicKey, error) {
	var out []*PublicKey
	for i, v := range values {
		if strings.TrimSpace(v) == "" {
			continue
		}

		ms, err := decode(v)
		if err != nil {
			return nil, fmt.Errorf("parsing public key %d: %w", i+1, err)
		}
		for _, m := range ms {
			p, err := m.publicKey()
			if err != nil {
				return nil, fmt.Errorf("parsing public key %d: %w", i+1, err)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// material is a key as one encoding gives it, before its ID and algorithm
// are settled.
type material struct {
	signer crypto.Signer // nil for a public key
	public crypto.PublicKey
	kid    string // empty when the encoding states none
	alg    string // empty when the encoding states none
}

// adopt checks that pub is the public half of m and takes the kid and alg
// that only pub states.
func (m *material) adopt(pub *material) error {
	if pub.signer != nil {
		return fmt.Errorf("value holds a private key: %w", ErrKeyFormat)
	}
	if !sameKey(m.public, pub.public) {
		return ErrKeyMismatch
	}

	if m.kid != "" && pub.kid != "" && m.kid != pub.kid {
		return fmt.Errorf("kid %q differs from private kid %q: %w", pub.kid, m.kid, ErrKeyMismatch)
	}
	if m.alg != "" && pub.alg != "" && m.alg != pub.alg {
		return fmt.Errorf("alg %q differs from private alg %q: %w", pub.alg, m.alg, ErrKeyMismatch)
	}

	m.kid = cmp.Or(m.kid, pub.kid)
	m.alg = cmp.Or(m.alg, pub.alg)
	return nil
}

// settle returns the kid and algorithm of m, deriving those it lacks.
func (m *material) settle() (id, alg string, err error) {
	alg, err = settleAlg(m.alg, m.public)
	if err != nil {
		return "", "", err
	}

	id = m.kid
	if id == "" {
		id, err = thumbprintKID(m.public)
	}
	return id, alg, err
}

// publicKey settles m as a public key.
func (m *material) publicKey() (*PublicKey, error) {
	if m.signer != nil {
		return nil, fmt.Errorf("value holds a private key; give the public key: %w", ErrKeyFormat)
	}

	id, alg, err := m.settle()
	if err != nil {
		return nil, err
	}
	return newPublicKey(id, alg, m.public)
}

// decodeOne decodes s, which must hold exactly one key.
func decodeOne(s string) (*material, error) {
	ms, err := decode(s)
	if err != nil {
		return nil, err
	}
	if len(ms) != 1 {
		return nil, fmt.Errorf("value holds %d keys, want 1: %w", len(ms), ErrKeyFormat)
	}
	return ms[0], nil
}

// decode reads the keys in s: a PEM text, a JSON JWK or JWKS, or either of
// those encoded in base64.
func decode(s string) ([]*material, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, fmt.Errorf("value is empty: %w", ErrKeyFormat)
	case strings.HasPrefix(s, "-----BEGIN"):
		return decodePEM([]byte(s))
	case strings.HasPrefix(s, "{"):
		return decodeJSON([]byte(s))
	}

	data, err := decodeBase64(s)
	if err != nil {
		return nil, err
	}

	data = bytes.TrimSpace(data)
	if bytes.HasPrefix(data, []byte("-----BEGIN")) {
		return decodePEM(data)
	}
	return decodeJSON(data)
}

// decodeBase64 decodes s in any of the four base64 alphabets and paddings,
// ignoring line breaks and spaces.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Join(strings.Fields(s), "")
	encodings := []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	}
	for _, enc := range encodings {
		if data, err := enc.DecodeString(s); err == nil {
			return data, nil
		}
	}
	return nil, fmt.Errorf("value is neither PEM nor base64: %w", ErrKeyFormat)
}

// decodeJSON reads a JWK, or each key of a JWKS.
func decodeJSON(data []byte) ([]*material, error) {
	var doc struct {
		jwk
		Keys []jwk `json:"keys"`
	}
	// the decoder's message could quote the input, so it is left out
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("value is not a JSON Web Key: %w", ErrKeyFormat)
	}

	if doc.Keys == nil {
		m, err := fromJWK(&doc.jwk)
		if err != nil {
			return nil, err
		}
		return []*material{m}, nil
	}

	out := make([]*material, 0, len(doc.Keys))
	for i := range doc.Keys {
		m, err := fromJWK(&doc.Keys[i])
		if err != nil {
			return nil, fmt.Errorf("JWKS key %d: %w", i+1, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// fromJWK decodes one JWK.
func fromJWK(j *jwk) (*material, error) {
	if j.Kty == "oct" || j.K != "" {
		return nil, fmt.Errorf("kty %q: %w", j.Kty, ErrSymmetricKey)
	}
	if isSymmetricAlg(j.Alg) {
		return nil, fmt.Errorf("alg %q: %w", j.Alg, ErrSymmetricKey)
	}
	if j.Use != "" && j.Use != "sig" {
		return nil, fmt.Errorf("JWK use is %q, not \"sig\": %w", j.Use, ErrKeyFormat)
	}

	public, err := j.publicKey()
	if err != nil {
		return nil, err
	}
	m := &material{public: public, kid: j.Kid, alg: j.Alg}
	if j.D == "" {
		return m, nil
	}

	m.signer, err = j.privateKey(public)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// decodePEM reads the key blocks of a PEM text, skipping EC PARAMETERS.
func decodePEM(data []byte) ([]*material, error) {
	var out []*material
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type == "EC PARAMETERS" {
			continue
		}

		m, err := fromPEMBlock(block)
		if err != nil {
			return nil, fmt.Errorf("PEM block %q: %w", block.Type, err)
		}
		out = append(out, m)
	}

	if len(out) == 0 {
		return nil, fmt.Errorf("PEM text holds no key: %w", ErrKeyFormat)
	}
	return out, nil
}

// fromPEMBlock decodes one PEM block. Parser messages are left out: some
// quote the input.
func fromPEMBlock(block *pem.Block) (*material, error) {
	if _, ok := block.Headers["Proc-Type"]; ok || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("encrypted keys are not supported: %w", ErrKeyFormat)
	}

	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("not a key block: %w", ErrKeyFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("damaged or unsupported DER: %w", ErrKeyFormat)
	}
	return fromParsedKey(key)
}

// fromParsedKey wraps a key that crypto/x509 returned.
func fromParsedKey(key any) (*material, error) {
	switch key := key.(type) {
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return nil, fmt.Errorf("X25519 keys cannot sign: %w", ErrKeyAlgorithm)
	case crypto.Signer:
		return &material{signer: key, public: key.Public()}, nil
	}

	if _, err := publicJWK(key); err != nil {
		return nil, err
	}
	return &material{public: key}, nil
}
