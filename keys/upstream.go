package keys

import (
	"cmp"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults of [UpstreamConfig].
const (
	// DefaultUserClaim is the claim that holds the user id.
	DefaultUserClaim = "sub"
	// DefaultUpstreamTimeout bounds one JWKS fetch.
	DefaultUpstreamTimeout = 5 * time.Second
	// DefaultRefetchInterval is the least time between two JWKS fetches.
	DefaultRefetchInterval = time.Minute
)

const (
	// jwksMaxAge is how long fetched keys are used before they are fetched
	// again, so that keys the identity provider withdrew stop verifying.
	// While the provider cannot be reached the old keys stay in use:
	// signing in keeps working through an outage of its JWKS endpoint.
	jwksMaxAge = time.Hour
	// maxJWKSBytes bounds the JWKS document read from the identity provider.
	maxJWKSBytes = 1 << 20
)

// ErrJWKSUnavailable means the identity provider's JWKS could not be
// fetched or held no usable key.
var ErrJWKSUnavailable = errors.New("identity provider keys are unavailable")

// defaultUpstreamAlgs are the algorithms accepted when none are configured.
var defaultUpstreamAlgs = []string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}

// errRateLimited means a fetch was skipped because the last one was recent.
var errRateLimited = errors.New("jwks fetched recently")

// UpstreamConfig configures an [Upstream] verifier.
type UpstreamConfig struct {
	// JWKSURL is the http or https URL of the identity provider's JWKS.
	JWKSURL string
	// Issuer is the required iss claim.
	Issuer string
	// Audience is the aud claim that tokens must contain.
	Audience string
	// Algorithms are the accepted JWS algorithms; empty means RS256, RS384,
	// RS512, PS256, ES256, ES384 and EdDSA. HMAC and none are refused.
	Algorithms []string
	// UserClaim names the claim that holds the user id; empty means "sub".
	UserClaim string
	// Timeout bounds one JWKS fetch; zero means DefaultUpstreamTimeout.
	Timeout time.Duration
	// RefetchInterval is the least time between two JWKS fetches, however
	// many tokens with unknown kids arrive; zero means
	// DefaultRefetchInterval.
	RefetchInterval time.Duration
	// Client fetches the JWKS; nil means a client with Timeout.
	Client *http.Client
	// Now tells the time; nil means time.Now.
	Now func() time.Time
}

// Upstream verifies the tokens of an external identity provider against its
// JWKS, which it fetches, caches and fetches again when a token names an
// unknown kid, at most once per refetch interval. An Upstream is safe for
// concurrent use.
type Upstream struct {
	cfg    UpstreamConfig
	client *http.Client

	fetchMu sync.Mutex // held during a fetch, so that one runs at a time

	mu        sync.RWMutex
	keys      map[string][]upstreamKey // by kid; keys without kid under ""
	fetchedAt time.Time                // last successful fetch
	triedAt   time.Time                // last fetch attempt
}

// upstreamKey is one usable key of the identity provider's JWKS.
type upstreamKey struct {
	alg string // empty when the JWK states none
	key crypto.PublicKey
}

// NewUpstream checks cfg, fills in its defaults and returns a verifier. It
// fetches nothing: the first Verify does.
func NewUpstream(cfg UpstreamConfig) (*Upstream, error) {
	if err := checkUpstreamConfig(cfg); err != nil {
		return nil, err
	}

	cfg.Algorithms = cmpOrSlice(cfg.Algorithms, defaultUpstreamAlgs)
	cfg.UserClaim = cmp.Or(cfg.UserClaim, DefaultUserClaim)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultUpstreamTimeout)
	cfg.RefetchInterval = cmp.Or(cfg.RefetchInterval, DefaultRefetchInterval)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	return &Upstream{cfg: cfg, client: client}, nil
}

// Verify checks an identity provider token and returns the user id from its
// user claim. Errors wrap ErrJWKSUnavailable or one of the verification
// sentinels (ErrMissingToken, ErrMalformed, ErrAlgorithm, ErrUnknownKID,
// ErrSignature, ErrExpired, ErrNotYetValid, ErrAudience, ErrIssuer,
// ErrNoSubject), and never contain the token.
func (u *Upstream) Verify(ctx context.Context, token string) (userID string, err error) {
	h, err := readHeader(token)
	if err != nil {
		return "", fmt.Errorf("verifying token: %w", err)
	}
	if !slices.Contains(u.cfg.Algorithms, h.Alg) {
		return "", fmt.Errorf("verifying token: %w", ErrAlgorithm)
	}

	candidates, err := u.keysFor(ctx, h.Kid)
	if err != nil {
		return "", fmt.Errorf("verifying token: %w", err)
	}
	verifyWith := fitting(candidates, h.Alg)
	if len(verifyWith.Keys) == 0 {
		return "", fmt.Errorf("verifying token: alg does not fit the key: %w", ErrAlgorithm)
	}

	claims := jwt.MapClaims{}
	_, err = u.parser(h.Alg).ParseWithClaims(token, claims, func(*jwt.Token) (any, error) {
		return verifyWith, nil
	})
	if err != nil {
		return "", fmt.Errorf("verifying token: %w", classify(err, claims))
	}
	return u.userID(claims)
}

// parser returns a parser restricted to alg with the checks of u.
func (u *Upstream) parser(alg string) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{alg}),
		jwt.WithIssuer(u.cfg.Issuer),
		jwt.WithAudience(u.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(u.cfg.Now),
		jwt.WithJSONNumber(),
	)
}

