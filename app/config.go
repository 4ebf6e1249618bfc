package app

import (
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/psmongo/psmongo/handlers"
	"github.com/psmongo/psmongo/hooks"
	"github.com/psmongo/psmongo/mongoapply"
)

// DefaultConfigFile is read when no --config is given and it exists.
const DefaultConfigFile = "config.yaml"

// Token and upload authentication modes.
const (
	TokenOpen     = handlers.TokenOpen
	TokenUpstream = handlers.TokenUpstream
	TokenDisabled = handlers.TokenDisabled

	UploadPowerSync = "powersync"
	UploadUpstream  = "upstream"
	UploadNone      = "none"
)

// Config is the whole configuration, loaded once and validated.
type Config struct {
	File string // the config file in use; "" when there is none

	Server  ServerConfig
	Log     LogConfig
	DataDir string

	PowerSyncURL string
	MongoDB      MongoDBConfig
	Auth         AuthConfig

	Collections    map[string]CollectionConfig
	RejectUnlisted bool

	// Hooks is the hooks registry; nil means hooks.Default, where the hook
	// files register. Not read from the file: tests set it.
	Hooks *hooks.Registry
}

// ServerConfig is the HTTP server's section.
type ServerConfig struct {
	Host            string
	Port            int
	BodyLimit       int
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration

	// What one request may take: time to arrive, and size.
	ReadTimeout    time.Duration
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration
	MaxHeaderBytes int
	MaxURLBytes    int
	MaxOps         int
	Limits         mongoapply.Limits // what one op may hold
}

// LogConfig is the logger's section.
type LogConfig struct {
	Level  slog.Level
	Format string // LogJSON or LogText
}

// MongoDBConfig is the database's section.
type MongoDBConfig struct {
	URI            string // "" starts the embedded development store
	Database       string
	Transactions   mongoapply.TxMode
	DeadLetter     string
	ConnectTimeout time.Duration
}

// AuthConfig is the authentication section.
type AuthConfig struct {
	Alg                string
	PrivateKey         string
	PublicKey          string
	PreviousPublicKeys []string
	Issuer             string
	TokenTTL           time.Duration
	TokenMode          string
	UploadMode         string
	Upstream           UpstreamConfig
}

// UpstreamConfig names the identity provider whose tokens are trusted in
// the upstream modes.
type UpstreamConfig struct {
	JWKSURL    string
	Issuer     string
	Audience   string
	UserClaim  string
	Algorithms []string
}

// CollectionConfig is one entry of the collections section.
type CollectionConfig struct {
	mongoapply.Collection
	Schema string // fields, or validators: types come from $jsonSchema
}

// defaults holds every scalar key, so that an environment variable alone
// reaches the config (https://github.com/spf13/viper/issues/761).
var defaults = map[string]any{
	"server.host":                 "127.0.0.1",
	"server.port":                 "6060",
	"server.body_limit":           "16MiB",
	"server.request_timeout":      "30s",
	"server.shutdown_timeout":     "20s",
	"server.read_timeout":         "30s",
	"server.write_timeout":        "30s",
	"server.idle_timeout":         "2m",
	"server.max_header_bytes":     "16KiB",
	"server.max_url_bytes":        "8KiB",
	"server.max_ops":              "10000",
	"server.max_depth":            strconv.Itoa(mongoapply.DefaultMaxDepth),
	"server.max_id_bytes":         strconv.Itoa(mongoapply.DefaultMaxIDBytes),
	"server.max_field_name_bytes": strconv.Itoa(mongoapply.DefaultMaxFieldBytes),
	"log.level":                   "info",
	"log.format":                  LogJSON,
	"data_dir":                    "data",
	"powersync.url":               "http://localhost:8080",
	"mongodb.uri":                 "",
	"mongodb.database":            "",
	"mongodb.transactions":        "auto",
	"mongodb.dead_letter":         mongoapply.DefaultDeadLetter,
	"mongodb.connect_timeout":     "10s",
	"auth.alg":                    "RS256",
	"auth.private_key":            "",
	"auth.public_key":             "",
	"auth.previous_public_keys":   []string{},
	"auth.issuer":                 "psmongo",
	"auth.token_ttl":              "15m",
	"auth.token.mode":             TokenOpen,
	"auth.upload.mode":            UploadPowerSync,
	"auth.upstream.jwks_url":      "",
	"auth.upstream.issuer":        "",
	"auth.upstream.audience":      "",
	"auth.upstream.user_claim":    "sub",
	"auth.upstream.algorithms":    []string{"RS256", "ES256", "EdDSA"},
	"unlisted_collections":        "allow",
}

