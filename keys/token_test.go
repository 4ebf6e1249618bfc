package keys

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// testAudience stands for the PowerSync Service URL.
const testAudience = "http://127.0.0.1:8080"

// skipNodeEnv names the variable that lets the Node.js check be skipped
// where Node.js is missing; without it a missing node fails the test.
const skipNodeEnv = "PSMONGO_TEST_SKIP_NODE"

func TestCheckTTL(t *testing.T) {
	tests := []struct {
		name    string
		ttl     time.Duration
		wantErr error
	}{
		{name: "zero", ttl: 0, wantErr: ErrTTL},
		{name: "negative", ttl: -time.Hour, wantErr: ErrTTL},
		{name: "just under a minute", ttl: time.Minute - time.Second, wantErr: ErrTTL},
		{name: "one minute", ttl: time.Minute},
		{name: "default", ttl: DefaultTTL},
		{name: "one day", ttl: 24 * time.Hour},
		{name: "just over a day", ttl: 24*time.Hour + time.Second, wantErr: ErrTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckTTL(tt.ttl); !errors.Is(err, tt.wantErr) {
				t.Errorf("CheckTTL(%v) = %v, want %v", tt.ttl, err, tt.wantErr)
			}
		})
	}
}

func TestNewSignerRefuses(t *testing.T) {
	k := mustGenerate(t, ES256)
	tests := []struct {
		name string
		cfg  SignerConfig
	}{
		{name: "ttl too long", cfg: SignerConfig{Audience: testAudience, TTL: 25 * time.Hour}},
		{name: "ttl missing", cfg: SignerConfig{Audience: testAudience}},
		{name: "audience missing", cfg: SignerConfig{TTL: time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSigner(k, tt.cfg); err == nil {
				t.Errorf("NewSigner(%+v) succeeded, want an error", tt.cfg)
			}
		})
	}
}

func TestIssue(t *testing.T) {
	k := mustGenerate(t, EdDSA)
	s := mustSigner(t, k, 15*time.Minute)
	now := time.Unix(1_700_000_000, 500_000_000)

	token, expires, err := s.Issue("user-1", now)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if want := time.Unix(1_700_000_900, 0); !expires.Equal(want) {
		t.Errorf("Issue expires = %v, want %v", expires, want)
	}

	header, claims := decodeToken(t, token)
	wantHeader := map[string]any{"alg": EdDSA, "kid": k.ID, "typ": "JWT"}
	if diff := cmp.Diff(wantHeader, header); diff != "" {
		t.Errorf("header mismatch (-want +got):\n%s", diff)
	}
	wantClaims := map[string]any{
		"sub": "user-1", "aud": testAudience, "iss": DefaultIssuer,
		"iat": 1_700_000_000.0, "exp": 1_700_000_900.0,
	}
	if diff := cmp.Diff(wantClaims, claims); diff != "" {
		t.Errorf("claims mismatch (-want +got):\n%s", diff)
	}

	if _, _, err := s.Issue("", now); !errors.Is(err, ErrNoUserID) {
		t.Errorf("Issue(\"\") error = %v, want %v", err, ErrNoUserID)
	}
}

