package bench

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCheckLoopbackURL(t *testing.T) {
	tests := []struct {
		url        string
		wantRemote bool
		wantErr    bool
	}{
		{url: "http://127.0.0.1:6060"},
		{url: "http://127.8.9.10:6060/"},
		{url: "https://localhost"},
		{url: "http://[::1]:6060"},
		{url: "http://10.0.0.1:6060", wantRemote: true, wantErr: true},
		{url: "http://0.0.0.0:6060", wantRemote: true, wantErr: true},
		{url: "https://api.example.com", wantRemote: true, wantErr: true},
		{url: "http://localhost.example.com", wantRemote: true, wantErr: true},
		{url: "ftp://127.0.0.1", wantErr: true},
		{url: "127.0.0.1:6060", wantErr: true},
		{url: "http://", wantErr: true},
	}
	for _, tt := range tests {
		err := checkLoopbackURL(tt.url)
		if (err != nil) != tt.wantErr || errors.Is(err, ErrRemote) != tt.wantRemote {
			t.Errorf("checkLoopbackURL(%q) = %v; want error %t, ErrRemote %t", tt.url, err, tt.wantErr, tt.wantRemote)
		}
	}
}

func TestCheckLoopbackMongo(t *testing.T) {
	tests := []struct {
		uri     string
		wantErr bool
	}{
		{uri: "mongodb://127.0.0.1:27017/"},
		{uri: "mongodb://127.0.0.1:27017"},
		{uri: "mongodb://user:p@ss@127.0.0.1:27017/app?replicaSet=rs0"},
		{uri: "mongodb://127.0.0.1:27017,localhost:27018,[::1]:27019/?replicaSet=rs0"},
		{uri: "mongodb://127.0.0.1:27017,db2.example.com:27017/", wantErr: true},
		{uri: "mongodb://db.example.com/", wantErr: true},
		{uri: "mongodb://user:pass@10.1.1.1/", wantErr: true},
		{uri: "mongodb+srv://cluster.example.com/", wantErr: true},
		{uri: "127.0.0.1:27017", wantErr: true},
	}
	for _, tt := range tests {
		err := checkLoopbackMongo(tt.uri)
		if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrRemote)) {
			t.Errorf("checkLoopbackMongo(%q) = %v; want error %t", tt.uri, err, tt.wantErr)
		}
	}
}

func TestCheckLoopbackMongoHidesCredentials(t *testing.T) {
	err := checkLoopbackMongo("mongodb://admin:s3cret@db.example.com/")
	if err == nil {
		t.Fatal("want an error")
	}
	if msg := err.Error(); strings.Contains(msg, "s3cret") || strings.Contains(msg, "admin") {
		t.Errorf("error %q quotes the credentials", msg)
	}
}

// TestRedirectIsNotFollowed points bench at a loopback server that
// redirects elsewhere: the redirect is refused, not followed.
func TestRedirectIsNotFollowed(t *testing.T) {
	followed := false
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed = true }))
	defer elsewhere.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	defer redirector.Close()

	_, err := fetchToken(t.Context(), newHTTPClient(1), redirector.URL, "bench")
	if err == nil || !strings.Contains(err.Error(), "redirected") {
		t.Errorf("fetchToken through a redirect: error %v, want the redirect refused", err)
	}
	if followed {
		t.Error("the redirect was followed")
	}
}

// TestDirectRefusesSeveralHosts checks that --direct without --allow-remote
// takes one host only, before connecting: a replica set's members could
// lead the driver to hosts the URI does not name.
func TestDirectRefusesSeveralHosts(t *testing.T) {
	_, err := runDirect(t.Context(), Options{Direct: "mongodb://127.0.0.1:1,127.0.0.1:2/?replicaSet=rs0", Concurrency: 1})
	if !errors.Is(err, ErrRemote) {
		t.Errorf("runDirect with two hosts: %v, want ErrRemote", err)
	}
}
