package handlers

import (
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// Token modes, as auth.token.mode names them.
const (
	TokenOpen     = "open"
	TokenUpstream = "upstream"
	TokenDisabled = "disabled"
)

// Issuer signs tokens for the PowerSync Service.
type Issuer interface {
	Issue(userID string, now time.Time) (token string, expires time.Time, err error)
}

// Token hands out tokens to the client SDK's fetchCredentials():
// GET /token and GET /api/auth/token.
type Token struct {
	Mode         string   // TokenOpen, TokenUpstream or TokenDisabled
	Issuer       Issuer   // signs the tokens
	Upstream     Verifier // checks the caller's identity-provider token in TokenUpstream mode
	PowerSyncURL string
}

type tokenResponse struct {
	Token        string `json:"token"`
	PowerSyncURL string `json:"powersync_url"`
	ExpiresAt    string `json:"expires_at"`
}

// Issue handles a token request. In open mode the user is ?user_id=, as
// the CloudCode template does; in upstream mode it is the subject of the
// caller's identity-provider token.
func (h *Token) Issue(c *fiber.Ctx) error {
	userID, err := h.user(c)
	if err != nil {
		return err
	}
	SetUserID(c, userID) // for the access log

	token, expires, err := h.Issuer.Issue(userID, time.Now())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(tokenResponse{
		Token:        token,
		PowerSyncURL: h.PowerSyncURL,
		ExpiresAt:    expires.UTC().Format(time.RFC3339),
	})
}

// user returns the user the token is for.
func (h *Token) user(c *fiber.Ctx) (string, error) {
	switch h.Mode {
	case TokenOpen:
		userID := strings.TrimSpace(c.Query("user_id"))
		switch {
		case userID == "":
			return "", BadRequest("the user_id query parameter is required")
		case !utf8.ValidString(userID) || strings.ContainsFunc(userID, unicode.IsControl):
			return "", BadRequest("user_id holds invalid UTF-8 or a control character")
		}
		return strings.Clone(userID), nil
	case TokenUpstream:
		return verifyBearer(c, h.Upstream)
	}
	return "", &Error{Status: http.StatusNotFound, Code: "NOT_FOUND", Message: "tokens are disabled (auth.token.mode)"}
}
