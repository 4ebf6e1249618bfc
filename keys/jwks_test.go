package keys

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSetJWKS(t *testing.T) {
	current := mustGenerate(t, RS256)
	older, oldest := mustGenerate(t, ES256), mustGenerate(t, EdDSA)

	// the current key listed again among the previous ones is dropped
	s := mustSet(t, current, older.Public(), oldest.Public(), current.Public())

	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(s.JWKS(), &doc); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}

	type entry struct{ Kid, Alg, Use, Kty string }
	var got []entry
	for _, k := range doc.Keys {
		got = append(got, entry{str(k["kid"]), str(k["alg"]), str(k["use"]), str(k["kty"])})
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS key %v has private member %s", k["kid"], private)
			}
		}
	}
	want := []entry{
		{current.ID, RS256, "sig", "RSA"},
		{older.ID, ES256, "sig", "EC"},
		{oldest.ID, EdDSA, "sig", "OKP"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JWKS keys mismatch (-want +got):\n%s", diff)
	}
}

func TestNewSetRefusesDuplicateKID(t *testing.T) {
	current := mustGenerate(t, RS256)
	impostor := mustGenerate(t, RS256).Public()
	impostor.ID = current.ID

	_, err := NewSet(current, impostor)
	if !errors.Is(err, ErrDuplicateKID) {
		t.Errorf("NewSet(key, other key with its kid) error = %v, want %v", err, ErrDuplicateKID)
	}
}

// mustSet returns the set of current and previous.
func mustSet(t *testing.T, current *Key, previous ...*PublicKey) *Set {
	t.Helper()
	s, err := NewSet(current, previous...)
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	return s
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
