package handlers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.mongodb.org/mongo-driver/bson"

	"github.com/psmongo/psmongo/devstore/devstoretest"
	"github.com/psmongo/psmongo/keys"
)

const testPowerSyncURL = "https://powersync.test"

// signingKey is an ES256 key given to the server as PEM, kept by the test
// so that it can sign tokens of any shape.
type signingKey struct {
	priv *ecdsa.PrivateKey
	kid  string
	pem  string
}

func newSigningKey(t *testing.T) *signingKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	k, err := keys.Parse(p, "")
	if err != nil {
		t.Fatal(err)
	}
	return &signingKey{priv: priv, kid: k.ID, pem: p}
}

func (k *signingKey) sign(t *testing.T, claims jwt.MapClaims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(mod func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"sub": "alice", "aud": testPowerSyncURL, "iss": "psmongo",
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

// unsigned builds a token from raw header and payload JSON.
func unsigned(header, payload string, sig []byte) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + "." + enc(sig)
}

func TestUploadAuthentication(t *testing.T) {
	key := newSigningKey(t)
	other := newSigningKey(t)
	t.Setenv("POWERSYNC_PRIVATE_KEY", key.pem)
	t.Setenv("POWERSYNC_URL", testPowerSyncURL)
	t.Setenv("PSMONGO_AUTH_UPLOAD_MODE", "powersync")
	s := newServer(t, "", "")

	good := key.sign(t, claims(nil), key.kid)
	parts := strings.Split(good, ".")
	altered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(
		`{"sub":"mallory","aud":"`+testPowerSyncURL+`","iat":1,"exp":9999999999}`)) + "." + parts[2]
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
	hs.Header["kid"] = key.kid
	hsToken, _ := hs.SignedString([]byte(key.pem))

	upload := `{"batch":[{"op":"PUT","type":"todos","id":"a","data":{"x":1}}]}`
	refused := func(name, header, msg string) scenario {
		h := map[string]string{}
		if header != "" {
			h["Authorization"] = header
		}
		return scenario{name: name, method: "POST", path: "/upload", headers: h, body: upload,
			status: http.StatusUnauthorized, want: []string{`"code":"UNAUTHORIZED"`, msg}}
	}
	bearer := func(tok string) string { return "Bearer " + tok }
	runScenarios(t, s, []scenario{
		refused("no header", "", "missing Authorization"),
		refused("not bearer", "Basic abc", "missing Authorization"),
		refused("signed by another key", bearer(other.sign(t, claims(nil), key.kid)), "signature is invalid"),
		refused("alg none", bearer(unsigned(`{"alg":"none","kid":"`+key.kid+`"}`, `{"sub":"alice","aud":"`+testPowerSyncURL+`"}`, nil)), "algorithm"),
		refused("HS256 with the public key as secret", bearer(hsToken), "algorithm"),
		refused("expired", bearer(key.sign(t, claims(func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-2 * time.Minute).Unix()
		}), key.kid)), "expired"),
		refused("not yet valid beyond the skew", bearer(key.sign(t, claims(func(c jwt.MapClaims) {
			c["nbf"] = time.Now().Add(5 * time.Minute).Unix()
		}), key.kid)), "not valid yet"),
		refused("wrong audience", bearer(key.sign(t, claims(func(c jwt.MapClaims) {
			c["aud"] = "https://elsewhere.test"
		}), key.kid)), "audience"),
		refused("unknown kid", bearer(key.sign(t, claims(nil), "psmongo-0000000000")), "unknown key"),
		refused("payload altered after signing", bearer(altered), "signature is invalid"),
		refused("no sub", bearer(key.sign(t, claims(func(c jwt.MapClaims) { delete(c, "sub") }), key.kid)), "no user id"),
	})

	if n := countAll(t, "todos") + countAll(t, "powersync_rejected_writes"); n != 0 {
		t.Fatalf("documents after refused uploads = %d, want 0", n)
	}
	for _, sc := range []string{"no header", "expired"} {
		_, _, body := s.do(t, "POST", "/upload", upload, map[string]string{"Authorization": bearer(good)})
		if strings.Contains(body, good) {
			t.Errorf("%s: a response echoes the token", sc)
		}
	}

	status, _, body := s.do(t, "POST", "/upload",
		`{"batch":[{"op":"PUT","type":"todos","id":"b","data":{"$x":1}}]}`, map[string]string{"Authorization": bearer(good)})
	if status != 200 {
		t.Fatalf("upload with a good token: %d %s", status, body)
	}
	var dl bson.M
	err := devstoretest.Client().Database(devstoretest.DatabaseName(t)).Collection("powersync_rejected_writes").
		FindOne(context.Background(), bson.D{}).Decode(&dl)
	if err != nil || dl["user_id"] != "alice" {
		t.Errorf("dead letter = %v, %v; want user_id alice from the token", dl, err)
	}
}

