package handlers

import (
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/psmongo/psmongo/keys"
)

// Verifier checks a bearer token and returns the user id it carries.
type Verifier interface {
	Verify(ctx context.Context, token string) (userID string, err error)
}

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(ctx context.Context, token string) (string, error)

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, token string) (string, error) { return f(ctx, token) }

// Authenticate returns middleware that requires "Authorization: Bearer
// <token>" accepted by v and records its user id for the handlers after
// it. A refused token gets a 401 that says what was wrong with it.
func Authenticate(v Verifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		userID, err := verifyBearer(c, v)
		if err != nil {
			return err
		}
		SetUserID(c, userID)
		return c.Next()
	}
}

// verifyBearer checks the request's bearer token.
func verifyBearer(c *fiber.Ctx, v Verifier) (string, error) {
	token, ok := bearer(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return "", Unauthorized("missing Authorization: Bearer token", nil)
	}
	// The token is not kept past the request; the user id is copied.
	userID, err := v.Verify(c.UserContext(), token)
	if err != nil {
		return "", tokenError(err)
	}
	return strings.Clone(userID), nil
}

func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// tokenMessages say what was wrong with a token, without quoting it.
var tokenMessages = []struct {
	err error
	msg string
}{
	{keys.ErrMissingToken, "missing Authorization: Bearer token"},
	{keys.ErrExpired, "token has expired"},
	{keys.ErrNotYetValid, "token is not valid yet"},
	{keys.ErrAudience, "token audience is not this PowerSync instance"},
	{keys.ErrIssuer, "token issuer is not the trusted one"},
	{keys.ErrUnknownKID, "token is signed by an unknown key (kid)"},
	{keys.ErrSignature, "token signature is invalid"},
	{keys.ErrAlgorithm, "token algorithm is not allowed"},
	{keys.ErrNoSubject, "token has no user id (sub)"},
	{keys.ErrMalformed, "token is malformed"},
}

func tokenError(err error) error {
	if errors.Is(err, keys.ErrJWKSUnavailable) {
		return Unavailable("the identity provider's keys are unavailable; retry later", err)
	}
	for _, m := range tokenMessages {
		if errors.Is(err, m.err) {
			return Unauthorized(m.msg, err)
		}
	}
	return Unauthorized("token is invalid", err)
}
