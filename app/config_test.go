package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/psmongo/psmongo/mongoapply"
)

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Chdir(t.TempDir()) // no config.yaml here
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Server.Port != 6060 || cfg.Server.BodyLimit != 16<<20 || cfg.Auth.TokenTTL != 15*time.Minute ||
		cfg.MongoDB.Transactions != mongoapply.TxAuto || cfg.Auth.UploadMode != UploadPowerSync ||
		cfg.MongoDB.DeadLetter != "powersync_rejected_writes" || cfg.RejectUnlisted || cfg.File != "" ||
		cfg.Server.ShutdownTimeout != 20*time.Second || cfg.Log.Format != LogJSON {
		t.Errorf("defaults = %+v", cfg)
	}
	limits := ServerConfig{Host: "127.0.0.1", Port: 6060, BodyLimit: 16 << 20, RequestTimeout: 30 * time.Second,
		ShutdownTimeout: 20 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10, MaxURLBytes: 8 << 10, MaxOps: 10_000,
		Limits: mongoapply.Limits{MaxDepth: 64, MaxIDBytes: 1000, MaxFieldBytes: 1024}}
	if diff := cmp.Diff(limits, cfg.Server); diff != "" {
		t.Errorf("server defaults (-want +got):\n%s", diff)
	}
}

// TestCommittedConfigLoads keeps config.yaml loadable. It does not compare
// it with the defaults: the file is the user's, and the scaffolder edits it.
func TestCommittedConfigLoads(t *testing.T) {
	if _, err := LoadConfig(filepath.Join("..", "config.yaml")); err != nil {
		t.Fatalf("LoadConfig(config.yaml): %v", err)
	}
}

func TestLoadConfigEnvironment(t *testing.T) {
	file := writeConfig(t, "server:\n  port: 7000\nmongodb:\n  uri: mongodb://from-file\n")
	t.Setenv("PORT", "7100")
	t.Setenv("MONGO_URI", "mongodb://127.0.0.1:1/app")
	t.Setenv("POWERSYNC_URL", "https://ps.example.test")
	t.Setenv("PSMONGO_AUTH_TOKEN_TTL", "1h")
	t.Setenv("PSMONGO_UNLISTED_COLLECTIONS", "reject")

	cfg, err := LoadConfig(file)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Server.Port != 7100 || cfg.MongoDB.URI != "mongodb://127.0.0.1:1/app" ||
		cfg.PowerSyncURL != "https://ps.example.test" || cfg.Auth.TokenTTL != time.Hour || !cfg.RejectUnlisted {
		t.Errorf("environment not applied: %+v", cfg)
	}

	t.Setenv("PSMONGO_SERVER_PORT", "7200") // ours wins over PORT
	if cfg, _ = LoadConfig(file); cfg.Server.Port != 7200 {
		t.Errorf("port = %d, want PSMONGO_SERVER_PORT's 7200", cfg.Server.Port)
	}
}

func TestLoadConfigCollections(t *testing.T) {
	file := writeConfig(t, `
collections:
  todoItems:
    id_type: uuid
    owner_field: createdBy
    put: merge
    fields:
      dueAt: date
      done: bool
  lists:
`)
	cfg, err := LoadConfig(file)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	want := map[string]CollectionConfig{
		"todoItems": {Schema: "fields", Collection: mongoapply.Collection{
			IDType: mongoapply.IDUUID, OwnerField: "createdBy", Put: mongoapply.PutMerge,
			Fields: map[string]mongoapply.FieldType{"dueAt": mongoapply.FieldDate, "done": mongoapply.FieldBool}}},
		"lists": {Schema: "fields", Collection: mongoapply.Collection{
			IDType: mongoapply.IDString, Put: mongoapply.PutReplace, Fields: map[string]mongoapply.FieldType{}}},
	}
	if diff := cmp.Diff(want, cfg.Collections); diff != "" {
		t.Errorf("collections (-want +got), names must keep their case:\n%s", diff)
	}
}

