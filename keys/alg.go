package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"strings"
)

// settleAlg returns the JWS algorithm for key: alg when it is given and fits
// the key, else the one inferred from the key type (RSA gives RS256, EC P-256
// gives ES256, Ed25519 gives EdDSA).
func settleAlg(alg string, key crypto.PublicKey) (string, error) {
	if isSymmetricAlg(alg) {
		return "", fmt.Errorf("alg %q: %w", alg, ErrSymmetricKey)
	}
	if err := checkStrength(key); err != nil {
		return "", err
	}

	if alg == "" {
		alg = inferAlg(key)
		if alg == "" {
			return "", fmt.Errorf("%s key has no alg and none can be inferred: %w",
				describeKey(key), ErrKeyAlgorithm)
		}
		return alg, nil
	}

	if !algFits(alg, key) {
		return "", fmt.Errorf("alg %q does not fit an %s key: %w",
			alg, describeKey(key), ErrKeyAlgorithm)
	}
	return alg, nil
}

// algFits reports whether alg is an asymmetric JWS algorithm that signs
// with key's type and curve.
func algFits(alg string, key crypto.PublicKey) bool {
	switch key := key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case *ecdsa.PublicKey:
		curve := key.Curve.Params().Name
		return alg == "ES256" && curve == "P-256" ||
			alg == "ES384" && curve == "P-384" ||
			alg == "ES512" && curve == "P-521"
	case ed25519.PublicKey:
		return alg == EdDSA
	}
	return false
}

// inferAlg returns the algorithm a key without alg is taken to use, or ""
// when its type does not settle it.
func inferAlg(key crypto.PublicKey) string {
	switch key := key.(type) {
	case *rsa.PublicKey:
		return RS256
	case *ecdsa.PublicKey:
		if key.Curve.Params().Name == "P-256" {
			return ES256
		}
	case ed25519.PublicKey:
		return EdDSA
	}
	return ""
}

// checkStrength refuses RSA keys shorter than 2048 bits.
func checkStrength(key crypto.PublicKey) error {
	rsaKey, ok := key.(*rsa.PublicKey)
	if !ok || rsaKey.N.BitLen() >= minRSABits {
		return nil
	}
	return fmt.Errorf("RSA key has %d bits, fewer than %d: %w",
		rsaKey.N.BitLen(), minRSABits, ErrKeyAlgorithm)
}

// describeKey names key's type and size or curve for error messages.
func describeKey(key crypto.PublicKey) string {
	switch key := key.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d-bit", key.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC " + key.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", key)
}

// isSymmetricAlg reports whether alg is an HMAC algorithm (HS256 and kin).
func isSymmetricAlg(alg string) bool {
	return strings.HasPrefix(strings.ToUpper(alg), "HS")
}
