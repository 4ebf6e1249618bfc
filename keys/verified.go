package keys

import (
	"sync"
	"time"
)

// verifiedTokens remembers the tokens a Set verified, so that a client
// uploading batch after batch with the token it holds pays for the
// signature once per token rather than once per request: an RS256
// signature takes about 40 µs to check, half of what psmongo spends on
// the rest of a batch of 100 ops. A token is remembered with the times
// between which it verified, and only the same token, for the same
// audience, within those times, is taken from memory; anything else is
// verified in full, which says what is wrong with it.
type verifiedTokens struct {
	mu     sync.Mutex
	tokens map[verifiedKey]verifiedToken
	bytes  int // of the tokens, audiences and subjects remembered
}

type verifiedKey struct{ token, audience string }

type verifiedToken struct {
	subject     string
	from, until time.Time // the token verifies at from and after, and before until
}

// maxVerifiedTokens and maxVerifiedBytes bound the memory the tokens
// take: a token is about a kilobyte, but one for a long user id may fill
// the request's headers, so the count alone would not bound the bytes.
// Past either the memory starts afresh, which costs a verification per
// token once more.
const (
	maxVerifiedTokens = 4096
	maxVerifiedBytes  = 4 << 20
)

// lookup returns the subject of token if it verified for audience and is
// still valid at now.
func (v *verifiedTokens) lookup(token, audience string, now time.Time) (string, bool) {
	v.mu.Lock()
	t, ok := v.tokens[verifiedKey{token, audience}]
	v.mu.Unlock()
	if !ok || now.Before(t.from) || !now.Before(t.until) {
		return "", false
	}
	return t.subject, true
}

// add remembers a token that verified.
func (v *verifiedTokens) add(token, audience string, t verifiedToken) {
	// The token may sit in memory that the caller reuses.
	k := verifiedKey{token: string([]byte(token)), audience: string([]byte(audience))}
	t.subject = string([]byte(t.subject))
	size := len(k.token) + len(k.audience) + len(t.subject)
	if size > maxVerifiedBytes {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tokens == nil || len(v.tokens) >= maxVerifiedTokens || v.bytes+size > maxVerifiedBytes {
		v.tokens = make(map[verifiedKey]verifiedToken)
		v.bytes = 0
	}
	if _, ok := v.tokens[k]; !ok {
		v.bytes += size
	}
	v.tokens[k] = t
}