// userID returns the user claim as a string; numeric ids are accepted.
func (u *Upstream) userID(claims jwt.MapClaims) (string, error) {
	var id string
	switch v := claims[u.cfg.UserClaim].(type) {
	case string:
		id = v
	case json.Number:
		id = v.String()
	}

	if id == "" {
		return "", fmt.Errorf("verifying token: claim %q: %w", u.cfg.UserClaim, ErrNoSubject)
	}
	return id, nil
}

// keysFor returns the cached keys for kid, fetching the JWKS first when kid
// is unknown or the cache is old and the refetch interval allows it.
func (u *Upstream) keysFor(ctx context.Context, kid string) ([]upstreamKey, error) {
	found, fresh := u.cached(kid)
	if len(found) > 0 && fresh {
		return found, nil
	}

	err := u.refresh(ctx)
	if found, _ = u.cached(kid); len(found) > 0 {
		return found, nil // a failed refresh keeps the old keys in use
	}

	switch {
	case errors.Is(err, errRateLimited) && u.neverFetched():
		return nil, fmt.Errorf("no successful fetch yet: %w", ErrJWKSUnavailable)
	case err != nil && !errors.Is(err, errRateLimited):
		return nil, err
	}
	return nil, ErrUnknownKID
}

// cached returns the keys for kid and whether the cache is fresh.
func (u *Upstream) cached(kid string) (found []upstreamKey, fresh bool) {
	u.mu.RLock()
	defer u.mu.RUnlock()

	fresh = u.cfg.Now().Sub(u.fetchedAt) < jwksMaxAge
	return u.keys[kid], fresh
}

// neverFetched reports whether no fetch has succeeded yet.
func (u *Upstream) neverFetched() bool {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.fetchedAt.IsZero()
}

// refresh fetches the JWKS unless the last attempt is more recent than the
// refetch interval, then it returns errRateLimited.
func (u *Upstream) refresh(ctx context.Context) error {
	u.fetchMu.Lock()
	defer u.fetchMu.Unlock()

	now := u.cfg.Now()
	u.mu.Lock()
	if !u.triedAt.IsZero() && now.Sub(u.triedAt) < u.cfg.RefetchInterval {
		u.mu.Unlock()
		return errRateLimited
	}
	u.triedAt = now
	u.mu.Unlock()

	keys, err := u.fetch(ctx)
	if err != nil {
		return err
	}

	u.mu.Lock()
	u.keys, u.fetchedAt = keys, now
	u.mu.Unlock()
	return nil
}

// fetch downloads and decodes the JWKS. The fetch serves every caller, so it
// outlives the cancellation of the request that triggered it.
func (u *Upstream) fetch(ctx context.Context) (map[string][]upstreamKey, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), u.cfg.Timeout)
	defer cancel()

	body, err := u.download(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetching JWKS: %v: %w", err, ErrJWKSUnavailable)
	}

	keys, err := decodeUpstreamJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("decoding JWKS: %v: %w", err, ErrJWKSUnavailable)
	}
	return keys, nil
}

// download returns the body of the JWKS response.
func (u *Upstream) download(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.cfg.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")

	resp, err := u.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("document exceeds %d bytes", maxJWKSBytes)
	}
	return body, nil
}

// decodeUpstreamJWKS returns the usable signing keys of a JWKS by kid.
// Keys for encryption, symmetric keys and keys of unknown types are skipped,
// as identity providers may list them beside their signing keys.
func decodeUpstreamJWKS(body []byte) (map[string][]upstreamKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, errors.New("not a JSON JWKS")
	}

	keys := make(map[string][]upstreamKey)
	for _, raw := range doc.Keys {
		var j jwk
		if json.Unmarshal(raw, &j) != nil || (j.Use != "" && j.Use != "sig") {
			continue
		}
		if j.Kty == "oct" || isSymmetricAlg(j.Alg) {
			continue
		}

		key, err := j.publicKey()
		if err != nil || checkStrength(key) != nil {
			continue
		}
		keys[j.Kid] = append(keys[j.Kid], upstreamKey{alg: j.Alg, key: key})
	}

	if len(keys) == 0 {
		return nil, errors.New("no usable signing key")
	}
	return keys, nil
}

// fitting returns the candidates that can verify a token signed with alg.
func fitting(candidates []upstreamKey, alg string) jwt.VerificationKeySet {
	var set jwt.VerificationKeySet
	for _, c := range candidates {
		if (c.alg == "" || c.alg == alg) && algFits(alg, c.key) {
			set.Keys = append(set.Keys, c.key)
		}
	}
	return set
}

// checkUpstreamConfig refuses a config without URL, issuer or audience, or
// with an algorithm that is symmetric or unknown.
func checkUpstreamConfig(cfg UpstreamConfig) error {
	if cfg.JWKSURL == "" {
		return errors.New("upstream JWKS URL is empty")
	}
	loc, err := url.Parse(cfg.JWKSURL)
	if err != nil || (loc.Scheme != "https" && loc.Scheme != "http") || loc.Host == "" {
		return errors.New("upstream JWKS URL is not an http or https URL")
	}

	if cfg.Issuer == "" {
		return errors.New("upstream issuer is empty")
	}
	if cfg.Audience == "" {
		return errors.New("upstream audience is empty")
	}
	if cfg.Timeout < 0 || cfg.RefetchInterval < 0 {
		return errors.New("upstream timeout and refetch interval must not be negative")
	}

	for _, alg := range cfg.Algorithms {
		if !asymmetricAlgs[alg] {
			return fmt.Errorf("upstream alg %q: not an asymmetric JWS algorithm", alg)
		}
	}
	return nil
}

// cmpOrSlice returns a copy of v unless it is empty, else a copy of def.
func cmpOrSlice(v, def []string) []string {
	if len(v) == 0 {
		return slices.Clone(def)
	}
	return slices.Clone(v)
}
