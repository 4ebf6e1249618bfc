package app

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/psmongo/psmongo/handlers"
)

// accessLog writes one line per request. It renders a handler's error
// itself, so that the line carries the status the client got.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	if err := c.Next(); err != nil {
		if herr := s.http.ErrorHandler(c, err); herr != nil {
			return herr
		}
	}

	s.metrics.observe(c, time.Since(start))
	s.log.InfoContext(c.UserContext(), "request", requestAttrs(c),
		slog.Int("status", c.Response().StatusCode()),
		slog.Duration("duration", time.Since(start)),
		slog.Int("ops", handlers.OpCount(c)))
	return nil
}

// requestAttrs names a request in log lines.
func requestAttrs(c *fiber.Ctx) slog.Attr {
	rid, _ := c.Locals("requestid").(string)
	return slog.Group("request",
		slog.String("method", c.Method()),
		slog.String("path", c.Path()),
		slog.String("id", rid))
}

// logPanic logs a recovered panic with its stack.
func (s *Server) logPanic(c *fiber.Ctx, p any) {
	s.log.ErrorContext(c.UserContext(), "handler panicked", requestAttrs(c),
		slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
}

// uploadAuth returns the middleware that identifies the uploading user.
func (s *Server) uploadAuth() fiber.Handler {
	switch s.cfg.Auth.UploadMode {
	case UploadNone:
		return func(c *fiber.Ctx) error { return c.Next() }
	case UploadUpstream:
		return handlers.Authenticate(s.auth.Upstream)
	}
	audience := s.cfg.PowerSyncURL
	return handlers.Authenticate(handlers.VerifierFunc(func(_ context.Context, token string) (string, error) {
		return s.auth.Keys.Verify(token, audience, time.Now())
	}))
}
