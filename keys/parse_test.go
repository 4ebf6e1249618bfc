package keys

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestParseEncodingsGiveOneKID(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			k := mustGenerate(t, alg)
			private, public := mustStrings(t, k)
			thumb := wantThumbprintKID(t, public)
			noKID := jwkJSON(t, k, func(m map[string]any) { delete(m, "kid") })

			tests := []struct {
				name    string
				private string
				public  string
				wantKID string
			}{
				{"jwk std base64", private, "", k.ID},
				{"jwk raw std base64", base64.RawStdEncoding.EncodeToString(jwkJSON(t, k, nil)), "", k.ID},
				{"jwk url base64", base64.URLEncoding.EncodeToString(jwkJSON(t, k, nil)), "", k.ID},
				{"jwk raw url base64", base64.RawURLEncoding.EncodeToString(jwkJSON(t, k, nil)), "", k.ID},
				{"jwk std base64 wrapped", wrapLines(private, 76), "", k.ID},
				{"jwk json", string(jwkJSON(t, k, nil)), "", k.ID},
				{"jwk and public jwk", private, public, k.ID},
				{"jwk without kid std base64", base64.StdEncoding.EncodeToString(noKID), "", thumb},
				{"jwk without kid url base64", base64.RawURLEncoding.EncodeToString(noKID), "", thumb},
				{"pem pkcs8", pemPKCS8(t, k), "", thumb},
				{"pem pkcs8 in base64", base64.StdEncoding.EncodeToString([]byte(pemPKCS8(t, k))), "", thumb},
				{"pem pkcs8 and pem pkix public", pemPKCS8(t, k), pemPKIX(t, k.signer.Public()), thumb},
				{"jwk without kid and pem public", string(noKID), pemPKIX(t, k.signer.Public()), thumb},
				{"pem pkcs8 and public jwk with kid", pemPKCS8(t, k), public, k.ID},
			}
			tests = append(tests, legacyPEMCases(t, k, thumb)...)

			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, err := Parse(tt.private, tt.public)
					if err != nil {
						t.Fatalf("Parse: %v", err)
					}
					if got.ID != tt.wantKID || got.Alg != alg {
						t.Errorf("Parse gives %s/%s, want %s/%s", got.ID, got.Alg, tt.wantKID, alg)
					}
					if !sameKey(got.signer.Public(), k.signer.Public()) {
						t.Errorf("Parse gives another key than the one encoded")
					}
				})
			}
		})
	}
}

// legacyPEMCases returns the PKCS #1 and SEC 1 encodings of k, where its
// type has one.
func legacyPEMCases(t *testing.T, k *Key, thumb string) []struct {
	name, private, public, wantKID string
} {
	t.Helper()
	type tc = struct{ name, private, public, wantKID string }
	switch key := k.signer.(type) {
	case *rsa.PrivateKey:
		return []tc{
			{"pem pkcs1", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), "", thumb},
			{"pem pkcs1 and pkcs1 public", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)),
				pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey)), thumb},
		}
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatalf("MarshalECPrivateKey: %v", err)
		}
		params := pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})
		return []tc{
			{"pem sec1", pemBlock("EC PRIVATE KEY", der), "", thumb},
			{"pem sec1 after ec parameters", params + pemBlock("EC PRIVATE KEY", der), "", thumb},
		}
	}
	return nil
}

