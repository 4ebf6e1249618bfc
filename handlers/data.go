package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/psmongo/psmongo/hooks"
	"github.com/psmongo/psmongo/mongoapply"
)

// One handles PUT, PATCH and DELETE /api/data: a single op whose kind is the
// HTTP method, with a body {"table", "id", "data"} as the official demo
// backends take it. The response is the same as a batch of one.
func (h *Upload) One(c *fiber.Ctx) error {
	body, err := rawBody(c)
	if err != nil {
		return err
	}
	op, err := mongoapply.ParseOne(hooks.Kind(c.Method()), body)
	if err != nil {
		return applyError(err)
	}
	return h.apply(c, []mongoapply.Op{op})
}
