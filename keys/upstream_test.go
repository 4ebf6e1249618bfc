package keys

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer           = "http://127.0.0.1/idp"
	testUpstreamAudience = "psmongo-app"
)

func TestUpstreamVerify(t *testing.T) {
	clock := newFakeClock()
	rsaKey, ecKey, stranger := mustGenerate(t, RS256), mustGenerate(t, ES256), mustGenerate(t, RS256)
	provider := newIDP(t, rsaKey, ecKey)
	base := idpClaims(clock.Now())
	publicJWK, _ := rsaKey.Public().MarshalJSON()

	tests := []struct {
		name     string
		edit     func(*UpstreamConfig)
		token    string
		wantUser string
		wantErr  error
	}{
		{name: "rsa token", token: signWith(t, rsaKey, base), wantUser: "user-1"},
		{name: "ec token", token: signWith(t, ecKey, base), wantUser: "user-1"},
		{name: "custom user claim", edit: userClaim("uid"), token: signWith(t, rsaKey, base), wantUser: "custom-7"},
		{name: "numeric user claim", edit: userClaim("num"), token: signWith(t, rsaKey, base), wantUser: "42"},
		{name: "user claim missing", edit: userClaim("email"), token: signWith(t, rsaKey, base), wantErr: ErrNoSubject},
		{name: "wrong issuer", token: signWith(t, rsaKey, with(base, "iss", "http://127.0.0.1/other")), wantErr: ErrIssuer},
		{name: "no issuer", token: signWith(t, rsaKey, with(base, "iss", nil)), wantErr: ErrIssuer},
		{name: "wrong audience", token: signWith(t, rsaKey, with(base, "aud", "another-app")), wantErr: ErrAudience},
		{name: "expired", token: signWith(t, rsaKey, with(base, "exp", clock.Now().Add(-time.Hour).Unix())), wantErr: ErrExpired},
		{name: "HS256 keyed with public key", token: signRaw(t, jwt.SigningMethodHS256, publicJWK, rsaKey.ID, base), wantErr: ErrAlgorithm},
		{name: "alg none", token: signRaw(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, rsaKey.ID, base), wantErr: ErrAlgorithm},
		{name: "alg not allowed", edit: algorithms(ES256), token: signWith(t, rsaKey, base), wantErr: ErrAlgorithm},
		{name: "signed by another key", token: signRaw(t, jwt.SigningMethodRS256, stranger.signer, rsaKey.ID, base), wantErr: ErrSignature},
		{name: "unknown kid", token: signWith(t, stranger, base), wantErr: ErrUnknownKID},
		{name: "garbage", token: "garbage", wantErr: ErrMalformed},
		{name: "empty", token: "", wantErr: ErrMissingToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newTestUpstream(t, provider, clock, tt.edit)
			got, err := u.Verify(t.Context(), tt.token)
			if !errors.Is(err, tt.wantErr) || got != tt.wantUser {
				t.Errorf("Verify = %q, %v, want %q, %v", got, err, tt.wantUser, tt.wantErr)
			}
		})
	}
}

func TestUpstreamKeyRotation(t *testing.T) {
	clock := newFakeClock()
	oldKey, nextKey := mustGenerate(t, RS256), mustGenerate(t, ES256)
	provider := newIDP(t, oldKey)
	u := newTestUpstream(t, provider, clock, nil)
	newToken := signWith(t, nextKey, idpClaims(clock.Now()))

	mustVerifyUpstream(t, u, signWith(t, oldKey, idpClaims(clock.Now())))
	provider.serve(nextKey)

	// within the refetch interval of the first fetch the new kid waits
	if _, err := u.Verify(t.Context(), newToken); !errors.Is(err, ErrUnknownKID) {
		t.Errorf("new kid right after the first fetch: error = %v, want %v", err, ErrUnknownKID)
	}
	provider.checkFetches(t, 1)

	clock.Advance(DefaultRefetchInterval)
	newToken = signWith(t, nextKey, idpClaims(clock.Now()))
	mustVerifyUpstream(t, u, newToken)
	provider.checkFetches(t, 2)

	mustVerifyUpstream(t, u, newToken)
	provider.checkFetches(t, 2)
}

func TestUpstreamRefetchesAtMostOncePerInterval(t *testing.T) {
	clock := newFakeClock()
	known, stranger := mustGenerate(t, RS256), mustGenerate(t, RS256)
	provider := newIDP(t, known)
	u := newTestUpstream(t, provider, clock, nil)
	mustVerifyUpstream(t, u, signWith(t, known, idpClaims(clock.Now())))

	steps := []struct {
		name        string
		advance     time.Duration
		wantFetches int32
	}{
		{name: "storm right after the first fetch", advance: 0, wantFetches: 1},
		{name: "storm a minute later", advance: time.Minute, wantFetches: 2},
		{name: "storm half a minute later", advance: 30 * time.Second, wantFetches: 2},
		{name: "storm another half minute later", advance: 30 * time.Second, wantFetches: 3},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			clock.Advance(step.advance)
			unknownKIDStorm(t, u, stranger, clock.Now(), 50)
			provider.checkFetches(t, step.wantFetches)
		})
	}
}