func TestVerifyAccepts(t *testing.T) {
	now := time.Now()
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			retired := mustGenerate(t, alg)
			current := mustGenerate(t, alg)
			set := mustSet(t, current, retired.Public())
			base := validClaims(now)

			tests := []struct {
				name  string
				token string
			}{
				{"issued by signer", mustIssue(t, mustSigner(t, current, time.Hour), "user-1", now)},
				{"signed by retired key", mustIssue(t, mustSigner(t, retired, time.Hour), "user-1", now)},
				{"expired within skew", signWith(t, current, with(base, "exp", now.Add(-30*time.Second).Unix()))},
				{"issued within skew ahead", signWith(t, current, with(base, "iat", now.Add(30*time.Second).Unix()))},
				{"audience in a list", signWith(t, current, with(base, "aud", []string{"other", testAudience}))},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, err := set.Verify(tt.token, testAudience, now)
					if err != nil || got != "user-1" {
						t.Errorf("Verify = %q, %v, want user-1", got, err)
					}
				})
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Now()
	k := mustGenerate(t, RS256)
	set := mustSet(t, k)
	base := validClaims(now)
	other := mustGenerate(t, RS256)
	ecKey := mustGenerate(t, ES256)

	good := signWith(t, k, base)
	parts := strings.Split(good, ".")
	altered := parts[0] + "." + b64(mustJSON(t, with(base, "sub", "admin"))) + "." + parts[2]
	pemPublic := []byte(pemPKIX(t, k.signer.Public()))
	jwkPublic, _ := k.Public().MarshalJSON()

	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{"empty", "", ErrMissingToken},
		{"garbage", "not a token", ErrMalformed},
		{"four parts", "a.b.c.d", ErrMalformed},
		{"header not base64", "!!!." + parts[1] + "." + parts[2], ErrMalformed},
		{"header not json", b64([]byte("nope")) + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"payload not json", parts[0] + "." + b64([]byte("nope")) + "." + parts[2], ErrMalformed},
		{"alg none", signRaw(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, k.ID, base), ErrAlgorithm},
		{"HS256 keyed with PEM public key", signRaw(t, jwt.SigningMethodHS256, pemPublic, k.ID, base), ErrAlgorithm},
		{"HS256 keyed with JWK public key", signRaw(t, jwt.SigningMethodHS256, jwkPublic, k.ID, base), ErrAlgorithm},
		{"HS256 keyed with base64 JWK", signRaw(t, jwt.SigningMethodHS256, []byte(k.Public().String()), k.ID, base), ErrAlgorithm},
		{"alg not the key's", signRaw(t, jwt.SigningMethodES256, ecKey.signer, k.ID, base), ErrAlgorithm},
		{"signed by another key", signRaw(t, jwt.SigningMethodRS256, other.signer, k.ID, base), ErrSignature},
		{"payload altered", altered, ErrSignature},
		{"unknown kid", signWith(t, other, base), ErrUnknownKID},
		{"no kid", signRaw(t, jwt.SigningMethodRS256, k.signer, "", base), ErrUnknownKID},
		{"expired", signWith(t, k, with(base, "exp", now.Add(-2*time.Minute).Unix())), ErrExpired},
		{"nbf beyond skew", signWith(t, k, with(base, "nbf", now.Add(2*time.Minute).Unix())), ErrNotYetValid},
		{"iat beyond skew", signWith(t, k, with(base, "iat", now.Add(2*time.Minute).Unix())), ErrNotYetValid},
		{"wrong audience", signWith(t, k, with(base, "aud", "http://127.0.0.1:9")), ErrAudience},
		{"no audience", signWith(t, k, with(base, "aud", nil)), ErrAudience},
		{"no sub", signWith(t, k, with(base, "sub", nil)), ErrNoSubject},
		{"blank sub", signWith(t, k, with(base, "sub", " ")), ErrNoSubject},
		{"no exp", signWith(t, k, with(base, "exp", nil)), ErrMalformed},
		{"no iat", signWith(t, k, with(base, "iat", nil)), ErrMalformed},
		{"exp not a number", signWith(t, k, with(base, "exp", "soon")), ErrMalformed},
		{"lifetime over 24h", signWith(t, k, with(base, "exp", now.Add(25*time.Hour).Unix())), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := set.Verify(tt.token, testAudience, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify = %q, %v, want error %v", got, err, tt.wantErr)
			}
			if sig := tokenSignature(tt.token); sig != "" && strings.Contains(err.Error(), sig) {
				t.Errorf("error %q echoes the token", err)
			}
		})
	}
}

