package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
)

func TestSettleAlg(t *testing.T) {
	rsaKey := mustGenerate(t, RS256).signer.Public()
	p256 := mustGenerate(t, ES256).signer.Public()
	ed := mustGenerate(t, EdDSA).signer.Public()
	p384 := mustECPublic(t, elliptic.P384())
	p521 := mustECPublic(t, elliptic.P521())

	tests := []struct {
		name    string
		alg     string
		key     crypto.PublicKey
		want    string
		wantErr error
	}{
		{name: "rsa inferred", key: rsaKey, want: RS256},
		{name: "p-256 inferred", key: p256, want: ES256},
		{name: "ed25519 inferred", key: ed, want: EdDSA},
		{name: "p-384 not inferred", key: p384, wantErr: ErrKeyAlgorithm},
		{name: "p-384 stated", alg: "ES384", key: p384, want: "ES384"},
		{name: "p-521 stated", alg: "ES512", key: p521, want: "ES512"},
		{name: "rsa PS256 stated", alg: "PS256", key: rsaKey, want: "PS256"},
		{name: "rsa RS512 stated", alg: "RS512", key: rsaKey, want: "RS512"},
		{name: "ES384 on p-256", alg: "ES384", key: p256, wantErr: ErrKeyAlgorithm},
		{name: "RS256 on ed25519", alg: RS256, key: ed, wantErr: ErrKeyAlgorithm},
		{name: "unknown alg", alg: "XY256", key: rsaKey, wantErr: ErrKeyAlgorithm},
		{name: "none", alg: "none", key: rsaKey, wantErr: ErrKeyAlgorithm},
		{name: "HS256", alg: "HS256", key: rsaKey, wantErr: ErrSymmetricKey},
		{name: "hs512 lowercase", alg: "hs512", key: p256, wantErr: ErrSymmetricKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := settleAlg(tt.alg, tt.key)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("settleAlg(%q, %s) = %q, %v, want %q, %v",
					tt.alg, describeKey(tt.key), got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func mustECPublic(t *testing.T, curve elliptic.Curve) crypto.PublicKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatalf("ecdsa.GenerateKey: %v", err)
	}
	return priv.Public()
}
