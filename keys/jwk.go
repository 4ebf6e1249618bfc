package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// jwk is a JSON Web Key (RFC 7517, RFC 7518 section 6, RFC 8037) of the
// kinds this package reads and writes. The private members stay empty in a
// public key.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	D   string `json:"d,omitempty"`
	P   string `json:"p,omitempty"`
	Q   string `json:"q,omitempty"`
	DP  string `json:"dp,omitempty"`
	DQ  string `json:"dq,omitempty"`
	QI  string `json:"qi,omitempty"`

	// K and Oth are read only to refuse symmetric and multi-prime keys.
	K   string          `json:"k,omitempty"`
	Oth json.RawMessage `json:"oth,omitempty"`
}

// publicJWK returns the public members of key.
func publicJWK(key crypto.PublicKey) (jwk, error) {
	switch key := key.(type) {
	case *rsa.PublicKey:
		e := big.NewInt(int64(key.E))
		return jwk{Kty: "RSA", N: b64(key.N.Bytes()), E: b64(e.Bytes())}, nil
	case *ecdsa.PublicKey:
		point, err := key.Bytes()
		if err != nil {
			return jwk{}, err
		}
		size := (len(point) - 1) / 2
		x, y := point[1:1+size], point[1+size:]
		return jwk{Kty: "EC", Crv: key.Curve.Params().Name, X: b64(x), Y: b64(y)}, nil
	case ed25519.PublicKey:
		return jwk{Kty: "OKP", Crv: "Ed25519", X: b64(key)}, nil
	}
	return jwk{}, fmt.Errorf("key type %T: %w", key, ErrKeyFormat)
}

// privateJWK returns the public and private members of key.
func privateJWK(key crypto.Signer) (jwk, error) {
	j, err := publicJWK(key.Public())
	if err != nil {
		return jwk{}, err
	}

	switch key := key.(type) {
	case *rsa.PrivateKey:
		return rsaPrivateMembers(j, key)
	case *ecdsa.PrivateKey:
		d, err := key.Bytes()
		if err != nil {
			return jwk{}, err
		}
		j.D = b64(d)
	case ed25519.PrivateKey:
		j.D = b64(key.Seed())
	}
	return j, nil
}

// rsaPrivateMembers adds d and the CRT members to j.
func rsaPrivateMembers(j jwk, key *rsa.PrivateKey) (jwk, error) {
	if len(key.Primes) != 2 {
		return jwk{}, fmt.Errorf("RSA key with %d primes: %w", len(key.Primes), ErrKeyFormat)
	}

	p, q := key.Primes[0], key.Primes[1]
	one := big.NewInt(1)
	dp := new(big.Int).Mod(key.D, new(big.Int).Sub(p, one))
	dq := new(big.Int).Mod(key.D, new(big.Int).Sub(q, one))
	qi := new(big.Int).ModInverse(q, p)

	j.D, j.P, j.Q = b64(key.D.Bytes()), b64(p.Bytes()), b64(q.Bytes())
	j.DP, j.DQ, j.QI = b64(dp.Bytes()), b64(dq.Bytes()), b64(qi.Bytes())
	return j, nil
}

// publicKey decodes the public members of j.
func (j *jwk) publicKey() (crypto.PublicKey, error) {
	switch j.Kty {
	case "RSA":
		return j.rsaPublicKey()
	case "EC":
		return j.ecPublicKey()
	case "OKP":
		return j.okpPublicKey()
	case "":
		return nil, fmt.Errorf("JWK has no kty: %w", ErrKeyFormat)
	}
	return nil, fmt.Errorf("JWK kty %q is not RSA, EC or OKP: %w", j.Kty, ErrKeyFormat)
}

func (j *jwk) rsaPublicKey() (*rsa.PublicKey, error) {
	n, err := unb64Int("n", j.N)
	if err != nil {
		return nil, err
	}
	e, err := unb64Int("e", j.E)
	if err != nil {
		return nil, err
	}

	if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
		return nil, fmt.Errorf("RSA exponent out of range: %w", ErrKeyFormat)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

func (j *jwk) ecPublicKey() (*ecdsa.PublicKey, error) {
	curve, err := curveByName(j.Crv)
	if err != nil {
		return nil, err
	}
	size := (curve.Params().BitSize + 7) / 8

	x, err := unb64Fixed("x", j.X, size)
	if err != nil {
		return nil, err
	}
	y, err := unb64Fixed("y", j.Y, size)
	if err != nil {
		return nil, err
	}

	point := append(append([]byte{4}, x...), y...)
	key, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, fmt.Errorf("EC point is not on %s: %w", j.Crv, ErrKeyFormat)
	}
	return key, nil
}