func countAll(t *testing.T, coll string) int64 {
	t.Helper()
	n, err := devstoretest.Client().Database(devstoretest.DatabaseName(t)).Collection(coll).
		CountDocuments(context.Background(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type tokenBody struct {
	Token        string `json:"token"`
	PowerSyncURL string `json:"powersync_url"`
	ExpiresAt    string `json:"expires_at"`
}

func getToken(t *testing.T, s *testServer, path string, header map[string]string) (int, tokenBody) {
	t.Helper()
	status, _, body := s.do(t, "GET", path, "", header)
	var tb tokenBody
	if status == 200 {
		if err := json.Unmarshal([]byte(body), &tb); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
	return status, tb
}

func TestTokenOpenMode(t *testing.T) {
	t.Setenv("POWERSYNC_URL", testPowerSyncURL)
	t.Setenv("PSMONGO_AUTH_UPLOAD_MODE", "powersync")
	s := newServer(t, "", "")

	for _, path := range []string{"/token?user_id=alice", "/api/auth/token?user_id=alice"} {
		status, tb := getToken(t, s, path, nil)
		if status != 200 || tb.PowerSyncURL != testPowerSyncURL || tb.ExpiresAt == "" {
			t.Fatalf("GET %s = %d %+v", path, status, tb)
		}
		exp, err := time.Parse(time.RFC3339, tb.ExpiresAt)
		if err != nil || time.Until(exp) < 14*time.Minute || time.Until(exp) > 16*time.Minute {
			t.Errorf("expires_at %s, want 15 minutes from now", tb.ExpiresAt)
		}
		status, _, body := s.do(t, "POST", "/upload", `{"batch":[]}`, map[string]string{"Authorization": "Bearer " + tb.Token})
		if status != 200 {
			t.Errorf("upload with the token from %s: %d %s", path, status, body)
		}
	}
	runScenarios(t, s, []scenario{
		{name: "no user id", method: "GET", path: "/token", status: 400, want: []string{"user_id"}},
		{name: "blank user id", method: "GET", path: "/token?user_id=%20", status: 400, want: []string{"user_id"}},
		{name: "user id with NUL", method: "GET", path: "/token?user_id=a%00b", status: 400, want: []string{"control character"}},
		{name: "user id not UTF-8", method: "GET", path: "/token?user_id=%ff%fe", status: 400, want: []string{"invalid UTF-8"}},
	})
}

func TestTokenDisabled(t *testing.T) {
	t.Setenv("PSMONGO_AUTH_TOKEN_MODE", "disabled")
	s := newServer(t, "", "")
	runScenarios(t, s, []scenario{
		{name: "token", method: "GET", path: "/token?user_id=a", status: 404, want: []string{"disabled"}},
		{name: "jwks still served", method: "GET", path: "/jwks", status: 200, want: []string{`"keys"`}},
	})
}

func TestJWKS(t *testing.T) {
	previous, err := keys.Generate(keys.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	prevPublic, _ := previous.PublicString()
	t.Setenv("PSMONGO_AUTH_PREVIOUS_PUBLIC_KEYS", prevPublic)
	s := newServer(t, "", "")

	for _, path := range []string{"/jwks", "/api/auth/keys"} {
		status, header, body := s.do(t, "GET", path, "", nil)
		var jwks struct {
			Keys []map[string]any `json:"keys"`
		}
		if status != 200 || json.Unmarshal([]byte(body), &jwks) != nil || len(jwks.Keys) != 2 {
			t.Fatalf("GET %s = %d %s, want two keys", path, status, body)
		}
		if cc := header.Get("Cache-Control"); !strings.Contains(cc, "max-age=300") {
			t.Errorf("GET %s Cache-Control = %q, want a few minutes", path, cc)
		}
		for _, k := range jwks.Keys {
			if k["kid"] == nil || k["alg"] == nil || k["use"] != "sig" || k["d"] != nil {
				t.Errorf("GET %s key %v: want kid, alg, use sig and no private part", path, k)
			}
		}
		if jwks.Keys[1]["kid"] != previous.ID {
			t.Errorf("GET %s: second key %v, want the previous key %s", path, jwks.Keys[1]["kid"], previous.ID)
		}
	}
}

// TestDevelopmentKeySurvivesRestart restarts the server on one data
// directory: the kid stays, and a token issued before still uploads.
func TestDevelopmentKeySurvivesRestart(t *testing.T) {
	t.Setenv("PSMONGO_DATA_DIR", t.TempDir())
	t.Setenv("PSMONGO_AUTH_UPLOAD_MODE", "powersync")

	first := newServer(t, "", "")
	_, tb := getToken(t, first, "/token?user_id=alice", nil)
	_, _, jwks1 := first.do(t, "GET", "/jwks", "", nil)

	second := newServer(t, "", "")
	_, _, jwks2 := second.do(t, "GET", "/jwks", "", nil)
	if jwks1 != jwks2 {
		t.Errorf("JWKS changed across a restart:\n%s\n%s", jwks1, jwks2)
	}
	status, _, body := second.do(t, "POST", "/upload", `{"batch":[]}`, map[string]string{"Authorization": "Bearer " + tb.Token})
	if status != 200 {
		t.Errorf("upload after restart with an earlier token: %d %s", status, body)
	}
}

// identityProvider simulates an identity provider on a loopback listener:
// it serves its JWKS and signs tokens with its current key.
type identityProvider struct {
	*httptest.Server
	mu  sync.Mutex
	key *signingKey
}

func newIdentityProvider(t *testing.T) *identityProvider {
	t.Helper()
	idp := &identityProvider{key: newSigningKey(t)}
	idp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idp.mu.Lock()
		defer idp.mu.Unlock()
		k, _ := keys.Parse(idp.key.pem, "")
		set, _ := keys.NewSet(k)
		w.Header().Set("Content-Type", "application/json")
		w.Write(set.JWKS())
	}))
	t.Cleanup(idp.Close)
	return idp
}

func (idp *identityProvider) token(t *testing.T, sub string) string {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	now := time.Now()
	return idp.key.sign(t, jwt.MapClaims{"sub": sub, "iss": "https://idp.test", "aud": "my-app",
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}, idp.key.kid)
}

func (idp *identityProvider) rotate(t *testing.T) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.key = newSigningKey(t)
}

func TestUpstreamMode(t *testing.T) {
	idp := newIdentityProvider(t)
	t.Setenv("PSMONGO_AUTH_TOKEN_MODE", "upstream")
	t.Setenv("PSMONGO_AUTH_UPLOAD_MODE", "upstream")
	t.Setenv("PSMONGO_AUTH_UPSTREAM_JWKS_URL", idp.URL)
	t.Setenv("PSMONGO_AUTH_UPSTREAM_ISSUER", "https://idp.test")
	t.Setenv("PSMONGO_AUTH_UPSTREAM_AUDIENCE", "my-app")
	s := newServer(t, "", "")

	auth := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	status, tb := getToken(t, s, "/token", auth(idp.token(t, "carol")))
	if status != 200 {
		t.Fatalf("token for an identity-provider user: %d", status)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tb.Token, claims); err != nil || claims["sub"] != "carol" {
		t.Errorf("token sub = %v, %v; want carol", claims["sub"], err)
	}

	runScenarios(t, s, []scenario{
		{name: "token without identity", method: "GET", path: "/token?user_id=carol", status: 401},
		{name: "upload with the IdP token", method: "POST", path: "/upload", headers: auth(idp.token(t, "carol")),
			body: `{"batch":[]}`, status: 200},
		{name: "upload with our own token", method: "POST", path: "/upload", headers: auth(tb.Token),
			body: `{"batch":[]}`, status: 401},
	})

	// A new kid makes psmongo refetch the JWKS, but at most once a minute,
	// so that a flood of made-up kids cannot hammer the provider; the keys
	// package tests the refetch after that minute with a fake clock.
	idp.rotate(t)
	status, _, body := s.do(t, "GET", "/token", "", auth(idp.token(t, "carol")))
	if status != 401 || !strings.Contains(body, "unknown key") {
		t.Errorf("token right after a rotation: %d %s, want 401 unknown key", status, body)
	}
}