func TestUpstreamJWKSUnavailable(t *testing.T) {
	clock := newFakeClock()
	k := mustGenerate(t, RS256)
	provider := newIDP(t, k)
	provider.failWith(http.StatusInternalServerError)
	u := newTestUpstream(t, provider, clock, nil)
	token := signWith(t, k, idpClaims(clock.Now()))

	for range 3 {
		if _, err := u.Verify(t.Context(), token); !errors.Is(err, ErrJWKSUnavailable) {
			t.Errorf("Verify with the JWKS down: error = %v, want %v", err, ErrJWKSUnavailable)
		}
	}
	provider.checkFetches(t, 1)

	provider.failWith(0)
	clock.Advance(DefaultRefetchInterval)
	token = signWith(t, k, idpClaims(clock.Now()))
	mustVerifyUpstream(t, u, token)
	provider.checkFetches(t, 2)

	// old keys are fetched again; when that fails they stay in use
	provider.failWith(http.StatusBadGateway)
	clock.Advance(jwksMaxAge + time.Second)
	mustVerifyUpstream(t, u, signWith(t, k, idpClaims(clock.Now())))
	provider.checkFetches(t, 3)
}

func TestUpstreamFetchTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)

	u, err := NewUpstream(UpstreamConfig{
		JWKSURL: srv.URL, Issuer: testIssuer, Audience: testUpstreamAudience,
		Timeout: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("NewUpstream: %v", err)
	}

	k := mustGenerate(t, RS256)
	_, err = u.Verify(t.Context(), signWith(t, k, idpClaims(time.Now())))
	if !errors.Is(err, ErrJWKSUnavailable) {
		t.Errorf("Verify with a hanging JWKS: error = %v, want %v", err, ErrJWKSUnavailable)
	}
}

func TestNewUpstreamRefuses(t *testing.T) {
	valid := UpstreamConfig{JWKSURL: "http://127.0.0.1:1/jwks", Issuer: testIssuer, Audience: testUpstreamAudience}
	tests := []struct {
		name string
		edit func(*UpstreamConfig)
	}{
		{name: "no url", edit: func(c *UpstreamConfig) { c.JWKSURL = "" }},
		{name: "not http", edit: func(c *UpstreamConfig) { c.JWKSURL = "file:///jwks.json" }},
		{name: "no host", edit: func(c *UpstreamConfig) { c.JWKSURL = "http:///jwks" }},
		{name: "no issuer", edit: func(c *UpstreamConfig) { c.Issuer = "" }},
		{name: "no audience", edit: func(c *UpstreamConfig) { c.Audience = "" }},
		{name: "HS256 allowed", edit: algorithms(RS256, "HS256")},
		{name: "none allowed", edit: algorithms("none")},
		{name: "negative timeout", edit: func(c *UpstreamConfig) { c.Timeout = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.edit(&cfg)
			if _, err := NewUpstream(cfg); err == nil {
				t.Errorf("NewUpstream(%+v) succeeded, want an error", cfg)
			}
		})
	}

	if _, err := NewUpstream(valid); err != nil {
		t.Errorf("NewUpstream(valid) error = %v", err)
	}
}

// idp simulates an identity provider that serves its JWKS on loopback and
// counts the fetches.
type idp struct {
	srv     *httptest.Server
	fetches atomic.Int32

	mu          sync.Mutex
	keys        []*Key
	status      int  // when not zero, the answer instead of the JWKS
	withoutKIDs bool // serve the keys without kid, as a few providers do
}

func newIDP(t *testing.T, keys ...*Key) *idp {
	t.Helper()
	p := &idp{keys: keys}
	p.srv = httptest.NewServer(http.HandlerFunc(p.handle))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) handle(w http.ResponseWriter, r *http.Request) {
	p.fetches.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()

	if p.status != 0 {
		w.WriteHeader(p.status)
		return
	}
	doc := struct {
		Keys []jwk `json:"keys"`
	}{}
	for _, k := range p.keys {
		j := k.Public().jwk
		if p.withoutKIDs {
			j.Kid = ""
		}
		doc.Keys = append(doc.Keys, j)
	}
	json.NewEncoder(w).Encode(doc)
}

