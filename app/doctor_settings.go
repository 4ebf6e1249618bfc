package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/psmongo/psmongo/keys"
)

// recommendedTTL is the longest token lifetime the PowerSync Service
// recommends. It accepts up to keys.MaxTTL: "The JWT must expire in 24 hours
// or less, and 60 minutes or less is recommended", with exp - iat at most
// 86,400 seconds (https://docs.powersync.com/configuration/auth/custom,
// "JWT Requirements"). Its older releases took 3,600 seconds at most.
const recommendedTTL = time.Hour

// generateKeysFix is the fix for a missing or broken signing key.
const generateKeysFix = "run psmongo keys generate and set POWERSYNC_PRIVATE_KEY and " +
	"POWERSYNC_PUBLIC_KEY to the values it prints"

// judgeConfigFile reports the configuration file in use; one that does not
// load never gets here (see DoctorFile).
func judgeConfigFile(cfg *Config) Check {
	c := Check{ID: "config", Level: CheckOK, Message: cfg.File + " loads"}
	if cfg.File == "" {
		c.Message = "no config file: defaults and the environment only"
	}
	return c
}

// judgeSettings judges the settings that need no server.
func judgeSettings(cfg *Config) []Check {
	return []Check{
		judgeKeys(cfg),
		judgePowerSyncURL(cfg.PowerSyncURL),
		judgeTokenTTL(cfg.Auth.TokenTTL),
		judgeTokenMode(cfg.Auth),
		judgeUploadMode(cfg.Auth.UploadMode),
		judgeUnlisted(cfg),
	}
}

// judgeKeys checks the signing key as serve loads it: it parses, its public
// half matches POWERSYNC_PUBLIC_KEY, every key in the JWKS has a kid, and a
// token it signs verifies with the JWKS. It never creates the development
// key.
func judgeKeys(cfg *Config) Check {
	c := Check{ID: "auth.keys", Level: CheckFail}
	private, public := cfg.Auth.PrivateKey, cfg.Auth.PublicKey
	switch {
	case private == "" && public != "":
		c.Message = "POWERSYNC_PUBLIC_KEY is set without POWERSYNC_PRIVATE_KEY: serve will not start"
		c.Fix = "set POWERSYNC_PRIVATE_KEY too, or unset POWERSYNC_PUBLIC_KEY"
		return c
	case private == "":
		c.Level = CheckWarn
		c.Message = fmt.Sprintf("no POWERSYNC_PRIVATE_KEY: serve signs with a development key kept under %s, "+
			"which every machine makes its own", filepath.Join(cfg.DataDir, "keys"))
		c.Fix = generateKeysFix
		return c
	}

	set, err := loadKeySet(cfg)
	if err == nil {
		err = checkSigning(set, cfg)
	}
	if err != nil {
		c.Message, c.Fix = err.Error(), generateKeysFix
		var fe *fixableError
		if errors.As(err, &fe) {
			c.Fix = fe.fix
		}
		return c
	}

	c.Level = CheckOK
	c.Message = fmt.Sprintf("kid %q (%s) signs tokens that verify with the JWKS of %d key(s)",
		set.Current().ID, set.Current().Alg, len(set.Keys()))
	if public != "" {
		c.Message += "; POWERSYNC_PUBLIC_KEY matches"
	}
	return c
}

// fixableError is a problem found in the keys, with its fix.
type fixableError struct{ msg, fix string }

func (e *fixableError) Error() string { return e.msg }

// loadKeySet parses the configured keys into the set serve would serve.
func loadKeySet(cfg *Config) (*keys.Set, error) {
	previous, err := keys.ParsePublicKeys(cfg.Auth.PreviousPublicKeys...)
	if err != nil {
		return nil, &fixableError{"auth.previous_public_keys: " + err.Error(),
			"give each earlier key as the POWERSYNC_PUBLIC_KEY value it had"}
	}

	key, err := keys.Parse(cfg.Auth.PrivateKey, cfg.Auth.PublicKey)
	switch {
	case errors.Is(err, keys.ErrKeyMismatch):
		return nil, &fixableError{"POWERSYNC_PUBLIC_KEY and POWERSYNC_PRIVATE_KEY are not one key pair: " + err.Error(),
			"set both from one run of psmongo keys generate, or unset POWERSYNC_PUBLIC_KEY"}
	case err != nil:
		return nil, &fixableError{"POWERSYNC_PRIVATE_KEY: " + err.Error(), generateKeysFix}
	}

	set, err := keys.NewSet(key, previous...)
	if err != nil {
		return nil, &fixableError{"auth.previous_public_keys: " + err.Error(),
			"list only earlier keys there, each under its own kid"}
	}
	return set, nil
}

