package handlers

import "github.com/gofiber/fiber/v2"

// JWKS serves the public keys that verify psmongo's tokens:
// GET /jwks and GET /api/auth/keys, the PowerSync Service's jwks_uri.
type JWKS struct {
	Keys interface{ JWKS() []byte }
}

// Serve handles a JWKS request. The keys change only on a restart, and the
// PowerSync Service refetches them when it meets an unknown kid, so a few
// minutes of caching are safe.
func (h *JWKS) Serve(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(h.Keys.JWKS())
}
