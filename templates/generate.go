// Package templates scaffolds what a team owns for each collection: the
// validation hook hooks/NAME.go, its test, and the collection's entry in
// config.yaml.
//
// The Go files come from text/template files embedded in the binary. Their
// output is gofmt'd and depends only on the Spec, with fields in name order,
// so scaffolding a collection twice gives the same bytes. The files carry no
// "Code generated" header: once written, they belong to the team, and
// WriteFiles never overwrites them unless told to.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// FieldTypes lists the field types a Spec may name, as config.yaml names
// them.
var FieldTypes = []string{
	"bool", "date", "int", "long", "double", "decimal", "object", "array", "objectid", "string",
}

// The id types and PUT modes a Spec may name; the first of each is the
// default.
var (
	IDTypes  = []string{"string", "objectid", "uuid"}
	PutModes = []string{"replace", "merge"}
)

//go:embed *.tmpl
var templateFiles embed.FS

var (
	hookTemplate = template.Must(template.ParseFS(templateFiles, "hook.go.tmpl"))
	testTemplate = template.Must(template.ParseFS(templateFiles, "hook_test.go.tmpl"))
)

// Spec describes one collection to scaffold.
type Spec struct {
	Name       string            // the collection name in MongoDB
	IDType     string            // one of IDTypes; empty means "string"
	OwnerField string            // the field holding the owner's user id; empty for none
	Put        string            // one of PutModes; empty means "replace"
	Fields     map[string]string // field name to one of FieldTypes
}

// Check returns an error naming what is wrong with s, if anything: its name
// (see CheckName), id type, PUT mode, owner field, or a field's name (see
// CheckFieldName) or type. An owner field listed in Fields must be a string.
func (s Spec) Check() error {
	if err := CheckName(s.Name); err != nil {
		return err
	}
	if s.IDType != "" && !slices.Contains(IDTypes, s.IDType) {
		return fmt.Errorf("unknown id type %q (want %s)", s.IDType, strings.Join(IDTypes, ", "))
	}
	if s.Put != "" && !slices.Contains(PutModes, s.Put) {
		return fmt.Errorf("unknown put mode %q (want %s)", s.Put, strings.Join(PutModes, ", "))
	}
	if s.OwnerField != "" {
		if err := CheckFieldName(s.OwnerField); err != nil {
			return fmt.Errorf("owner field: %w", err)
		}
		if t, ok := s.Fields[s.OwnerField]; ok && t != "string" {
			return fmt.Errorf("owner field %q has type %s; it holds user ids, so it must be string",
				s.OwnerField, t)
		}
	}
	return s.checkFields()
}

func (s Spec) checkFields() error {
	for _, name := range sortedKeys(s.Fields) {
		if err := CheckFieldName(name); err != nil {
			return err
		}
		if t := s.Fields[name]; !slices.Contains(FieldTypes, t) {
			return fmt.Errorf("field %q has unknown type %q (want %s)",
				name, t, strings.Join(FieldTypes, ", "))
		}
	}
	return nil
}

// File is a file to write, at a slash-separated path relative to the
// project directory.
type File struct {
	Path string
	Data []byte
}

// Generate returns the hook file of spec's collection, at the path HookFile
// gives, and its test. The hook registers under spec.Name and holds one check
// per field; the test passes as generated. It returns an error if spec does
// not pass Check.
func Generate(spec Spec) ([]File, error) {
	if err := spec.Check(); err != nil {
		return nil, err
	}

	data := newHookData(spec)
	hookPath := HookFile(spec.Name)
	testPath := strings.TrimSuffix(hookPath, ".go") + "_test.go"

	hook, err := render(hookTemplate, hookPath, data)
	if err != nil {
		return nil, err
	}
	test, err := render(testTemplate, testPath, data)
	if err != nil {
		return nil, err
	}
	return []File{{Path: hookPath, Data: hook}, {Path: testPath, Data: test}}, nil
}

// hookData is what the templates see.
type hookData struct {
	Name    string          // the collection
	Func    string          // the hook function
	Test    string          // its test function
	Fields  []fieldData     // in name order
	HasType map[string]bool // the field types in use
}

type fieldData struct {
	Name string
	Type string
}

func newHookData(spec Spec) hookData {
	fn := funcName(nameWords(spec.Name))
	d := hookData{
		Name:    spec.Name,
		Func:    fn,
		Test:    "TestC" + strings.TrimPrefix(fn, "c"),
		HasType: make(map[string]bool),
	}
	for _, name := range sortedKeys(spec.Fields) {
		d.Fields = append(d.Fields, fieldData{Name: name, Type: spec.Fields[name]})
		d.HasType[spec.Fields[name]] = true
	}
	return d
}

// render executes t and returns its output as gofmt'd Go source, keeping
// only the imports the output uses.
func render(t *template.Template, name string, data hookData) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("generating %s: %w", name, err)
	}

	src, err := pruneImports(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("generating %s: %w", name, err)
	}
	out, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("formatting %s: %w", name, err)
	}
	return out, nil
}

// pruneImports rewrites the import declaration of src to hold only the
// packages src uses, standard library first. The templates import every
// package any field type needs, so each output drops the ones its fields
// do not.
func pruneImports(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	if len(f.Decls) == 0 {
		return src, nil
	}
	decl, ok := f.Decls[0].(*ast.GenDecl)
	if !ok || decl.Tok != token.IMPORT {
		return src, nil
	}

	used := usedPackages(f)
	var std, other []string
	for _, spec := range f.Imports {
		p, _ := strconv.Unquote(spec.Path.Value)
		switch {
		case !used[path.Base(p)]:
		case strings.Contains(strings.Split(p, "/")[0], "."):
			other = append(other, p)
		default:
			std = append(std, p)
		}
	}

	start, end := fset.Position(decl.Pos()).Offset, fset.Position(decl.End()).Offset
	var out bytes.Buffer
	out.Write(src[:start])
	out.WriteString(importDecl(std, other))
	out.Write(src[end:])
	return out.Bytes(), nil
}

// usedPackages returns the names x of every selector x.y in f, which covers
// each package f refers to.
func usedPackages(f *ast.File) map[string]bool {
	used := make(map[string]bool)
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if x, ok := sel.X.(*ast.Ident); ok {
				used[x.Name] = true
			}
		}
		return true
	})
	return used
}

// importDecl writes an import declaration of the std and other packages, in
// two groups.
func importDecl(std, other []string) string {
	if len(std)+len(other) == 1 {
		return "import " + strconv.Quote(slices.Concat(std, other)[0])
	}

	var b strings.Builder
	b.WriteString("import (\n")
	for _, p := range std {
		b.WriteString("\t" + strconv.Quote(p) + "\n")
	}
	if len(std) > 0 && len(other) > 0 {
		b.WriteString("\n")
	}
	for _, p := range other {
		b.WriteString("\t" + strconv.Quote(p) + "\n")
	}
	b.WriteString(")")
	return b.String()
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
