package handlers

import "github.com/gofiber/fiber/v2"

// Keys of values that middleware stores in fiber.Ctx.Locals.
const (
	localsUserID = "psmongo.user_id"
	localsOps    = "psmongo.ops"
)

// UserID returns the authenticated caller's user id, or "" when the request
// was not authenticated.
func UserID(c *fiber.Ctx) string {
	id, _ := c.Locals(localsUserID).(string)
	return id
}

// SetUserID records the caller's user id for the handlers after it.
func SetUserID(c *fiber.Ctx, id string) {
	c.Locals(localsUserID, id)
}

// OpCount returns how many ops the request carried, for the access log.
func OpCount(c *fiber.Ctx) int {
	n, _ := c.Locals(localsOps).(int)
	return n
}
