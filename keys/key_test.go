package keys

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

var kidPattern = regexp.MustCompile(`^psmongo-[0-9a-f]{10}$`)

// algs are the algorithms Generate supports, for tests that cover each.
var algs = []string{RS256, ES256, EdDSA}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name    string
		alg     string
		wantAlg string
	}{
		{name: "default", alg: "", wantAlg: RS256},
		{name: "RS256", alg: RS256, wantAlg: RS256},
		{name: "ES256", alg: ES256, wantAlg: ES256},
		{name: "EdDSA", alg: EdDSA, wantAlg: EdDSA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Generate(tt.alg)
			if err != nil {
				t.Fatalf("Generate(%q): %v", tt.alg, err)
			}

			if !kidPattern.MatchString(k.ID) {
				t.Errorf("Generate(%q).ID = %q, want psmongo-<10 hex>", tt.alg, k.ID)
			}
			if k.Alg != tt.wantAlg {
				t.Errorf("Generate(%q).Alg = %q, want %q", tt.alg, k.Alg, tt.wantAlg)
			}
			if p := k.Public(); p.ID != k.ID || p.Alg != k.Alg {
				t.Errorf("Public() = %s/%s, want %s/%s", p.ID, p.Alg, k.ID, k.Alg)
			}
			if other := mustGenerate(t, tt.alg); other.ID == k.ID {
				t.Errorf("two keys share kid %s", k.ID)
			}
		})
	}
}

func TestGenerateRefusesAlg(t *testing.T) {
	for _, alg := range []string{"HS256", "RS384", "none", "rs256"} {
		t.Run(alg, func(t *testing.T) {
			_, err := Generate(alg)
			if !errors.Is(err, ErrKeyAlgorithm) {
				t.Errorf("Generate(%q) error = %v, want %v", alg, err, ErrKeyAlgorithm)
			}
		})
	}
}

func TestKeyEncodingRoundTrip(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			k := mustGenerate(t, alg)
			private, public := mustStrings(t, k)

			got, err := Parse(private, public)
			if err != nil {
				t.Fatalf("Parse(own strings): %v", err)
			}
			if got.ID != k.ID || got.Alg != k.Alg || !got.Public().Equal(k.Public()) {
				t.Errorf("Parse(own strings) = %v, want %v", got, k)
			}

			members := decodeJWK(t, private)
			for name, want := range map[string]string{"kid": k.ID, "alg": alg, "use": "sig"} {
				if members[name] != want {
					t.Errorf("private JWK %s = %v, want %s", name, members[name], want)
				}
			}
			if _, ok := decodeJWK(t, public)["d"]; ok {
				t.Errorf("public JWK has member d")
			}
		})
	}
}

func TestKeyPrintsNoMaterial(t *testing.T) {
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			k := mustGenerate(t, alg)
			private, _ := mustStrings(t, k)
			d := decodeJWK(t, private)["d"].(string)

			printed := fmt.Sprintf("%v %+v %#v %s", k, k, k, k)
			if strings.Contains(printed, d) || !strings.Contains(printed, k.ID) {
				t.Errorf("printing a key gives %q, want its kid and no private member", printed)
			}
		})
	}
}

// mustGenerate returns a new key for alg.
func mustGenerate(t *testing.T, alg string) *Key {
	t.Helper()
	k, err := Generate(alg)
	if err != nil {
		t.Fatalf("Generate(%q): %v", alg, err)
	}
	return k
}

// mustStrings returns the base64 private and public JWKs of k.
func mustStrings(t *testing.T, k *Key) (private, public string) {
	t.Helper()
	private, err := k.PrivateString()
	if err != nil {
		t.Fatalf("PrivateString: %v", err)
	}
	public, err = k.PublicString()
	if err != nil {
		t.Fatalf("PublicString: %v", err)
	}
	return private, public
}

// decodeJWK returns the members of a base64 JSON JWK.
func decodeJWK(t *testing.T, s string) map[string]any {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("decoding base64 JWK: %v", err)
	}

	var members map[string]any
	if err := json.Unmarshal(data, &members); err != nil {
		t.Fatalf("decoding JSON JWK: %v", err)
	}
	return members
}
