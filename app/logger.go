package app

import (
	"context"
	"io"
	"log/slog"
)

// Log formats, as log.format and serve --log-format name them.
const (
	LogJSON = "json"
	LogText = "text"
)

// NewLogger returns the process's logger, writing to w in the configured
// format (JSON unless it is text) at the configured level. A line logged
// with the context of a request carries the request's id as request_id.
func NewLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level}
	if cfg.Format == LogText {
		return slog.New(requestIDHandler{slog.NewTextHandler(w, opts)})
	}
	return slog.New(requestIDHandler{slog.NewJSONHandler(w, opts)})
}

// requestIDKey is the context key of a request's id.
type requestIDKey struct{}

// withRequestID returns ctx carrying the request id.
func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// requestIDHandler adds the request id of a line's context, so that every
// line logged for a request, by any component, can be found by it.
type requestIDHandler struct {
	slog.Handler
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
