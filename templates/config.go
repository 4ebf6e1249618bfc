package templates

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// UpdateConfig sets the entry of spec's collection under "collections" in the
// YAML file at path, and reports whether it replaced an entry rather than
// adding one. It creates the file, or the "collections" mapping, if missing.
//
// Only the lines of that entry change: every other line of the file, its
// comments, blank lines and key order included, is kept byte for byte.
// Within a replaced entry, the comments on keys that stay are kept. A file
// laid out in a way this cannot splice, such as a flow-style "collections"
// mapping, is written again from its parsed form, which keeps comments and key
// order but not blank lines or comment alignment.
func UpdateConfig(path string, spec Spec) (replaced bool, err error) {
	if err := spec.Check(); err != nil {
		return false, err
	}

	mode := fs.FileMode(0o644)
	src, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return false, fmt.Errorf("reading config: %w", err)
	default:
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
		}
	}

	out, replaced, err := editConfig(src, spec)
	if err != nil {
		return false, fmt.Errorf("editing %s: %w", path, err)
	}
	if err := os.WriteFile(path, out, mode); err != nil {
		return false, fmt.Errorf("writing config: %w", err)
	}
	return replaced, nil
}

// ConfigEntry returns the entry UpdateConfig writes for spec, as YAML
// text: the collection name as a key, holding id_type, owner_field, put and
// fields.
func ConfigEntry(spec Spec) ([]byte, error) {
	if err := spec.Check(); err != nil {
		return nil, err
	}
	key, value := entryNodes(spec, nil, "")
	return encodeNode(mappingNode(key, value), 2)
}

// editConfig returns src with the entry of spec set, and whether it replaced
// an entry.
func editConfig(src []byte, spec Spec) ([]byte, bool, error) {
	doc, err := parseConfig(src)
	if err != nil {
		return nil, false, err
	}

	want, err := expectedConfig(src, spec)
	if err != nil {
		return nil, false, err
	}

	out, replaced, err := spliceConfig(src, doc, spec)
	if err == nil && sameConfig(out, want) {
		return out, replaced, nil
	}

	// The splice missed a layout it does not know; writing the whole tree
	// again is always right, if less faithful to the file's looks.
	out, replaced, err = rewriteConfig(doc, spec)
	if err != nil {
		return nil, false, err
	}
	if !sameConfig(out, want) {
		return nil, false, errors.New("edited config does not read back as written")
	}
	return out, replaced, nil
}

// parseConfig parses src, which must hold at most one YAML document whose top
// level, if any, is a mapping.
func parseConfig(src []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && err != io.EOF {
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		return nil, errors.New("file holds more than one YAML document")
	}

	if doc.Kind == yaml.DocumentNode && doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("top level is not a mapping")
	}
	if c := collectionsValue(&doc); c != nil && !isNull(c) && c.Kind != yaml.MappingNode {
		return nil, errors.New("collections is not a mapping")
	}
	return &doc, nil
}

// expectedConfig returns the data that src holds once spec's entry is set,
// to check an edit against.
func expectedConfig(src []byte, spec Spec) (map[string]any, error) {
	var data map[string]any
	if err := yaml.Unmarshal(src, &data); err != nil {
		return nil, err
	}
	if data == nil {
		data = make(map[string]any)
	}

	var entry map[string]any
	text, err := ConfigEntry(spec)
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(text, &entry); err != nil {
		return nil, err
	}

	// yaml.v3 gives a mapping with a key that is not a string, such as an
	// unquoted 2024, as a map[any]any; the entry replaces such a key too.
	switch c := data["collections"].(type) {
	case map[string]any:
		c[spec.Name] = entry[spec.Name]
	case map[any]any:
		for k := range c {
			if fmt.Sprint(k) == spec.Name {
				delete(c, k)
			}
		}
		c[spec.Name] = entry[spec.Name]
		data["collections"] = withStringKeys(c)
	default:
		data["collections"] = map[string]any{spec.Name: entry[spec.Name]}
	}
	return data, nil
}

// withStringKeys returns m as a map[string]any if all its keys are strings,
// as yaml.v3 would decode it, else m.
func withStringKeys(m map[any]any) any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		s, ok := k.(string)
		if !ok {
			return m
		}
		out[s] = v
	}
	return out
}

// sameConfig reports whether src parses to want.
func sameConfig(src []byte, want map[string]any) bool {
	var got map[string]any
	if err := yaml.Unmarshal(src, &got); err != nil {
		return false
	}
	return reflect.DeepEqual(got, want)
}