func TestParseDerivesPublicKey(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			k := mustGenerate(t, alg)
			private, public := mustStrings(t, k)

			got, err := Parse(private, "")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			gotPublic, _ := got.PublicString()
			if gotPublic != public {
				t.Errorf("derived public key = %s, want %s", gotPublic, public)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	rsaKey := mustGenerate(t, RS256)
	rsaPrivate, rsaPublic := mustStrings(t, rsaKey)
	other := mustGenerate(t, RS256)
	_, otherPublic := mustStrings(t, other)
	ecKey := mustGenerate(t, ES256)
	p384 := mustECKey(t, elliptic.P384())

	tests := []struct {
		name    string
		private string
		public  string
		wantErr error
	}{
		{name: "empty", private: "", wantErr: ErrKeyFormat},
		{name: "garbage", private: "not a key at all!", wantErr: ErrKeyFormat},
		{name: "base64 of text", private: b64std([]byte("hello")), wantErr: ErrKeyFormat},
		{name: "jwk without kty", private: b64std([]byte(`{"n":"AQAB"}`)), wantErr: ErrKeyFormat},
		{name: "public key given as private", private: rsaPublic, wantErr: ErrKeyFormat},
		{name: "private key given as public", private: rsaPrivate, public: rsaPrivate, wantErr: ErrKeyFormat},
		{name: "public key of another key", private: rsaPrivate, public: otherPublic, wantErr: ErrKeyMismatch},
		{
			name:    "public jwk with another kid",
			private: rsaPrivate,
			public:  b64std(jwkJSON(t, rsaKey, func(m map[string]any) { m["kid"] = "other"; delete(m, "d") })),
			wantErr: ErrKeyMismatch,
		},
		{
			name:    "ec private member of another key",
			private: b64std(jwkJSON(t, ecKey, func(m map[string]any) { m["d"] = decodeJWK(t, mustPrivate(t, mustGenerate(t, ES256)))["d"] })),
			wantErr: ErrKeyMismatch,
		},
		{name: "ec p-384 jwk without alg", private: b64std(jwkJSON(t, p384, func(m map[string]any) { delete(m, "alg") })), wantErr: ErrKeyAlgorithm},
		{name: "ec p-384 pem", private: pemPKCS8(t, p384), wantErr: ErrKeyAlgorithm},
		{name: "ES256 on p-384 key", private: b64std(jwkJSON(t, p384, func(m map[string]any) { m["alg"] = ES256 })), wantErr: ErrKeyAlgorithm},
		{name: "ES256 on rsa key", private: b64std(jwkJSON(t, rsaKey, func(m map[string]any) { m["alg"] = ES256 })), wantErr: ErrKeyAlgorithm},
		{name: "EdDSA on ec key", private: b64std(jwkJSON(t, ecKey, func(m map[string]any) { m["alg"] = EdDSA })), wantErr: ErrKeyAlgorithm},
		{name: "rsa 1024 bits", private: pemPKCS8(t, mustRSA1024(t)), wantErr: ErrKeyAlgorithm},
		{name: "x25519 pem", private: x25519PEM(t), wantErr: ErrKeyAlgorithm},
		{name: "kty oct", private: b64std([]byte(`{"kty":"oct","k":"c2VjcmV0","alg":"HS256"}`)), wantErr: ErrSymmetricKey},
		{name: "HS256 on rsa key", private: b64std(jwkJSON(t, rsaKey, func(m map[string]any) { m["alg"] = "HS256" })), wantErr: ErrSymmetricKey},
		{name: "use enc", private: b64std(jwkJSON(t, rsaKey, func(m map[string]any) { m["use"] = "enc" })), wantErr: ErrKeyFormat},
		{name: "jwks of two keys", private: b64std([]byte(`{"keys":[` + string(jwkJSON(t, rsaKey, nil)) + "," + string(jwkJSON(t, ecKey, nil)) + `]}`)), wantErr: ErrKeyFormat},
		{name: "encrypted pem", private: pemBlock("ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), wantErr: ErrKeyFormat},
		{name: "certificate pem", private: pemBlock("CERTIFICATE", []byte{1, 2, 3}), wantErr: ErrKeyFormat},
		{name: "damaged pem", private: pemBlock("PRIVATE KEY", []byte{1, 2, 3}), wantErr: ErrKeyFormat},
	}
	secrets := []string{decodeJWK(t, rsaPrivate)["d"].(string), decodeJWK(t, rsaPrivate)["p"].(string)}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.private, tt.public)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse error = %v, want %v", err, tt.wantErr)
			}

			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q has more than one line", msg)
			}
			for _, s := range append(secrets, tt.private) {
				if s != "" && strings.Contains(msg, s) {
					t.Errorf("error %q contains key material", msg)
				}
			}
			t.Log(msg)
		})
	}
}

func TestParsePublic(t *testing.T) {
	k := mustGenerate(t, ES256)
	private, public := mustStrings(t, k)
	thumb := wantThumbprintKID(t, public)

	tests := []struct {
		name    string
		value   string
		wantKID string
		wantErr error
	}{
		{name: "jwk", value: public, wantKID: k.ID},
		{name: "jwk url base64", value: base64.RawURLEncoding.EncodeToString(mustBase64(t, public)), wantKID: k.ID},
		{name: "pem", value: pemPKIX(t, k.signer.Public()), wantKID: thumb},
		{name: "private jwk", value: private, wantErr: ErrKeyFormat},
		{name: "private pem", value: pemPKCS8(t, k), wantErr: ErrKeyFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublic(tt.value)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParsePublic error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (got.ID != tt.wantKID || got.Alg != ES256) {
				t.Errorf("ParsePublic gives %s/%s, want %s/%s", got.ID, got.Alg, tt.wantKID, ES256)
			}
		})
	}
}