// checkSigning checks that every key of the JWKS has a kid, which the
// PowerSync Service needs to pick a token's key, and that a token the
// current key signs verifies with the set.
func checkSigning(set *keys.Set, cfg *Config) error {
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(set.JWKS(), &jwks); err != nil {
		return &fixableError{"reading the JWKS: " + err.Error(), generateKeysFix}
	}
	for i, k := range jwks.Keys {
		if k.Kid == "" {
			return &fixableError{fmt.Sprintf("key %d of the JWKS has no kid", i+1), generateKeysFix}
		}
	}

	signer, err := keys.NewSigner(set.Current(), keys.SignerConfig{
		Audience: cfg.PowerSyncURL, Issuer: cfg.Auth.Issuer, TTL: keys.DefaultTTL,
	})
	now := time.Now()
	var token string
	if err == nil {
		token, _, err = signer.Issue("psmongo-doctor", now)
	}
	if err == nil {
		_, err = set.Verify(token, cfg.PowerSyncURL, now)
	}
	if err != nil {
		return &fixableError{"a token signed with the key does not verify with the JWKS: " + err.Error(),
			generateKeysFix}
	}
	return nil
}

// judgePowerSyncURL checks POWERSYNC_URL, the audience of every token: the
// PowerSync Service refuses tokens whose aud is not its own URL or one of
// its configured audiences.
func judgePowerSyncURL(raw string) Check {
	c := Check{ID: "powersync.url", Level: CheckOK, Message: raw}
	setFix := "set POWERSYNC_URL to the PowerSync Service's URL, or to an audience in its client_auth.audience"
	if raw == defaults["powersync.url"] {
		c.Level = CheckWarn
		c.Message = fmt.Sprintf("POWERSYNC_URL is not set: tokens carry aud %s, which only a local "+
			"PowerSync Service configured for it accepts", raw)
		c.Fix = setFix
		return c
	}

	u, err := url.Parse(raw)
	if err != nil {
		c.Level, c.Message, c.Fix = CheckFail, "not a URL: "+err.Error(), setFix
		return c
	}
	if isLocalHost(u.Hostname()) {
		c.Level = CheckWarn
		c.Message = raw + " is on this machine: only a local PowerSync Service accepts its tokens"
		c.Fix = setFix
	}
	return c
}

// isLocalHost reports whether host names this machine.
func isLocalHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// judgeTokenTTL checks auth.token_ttl against the PowerSync Service's limit
// (see recommendedTTL).
func judgeTokenTTL(ttl time.Duration) Check {
	c := Check{
		ID: "auth.token_ttl", Level: CheckOK,
		Message: shortDuration(ttl) + ": within the PowerSync Service's recommended 60 minutes",
	}
	switch {
	case ttl < keys.MinTTL || ttl > keys.MaxTTL:
		c.Level = CheckFail
		c.Message = fmt.Sprintf("%s is outside 1m to 24h; the PowerSync Service refuses tokens "+
			"that live longer than 24h", shortDuration(ttl))
		c.Fix = "set auth.token_ttl to 1h or less, such as 15m"
	case ttl > recommendedTTL:
		c.Level = CheckWarn
		c.Message = fmt.Sprintf("%s: the PowerSync Service takes up to 24h but recommends 60 minutes "+
			"or less (older releases refuse more), and a token cannot be revoked before it expires",
			shortDuration(ttl))
		c.Fix = "set auth.token_ttl to 1h or less, such as 15m"
	}
	return c
}

// shortDuration prints d without zero minutes and seconds: 15m, not 15m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// judgeTokenMode checks auth.token.mode: open is for development only.
func judgeTokenMode(a AuthConfig) Check {
	c := Check{ID: "auth.token.mode", Level: CheckOK, Message: a.TokenMode}
	switch a.TokenMode {
	case TokenOpen:
		c.Level = CheckWarn
		c.Message = "open: anyone can get a token for any user id (development only)"
		c.Fix = "set auth.token.mode to upstream and auth.upstream to your identity provider"
	case TokenUpstream:
		c.Message = fmt.Sprintf("upstream: tokens for users that %s vouches for", a.Upstream.Issuer)
	case TokenDisabled:
		c.Message = "disabled: this backend serves no tokens"
		if a.UploadMode == UploadPowerSync {
			c.Level = CheckWarn
			c.Message += ", yet auth.upload.mode powersync accepts only the tokens it issues"
			c.Fix = "set auth.upload.mode to upstream, or serve tokens with auth.token.mode upstream"
		}
	}
	return c
}

// judgeUploadMode checks auth.upload.mode: none is for development only.
func judgeUploadMode(mode string) Check {
	c := Check{ID: "auth.upload.mode", Level: CheckOK, Message: mode}
	if mode == UploadNone {
		c.Level = CheckWarn
		c.Message = "none: uploads are not authenticated (development only)"
		c.Fix = "set auth.upload.mode to powersync"
	}
	return c
}

// judgeUnlisted checks unlisted_collections: allow is for development.
func judgeUnlisted(cfg *Config) Check {
	c := Check{ID: "unlisted_collections", Level: CheckOK}
	n := len(cfg.Collections)
	switch {
	case !cfg.RejectUnlisted:
		c.Level = CheckWarn
		c.Message = "allow: clients can write to any collection of the database (development only)"
		c.Fix = "list your collections under collections (psmongo scaffold collection NAME) and set " +
			"unlisted_collections to reject"
	case n == 0:
		c.Level = CheckFail
		c.Message = "reject, and no collections are listed: every upload is refused"
		c.Fix = "list your collections under collections (psmongo scaffold collection NAME)"
	default:
		c.Message = fmt.Sprintf("reject: writes go only to the %d listed collection(s)", n)
	}
	return c
}
