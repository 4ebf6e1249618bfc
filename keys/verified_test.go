package keys

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestVerifyRemembersOnlyWhatVerified checks that a token remembered from
// one verification is taken from memory only where verifying it again
// would accept it: for its audience, between its iat or nbf and its exp,
// with the clock skew allowed.
func TestVerifyRemembersOnlyWhatVerified(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	k := mustGenerate(t, EdDSA)
	set := mustSet(t, k)
	base := with(validClaims(now), "nbf", now.Add(30*time.Second).Unix())
	token := signWith(t, k, base)

	if got, err := set.Verify(token, testAudience, now); err != nil || got != "user-1" {
		t.Fatalf("first Verify = %q, %v, want user-1", got, err)
	}
	if n := len(set.verified.tokens); n != 1 {
		t.Fatalf("%d tokens remembered, want 1", n)
	}

	exp := time.Unix(base["exp"].(int64), 0)
	nbf := now.Add(30 * time.Second)
	tests := []struct {
		name     string
		audience string
		at       time.Time
		wantErr  error
	}{
		{"again", testAudience, now, nil},
		{"just before exp and its skew", testAudience, exp.Add(clockSkew - time.Second), nil},
		{"at exp and its skew", testAudience, exp.Add(clockSkew), ErrExpired},
		{"after exp", testAudience, exp.Add(time.Hour), ErrExpired},
		{"before nbf and its skew", testAudience, nbf.Add(-clockSkew - time.Second), ErrNotYetValid},
		{"for another audience", "http://127.0.0.1:9", now, ErrAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := set.Verify(token, tt.audience, tt.at)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (got == "user-1") {
				t.Errorf("Verify = %q, %v, want error %v", got, err, tt.wantErr)
			}
		})
	}

	// A token altered by one byte is not the remembered one.
	altered := token[:len(token)-2] + string(token[len(token)-2]^1) + token[len(token)-1:]
	if _, err := set.Verify(altered, testAudience, now); err == nil {
		t.Error("an altered token verified")
	}
}

// TestVerifiedTokensBounded checks that the memory of verified tokens
// stays within maxVerifiedTokens.
func TestVerifiedTokensBounded(t *testing.T) {
	var v verifiedTokens
	until := time.Now().Add(time.Hour)
	for i := range maxVerifiedTokens + 10 {
		v.add(fmt.Sprint("token-", i), testAudience, verifiedToken{subject: "u", until: until})
	}
	if n := len(v.tokens); n > maxVerifiedTokens || n == 0 {
		t.Errorf("%d tokens remembered, want between 1 and %d", n, maxVerifiedTokens)
	}
	if _, ok := v.lookup(fmt.Sprint("token-", maxVerifiedTokens+9), testAudience, time.Now()); !ok {
		t.Error("the last token added is not remembered")
	}
}

// TestVerifiedTokensBoundedInBytes checks that long tokens, such as those
// for user ids that fill a request's headers, stay within
// maxVerifiedBytes, however few they are.
func TestVerifiedTokensBoundedInBytes(t *testing.T) {
	var v verifiedTokens
	until := time.Now().Add(time.Hour)
	long := strings.Repeat("x", 12<<10)
	for i := range 1000 {
		v.add(fmt.Sprint(long, i), testAudience, verifiedToken{subject: long, until: until})
		total := 0
		for k, tok := range v.tokens {
			total += len(k.token) + len(k.audience) + len(tok.subject)
		}
		if total > maxVerifiedBytes || total != v.bytes {
			t.Fatalf("after %d tokens: %d bytes remembered, counted %d, want at most %d",
				i+1, total, v.bytes, maxVerifiedBytes)
		}
	}
	if _, ok := v.lookup(fmt.Sprint(long, 999), testAudience, time.Now()); !ok {
		t.Error("the last token added is not remembered")
	}
}
