package templates

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrClash is returned, wrapped, by WriteFiles when a Go file it would write
// collides with another file of its package.
var ErrClash = errors.New("name clash")

// WriteFiles writes files under the directory dir, creating directories as
// needed. It checks every file before it writes any, and writes nothing if
// a check fails:
//
//   - if a file exists and force is false, it returns an error wrapping
//     fs.ErrExist;
//   - even with force, if a Go file would replace a hook file that registers
//     another collection, register a collection that another file of its
//     directory registers, or declare a function that one declares, it
//     returns an error wrapping ErrClash. Two collection names that map to
//     one file, such as "todo-items" and "todo_items", are caught here.
func WriteFiles(dir string, files []File, force bool) error {
	for _, f := range files {
		if !filepath.IsLocal(filepath.FromSlash(f.Path)) {
			return fmt.Errorf("file path %q is not inside the project", f.Path)
		}
	}
	if err := checkClashes(dir, files); err != nil {
		return err
	}
	if !force {
		if err := checkAbsent(dir, files); err != nil {
			return err
		}
	}

	for _, f := range files {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(f.Path)), f.Data, force); err != nil {
			return err
		}
	}
	return nil
}

// checkAbsent returns an error wrapping fs.ErrExist that names the files
// that exist.
func checkAbsent(dir string, files []File) error {
	var existing []string
	for _, f := range files {
		_, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(f.Path)))
		switch {
		case err == nil:
			existing = append(existing, f.Path)
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("checking %s: %w", f.Path, err)
		}
	}
	if len(existing) > 0 {
		return fmt.Errorf("%s: %w", strings.Join(existing, ", "), fs.ErrExist)
	}
	return nil
}

// writeFile writes data to name; unless force, only if name does not exist.
func writeFile(name string, data []byte, force bool) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("creating directory: %w", err)
	}

	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !force {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(name, flags, 0o644)
	if err != nil {
		return fmt.Errorf("writing file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing file: %w", err)
	}
	return nil
}

// goDecls is what checkClashes needs to know of a Go file.
type goDecls struct {
	pkg        string
	funcs      []string // top-level functions, without init and methods
	registered []string // the collections it passes to Register
}

// checkClashes compares each Go file in files with the Go files already in
// its directory.
func checkClashes(dir string, files []File) error {
	targets := make(map[string]bool)
	for _, f := range files {
		targets[f.Path] = true
	}

	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".go") {
			continue
		}
		next, ok := parseDecls(f.Data)
		if !ok {
			continue
		}
		if err := checkFileClashes(dir, f.Path, next, targets); err != nil {
			return err
		}
	}
	return nil
}

// checkFileClashes compares the declarations next of the file at slash path
// p with those of the other Go files in its directory, skipping the files
// being written except p itself, which next replaces.
func checkFileClashes(dir, p string, next goDecls, targets map[string]bool) error {
	entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(path.Dir(p))))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path.Dir(p), err)
	}

	for _, e := range entries {
		other := path.Join(path.Dir(p), e.Name())
		if e.IsDir() || !strings.HasSuffix(other, ".go") || other != p && targets[other] {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(other)))
		if err != nil {
			return fmt.Errorf("reading %s: %w", other, err)
		}
		have, ok := parseDecls(src)
		if !ok {
			continue
		}
		if err := compareDecls(p, next, other, have); err != nil {
			return err
		}
	}
	return nil
}

// compareDecls returns an error wrapping ErrClash if the file p, to hold
// next, clashes with the file other, which holds have.
func compareDecls(p string, next goDecls, other string, have goDecls) error {
	if other == p {
		for _, c := range have.registered {
			if !slices.Contains(next.registered, c) {
				return fmt.Errorf("%s holds the hook of collection %q, not %q: %w",
					p, c, strings.Join(next.registered, ", "), ErrClash)
			}
		}
		return nil
	}

	for _, c := range next.registered {
		if slices.Contains(have.registered, c) {
			return fmt.Errorf("collection %q already has a hook in %s: %w", c, other, ErrClash)
		}
	}
	if next.pkg != have.pkg {
		return nil
	}
	for _, fn := range next.funcs {
		if slices.Contains(have.funcs, fn) {
			return fmt.Errorf("%s would declare %s, which %s declares: %w", p, fn, other, ErrClash)
		}
	}
	return nil
}

// parseDecls reads the declarations of Go source src, and reports whether
// src parses.
func parseDecls(src []byte) (goDecls, bool) {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, parser.SkipObjectResolution)
	if err != nil {
		return goDecls{}, false
	}

	d := goDecls{pkg: f.Name.Name}
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		switch {
		case !ok || fn.Recv != nil || fn.Name.Name == "_":
		case fn.Name.Name == "init":
			d.registered = append(d.registered, registered(fn)...)
		default:
			d.funcs = append(d.funcs, fn.Name.Name)
		}
	}
	return d, true
}

// registered returns the collections that the init function fn registers
// hooks for, with Register("name", h) or hooks.Register("name", h).
func registered(fn *ast.FuncDecl) []string {
	var names []string
	ast.Inspect(fn, func(n ast.Node) bool {
		if c, ok := registeredName(n); ok {
			names = append(names, c)
		}
		return true
	})
	return names
}

// registeredName returns the collection of n, if n is a call to Register.
func registeredName(n ast.Node) (string, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok || len(call.Args) != 2 {
		return "", false
	}

	isRegister := false
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		isRegister = fun.Name == "Register"
	case *ast.SelectorExpr:
		x, ok := fun.X.(*ast.Ident)
		isRegister = ok && x.Name == "hooks" && fun.Sel.Name == "Register"
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !isRegister || !ok || lit.Kind != token.STRING {
		return "", false
	}

	c, err := strconv.Unquote(lit.Value)
	return c, err == nil
}
