package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/psmongo/psmongo/handlers"
	"github.com/psmongo/psmongo/mongoapply"
)

// headerRequestID carries the request id, both ways.
const headerRequestID = "X-Request-ID"

// maxRequestID is the longest request id taken from a client.
const maxRequestID = 128

// Keys of values that middleware stores in fiber.Ctx.Locals.
const (
	localsRequestID = "psmongo.request_id"
	localsLogged    = "psmongo.logged" // the access log owns the request
)

// requestID names the request: by the client's X-Request-ID when it is a
// plain token of up to maxRequestID bytes, since it goes into log lines,
// else by a new random id. The response carries it back.
func requestID(c *fiber.Ctx) error {
	id := c.Get(headerRequestID)
	if !validRequestID(id) {
		id = rand.Text()
	}
	id = strings.Clone(id) // it outlives the request in the context

	c.Set(headerRequestID, id)
	c.Locals(localsRequestID, id)
	c.SetUserContext(withRequestID(c.UserContext(), id))
	return c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
			strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}

// accessLog writes one line per request and records its metrics. It
// renders a handler's error itself, so that the line carries the status
// the client got.
//
// TODO(app): a request whose method is not a standard HTTP method never
// reaches it: Fiber answers it with a plain 400 before any handler or
// error handler runs, so it has no line, metric or request id. It matters
// only to someone tracing probes with made-up methods; it needs the
// fasthttp handler wrapped below Fiber.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	c.Locals(localsLogged, true)

	err := c.Next()
	if err != nil {
		if herr := s.http.ErrorHandler(c, err); herr != nil {
			return herr
		}
	}

	took := time.Since(start)
	route := s.metrics.route(c)
	s.metrics.observe(c, route, took)
	s.logRequest(c, route, took, err)
	return nil
}

// handleError is Fiber's error handler. Within the middleware chain it
// renders the error for accessLog. fasthttp refuses some requests before
// any handler runs (a body over server.body_limit, headers too large):
// their errors come here alone, and get their access line here.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	if herr := renderError(c, err, s.cfg.Server); herr != nil {
		return herr
	}
	if c.Locals(localsLogged) == nil {
		id := rand.Text()
		c.Set(headerRequestID, id)
		c.SetUserContext(withRequestID(c.UserContext(), id))
		route := s.metrics.routeOfPath(c.Path())
		s.metrics.observe(c, route, 0)
		s.logRequest(c, route, 0, err)
	}
	return nil
}

// logRequest writes the access line of a request; err is what its handler
// returned, already rendered. The line names the route, not the path,
// except for requests that matched none, and never carries a header, a
// query or a body: they may hold tokens and field values.
func (s *Server) logRequest(c *fiber.Ctx, route string, took time.Duration, err error) {
	status := c.Response().StatusCode()
	attrs := make([]slog.Attr, 0, 12)
	attrs = append(attrs,
		slog.String("method", methodLabel(c.Method())),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", milliseconds(took)))
	if route == unmatchedRoute {
		attrs = append(attrs, slog.String("path", shorten(c.Path(), 200)))
	}
	if id := handlers.UserID(c); id != "" {
		attrs = append(attrs, slog.String("user_id", shorten(id, maxLoggedID)))
	}
	if n := handlers.Counts(c); n.Ops > 0 {
		attrs = append(attrs, slog.Int("ops", n.Ops), slog.Int("applied", n.Applied),
			slog.Int("rejected", n.Rejected))
	}

	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, errorAttrs(err, status, s.cfg.Server)...)
		if status >= 500 && status != http.StatusServiceUnavailable {
			level = slog.LevelError
		}
	}
	s.log.LogAttrs(c.UserContext(), level, "request", attrs...)
}

// errorAttrs describe a request's error: the code and message the client
// got, which never quote a token or a field value, and for a server-side
// failure its class and its text, which the client never sees.
func errorAttrs(err error, status int, limits ServerConfig) []slog.Attr {
	e := clientError(err, limits)
	if status < 500 {
		return []slog.Attr{slog.String("error_code", e.Code), slog.String("error_message", e.Message)}
	}
	return []slog.Attr{slog.String("error_code", e.Code),
		slog.String("error_class", mongoapply.ErrorClass(err)), slog.Any("error", err)}
}

// milliseconds returns d in milliseconds, to the microsecond, for logs.
func milliseconds(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// maxLoggedID is how much of a client-chosen name, such as a user id in
// open token mode, a log line holds.
const maxLoggedID = 128

// shorten cuts s to at most n bytes; a cut string ends in "...".
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// logPanic logs a recovered panic with its stack.
func (s *Server) logPanic(c *fiber.Ctx, p any) {
	s.log.ErrorContext(c.UserContext(), "handler panicked", slog.String("route", s.metrics.route(c)),
		slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
}

// uploadAuth returns the middleware that identifies the uploading user.
func (s *Server) uploadAuth() fiber.Handler {
	switch s.cfg.Auth.UploadMode {
	case UploadNone:
		return func(c *fiber.Ctx) error { return c.Next() }
	case UploadUpstream:
		return handlers.Authenticate(s.metrics.verifier("upload", s.auth.Upstream))
	}
	audience := s.cfg.PowerSyncURL
	return handlers.Authenticate(s.metrics.verifier("upload",
		handlers.VerifierFunc(func(_ context.Context, token string) (string, error) {
			return s.auth.Keys.Verify(token, audience, time.Now())
		})))
}