func (j *jwk) okpPublicKey() (ed25519.PublicKey, error) {
	if j.Crv != "Ed25519" {
		return nil, fmt.Errorf("OKP curve %q is not Ed25519: %w", j.Crv, ErrKeyAlgorithm)
	}

	x, err := unb64Fixed("x", j.X, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(x), nil
}

// privateKey decodes the private members of j, whose public members decoded
// to public, and checks that the two halves belong together.
func (j *jwk) privateKey(public crypto.PublicKey) (crypto.Signer, error) {
	var (
		signer crypto.Signer
		err    error
	)
	switch public := public.(type) {
	case *rsa.PublicKey:
		signer, err = j.rsaPrivateKey(public)
	case *ecdsa.PublicKey:
		signer, err = j.ecPrivateKey(public.Curve)
	case ed25519.PublicKey:
		signer, err = j.okpPrivateKey()
	}
	if err != nil {
		return nil, err
	}

	if !sameKey(signer.Public(), public) {
		return nil, fmt.Errorf("JWK private members do not match its public ones: %w", ErrKeyMismatch)
	}
	return signer, nil
}

func (j *jwk) rsaPrivateKey(public *rsa.PublicKey) (*rsa.PrivateKey, error) {
	if len(j.Oth) > 0 {
		return nil, fmt.Errorf("multi-prime RSA key: %w", ErrKeyFormat)
	}

	d, err := unb64Int("d", j.D)
	if err != nil {
		return nil, err
	}
	p, err := unb64Int("p", j.P)
	if err != nil {
		return nil, err
	}
	q, err := unb64Int("q", j.Q)
	if err != nil {
		return nil, err
	}

	key := &rsa.PrivateKey{PublicKey: *public, D: d, Primes: []*big.Int{p, q}}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("RSA private members are inconsistent: %w", ErrKeyFormat)
	}
	key.Precompute()
	return key, nil
}

func (j *jwk) ecPrivateKey(curve elliptic.Curve) (*ecdsa.PrivateKey, error) {
	d, err := unb64Fixed("d", j.D, (curve.Params().BitSize+7)/8)
	if err != nil {
		return nil, err
	}

	key, err := ecdsa.ParseRawPrivateKey(curve, d)
	if err != nil {
		return nil, fmt.Errorf("EC private scalar out of range: %w", ErrKeyFormat)
	}
	return key, nil
}

func (j *jwk) okpPrivateKey() (ed25519.PrivateKey, error) {
	seed, err := unb64Fixed("d", j.D, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// thumbprintKID returns psmongo- and the first 10 hex digits of the RFC 7638
// SHA-256 thumbprint of key, so that one key always gets one kid, whichever
// encoding it came in.
func thumbprintKID(key crypto.PublicKey) (string, error) {
	j, err := publicJWK(key)
	if err != nil {
		return "", err
	}

	// RFC 7638 hashes the required members only, in lexicographic order and
	// without whitespace; the struct fields below are in that order.
	var data []byte
	switch j.Kty {
	case "RSA":
		data, err = json.Marshal(struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{j.E, j.Kty, j.N})
	case "EC":
		data, err = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{j.Crv, j.Kty, j.X, j.Y})
	case "OKP":
		data, err = json.Marshal(struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{j.Crv, j.Kty, j.X})
	}
	if err != nil {
		return "", err
	}

	sum := sha256.Sum256(data)
	return kidPrefix + hex.EncodeToString(sum[:])[:kidHexLen], nil
}

// curveByName returns the elliptic curve a JWK crv names.
func curveByName(name string) (elliptic.Curve, error) {
	switch name {
	case "P-256":
		return elliptic.P256(), nil
	case "P-384":
		return elliptic.P384(), nil
	case "P-521":
		return elliptic.P521(), nil
	}
	return nil, fmt.Errorf("EC curve %q is not P-256, P-384 or P-521: %w", name, ErrKeyAlgorithm)
}

// b64 encodes b as base64url without padding, as JWK members are.
func b64(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}

// unb64Int decodes the JWK member name as a big-endian unsigned integer.
func unb64Int(name, s string) (*big.Int, error) {
	b, err := unb64(name, s)
	if err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b), nil
}

// unb64Fixed decodes the JWK member name, which must be size bytes long.
func unb64Fixed(name, s string, size int) ([]byte, error) {
	b, err := unb64(name, s)
	if err != nil {
		return nil, err
	}
	if len(b) != size {
		return nil, fmt.Errorf("JWK member %s has %d bytes, want %d: %w",
			name, len(b), size, ErrKeyFormat)
	}
	return b, nil
}

// unb64 decodes the JWK member name from base64url, padded or not.
func unb64(name, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("JWK member %s is missing: %w", name, ErrKeyFormat)
	}

	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("JWK member %s is not base64url: %w", name, ErrKeyFormat)
	}
	return b, nil
}