// rewriteConfig sets spec's entry in the tree doc and encodes the whole
// document.
func rewriteConfig(doc *yaml.Node, spec Spec) ([]byte, bool, error) {
	if doc.Kind != yaml.DocumentNode {
		*doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{mappingNode()}}
	}
	root := doc.Content[0]
	root.Style = 0

	_, c := lookup(root, "collections")
	if c == nil {
		c = mappingNode()
		root.Content = append(root.Content, scalarNode("collections"), c)
	}
	if c.Kind != yaml.MappingNode {
		*c = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", LineComment: c.LineComment}
	}
	c.Style = 0

	replaced := setEntry(c, spec)
	out, err := encodeNode(doc, 2)
	return out, replaced, err
}

// setEntry sets spec's entry in the mapping c, keeping the comments of an
// entry it replaces, and reports whether it replaced one.
func setEntry(c *yaml.Node, spec Spec) bool {
	for i := 0; i+1 < len(c.Content); i += 2 {
		if c.Content[i].Value == spec.Name {
			_, c.Content[i+1] = entryNodes(spec, c.Content[i+1], "")
			return true
		}
	}
	key, value := entryNodes(spec, nil, "")
	c.Content = append(c.Content, key, value)
	return false
}

// collectionsValue returns the value of the top-level "collections" key of
// doc, or nil.
func collectionsValue(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode {
		return nil
	}
	_, v := lookup(doc.Content[0], "collections")
	return v
}

// lookup returns the index of key in mapping m and its value, or -1 and nil.
func lookup(m *yaml.Node, key string) (int, *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i, m.Content[i+1]
		}
	}
	return -1, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// encodeNode writes n as block-style YAML indented by indent spaces a level.
func encodeNode(n *yaml.Node, indent int) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(indent)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding YAML: %w", err)
	}
	return buf.Bytes(), nil
}

// entryNodes returns the key and value nodes of spec's entry. When old, the
// value of the entry it replaces, is given, the comments of old's keys that
// the new entry keeps are copied over; a foot comment only if kept, the text
// of the lines being replaced, holds it, since other foot comments stay in
// the file where they are.
func entryNodes(spec Spec, old *yaml.Node, kept string) (key, value *yaml.Node) {
	value = mappingNode()
	add := func(k string, v *yaml.Node) {
		value.Content = append(value.Content, scalarNode(k), v)
	}

	add("id_type", scalarNode(orDefault(spec.IDType, IDTypes[0])))
	if spec.OwnerField != "" {
		add("owner_field", scalarNode(spec.OwnerField))
	}
	add("put", scalarNode(orDefault(spec.Put, PutModes[0])))
	if len(spec.Fields) > 0 {
		fields := mappingNode()
		for _, name := range sortedKeys(spec.Fields) {
			fields.Content = append(fields.Content, scalarNode(name), scalarNode(spec.Fields[name]))
		}
		add("fields", fields)
	}

	if old != nil {
		copyComments(value, old, kept)
		value.Style = 0
	}
	return scalarNode(spec.Name), value
}

// copyComments copies the comments of old's keys and values onto the same
// keys of the mapping m, going into nested mappings.
func copyComments(m, old *yaml.Node, kept string) {
	if old.Kind != yaml.MappingNode {
		return
	}
	m.HeadComment, m.LineComment = old.HeadComment, old.LineComment
	m.FootComment = keptComment(old.FootComment, kept)

	for i := 0; i+1 < len(m.Content); i += 2 {
		oi, ov := lookup(old, m.Content[i].Value)
		if ov == nil {
			continue
		}
		copyNodeComments(m.Content[i], old.Content[oi], kept)
		if m.Content[i+1].Kind == yaml.MappingNode {
			copyComments(m.Content[i+1], ov, kept)
			continue
		}
		copyNodeComments(m.Content[i+1], ov, kept)
	}
}

func copyNodeComments(n, old *yaml.Node, kept string) {
	n.HeadComment, n.LineComment = old.HeadComment, old.LineComment
	n.FootComment = keptComment(old.FootComment, kept)
}

// keptComment returns c if kept holds it, else "".
func keptComment(c, kept string) string {
	if c != "" && strings.Contains(kept, c) {
		return c
	}
	return ""
}

func scalarNode(value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value}
}

func mappingNode(content ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: content}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
