package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/psmongo/psmongo/keys"
)

// Auth holds what authentication needs: the key set, the signer of tokens,
// and the identity provider's verifier when an upstream mode is on.
type Auth struct {
	Keys     *keys.Set
	Signer   *keys.Signer
	Upstream *keys.Upstream // nil unless a mode is upstream
}

// LoadKeys returns the signing key and the retired public keys: the
// configured POWERSYNC_PRIVATE_KEY, or else a development key generated on
// first start and kept under the data directory.
func LoadKeys(cfg *Config, logger *slog.Logger) (*keys.Set, error) {
	previous, err := keys.ParsePublicKeys(cfg.Auth.PreviousPublicKeys...)
	if err != nil {
		return nil, fmt.Errorf("config: auth.previous_public_keys: %v", err)
	}
	key, err := signingKey(cfg, logger)
	if err != nil {
		return nil, err
	}
	set, err := keys.NewSet(key, previous...)
	if err != nil {
		return nil, fmt.Errorf("config: auth.previous_public_keys: %v", err)
	}
	return set, nil
}

func signingKey(cfg *Config, logger *slog.Logger) (*keys.Key, error) {
	if cfg.Auth.PrivateKey != "" {
		key, err := keys.Parse(cfg.Auth.PrivateKey, cfg.Auth.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("config: auth.private_key (POWERSYNC_PRIVATE_KEY): %v", err)
		}
		return key, nil
	}
	if cfg.Auth.PublicKey != "" {
		return nil, fmt.Errorf("config: auth.public_key (POWERSYNC_PUBLIC_KEY) is set without auth.private_key")
	}

	dir := filepath.Join(cfg.DataDir, "keys")
	key, created, err := keys.LoadOrCreate(dir, cfg.Auth.Alg)
	if err != nil {
		return nil, fmt.Errorf("development key: %w", err)
	}
	logger.Warn("using the development key", slog.Bool("created", created),
		slog.String("kid", key.ID), slog.String("alg", key.Alg), slog.String("dir", dir),
		slog.String("note", "set POWERSYNC_PRIVATE_KEY in production"))
	return key, nil
}

// NewSigner returns the signer of tokens for the PowerSync Service; a ttl
// of zero takes auth.token_ttl.
func NewSigner(cfg *Config, set *keys.Set, ttl time.Duration) (*keys.Signer, error) {
	if ttl == 0 {
		ttl = cfg.Auth.TokenTTL
	}
	return keys.NewSigner(set.Current(), keys.SignerConfig{
		Audience: cfg.PowerSyncURL, Issuer: cfg.Auth.Issuer, TTL: ttl,
	})
}

// loadAuth builds the server's authentication from the configuration.
func loadAuth(ctx context.Context, cfg *Config, logger *slog.Logger) (*Auth, error) {
	set, err := LoadKeys(cfg, logger)
	if err != nil {
		return nil, err
	}
	a := &Auth{Keys: set}
	if a.Signer, err = NewSigner(cfg, set, 0); err != nil {
		return nil, fmt.Errorf("config: auth.token_ttl: %v", err)
	}

	if cfg.Auth.TokenMode == TokenUpstream || cfg.Auth.UploadMode == UploadUpstream {
		up := cfg.Auth.Upstream
		a.Upstream, err = keys.NewUpstream(keys.UpstreamConfig{
			JWKSURL: up.JWKSURL, Issuer: up.Issuer, Audience: up.Audience,
			Algorithms: up.Algorithms, UserClaim: up.UserClaim,
		})
		if err != nil {
			return nil, fmt.Errorf("config: auth.upstream: %v", err)
		}
	}

	logger.InfoContext(ctx, "auth ready", slog.String("kid", set.Current().ID),
		slog.String("token_mode", cfg.Auth.TokenMode), slog.String("upload_mode", cfg.Auth.UploadMode))
	if cfg.Auth.TokenMode == TokenOpen {
		logger.WarnContext(ctx, "token mode is open",
			slog.String("note", "anyone can get a token for any user id; development only"))
	}
	if cfg.Auth.UploadMode == UploadNone {
		logger.WarnContext(ctx, "uploads are not authenticated",
			slog.String("note", "auth.upload.mode is none; development only"))
	}
	return a, nil
}
