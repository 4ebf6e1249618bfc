package app

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/psmongo/psmongo/keys"
)

// generateKey returns a new key pair as POWERSYNC_PRIVATE_KEY and
// POWERSYNC_PUBLIC_KEY values.
func generateKey(t *testing.T, alg string) (private, public string) {
	t.Helper()
	k, err := keys.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	private, err = k.PrivateString()
	if err != nil {
		t.Fatal(err)
	}
	public, err = k.PublicString()
	if err != nil {
		t.Fatal(err)
	}
	return private, public
}

// withKID returns a public key value with its kid replaced.
func withKID(t *testing.T, public, kid string) string {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(public)
	if err != nil {
		data, err = base64.RawURLEncoding.DecodeString(public)
	}
	if err != nil {
		t.Fatal(err)
	}
	var jwk map[string]any
	if err := json.Unmarshal(data, &jwk); err != nil {
		t.Fatal(err)
	}
	jwk["kid"] = kid
	out, err := json.Marshal(jwk)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestJudgeKeys(t *testing.T) {
	rsaPrivate, rsaPublic := generateKey(t, keys.RS256)
	edPrivate, edPublic := generateKey(t, keys.EdDSA)
	_, otherPublic := generateKey(t, keys.ES256)
	rsaKey, err := keys.Parse(rsaPrivate, "")
	if err != nil {
		t.Fatal(err)
	}

	const generate = "run psmongo keys generate and set POWERSYNC_PRIVATE_KEY and POWERSYNC_PUBLIC_KEY"
	tests := []struct {
		name     string
		private  string
		public   string
		previous []string
		want     verdict
	}{
		{"none", "", "", nil,
			verdict{"auth.keys", CheckWarn, "no POWERSYNC_PRIVATE_KEY: serve signs with a development key", generate}},
		{"public only", "", rsaPublic, nil,
			verdict{"auth.keys", CheckFail, "POWERSYNC_PUBLIC_KEY is set without POWERSYNC_PRIVATE_KEY",
				"set POWERSYNC_PRIVATE_KEY too"}},
		{"private only", rsaPrivate, "", nil,
			verdict{"auth.keys", CheckOK, `kid "` + rsaKey.ID + `" (RS256) signs tokens that verify with the JWKS of 1 key(s)`, ""}},
		{"matching pair", edPrivate, edPublic, nil,
			verdict{"auth.keys", CheckOK, "(EdDSA) signs tokens that verify with the JWKS of 1 key(s); POWERSYNC_PUBLIC_KEY matches", ""}},
		{"mismatched pair", rsaPrivate, edPublic, nil,
			verdict{"auth.keys", CheckFail, "are not one key pair", "set both from one run of psmongo keys generate"}},
		{"public key as private", rsaPublic, "", nil,
			verdict{"auth.keys", CheckFail, "POWERSYNC_PRIVATE_KEY: parsing private key", generate}},
		{"garbage", "not a key", "", nil,
			verdict{"auth.keys", CheckFail, "POWERSYNC_PRIVATE_KEY:", generate}},
		{"previous key", rsaPrivate, "", []string{otherPublic},
			verdict{"auth.keys", CheckOK, "the JWKS of 2 key(s)", ""}},
		{"previous garbage", rsaPrivate, "", []string{"nope"},
			verdict{"auth.keys", CheckFail, "auth.previous_public_keys: parsing public key 1", "POWERSYNC_PUBLIC_KEY value it had"}},
		{"previous under the current kid", rsaPrivate, "", []string{withKID(t, otherPublic, rsaKey.ID)},
			verdict{"auth.keys", CheckFail, "auth.previous_public_keys:", "each under its own kid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &Config{
				DataDir:      "data",
				PowerSyncURL: "https://example.powersync.journeyapps.com",
				Auth: AuthConfig{
					PrivateKey: tt.private, PublicKey: tt.public, PreviousPublicKeys: tt.previous,
					Issuer: "psmongo",
				},
			}
			checkVerdicts(t, []Check{judgeKeys(cfg)}, []verdict{tt.want})
		})
	}
}