// envNames binds the names PowerSync users already have, after ours.
var envNames = map[string][]string{
	"mongodb.uri":      {"MONGO_URI"},
	"server.port":      {"PORT"},
	"powersync.url":    {"POWERSYNC_URL"},
	"auth.private_key": {"POWERSYNC_PRIVATE_KEY"},
	"auth.public_key":  {"POWERSYNC_PUBLIC_KEY"},
}

// LoadConfig reads file (or DefaultConfigFile when file is "" and it
// exists), applies the environment, and validates the result. An error
// names the key and what is wrong with it, in one line.
func LoadConfig(file string) (*Config, error) {
	v, used, err := newViper(file)
	if err != nil {
		return nil, err
	}

	if err := checkKnownKeys(v); err != nil {
		return nil, err
	}
	r := &reader{v: v}
	cfg := r.config()
	cfg.File = used
	if r.err != nil {
		return nil, r.err
	}

	cfg.Collections, err = readCollections(used)
	if err != nil {
		return nil, err
	}
	for _, name := range sortedKeys(cfg.Collections) {
		if err := mongoapply.CheckCollectionName(name, cfg.MongoDB.DeadLetter); err != nil {
			return nil, fmt.Errorf("config: collections.%s: %v", name, err)
		}
	}
	return cfg, nil
}

// checkKnownKeys refuses keys in the file and PSMONGO_ variables in the
// environment that name no setting: a typo would otherwise be ignored, and
// a misspelt owner_field would silently turn ownership off.
func checkKnownKeys(v *viper.Viper) error {
	for _, key := range v.AllKeys() {
		if _, ok := defaults[key]; ok || key == "collections" || strings.HasPrefix(key, "collections.") {
			continue
		}
		if isSection(key) {
			return fmt.Errorf("config: %s: must be a section of keys, not a value", key)
		}
		return fmt.Errorf("config: %s: unknown key", key)
	}

	known := make(map[string]bool, len(defaults))
	for key := range defaults {
		known[envName(key)] = true
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PSMONGO_") && !strings.HasPrefix(name, "PSMONGO_TEST_") && !known[name] {
			return fmt.Errorf("config: environment variable %s names no setting", name)
		}
	}
	return nil
}

