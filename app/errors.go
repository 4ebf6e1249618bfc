package app

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/psmongo/psmongo/handlers"
)

// renderError renders an error that a handler returned as the body
// DESIGN.md fixes, {"error": {"code", "message"}}. Errors that are not
// classified become a 500 whose text stays in the log, which the access
// line writes. limits name the limits a 4xx of Fiber's own may be about.
func renderError(c *fiber.Ctx, err error, limits ServerConfig) error {
	e := clientError(err, limits)
	if e.RetryAfter > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(e.RetryAfter))
	}
	return c.Status(e.Status).JSON(fiber.Map{
		"error": fiber.Map{"code": e.Code, "message": e.Message},
	})
}

func clientError(err error, limits ServerConfig) *handlers.Error {
	var he *handlers.Error
	if errors.As(err, &he) {
		return he
	}

	var fe *fiber.Error
	if !errors.As(err, &fe) {
		return &handlers.Error{Status: 500, Code: "INTERNAL", Message: "internal server error"}
	}
	e := &handlers.Error{Status: fe.Code, Code: codeOf(fe.Code), Message: fe.Message}
	switch fe.Code {
	case http.StatusRequestEntityTooLarge:
		e.Message = fmt.Sprintf("request body is larger than server.body_limit (%d bytes)",
			limits.BodyLimit)
	case http.StatusRequestHeaderFieldsTooLarge:
		e.Message = fmt.Sprintf("request line and headers are larger than server.max_header_bytes (%d bytes)",
			limits.MaxHeaderBytes)
	case http.StatusRequestTimeout:
		e.Message = fmt.Sprintf("the request did not arrive within server.read_timeout (%s)",
			limits.ReadTimeout)
	case http.StatusBadRequest:
		// fasthttp's text for a request it cannot parse quotes the request,
		// headers and all.
		e.Message = "malformed HTTP request"
	}
	if fe.Code >= 500 {
		e.Message = "internal server error"
	}
	return e
}

// codeOf names an HTTP status in the error body's code style.
func codeOf(status int) string {
	switch status {
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusMethodNotAllowed:
		return "METHOD_NOT_ALLOWED"
	case http.StatusRequestEntityTooLarge:
		return "BODY_TOO_LARGE"
	case http.StatusBadRequest:
		return "BAD_REQUEST"
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusRequestHeaderFieldsTooLarge:
		return "HEADERS_TOO_LARGE"
	case http.StatusRequestTimeout:
		return "REQUEST_TIMEOUT"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "HTTP_" + strconv.Itoa(status)
}
