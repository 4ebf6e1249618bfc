package devstore

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestServerHandler(t *testing.T) {
	tests := []struct {
		name  string
		level slog.Level
		msg   string
		want  bool
	}{
		{name: "debug", level: slog.LevelDebug, msg: "Database created", want: false},
		{name: "info", level: slog.LevelInfo, msg: "Listening on TCP 127.0.0.1:1...", want: false},
		{name: "warn", level: slog.LevelWarn, msg: "Failed to remove database file", want: true},
		{name: "error", level: slog.LevelError, msg: "Connection stopped", want: true},
		{name: "failed response header", level: slog.LevelWarn, msg: "Response header: length: 121", want: false},
		{name: "failed response body", level: slog.LevelWarn, msg: "Response message:\n{}", want: false},
		{name: "closing response", level: slog.LevelError, msg: "Response message:\n{}", want: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			inner := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
			logger := slog.New(newServerHandler(inner)).WithGroup("g").With("component", "devstore")

			logger.Log(t.Context(), tt.level, tt.msg)

			got := buf.String()
			if passed := got != ""; passed != tt.want {
				t.Fatalf("log %q at %s: output %q, want passed=%t", tt.msg, tt.level, got, tt.want)
			}

			if tt.want && !strings.Contains(got, "g.component=devstore") {
				t.Errorf("log %q at %s: output %q, want it to keep g.component=devstore", tt.msg, tt.level, got)
			}
		})
	}
}