func TestParsePublicKeys(t *testing.T) {
	a, b, c := mustGenerate(t, RS256), mustGenerate(t, ES256), mustGenerate(t, EdDSA)
	jwks := `{"keys":[` + string(jwkBytes(t, a.Public().jwk)) + "," + string(jwkBytes(t, b.Public().jwk)) + `]}`

	got, err := ParsePublicKeys(b64std([]byte(jwks)), "", pemPKIX(t, c.signer.Public()))
	if err != nil {
		t.Fatalf("ParsePublicKeys: %v", err)
	}

	want := []string{a.ID, b.ID, wantThumbprintKID(t, c.Public().String())}
	var gotIDs []string
	for _, p := range got {
		gotIDs = append(gotIDs, p.ID)
	}
	if strings.Join(gotIDs, ",") != strings.Join(want, ",") {
		t.Errorf("ParsePublicKeys kids = %v, want %v", gotIDs, want)
	}

	_, err = ParsePublicKeys(a.Public().String(), "garbage!")
	if !errors.Is(err, ErrKeyFormat) || !strings.Contains(err.Error(), "public key 2") {
		t.Errorf("ParsePublicKeys(good, garbage) error = %v, want %v naming key 2", err, ErrKeyFormat)
	}
}

// jwkBytes returns j as JSON.
func jwkBytes(t *testing.T, j jwk) []byte {
	t.Helper()
	data, err := json.Marshal(j)
	if err != nil {
		t.Fatalf("encoding JWK: %v", err)
	}
	return data
}

// wantThumbprintKID computes the kid from the RFC 7638 thumbprint of a base64
// public JWK, independently of thumbprintKID: encoding/json sorts map keys.
func wantThumbprintKID(t *testing.T, public string) string {
	t.Helper()
	members := decodeJWK(t, public)
	required := map[string][]string{"RSA": {"e", "kty", "n"}, "EC": {"crv", "kty", "x", "y"}, "OKP": {"crv", "kty", "x"}}

	canonical := map[string]any{}
	for _, name := range required[members["kty"].(string)] {
		canonical[name] = members[name]
	}
	data, err := json.Marshal(canonical)
	if err != nil {
		t.Fatalf("encoding thumbprint input: %v", err)
	}

	sum := sha256.Sum256(data)
	return "psmongo-" + hex.EncodeToString(sum[:5])
}

// jwkJSON returns the private JWK of k as JSON, changed by edit if not nil.
func jwkJSON(t *testing.T, k *Key, edit func(map[string]any)) []byte {
	t.Helper()
	members := decodeJWK(t, mustPrivate(t, k))
	if edit != nil {
		edit(members)
	}

	data, err := json.Marshal(members)
	if err != nil {
		t.Fatalf("encoding JWK: %v", err)
	}
	return data
}

// mustPrivate returns k.PrivateString().
func mustPrivate(t *testing.T, k *Key) string {
	t.Helper()
	private, _ := mustStrings(t, k)
	return private
}

// mustBase64 decodes standard base64.
func mustBase64(t *testing.T, s string) []byte {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decoding base64: %v", err)
	}
	return data
}

// pemPKCS8 returns the private key of k as PKCS #8 PEM.
func pemPKCS8(t *testing.T, k *Key) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k.signer)
	if err != nil {
		t.Fatalf("MarshalPKCS8PrivateKey: %v", err)
	}
	return pemBlock("PRIVATE KEY", der)
}

// pemPKIX returns key as PKIX PEM.
func pemPKIX(t *testing.T, key crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatalf("MarshalPKIXPublicKey: %v", err)
	}
	return pemBlock("PUBLIC KEY", der)
}

func pemBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func b64std(data []byte) string {
	return base64.StdEncoding.EncodeToString(data)
}

// wrapLines breaks s into lines of n characters, as base64 -w does.
func wrapLines(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

// mustECKey returns a key on curve with alg ES384 stated, which Generate
// does not make.
func mustECKey(t *testing.T, curve elliptic.Curve) *Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatalf("ecdsa.GenerateKey: %v", err)
	}
	return mustNewKey(t, "psmongo-p384", "ES384", priv)
}

// mustRSA1024 returns a key too short to be accepted.
func mustRSA1024(t *testing.T) *Key {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatalf("rsa.GenerateKey(1024): %v", err)
	}
	return mustNewKey(t, "psmongo-rsa1024", RS256, priv)
}

// mustNewKey wraps key material that Generate does not make.
func mustNewKey(t *testing.T, id, alg string, signer crypto.Signer) *Key {
	t.Helper()
	k, err := newKey(id, alg, signer)
	if err != nil {
		t.Fatalf("newKey: %v", err)
	}
	return k
}

// x25519PEM returns an X25519 private key as PKCS #8 PEM: a key that can
// agree on secrets but not sign.
func x25519PEM(t *testing.T) string {
	t.Helper()
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("X25519 GenerateKey: %v", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatalf("MarshalPKCS8PrivateKey: %v", err)
	}
	return pemBlock("PRIVATE KEY", der)
}
