package bench

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrRemote means a target is not on the loopback interface and remote
// targets were not allowed.
var ErrRemote = errors.New("not a loopback address")

// checkLoopbackURL refuses an HTTP URL whose host is not loopback.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http or https URL", raw)
	}
	if !isLoopback(u.Hostname()) {
		return fmt.Errorf("%q: host %q is %w", raw, u.Hostname(), ErrRemote)
	}
	return nil
}

// checkLoopbackMongo refuses a MongoDB connection string that names a host
// that is not loopback. A mongodb+srv string is refused too: its hosts come
// from DNS.
func checkLoopbackMongo(uri string) error {
	rest, ok := strings.CutPrefix(uri, "mongodb://")
	if !ok {
		return fmt.Errorf("the MongoDB URI does not start with mongodb:// (mongodb+srv names no host itself): %w", ErrRemote)
	}
	hosts, _, _ := strings.Cut(rest, "/")
	if at := strings.LastIndexByte(hosts, '@'); at >= 0 {
		hosts = hosts[at+1:] // credentials, which never go into a message
	}
	hosts, _, _ = strings.Cut(hosts, "?")
	for host := range strings.SplitSeq(hosts, ",") {
		name := host
		if h, _, err := net.SplitHostPort(host); err == nil {
			name = h
		}
		name = strings.Trim(name, "[]")
		if !isLoopback(name) {
			return fmt.Errorf("the MongoDB URI names host %q, which is %w", name, ErrRemote)
		}
	}
	return nil
}

// isLoopback reports whether host is a loopback IP address or the name
// localhost.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
