package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestBenchRefuses checks the refusals that come before any request.
func TestBenchRefuses(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"remote server", []string{"--url", "http://192.0.2.1:6060"}, "--allow-remote"},
		{"remote direct", []string{"--url", "http://127.0.0.1:1", "--direct", "mongodb://192.0.2.1/"}, "--allow-remote"},
		{"bad mix", []string{"--url", "http://127.0.0.1:1", "--mix", "put=1,merge=2"}, `unknown kind "merge"`},
		{"bad shape", []string{"--url", "http://127.0.0.1:1", "--shape", "rows"}, `unknown shape "rows"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := newRootCommand()
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(append([]string{"bench", "--no-progress"}, tt.args...))
			err := cmd.ExecuteContext(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("bench %v: %v, want an error with %q", tt.args, err, tt.wantErr)
			}
			if out.Len() > 0 {
				t.Errorf("bench %v printed %q, want nothing", tt.args, out.String())
			}
		})
	}
}
