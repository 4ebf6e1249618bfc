package devstore

import (
	"context"
	"log/slog"
	"strings"
)

// serverHandler is the log handler the store gives FerretDB. FerretDB logs
// every connection and command at Info and dumps each failed command's
// response at Warn, including ones a client expects (a duplicate key, a
// command FerretDB lacks, such as the driver's endSessions on disconnect).
// The client receives those errors anyway, so the handler passes on only
// records at Warn and above that are not such dumps, and the server's own
// log stays readable.
type serverHandler struct {
	inner slog.Handler
}

// newServerHandler returns a handler that passes FerretDB's notable records
// on to inner.
func newServerHandler(inner slog.Handler) *serverHandler {
	return &serverHandler{inner: inner}
}

// Enabled reports whether level is Warn or above and the inner handler
// takes it.
func (h *serverHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn && h.inner.Enabled(ctx, level)
}

// Handle passes r on unless it is below Warn or a dump of a failed response
// below Error.
func (h *serverHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn || (r.Level < slog.LevelError && isResponseDump(r.Message)) {
		return nil
	}

	return h.inner.Handle(ctx, r)
}

// WithAttrs returns the handler over the inner handler with attrs added.
func (h *serverHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return newServerHandler(h.inner.WithAttrs(attrs))
}

// WithGroup returns the handler over the inner handler with the group opened.
func (h *serverHandler) WithGroup(name string) slog.Handler {
	return newServerHandler(h.inner.WithGroup(name))
}

// isResponseDump reports whether msg is one of the two records FerretDB
// writes for a failed response: its header and its message.
func isResponseDump(msg string) bool {
	for _, prefix := range []string{"Response header:", "Response message:", "Proxy response"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}

	return false
}
