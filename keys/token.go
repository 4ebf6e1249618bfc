package keys

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token lifetimes.
const (
	// MinTTL is the shortest token lifetime accepted.
	MinTTL = time.Minute
	// MaxTTL is the longest: the PowerSync Service refuses longer-lived tokens.
	MaxTTL = 24 * time.Hour
	// DefaultTTL is the lifetime used when none is configured.
	DefaultTTL = 15 * time.Minute
)

// DefaultIssuer is the iss claim of issued tokens when none is configured.
const DefaultIssuer = "psmongo"

// clockSkew is how far the clocks of issuer and verifier may disagree when
// exp, nbf and iat are checked.
const clockSkew = 60 * time.Second

var (
	// ErrTTL means a token lifetime is shorter than MinTTL or longer than
	// MaxTTL.
	ErrTTL = errors.New("token lifetime must be between 1m and 24h")

	// ErrNoUserID means a token was requested for an empty user id.
	ErrNoUserID = errors.New("user id is empty")
)

// Verification errors. Each error returned by [Set.Verify] and
// [Upstream.Verify] wraps one of them, or ErrJWKSUnavailable.
var (
	// ErrMissingToken means the token is empty.
	ErrMissingToken = errors.New("token is missing")
	// ErrMalformed means the token is not a JWT, or a claim has a wrong type
	// or lacks: exp, or iat for tokens of this backend.
	ErrMalformed = errors.New("token is malformed")
	// ErrExpired means exp has passed, by more than the clock skew.
	ErrExpired = errors.New("token has expired")
	// ErrNotYetValid means nbf or iat lies ahead, by more than the clock skew.
	ErrNotYetValid = errors.New("token is not valid yet")
	// ErrAudience means aud is missing or does not name the expected audience.
	ErrAudience = errors.New("token audience is not accepted")
	// ErrIssuer means iss is missing or not the expected issuer.
	ErrIssuer = errors.New("token issuer is not accepted")
	// ErrUnknownKID means the header kid names no known key.
	ErrUnknownKID = errors.New("token key id is unknown")
	// ErrSignature means the signature does not verify with the named key.
	ErrSignature = errors.New("token signature is invalid")
	// ErrAlgorithm means the header alg is none, HMAC, not allowed, or not
	// the algorithm of the named key.
	ErrAlgorithm = errors.New("token algorithm is not accepted")
	// ErrNoSubject means the token has no user id: no sub, or no user claim.
	ErrNoSubject = errors.New("token has no subject")
)

// CheckTTL returns an error wrapping [ErrTTL] unless d is between [MinTTL]
// and [MaxTTL], both included.
func CheckTTL(d time.Duration) error {
	if d < MinTTL || d > MaxTTL {
		return fmt.Errorf("ttl %v: %w", d, ErrTTL)
	}
	return nil
}

// SignerConfig is what a [Signer] puts into tokens.
type SignerConfig struct {
	// Audience is the aud claim: the PowerSync Service URL. Required.
	Audience string
	// Issuer is the iss claim; empty means DefaultIssuer.
	Issuer string
	// TTL is the token lifetime, checked by CheckTTL.
	TTL time.Duration
}

// Signer issues the tokens that the PowerSync Service accepts.
type Signer struct {
	key    *Key
	method jwt.SigningMethod
	cfg    SignerConfig
}

// NewSigner returns a Signer that signs with key. An invalid TTL gives an
// error wrapping [ErrTTL].
func NewSigner(key *Key, cfg SignerConfig) (*Signer, error) {
	if err := CheckTTL(cfg.TTL); err != nil {
		return nil, err
	}
	if cfg.Audience == "" {
		return nil, errors.New("token audience is empty")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}

	method := jwt.GetSigningMethod(key.Alg)
	if method == nil {
		return nil, fmt.Errorf("alg %q: %w", key.Alg, ErrKeyAlgorithm)
	}
	return &Signer{key: key, method: method, cfg: cfg}, nil
}

// Issue returns a token for userID, issued at now, and its expiry. The token
// has the claims sub, aud, iss, iat and exp and the header alg and kid.
// An empty userID gives an error wrapping [ErrNoUserID].
func (s *Signer) Issue(userID string, now time.Time) (token string, expires time.Time, err error) {
	if userID == "" {
		return "", time.Time{}, fmt.Errorf("issuing token: %w", ErrNoUserID)
	}

	// whole seconds, so that exp - iat never exceeds the TTL
	issued := time.Unix(now.Unix(), 0)
	expires = time.Unix(issued.Add(s.cfg.TTL).Unix(), 0)
	claims := jwt.MapClaims{
		"sub": userID,
		"aud": s.cfg.Audience,
		"iss": s.cfg.Issuer,
		"iat": issued.Unix(),
		"exp": expires.Unix(),
	}

	t := jwt.NewWithClaims(s.method, claims)
	t.Header["kid"] = s.key.ID
	token, err = t.SignedString(s.key.signer)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("signing token: %w", err)
	}
	return token, expires, nil
}

