// Package apptest runs a psmongo server on a real loopback listener for
// tests, and sends it requests. It does not import package app, so that
// app's own tests use it too.
package apptest

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// Server is what Serve runs: an *app.Server.
type Server interface {
	ServeListener(ctx context.Context, ln net.Listener) error
	Close(ctx context.Context)
}

// Serve runs s on a new listener on 127.0.0.1 until the test ends, then
// closes it, and returns its base URL.
func Serve(t testing.TB, s Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		s.Close(context.Background())
	})
	return "http://" + ln.Addr().String()
}

// Do sends a JSON request to baseURL+path with the given headers and
// returns the answer's status, headers and body.
func Do(t testing.TB, baseURL, method, path, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, baseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// FreeAddr returns an address on 127.0.0.1, host:port, that was free a
// moment ago: one that nothing listens on, or where a test starts a
// process of its own.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