// TestIssueVerifiedByNode has each algorithm's tokens checked by Node.js's
// own crypto, following the PowerSync Service's rules, so that a bug shared
// by signer and verifier here cannot hide.
func TestIssueVerifiedByNode(t *testing.T) {
	node := lookNode(t)
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			k := mustGenerate(t, alg)
			jwksURL := serveJWKS(t, mustSet(t, k))
			token := mustIssue(t, mustSigner(t, k, 24*time.Hour), "user-1", time.Now())

			out, err := runNode(t, node, jwksURL, token, testAudience)
			if err != nil || !strings.Contains(out, "ok sub=user-1") {
				t.Fatalf("node verify: %v: %s", err, out)
			}

			// the script must refuse too, or its yes means nothing
			parts := strings.Split(token, ".")
			altered := parts[0] + "." + b64([]byte(`{"sub":"admin"}`)) + "." + parts[2]
			if out, err := runNode(t, node, jwksURL, token, "http://127.0.0.1:9"); err == nil || !strings.Contains(out, "aud") {
				t.Errorf("node on a wrong audience: %v: %s, want a refusal naming aud", err, out)
			}
			if out, err := runNode(t, node, jwksURL, altered, testAudience); err == nil || !strings.Contains(out, "signature") {
				t.Errorf("node on an altered payload: %v: %s, want a refusal naming the signature", err, out)
			}
		})
	}
}

// lookNode returns the path of node, failing the test when it is missing
// unless PSMONGO_TEST_SKIP_NODE=1 asks to skip.
func lookNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		return node
	}
	if os.Getenv(skipNodeEnv) == "1" {
		t.Skipf("node not found and %s=1: skipping the independent JWT check", skipNodeEnv)
	}
	t.Fatalf("node not found on PATH: the independent JWT check needs Node.js 20 or later "+
		"(set %s=1 to skip it): %v", skipNodeEnv, err)
	return ""
}

// runNode runs testdata/verify.mjs and returns its output.
func runNode(t *testing.T, node, jwksURL, token, audience string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), node, "testdata/verify.mjs", jwksURL, token, audience)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// serveJWKS serves the JWKS of s on loopback and returns its URL.
func serveJWKS(t *testing.T, s *Set) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(s.JWKS())
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/jwks"
}

// mustSigner returns a signer for k with the test audience.
func mustSigner(t *testing.T, k *Key, ttl time.Duration) *Signer {
	t.Helper()
	s, err := NewSigner(k, SignerConfig{Audience: testAudience, TTL: ttl})
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

// mustIssue returns a token for userID.
func mustIssue(t *testing.T, s *Signer, userID string, now time.Time) string {
	t.Helper()
	token, _, err := s.Issue(userID, now)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return token
}

// validClaims returns the claims of a valid token for user-1.
func validClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub": "user-1",
		"aud": testAudience,
		"iss": DefaultIssuer,
		"iat": now.Unix(),
		"exp": now.Add(15 * time.Minute).Unix(),
	}
}

// with returns a copy of claims with name set to v, or removed when v is nil.
func with(claims jwt.MapClaims, name string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for n, c := range claims {
		out[n] = c
	}
	if v == nil {
		delete(out, name)
	} else {
		out[name] = v
	}
	return out
}

// signWith signs claims with k under its own kid and alg.
func signWith(t *testing.T, k *Key, claims jwt.MapClaims) string {
	t.Helper()
	return signRaw(t, jwt.GetSigningMethod(k.Alg), k.signer, k.ID, claims)
}

// signRaw signs claims with method and key, with kid in the header unless
// it is empty.
func signRaw(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	token := jwt.NewWithClaims(method, claims)
	if kid != "" {
		token.Header["kid"] = kid
	}

	s, err := token.SignedString(key)
	if err != nil {
		t.Fatalf("signing test token: %v", err)
	}
	return s
}

// decodeToken returns the header and claims of token, unverified.
func decodeToken(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		data, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("decoding token part %d: %v", i, err)
		}
		if err := json.Unmarshal(data, dst); err != nil {
			t.Fatalf("decoding token part %d: %v", i, err)
		}
	}
	return header, claims
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding JSON: %v", err)
	}
	return data
}

// tokenSignature returns the last part of a token, if it has a long one.
func tokenSignature(token string) string {
	parts := strings.Split(token, ".")
	if last := parts[len(parts)-1]; len(last) > 8 {
		return last
	}
	return ""
}
