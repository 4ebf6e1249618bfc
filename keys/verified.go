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
}

type verifiedKey struct{ token, audience string }

type verifiedToken struct {
	subject     string
	from, until time.Time // the token verifies at from and after, and before until
}

// maxVerifiedTokens bounds the memory the tokens take: about a kilobyte
// each, so a few megabytes at most. Past it the memory starts afresh,
// which costs a verification per token once more.
const maxVerifiedTokens = 4096

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
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tokens == nil || len(v.tokens) >= maxVerifiedTokens {
		v.tokens = make(map[verifiedKey]verifiedToken)
	}
	v.tokens[k] = t
}
