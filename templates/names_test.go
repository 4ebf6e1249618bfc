package templates

import (
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string // empty: valid
	}{
		{"plain", "todos", ""},
		{"dash", "todo-items", ""},
		{"digits first", "2024_logs", ""},
		{"inner dot", "fs.files", ""},
		{"unicode", "café", ""},
		{"longest", strings.Repeat("a", 200), ""},
		{"empty", "", "empty"},
		{"too long", strings.Repeat("a", 201), "longer than 200 bytes"},
		{"dollar", "a$b", "contains $"},
		{"nul", "a\x00b", "NUL"},
		{"bad utf-8", "a\xffb", "not valid UTF-8"},
		{"leading dot", ".todos", "starts or ends with a dot"},
		{"trailing dot", "todos.", "starts or ends with a dot"},
		{"system", "system.users", "system collection"},
		{"powersync", "_powersync_checkpoints", "belongs to PowerSync"},
		{"powersync prefix", "_powersyncx", "belongs to PowerSync"},
		{"dead letter", "powersync_rejected_writes", "is the dead-letter collection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.in, CheckName(tt.in), tt.wantErr)
		})
	}
}

func TestCheckFieldName(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"plain", "created_at", ""},
		{"inner dollar", "price$", ""},
		{"unicode", "prénom", ""},
		{"empty", "", "empty"},
		{"id", "id", "document id"},
		{"_id", "_id", "document id"},
		{"operator", "$set", "starts with $"},
		{"path", "a.b", "contains a dot"},
		{"nul", "a\x00", "NUL"},
		{"bad utf-8", "\xff", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.in, CheckFieldName(tt.in), tt.wantErr)
		})
	}
}

func TestHookFile(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantFile string
		wantFunc string
	}{
		{"plain", "todos", "hooks/todos.go", "checkTodos"},
		{"dash", "todo-items", "hooks/todo_items.go", "checkTodoItems"},
		{"camel case", "todoItems", "hooks/todo_items.go", "checkTodoItems"},
		{"pascal case", "TodoItems", "hooks/todo_items.go", "checkTodoItems"},
		{"initialism", "HTMLPages", "hooks/html_pages.go", "checkHtmlPages"},
		{"digits first", "2024_logs", "hooks/2024_logs.go", "check2024Logs"},
		{"digits inside", "v2Items", "hooks/v2_items.go", "checkV2Items"},
		{"dots and spaces", "fs.files  old", "hooks/fs_files_old.go", "checkFsFilesOld"},
		{"unicode", "Café-Menus", "hooks/café_menus.go", "checkCaféMenus"},
		{"no letters", "--", "hooks/collection_2d2d.go", "checkCollection2d2d"},
		{"test suffix", "foo_test", "hooks/foo_test_hook.go", "checkFooTest"},
		{"os suffix", "events_windows", "hooks/events_windows_hook.go", "checkEventsWindows"},
		{"arch suffix", "data-amd64", "hooks/data_amd64_hook.go", "checkDataAmd64"},
		{"os and arch", "x_linux_arm64", "hooks/x_linux_arm64_hook.go", "checkXLinuxArm64"},
		{"os alone", "windows", "hooks/windows.go", "checkWindows"},
		{"not an os", "jobs_unix", "hooks/jobs_unix.go", "checkJobsUnix"},
		{"package file", "hooks", "hooks/hooks_hook.go", "checkHooks"},
		{"checks file", "Checks", "hooks/checks_hook.go", "checkChecks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HookFile(tt.in); got != tt.wantFile {
				t.Errorf("HookFile(%q) = %q, want %q", tt.in, got, tt.wantFile)
			}
			if got := funcName(nameWords(tt.in)); got != tt.wantFunc {
				t.Errorf("funcName(%q) = %q, want %q", tt.in, got, tt.wantFunc)
			}
		})
	}
}

// checkErr fails t unless err is nil when wantErr is empty, or else holds
// wantErr.
func checkErr(t *testing.T, in any, err error, wantErr string) {
	t.Helper()

	switch {
	case wantErr == "" && err != nil:
		t.Errorf("%q: got %v, want nil", in, err)
	case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
		t.Errorf("%q: got %v, want an error holding %q", in, err, wantErr)
	}
}