// serve replaces the keys of the JWKS.
func (p *idp) serve(keys ...*Key) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = keys
}

// failWith makes the JWKS answer status, or answer again when it is zero.
func (p *idp) failWith(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = status
}

func (p *idp) checkFetches(t *testing.T, want int32) {
	t.Helper()
	if got := p.fetches.Load(); got != want {
		t.Errorf("JWKS fetched %d times, want %d", got, want)
	}
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1_700_000_000, 0)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTestUpstream returns a verifier for p's JWKS on clock, changed by edit
// if not nil.
func newTestUpstream(t *testing.T, p *idp, clock *fakeClock, edit func(*UpstreamConfig)) *Upstream {
	t.Helper()
	cfg := UpstreamConfig{
		JWKSURL:  p.srv.URL + "/.well-known/jwks.json",
		Issuer:   testIssuer,
		Audience: testUpstreamAudience,
		Now:      clock.Now,
	}
	if edit != nil {
		edit(&cfg)
	}

	u, err := NewUpstream(cfg)
	if err != nil {
		t.Fatalf("NewUpstream: %v", err)
	}
	return u
}

func mustVerifyUpstream(t *testing.T, u *Upstream, token string) {
	t.Helper()
	if got, err := u.Verify(t.Context(), token); err != nil || got != "user-1" {
		t.Fatalf("Verify = %q, %v, want user-1", got, err)
	}
}

// unknownKIDStorm verifies n tokens at once, each naming a kid the identity
// provider never had, and checks that each is refused.
func unknownKIDStorm(t *testing.T, u *Upstream, k *Key, now time.Time, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		token := signRaw(t, jwt.SigningMethodRS256, k.signer, k.ID+"-"+string(rune('a'+i%26)), idpClaims(now))
		wg.Go(func() {
			if _, err := u.Verify(t.Context(), token); !errors.Is(err, ErrUnknownKID) {
				t.Errorf("Verify(unknown kid) error = %v, want %v", err, ErrUnknownKID)
			}
		})
	}
	wg.Wait()
}

// idpClaims returns the claims of a valid identity provider token.
func idpClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub": "user-1",
		"uid": "custom-7",
		"num": 42,
		"iss": testIssuer,
		"aud": testUpstreamAudience,
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
}

func userClaim(name string) func(*UpstreamConfig) {
	return func(c *UpstreamConfig) { c.UserClaim = name }
}

func algorithms(names ...string) func(*UpstreamConfig) {
	return func(c *UpstreamConfig) { c.Algorithms = names }
}

func TestDecodeUpstreamJWKSSkipsUnusableKeys(t *testing.T) {
	signing, unnamed := mustGenerate(t, RS256), mustGenerate(t, EdDSA)
	weak := mustRSA1024(t)
	member := func(k *Key, edit func(map[string]any)) json.RawMessage {
		m := map[string]any{}
		data, _ := k.Public().MarshalJSON()
		json.Unmarshal(data, &m)
		edit(m)
		return mustJSON(t, m)
	}

	doc := mustJSON(t, map[string]any{"keys": []json.RawMessage{
		member(signing, func(map[string]any) {}),
		member(unnamed, func(m map[string]any) { delete(m, "kid"); delete(m, "alg") }),
		member(signing, func(m map[string]any) { m["kid"] = "enc"; m["use"] = "enc" }),
		member(weak, func(m map[string]any) { m["kid"] = "weak" }),
		json.RawMessage(`{"kty":"oct","kid":"secret","k":"c2VjcmV0"}`),
		json.RawMessage(`{"kty":"EC","kid":"broken","crv":"P-256","x":"AA","y":"AA"}`),
		json.RawMessage(`"not an object"`),
	}})

	got, err := decodeUpstreamJWKS(doc)
	if err != nil {
		t.Fatalf("decodeUpstreamJWKS: %v", err)
	}
	var kids []string
	for kid := range got {
		kids = append(kids, kid)
	}
	slices.Sort(kids)
	if want := []string{"", signing.ID}; !slices.Equal(kids, want) {
		t.Errorf("usable kids = %q, want %q", kids, want)
	}
}

func TestUpstreamTokenWithoutKID(t *testing.T) {
	clock := newFakeClock()
	k := mustGenerate(t, EdDSA)
	provider := newIDP(t, k)
	provider.withoutKIDs = true
	u := newTestUpstream(t, provider, clock, nil)

	got, err := u.Verify(t.Context(), signRaw(t, jwt.SigningMethodEdDSA, k.signer, "", idpClaims(clock.Now())))
	if err != nil || got != "user-1" {
		t.Errorf("Verify(token without kid, JWKS without kids) = %q, %v, want user-1", got, err)
	}
}
