package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		name   string
		format string
		want   string
	}{
		{"json", LogJSON, `"level":"INFO","msg":"unit rejected","code":"FORBIDDEN","request_id":"r-1"}`},
		{"text", LogText, `level=INFO msg="unit rejected" code=FORBIDDEN request_id=r-1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := NewLogger(LogConfig{Level: slog.LevelInfo, Format: tt.format}, &buf)
			ctx := withRequestID(context.Background(), "r-1")

			logger.With("component", "c").DebugContext(ctx, "hidden")
			logger.InfoContext(ctx, "unit rejected", slog.String("code", "FORBIDDEN"))
			logger.Info("no request")

			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 2 || !strings.HasSuffix(lines[0], tt.want) || strings.Contains(lines[1], "request_id") {
				t.Errorf("format %s: logged\n%s\nwant a first line ending in %s, and no request_id on the second",
					tt.format, buf.String(), tt.want)
			}
		})
	}
}