func TestJudgeSettings(t *testing.T) {
	const ttlFix = "set auth.token_ttl to 1h or less"
	tests := []struct {
		name  string
		judge func() Check
		want  verdict
	}{
		{"url not set", func() Check { return judgePowerSyncURL("http://localhost:8080") },
			verdict{"powersync.url", CheckWarn, "POWERSYNC_URL is not set", "set POWERSYNC_URL"}},
		{"url on loopback", func() Check { return judgePowerSyncURL("http://127.0.0.1:8080") },
			verdict{"powersync.url", CheckWarn, "is on this machine", "set POWERSYNC_URL"}},
		{"url on IPv6 loopback", func() Check { return judgePowerSyncURL("http://[::1]:8080") },
			verdict{"powersync.url", CheckWarn, "is on this machine", "set POWERSYNC_URL"}},
		{"url of an instance", func() Check { return judgePowerSyncURL("https://abc.powersync.journeyapps.com") },
			verdict{"powersync.url", CheckOK, "https://abc.powersync.journeyapps.com", ""}},

		{"ttl 15m", func() Check { return judgeTokenTTL(15 * time.Minute) },
			verdict{"auth.token_ttl", CheckOK, "15m: within", ""}},
		{"ttl 1h", func() Check { return judgeTokenTTL(time.Hour) },
			verdict{"auth.token_ttl", CheckOK, "1h: within", ""}},
		{"ttl 90m", func() Check { return judgeTokenTTL(90 * time.Minute) },
			verdict{"auth.token_ttl", CheckWarn, "1h30m: the PowerSync Service takes up to 24h", ttlFix}},
		{"ttl 24h", func() Check { return judgeTokenTTL(24 * time.Hour) },
			verdict{"auth.token_ttl", CheckWarn, "24h: the PowerSync Service takes up to 24h", ttlFix}},
		{"ttl 25h", func() Check { return judgeTokenTTL(25 * time.Hour) },
			verdict{"auth.token_ttl", CheckFail, "25h is outside 1m to 24h", ttlFix}},
		{"ttl 30s", func() Check { return judgeTokenTTL(30 * time.Second) },
			verdict{"auth.token_ttl", CheckFail, "30s is outside 1m to 24h", ttlFix}},

		{"token open", func() Check { return judgeTokenMode(AuthConfig{TokenMode: TokenOpen, UploadMode: UploadPowerSync}) },
			verdict{"auth.token.mode", CheckWarn, "open: anyone can get a token", "set auth.token.mode to upstream"}},
		{"token upstream", func() Check {
			return judgeTokenMode(AuthConfig{TokenMode: TokenUpstream, Upstream: UpstreamConfig{Issuer: "https://idp.example.com"}})
		}, verdict{"auth.token.mode", CheckOK, "upstream: tokens for users that https://idp.example.com vouches for", ""}},
		{"token disabled, uploads need ours", func() Check {
			return judgeTokenMode(AuthConfig{TokenMode: TokenDisabled, UploadMode: UploadPowerSync})
		}, verdict{"auth.token.mode", CheckWarn, "accepts only the tokens it issues", "set auth.upload.mode to upstream"}},
		{"token disabled, uploads upstream", func() Check {
			return judgeTokenMode(AuthConfig{TokenMode: TokenDisabled, UploadMode: UploadUpstream})
		}, verdict{"auth.token.mode", CheckOK, "disabled: this backend serves no tokens", ""}},

		{"upload none", func() Check { return judgeUploadMode(UploadNone) },
			verdict{"auth.upload.mode", CheckWarn, "uploads are not authenticated", "set auth.upload.mode to powersync"}},
		{"upload powersync", func() Check { return judgeUploadMode(UploadPowerSync) },
			verdict{"auth.upload.mode", CheckOK, "powersync", ""}},

		{"unlisted allow", func() Check { return judgeUnlisted(&Config{}) },
			verdict{"unlisted_collections", CheckWarn, "allow: clients can write to any collection",
				"set unlisted_collections to reject"}},
		{"unlisted reject, none listed", func() Check { return judgeUnlisted(&Config{RejectUnlisted: true}) },
			verdict{"unlisted_collections", CheckFail, "every upload is refused", "psmongo scaffold collection NAME"}},
		{"unlisted reject", func() Check {
			return judgeUnlisted(&Config{RejectUnlisted: true, Collections: map[string]CollectionConfig{"todos": {}}})
		}, verdict{"unlisted_collections", CheckOK, "the 1 listed collection(s)", ""}},

		{"config file", func() Check { return judgeConfigFile(&Config{File: "config.yaml"}) },
			verdict{"config", CheckOK, "config.yaml loads", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkVerdicts(t, []Check{tt.judge()}, []verdict{tt.want})
		})
	}
}
