package mongoapply

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeText holds decodeText, which restores JSON text with the
// jsonReader, to decodeJSON's results and errors.
func FuzzDecodeText(f *testing.F) {
	for _, s := range []string{
		`["a","b"]`, ` {"x":[1,2.5,-3e9],"y":{"z":null}} `, `[]`, `{}`, `"s"`, `12345678901234567890`,
		`["\u00e9\ud800"]`, "[\"\xff\"]", `[1] [2]`, `[1] x`, ``, ` `, `[1,]`, `{"a":1,"a":2}`, `nul`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotErr := decodeText(s)
		want, wantErr := decodeJSON([]byte(s))
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("decodeText(%q) error %v, decodeJSON's %v", s, gotErr, wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("decodeText(%q) mismatch (-decodeJSON +decodeText):\n%s", s, diff)
		}
	})
}

// FuzzSQLiteTime holds sqliteTime to time.ParseInLocation with SQLite's
// layout on every text it reads.
func FuzzSQLiteTime(f *testing.F) {
	for _, s := range []string{
		"2026-12-04 15:55:11", "2026-12-04 15:55:11.1", "2026-12-04 15:55:11.123456789", "2026-12-04 15:55:11.1234567891",
		"2026-12-04 15:55:11.", "2026-12-04 15:55:11,5", "2026-02-29 10:00:00", "2024-02-29 10:00:00", "2026-04-31 00:00:00",
		"2026-12-04 24:00:00", "2026-12-04 23:60:00", "2026-12-04 23:59:60", "2026-00-04 15:55:11", "0000-01-01 00:00:00",
		"2026-12-04 5:55:11", "2026-12-04T15:55:11", "2026-12-04 15:55:11Z", "+026-12-04 15:55:11", "2026-12-04 15:55:1x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := sqliteTime(s)
		want, err := time.ParseInLocation(dateLayouts[0], s, time.UTC)
		if ok && (err != nil || !got.Equal(want)) {
			t.Fatalf("sqliteTime(%q) = %v; time.ParseInLocation: %v, %v", s, got, want, err)
		}
		if !ok && err == nil && len(s) >= 19 && len(s) <= 29 && s[10] == ' ' && strings.IndexByte(s, ',') < 0 &&
			s[11] != ' ' && s[12] != ':' {
			t.Errorf("sqliteTime(%q) gives up on what time.ParseInLocation reads as %v", s, want)
		}
	})
}
