package keys

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// verifySentinels are the errors a refused token's error wraps.
var verifySentinels = []error{
	ErrMissingToken, ErrMalformed, ErrAlgorithm, ErrUnknownKID, ErrSignature,
	ErrExpired, ErrNotYetValid, ErrAudience, ErrIssuer, ErrNoSubject, ErrJWKSUnavailable,
}

// fuzzNow is the time tokens are verified at.
var fuzzNow = time.Unix(1_700_000_000, 0)

// FuzzVerify checks that no token makes Set.Verify panic; that a refusal
// wraps a verification sentinel and does not quote the token; and that a
// token it accepts names a user.
func FuzzVerify(f *testing.F) {
	current, previous := fuzzKey(f, RS256), fuzzKey(f, EdDSA)
	set, err := NewSet(current, previous.Public())
	if err != nil {
		f.Fatal(err)
	}
	claims := jwt.MapClaims{"sub": "user-1", "aud": testAudience, "iss": DefaultIssuer,
		"iat": fuzzNow.Unix(), "exp": fuzzNow.Add(time.Hour).Unix()}
	for _, tok := range fuzzTokens(f, claims, current, previous) {
		f.Add(tok)
	}

	f.Fuzz(func(t *testing.T, token string) {
		user, err := set.Verify(token, testAudience, fuzzNow)
		checkVerified(t, token, user, err)
	})
}

// FuzzVerifyUpstream is FuzzVerify for an identity provider's tokens,
// verified against its JWKS served on a loopback listener.
func FuzzVerifyUpstream(f *testing.F) {
	rsaKey, ecKey := fuzzKey(f, RS256), fuzzKey(f, ES256)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		a, _ := rsaKey.Public().MarshalJSON()
		b, _ := ecKey.Public().MarshalJSON()
		w.Write([]byte(`{"keys":[` + string(a) + `,` + string(b) + `]}`))
	}))
	f.Cleanup(srv.Close)
	u, err := NewUpstream(UpstreamConfig{JWKSURL: srv.URL, Issuer: "http://127.0.0.1/idp",
		Audience: "app", UserClaim: "uid", Now: func() time.Time { return fuzzNow }})
	if err != nil {
		f.Fatal(err)
	}

	claims := jwt.MapClaims{"sub": "user-1", "uid": 42, "aud": []string{"x", "app"},
		"iss": "http://127.0.0.1/idp", "iat": fuzzNow.Unix(), "exp": fuzzNow.Add(time.Hour).Unix()}
	for _, tok := range fuzzTokens(f, claims, rsaKey, ecKey) {
		f.Add(tok)
	}

	f.Fuzz(func(t *testing.T, token string) {
		user, err := u.Verify(context.Background(), token)
		checkVerified(t, token, user, err)
	})
}

func checkVerified(t *testing.T, token, user string, err error) {
	t.Helper()
	if err == nil {
		if strings.TrimSpace(user) == "" {
			t.Fatalf("Verify(%q) accepted it with no user", token)
		}
		return
	}
	if user != "" {
		t.Fatalf("Verify(%q) = %q with error %v", token, user, err)
	}
	if !wrapsSentinel(err) {
		t.Fatalf("Verify(%q) = %v, which wraps no verification sentinel", token, err)
	}
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 16 && strings.Contains(err.Error(), part) {
			t.Fatalf("Verify(%q) = %v, which quotes the token", token, err)
		}
	}
}

func wrapsSentinel(err error) bool {
	for _, s := range verifySentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func fuzzKey(f *testing.F, alg string) *Key {
	f.Helper()
	k, err := Generate(alg)
	if err != nil {
		f.Fatal(err)
	}
	return k
}

// fuzzTokens returns tokens to start from: good ones signed by each key,
// and the bad forms verifiers have been fooled by elsewhere.
func fuzzTokens(f *testing.F, claims jwt.MapClaims, keys ...*Key) []string {
	f.Helper()
	sign := func(k *Key, edit func(jwt.MapClaims, map[string]any)) string {
		c := jwt.MapClaims{}
		for name, v := range claims {
			c[name] = v
		}
		tok := jwt.NewWithClaims(jwt.GetSigningMethod(k.Alg), c)
		tok.Header["kid"] = k.ID
		if edit != nil {
			edit(c, tok.Header)
		}
		s, err := tok.SignedString(k.signer)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}

	var out []string
	for _, k := range keys {
		good := sign(k, nil)
		parts := strings.Split(good, ".")
		out = append(out, good,
			sign(k, func(c jwt.MapClaims, _ map[string]any) { c["exp"] = fuzzNow.Add(-time.Hour).Unix() }),
			sign(k, func(c jwt.MapClaims, _ map[string]any) { c["sub"] = " " }),
			sign(k, func(c jwt.MapClaims, _ map[string]any) { c["exp"] = "soon" }),
			sign(k, func(c jwt.MapClaims, _ map[string]any) { c["iat"] = fuzzNow.Add(-48 * time.Hour).Unix() }),
			sign(k, func(_ jwt.MapClaims, h map[string]any) { h["kid"] = "unknown" }),
			parts[0]+"."+parts[1]+".",
			parts[0]+"."+parts[1],
			rawHeader(`{"alg":"none","kid":"`+k.ID+`"}`)+"."+parts[1]+".",
			rawHeader(`{"alg":"HS256","kid":"`+k.ID+`"}`)+"."+parts[1]+"."+parts[2],
			rawHeader(`{"alg":"`+k.Alg+`","kid":["`+k.ID+`"]}`)+"."+parts[1]+"."+parts[2],
		)
	}
	long := strings.Repeat("A", 100) + "." + strings.Repeat("B", 100) + ".C"
	return append(out, "", "a.b.c", "....", "eyJ.eyJ.x", long)
}

func rawHeader(json string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(json))
}