// isSection reports whether key is a section, such as server.
func isSection(key string) bool {
	for k := range defaults {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// envName returns the PSMONGO_ variable of a key.
func envName(key string) string {
	return "PSMONGO_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func newViper(file string) (*viper.Viper, string, error) {
	v := viper.New()
	for key, value := range defaults {
		v.SetDefault(key, value)
	}
	v.SetEnvPrefix("PSMONGO")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	for key, names := range envNames {
		if err := v.BindEnv(append([]string{key, envName(key)}, names...)...); err != nil {
			return nil, "", fmt.Errorf("binding %s: %w", key, err)
		}
	}

	if file == "" {
		if _, err := os.Stat(DefaultConfigFile); err != nil {
			return v, "", nil
		}
		file = DefaultConfigFile
	}
	v.SetConfigFile(file)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		return nil, "", fmt.Errorf("config %s: %v", file, oneLine(err))
	}
	return v, file, nil
}

// reader reads keys and keeps the first error, which names its key.
type reader struct {
	v   *viper.Viper
	err error
}

func (r *reader) config() *Config {
	cfg := &Config{
		Server:       r.server(),
		Log:          LogConfig{Level: r.level("log.level"), Format: r.oneOf("log.format", LogJSON, LogText)},
		DataDir:      r.v.GetString("data_dir"),
		PowerSyncURL: r.url("powersync.url"),
		MongoDB: MongoDBConfig{
			URI:            r.v.GetString("mongodb.uri"),
			Database:       r.database("mongodb.database"),
			Transactions:   mongoapply.TxMode(r.oneOf("mongodb.transactions", "auto", "always", "never")),
			DeadLetter:     r.collection("mongodb.dead_letter"),
			ConnectTimeout: r.duration("mongodb.connect_timeout"),
		},
		Auth:           r.auth(),
		RejectUnlisted: r.oneOf("unlisted_collections", "allow", "reject") == "reject",
	}
	return cfg
}

func (r *reader) server() ServerConfig {
	s := ServerConfig{
		Host:            r.v.GetString("server.host"),
		Port:            r.port("server.port"),
		BodyLimit:       r.size("server.body_limit"),
		RequestTimeout:  r.duration("server.request_timeout"),
		ShutdownTimeout: r.duration("server.shutdown_timeout"),
		ReadTimeout:     r.duration("server.read_timeout"),
		WriteTimeout:    r.duration("server.write_timeout"),
		IdleTimeout:     r.duration("server.idle_timeout"),
		MaxHeaderBytes:  r.size("server.max_header_bytes"),
		MaxURLBytes:     r.size("server.max_url_bytes"),
		MaxOps:          r.count("server.max_ops", 1, 1<<31-1),
		Limits: mongoapply.Limits{
			MaxDepth:      r.count("server.max_depth", 1, mongoapply.MaxDepthLimit),
			MaxIDBytes:    r.count("server.max_id_bytes", 1, 1<<31-1),
			MaxFieldBytes: r.count("server.max_field_name_bytes", 1, 1<<31-1),
		},
	}
	// The request line and the headers share one buffer.
	switch {
	case s.MaxHeaderBytes < 1<<10:
		r.fail("server.max_header_bytes", "%d is less than 1KiB, too little for a token", s.MaxHeaderBytes)
	case s.MaxURLBytes > s.MaxHeaderBytes:
		r.fail("server.max_url_bytes", "%d is more than server.max_header_bytes (%d), which holds the URL",
			s.MaxURLBytes, s.MaxHeaderBytes)
	}
	return s
}

func (r *reader) auth() AuthConfig {
	a := AuthConfig{
		Alg:                r.oneOf("auth.alg", "RS256", "ES256", "EdDSA"),
		PrivateKey:         r.v.GetString("auth.private_key"),
		PublicKey:          r.v.GetString("auth.public_key"),
		PreviousPublicKeys: r.v.GetStringSlice("auth.previous_public_keys"),
		Issuer:             r.v.GetString("auth.issuer"),
		TokenTTL:           r.ttl("auth.token_ttl"),
		TokenMode:          r.oneOf("auth.token.mode", TokenOpen, TokenUpstream, TokenDisabled),
		UploadMode:         r.oneOf("auth.upload.mode", UploadPowerSync, UploadUpstream, UploadNone),
		Upstream: UpstreamConfig{
			JWKSURL:    r.v.GetString("auth.upstream.jwks_url"),
			Issuer:     r.v.GetString("auth.upstream.issuer"),
			Audience:   r.v.GetString("auth.upstream.audience"),
			UserClaim:  r.v.GetString("auth.upstream.user_claim"),
			Algorithms: r.v.GetStringSlice("auth.upstream.algorithms"),
		},
	}
	if a.TokenMode == TokenUpstream || a.UploadMode == UploadUpstream {
		r.upstream()
	}
	return a
}

// upstream checks the identity provider's settings, which the upstream
// modes need.
func (r *reader) upstream() {
	mode := "auth.token.mode"
	if r.v.GetString(mode) != TokenUpstream {
		mode = "auth.upload.mode"
	}
	r.url("auth.upstream.jwks_url")
	for _, key := range []string{"auth.upstream.issuer", "auth.upstream.audience", "auth.upstream.user_claim"} {
		if strings.TrimSpace(r.v.GetString(key)) == "" {
			r.fail(key, "required when %s is upstream", mode)
		}
	}
}

func (r *reader) fail(key, format string, args ...any) {
	if r.err != nil {
		return
	}
	name := key
	if aliases := envNames[key]; len(aliases) > 0 {
		name += " (" + strings.Join(aliases, ", ") + ")"
	}
	r.err = fmt.Errorf("config: %s: %s", name, fmt.Sprintf(format, args...))
}

func (r *reader) port(key string) int {
	s := strings.TrimSpace(r.scalar(key))
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 65535 {
		r.fail(key, "%q is not a port number (0-65535)", s)
	}
	return n
}

func (r *reader) duration(key string) time.Duration {
	s := r.scalar(key)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		r.fail(key, "%q is not a positive duration such as 30s or 5m", s)
	}
	return d
}

