package keys

import (
	"testing"
	"time"
)

var benchAlgs = []string{RS256, ES256, EdDSA}

// BenchmarkIssue signs a token with each algorithm, as GET /token does.
func BenchmarkIssue(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			s := benchSigner(b, alg)
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.Issue("user-0001", now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify verifies a token of each algorithm, as an upload does
// with a token first seen; again, as uploads do with a token verified
// before, which the Set remembers.
func BenchmarkVerify(b *testing.B) {
	for _, run := range []struct {
		name   string
		forget bool
	}{{"first", true}, {"again", false}} {
		b.Run(run.name, func(b *testing.B) { benchVerify(b, run.forget) })
	}
}

func benchVerify(b *testing.B, forget bool) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			s := benchSigner(b, alg)
			set, err := NewSet(s.key)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			token, _, err := s.Issue("user-0001", now)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if forget {
					set.verified.tokens = nil
				}
				if _, err := set.Verify(token, benchAudience, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

const benchAudience = "https://powersync.example.com"

func benchSigner(b *testing.B, alg string) *Signer {
	b.Helper()
	key, err := Generate(alg)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSigner(key, SignerConfig{Audience: benchAudience, TTL: DefaultTTL})
	if err != nil {
		b.Fatal(err)
	}
	return s
}
