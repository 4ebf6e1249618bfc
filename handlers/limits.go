package handlers

import (
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// Which limits refuse a request, and which refuse one op.
//
// A limit on what the server must read or decode before it can know the
// ops (the body size, the number of ops, the URL, the headers, the time a
// request takes to arrive) refuses the whole request with a 4xx naming the
// limit: the server does not read or decode what it refuses, so it cannot
// keep it. Only the 408 of a slow request may pass on a retry; the others
// keep the client's queue waiting until the limit is raised, which is why
// their defaults sit far above what clients send. A limit on the content of
// one op (its id, field names, nesting, text that is not UTF-8) refuses
// that op alone, with its unit, in the 200: the op is kept in the
// dead-letter collection, so nothing is lost, and the rest of the client's
// queue is applied.

// LimitURL returns middleware that refuses a request whose target, path
// and query as sent, is longer than max bytes, with a 414.
func LimitURL(max int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if n := len(c.Request().Header.RequestURI()); n > max {
			return &Error{Status: http.StatusRequestURITooLong, Code: "URL_TOO_LONG",
				Message: fmt.Sprintf("the URL is %d bytes, longer than the limit of %d", n, max)}
		}
		return c.Next()
	}
}
