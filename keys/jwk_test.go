package keys

import (
	"encoding/json"
	"testing"
)

// The Ed25519 key of RFC 8037, appendix A, whose RFC 7638 thumbprint the
// RFC gives as SHA-256 hex 90facafea9b1...
const (
	rfc8037X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
	rfc8037D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
)

func TestThumbprintKIDMatchesRFC8037(t *testing.T) {
	tests := []struct {
		name  string
		value string
	}{
		{name: "public", value: `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `"}`},
		{name: "private", value: `{"kty":"OKP","crv":"Ed25519","x":"` + rfc8037X + `","d":"` + rfc8037D + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := decode(tt.value)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			id, alg, err := ms[0].settle()
			if err != nil {
				t.Fatalf("settle: %v", err)
			}
			if id != "psmongo-90facafea9" || alg != EdDSA {
				t.Errorf("kid, alg = %s, %s, want psmongo-90facafea9, EdDSA", id, alg)
			}
		})
	}
}

func TestJWKRoundTrip(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			k := mustGenerate(t, alg)
			j, err := privateJWK(k.signer)
			if err != nil {
				t.Fatalf("privateJWK: %v", err)
			}

			data, _ := json.Marshal(j)
			var back jwk
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatalf("decoding JWK: %v", err)
			}
			public, err := back.publicKey()
			if err != nil {
				t.Fatalf("publicKey: %v", err)
			}
			signer, err := back.privateKey(public)
			if err != nil {
				t.Fatalf("privateKey: %v", err)
			}
			if !sameKey(signer.Public(), k.signer.Public()) {
				t.Errorf("JWK round trip changed the key")
			}
		})
	}
}
