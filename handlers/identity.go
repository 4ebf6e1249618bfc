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

// OpCounts count the ops of an upload, for the access log.
type OpCounts struct {
	Ops      int // ops the request carried
	Applied  int // ops applied, once the upload was answered with 200
	Rejected int // ops rejected, once the upload was answered with 200
}

// Counts returns the ops of the request: all zero when it carried none.
func Counts(c *fiber.Ctx) OpCounts {
	n, _ := c.Locals(localsOps).(OpCounts)
	return n
}
