package app

import (
	"strings"
	"testing"

	"github.com/psmongo/psmongo/devstore/devstoretest"
)

func TestDoctor(t *testing.T) {
	t.Chdir(t.TempDir())
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}

	report := func() string {
		var b strings.Builder
		for _, c := range Doctor(t.Context(), cfg) {
			b.WriteString(c.Level + " " + c.Item + ": " + c.Detail + "\n")
		}
		return b.String()
	}
	if got := report(); !strings.Contains(got, "FAIL mongodb: no mongodb.uri") || !strings.Contains(got, "warn keys:") {
		t.Errorf("doctor without a URI:\n%s", got)
	}

	cfg.MongoDB.URI = devstoretest.URI()
	cfg.MongoDB.Database = devstoretest.Database(t).Name()
	got := report()
	for _, want := range []string{"ok mongodb: connected", "ok dead letters: none"} {
		if !strings.Contains(got, want) {
			t.Errorf("doctor report lacks %q:\n%s", want, got)
		}
	}
	if devstoretest.Embedded() && !strings.Contains(got, "FAIL replica set") {
		t.Errorf("doctor on the embedded store should fail the replica-set check:\n%s", got)
	}
}