// ttl reads a token lifetime, which the PowerSync Service caps at 24 hours.
func (r *reader) ttl(key string) time.Duration {
	d := r.duration(key)
	switch {
	case d == 0:
	case d < time.Minute:
		r.fail(key, "%s is shorter than 1 minute", d)
	case d > 24*time.Hour:
		r.fail(key, "%s is longer than 24h, and the PowerSync Service refuses such tokens", d)
	}
	return d
}

// size reads a byte count, plain or with a KiB, MiB or GiB suffix.
func (r *reader) size(key string) int {
	s := strings.TrimSpace(r.scalar(key))
	mult := 1
	for suffix, m := range map[string]int{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, suffix)), m
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > (1<<31-1)/mult {
		r.fail(key, "%q is not a size such as 16MiB or 1048576", r.v.GetString(key))
		return 0
	}
	return n * mult
}

// count reads a whole number from lo to hi.
func (r *reader) count(key string, lo, hi int) int {
	s := strings.TrimSpace(r.scalar(key))
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		r.fail(key, "%q is not a whole number from %d to %d", s, lo, hi)
	}
	return n
}

func (r *reader) level(key string) slog.Level {
	var l slog.Level
	s := r.scalar(key)
	if err := l.UnmarshalText([]byte(s)); err != nil {
		r.fail(key, "%q is not a level (debug, info, warn or error)", s)
	}
	return l
}

func (r *reader) oneOf(key string, allowed ...string) string {
	s := r.scalar(key)
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return a
		}
	}
	r.fail(key, "%q is not one of %s", s, strings.Join(allowed, ", "))
	return allowed[0]
}

func (r *reader) url(key string) string {
	s := r.scalar(key)
	u, err := url.Parse(s)
	if err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) ||
		u.Host == "" || strings.ContainsAny(s, " \t\n") {
		r.fail(key, "%q is not an http or https URL", s)
	}
	return s
}

// scalar reads a key that must hold one value, not a list or a section.
func (r *reader) scalar(key string) string {
	switch r.v.Get(key).(type) {
	case []any, map[string]any:
		r.fail(key, "must be a single value, not a list or a section")
	}
	return r.v.GetString(key)
}

// database reads the database name, which MongoDB limits to 63 bytes
// without /\. "$*<>:|? or spaces.
func (r *reader) database(key string) string {
	s := r.scalar(key)
	switch {
	case len(s) > 63:
		r.fail(key, "%q is longer than 63 bytes", s)
	case strings.ContainsAny(s, "/\\. \"$*<>:|?\x00"):
		r.fail(key, "%q holds a character MongoDB does not allow in a database name", s)
	}
	return s
}

// collection reads the name of a collection psmongo itself writes.
func (r *reader) collection(key string) string {
	s := r.scalar(key)
	// "\x00" names no collection: this one is the dead-letter collection.
	if err := mongoapply.CheckCollectionName(s, "\x00"); err != nil {
		r.fail(key, "%v", err)
	}
	return s
}

// oneLine keeps the first line of a multi-line library error.
func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