func TestLoadConfigRefuses(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want string
	}{
		{name: "unknown id type", yaml: "collections:\n  todos:\n    id_type: int\n",
			want: "config: collections.todos.id_type: unknown id type \"int\""},
		{name: "unknown field type", yaml: "collections:\n  todos:\n    fields:\n      a: bigint\n",
			want: "config: collections.todos.fields.a: unknown field type \"bigint\""},
		{name: "fields entry for _id", yaml: "collections:\n  todos:\n    fields:\n      _id: string\n",
			want: "config: collections.todos.fields._id:"},
		{name: "port not a number", yaml: "server:\n  port: http\n", want: "config: server.port (PORT): \"http\" is not a port number"},
		{name: "port from env", env: map[string]string{"PORT": "80a"}, want: "config: server.port (PORT): \"80a\""},
		{name: "unknown put", yaml: "collections:\n  t:\n    put: upsert\n", want: "config: collections.t.put:"},
		{name: "dollar field", yaml: "collections:\n  t:\n    fields:\n      $x: int\n", want: "config: collections.t.fields.$x:"},
		{name: "dead-letter collection listed", yaml: "collections:\n  powersync_rejected_writes: {}\n",
			want: "config: collections.powersync_rejected_writes:"},
		{name: "token ttl too long", env: map[string]string{"PSMONGO_AUTH_TOKEN_TTL": "25h"},
			want: "config: auth.token_ttl: 25h0m0s is longer than 24h"},
		{name: "token ttl too short", env: map[string]string{"PSMONGO_AUTH_TOKEN_TTL": "30s"},
			want: "config: auth.token_ttl: 30s is shorter than 1 minute"},
		{name: "token mode", env: map[string]string{"PSMONGO_AUTH_TOKEN_MODE": "closed"}, want: "config: auth.token.mode:"},
		{name: "transactions", yaml: "mongodb:\n  transactions: sometimes\n", want: "config: mongodb.transactions:"},
		{name: "body limit", yaml: "server:\n  body_limit: lots\n", want: "config: server.body_limit:"},
		{name: "log level", yaml: "log:\n  level: loud\n", want: "config: log.level:"},
		{name: "powersync url", env: map[string]string{"POWERSYNC_URL": "ftp://x"}, want: "config: powersync.url (POWERSYNC_URL):"},
		{name: "not YAML", yaml: "server: [\n", want: "config "},
		{name: "dead letter with $", env: map[string]string{"PSMONGO_MONGODB_DEAD_LETTER": "a$b"},
			want: "config: mongodb.dead_letter: collection name \"a$b\" contains $"},
		{name: "dead letter in system", yaml: "mongodb:\n  dead_letter: system.x\n", want: "config: mongodb.dead_letter:"},
		{name: "database with slash", env: map[string]string{"PSMONGO_MONGODB_DATABASE": "a/b"},
			want: "config: mongodb.database: \"a/b\" holds a character"},
		{name: "database with dot", yaml: "mongodb:\n  database: a.b\n", want: "config: mongodb.database:"},
		{name: "powersync url with space", env: map[string]string{"POWERSYNC_URL": "http://localhost:8080 "},
			want: "config: powersync.url (POWERSYNC_URL):"},
		{name: "powersync url without host", env: map[string]string{"POWERSYNC_URL": "http://"},
			want: "config: powersync.url (POWERSYNC_URL):"},
		{name: "port as a list", yaml: "server:\n  port: [1]\n", want: "config: server.port (PORT): must be a single value"},
		{name: "section as a value", yaml: "server: 5\n", want: "config: server: must be a section"},
		{name: "collection as a value", yaml: "collections:\n  t: 5\n", want: "config: collections:"},
		{name: "misspelt key", yaml: "server:\n  prot: 6060\n", want: "config: server.prot: unknown key"},
		{name: "misspelt collection key", yaml: "collections:\n  todos:\n    ownr_field: created_by\n",
			want: "config: collections.todos.ownr_field: unknown key"},
		{name: "misspelt variable", env: map[string]string{"PSMONGO_SERVER_PRT": "1"},
			want: "config: environment variable PSMONGO_SERVER_PRT names no setting"},
		{name: "max ops zero", env: map[string]string{"PSMONGO_SERVER_MAX_OPS": "0"},
			want: "config: server.max_ops: \"0\" is not a whole number from 1"},
		{name: "max depth over MongoDB's", yaml: "server:\n  max_depth: 101\n",
			want: "config: server.max_depth: \"101\" is not a whole number from 1 to 100"},
		{name: "max id bytes not a number", env: map[string]string{"PSMONGO_SERVER_MAX_ID_BYTES": "1k"},
			want: "config: server.max_id_bytes:"},
		{name: "header buffer too small", env: map[string]string{"PSMONGO_SERVER_MAX_HEADER_BYTES": "512"},
			want: "config: server.max_header_bytes: 512 is less than 1KiB"},
		{name: "URL longer than the headers", env: map[string]string{"PSMONGO_SERVER_MAX_URL_BYTES": "32KiB"},
			want: "config: server.max_url_bytes: 32768 is more than server.max_header_bytes (16384)"},
		{name: "read timeout", yaml: "server:\n  read_timeout: 0s\n", want: "config: server.read_timeout:"},
		{name: "upstream without JWKS URL", env: map[string]string{"PSMONGO_AUTH_TOKEN_MODE": "upstream"},
			want: "config: auth.upstream.jwks_url:"},
		{name: "upstream without audience", env: map[string]string{"PSMONGO_AUTH_UPLOAD_MODE": "upstream",
			"PSMONGO_AUTH_UPSTREAM_JWKS_URL": "https://idp.test/jwks", "PSMONGO_AUTH_UPSTREAM_ISSUER": "https://idp.test"},
			want: "config: auth.upstream.audience: required when auth.upload.mode is upstream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := LoadConfig(writeConfig(t, tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("LoadConfig(%q, %v) = %v, want one line with %q", tt.yaml, tt.env, err, tt.want)
			}
		})
	}
}