// Verify checks a token issued with one of the keys in s, for audience, at
// now, and returns its subject. Errors wrap one of the verification
// sentinels (ErrMissingToken, ErrMalformed, ErrAlgorithm, ErrUnknownKID,
// ErrSignature, ErrExpired, ErrNotYetValid, ErrAudience, ErrNoSubject) and
// never contain the token.
func (s *Set) Verify(token, audience string, now time.Time) (userID string, err error) {
	if subject, ok := s.verified.lookup(token, audience, now); ok {
		return subject, nil
	}

	h, err := readHeader(token)
	if err != nil {
		return "", fmt.Errorf("verifying token: %w", err)
	}

	key, ok := s.byID[h.Kid]
	if !ok {
		return "", fmt.Errorf("verifying token: %w", ErrUnknownKID)
	}
	if h.Alg != key.Alg {
		return "", fmt.Errorf("verifying token: alg differs from the key's: %w", ErrAlgorithm)
	}

	var claims jwt.RegisteredClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{key.Alg}),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(clockSkew),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	keyFunc := func(*jwt.Token) (any, error) { return key.key, nil }
	if _, err := parser.ParseWithClaims(token, &claims, keyFunc); err != nil {
		return "", fmt.Errorf("verifying token: %w", classify(err, &claims))
	}

	if strings.TrimSpace(claims.Subject) == "" {
		return "", fmt.Errorf("verifying token: %w", ErrNoSubject)
	}
	if claims.IssuedAt == nil {
		return "", fmt.Errorf("verifying token: no iat claim: %w", ErrMalformed)
	}
	// The PowerSync Service refuses tokens that live longer; so do we.
	if claims.ExpiresAt.Sub(claims.IssuedAt.Time) > MaxTTL {
		return "", fmt.Errorf("verifying token: lifetime over %s: %w", MaxTTL, ErrMalformed)
	}

	// The times the parser checked, with their leeway: exp, iat and nbf.
	from := claims.IssuedAt.Time
	if claims.NotBefore != nil && claims.NotBefore.After(from) {
		from = claims.NotBefore.Time
	}
	s.verified.add(token, audience, verifiedToken{
		subject: claims.Subject, from: from.Add(-clockSkew), until: claims.ExpiresAt.Add(clockSkew),
	})
	return claims.Subject, nil
}

// header is the part of a JWT header that selects the verification key.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// readHeader decodes the header of token without verifying anything, and
// refuses algorithms that are never accepted: none, HMAC, and any this
// package cannot verify.
func readHeader(token string) (header, error) {
	if token == "" {
		return header{}, ErrMissingToken
	}

	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return header{}, fmt.Errorf("want 3 dot-separated parts, got %d: %w", len(parts), ErrMalformed)
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return header{}, fmt.Errorf("header is not base64url: %w", ErrMalformed)
	}

	var h header
	if err := json.Unmarshal(data, &h); err != nil {
		return header{}, fmt.Errorf("header is not JSON: %w", ErrMalformed)
	}
	if !asymmetricAlgs[h.Alg] {
		return header{}, fmt.Errorf("alg is none, HMAC or unknown: %w", ErrAlgorithm)
	}
	return h, nil
}

// asymmetricAlgs are the JWS algorithms a token may carry at all.
var asymmetricAlgs = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true,
}

// classify maps an error of the jwt parser to the sentinel of this package.
// Claims checks may fail together; the first match in the order below wins.
// claims, as far as the parser decoded them, tell which required claim is
// missing, as the parser does not say.
func classify(err error, claims jwt.Claims) error {
	checks := []struct{ jwtErr, ours error }{
		{jwt.ErrTokenMalformed, ErrMalformed},
		{jwt.ErrTokenUnverifiable, ErrAlgorithm},
		{jwt.ErrTokenSignatureInvalid, ErrSignature},
		{jwt.ErrTokenExpired, ErrExpired},
		{jwt.ErrTokenNotValidYet, ErrNotYetValid},
		{jwt.ErrTokenUsedBeforeIssued, ErrNotYetValid},
		{jwt.ErrTokenInvalidAudience, ErrAudience},
		{jwt.ErrTokenInvalidIssuer, ErrIssuer},
	}
	for _, c := range checks {
		if errors.Is(err, c.jwtErr) {
			return c.ours
		}
	}

	if !errors.Is(err, jwt.ErrTokenRequiredClaimMissing) {
		return fmt.Errorf("%v: %w", err, ErrMalformed)
	}
	if exp, _ := claims.GetExpirationTime(); exp == nil {
		return fmt.Errorf("no exp claim: %w", ErrMalformed)
	}
	if aud, _ := claims.GetAudience(); len(aud) == 0 || aud[0] == "" {
		return fmt.Errorf("no aud claim: %w", ErrAudience)
	}
	if iss, _ := claims.GetIssuer(); iss == "" {
		return fmt.Errorf("no iss claim: %w", ErrIssuer)
	}
	return fmt.Errorf("a required claim is missing: %w", ErrMalformed)
}
