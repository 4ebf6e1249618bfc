package cli

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/psmongo/psmongo/app"
	"github.com/psmongo/psmongo/app/apptest"
)

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Write([]byte(`{"status":"ok"}`))
		default: // /readyz: MongoDB does not answer
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	closed := "http://" + apptest.FreeAddr(t) // nothing listens there

	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for success
	}{
		{"live", []string{"--url", srv.URL}, ""},
		{"live, trailing slash", []string{"--url", srv.URL + "/"}, ""},
		{"not ready", []string{"--url", srv.URL, "--ready"}, "503 Service Unavailable"},
		{"no server", []string{"--url", closed}, "connection refused"},
		{"not a URL", []string{"--url", "::"}, "healthcheck:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := newRootCommand()
			cmd.SetOut(&out)
			cmd.SetArgs(append([]string{"healthcheck"}, tt.args...))
			err := cmd.Execute()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("healthcheck %v: %v, want success", tt.args, err)
			case tt.wantErr == "" && !strings.HasPrefix(out.String(), "ok: "+srv.URL+"/healthz"):
				t.Errorf("healthcheck %v printed %q, want ok and the URL", tt.args, out.String())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("healthcheck %v: %v, want an error with %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

func TestLocalURL(t *testing.T) {
	tests := []struct {
		host string
		want string
	}{
		{"", "http://127.0.0.1:6060"},
		{"0.0.0.0", "http://127.0.0.1:6060"},
		{"::", "http://127.0.0.1:6060"},
		{"127.0.0.2", "http://127.0.0.2:6060"},
		{"::1", "http://[::1]:6060"},
	}
	for _, tt := range tests {
		if got := localURL(app.ServerConfig{Host: tt.host, Port: 6060}); got != tt.want {
			t.Errorf("localURL(host %q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}
