package templates

import (
	"bytes"
	"errors"
	"strings"

	"go.yaml.in/yaml/v3"
)

// errLayout means the file is laid out in a way spliceConfig does not edit in
// place.
var errLayout = errors.New("layout not spliced")

// spliceConfig returns src with spec's entry set by changing only the lines
// of that entry, and whether it replaced an entry. doc is src parsed; it is
// not changed. Positions come from doc: yaml.v3 gives each node its line and
// column, and an entry ends at its last line that is neither blank nor only a
// comment before the next key, so the comments between entries stay in place.
func spliceConfig(src []byte, doc *yaml.Node, spec Spec) ([]byte, bool, error) {
	ls := splitLines(src)
	if doc.Kind != yaml.DocumentNode {
		return appendCollections(ls, 0, 2, spec)
	}

	root := doc.Content[0]
	if root.Style&yaml.FlowStyle != 0 || len(root.Content) == 0 {
		return nil, false, errLayout
	}
	ki, c := lookup(root, "collections")
	if c == nil {
		return appendCollections(ls, root.Content[0].Column-1, indentStep(root), spec)
	}

	s := splicer{ls: ls, key: root.Content[ki], value: c, step: indentStep(root)}
	if ki+2 < len(root.Content) {
		s.next = root.Content[ki+2].Line
	} else {
		s.next = len(ls) + 1
	}

	switch {
	case isNull(c) || c.Kind == yaml.MappingNode && len(c.Content) == 0:
		return s.fillEmpty(spec)
	case c.Kind == yaml.MappingNode && c.Style&yaml.FlowStyle == 0:
		return s.setEntry(spec)
	}
	return nil, false, errLayout
}

// splicer edits the lines ls around the top-level "collections" key and
// its value.
type splicer struct {
	ls    []string
	key   *yaml.Node
	value *yaml.Node
	next  int // the line of the next top-level key, or one past the last line
	step  int // the file's indentation step
}

// fillEmpty turns "collections:", "collections: ~" or "collections: {}" into
// a block mapping holding spec's entry, keeping the line's comment.
func (s splicer) fillEmpty(spec Spec) ([]byte, bool, error) {
	if s.value.Line != s.key.Line || !s.startsLine(s.key) {
		return nil, false, errLayout
	}

	line := strings.Repeat(" ", s.key.Column-1) + "collections:"
	if c := s.key.LineComment + s.value.LineComment; c != "" {
		line += " " + c
	}
	entry, err := s.entryText(spec, nil, "", s.key.Column-1+s.step)
	if err != nil {
		return nil, false, err
	}
	return s.replace(s.key.Line, s.key.Line, line+"\n"+entry), false, nil
}

// setEntry replaces spec's entry in a block mapping, or adds it after the
// last entry.
func (s splicer) setEntry(spec Spec) ([]byte, bool, error) {
	c := s.value
	n := len(c.Content)
	ei := n - 2
	for i := 0; i+1 < n; i += 2 {
		if c.Content[i].Value == spec.Name {
			ei = i
		}
	}
	key := c.Content[ei]
	if !s.startsLine(key) {
		return nil, false, errLayout
	}

	next := s.next
	if ei+2 < n {
		next = c.Content[ei+2].Line
	}
	end := lastContentLine(s.ls, key.Line, next)
	indent := key.Column - 1

	if key.Value != spec.Name {
		entry, err := s.entryText(spec, nil, "", indent)
		if err != nil {
			return nil, false, err
		}
		if n > 2 && s.blankBefore(key) {
			entry = "\n" + entry
		}
		return s.replace(end+1, end, entry), false, nil
	}

	kept := strings.Join(s.ls[key.Line-1:end], "")
	old := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{key, c.Content[ei+1]}}
	entry, err := s.entryText(spec, old, kept, indent)
	if err != nil {
		return nil, false, err
	}
	return s.replace(key.Line, end, entry), true, nil
}

// entryText encodes spec's entry, indented by indent spaces. old, when
// given, is a one-entry mapping holding the entry being replaced, whose lines
// are kept.
func (s splicer) entryText(spec Spec, old *yaml.Node, kept string, indent int) (string, error) {
	var oldKey, oldValue *yaml.Node
	if old != nil {
		oldKey, oldValue = old.Content[0], old.Content[1]
	}

	key, value := entryNodes(spec, oldValue, kept)
	if oldKey != nil {
		key.LineComment = oldKey.LineComment
	}
	text, err := encodeNode(mappingNode(key, value), s.step)
	if err != nil {
		return "", err
	}

	var b strings.Builder
	pad := strings.Repeat(" ", indent)
	for _, line := range strings.SplitAfter(string(text), "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString(pad)
		}
		b.WriteString(line)
	}
	return b.String(), nil
}

// blankBefore reports whether a blank line comes before n and the comment
// lines right above it, as it does where entries are set apart by blank lines.
func (s splicer) blankBefore(n *yaml.Node) bool {
	i := n.Line - 1
	for i >= 1 && strings.HasPrefix(strings.TrimSpace(s.ls[i-1]), "#") {
		i--
	}
	return i >= 1 && strings.TrimSpace(s.ls[i-1]) == ""
}

// startsLine reports whether nothing but spaces comes before n on its line.
func (s splicer) startsLine(n *yaml.Node) bool {
	if n.Line < 1 || n.Line > len(s.ls) {
		return false
	}
	line := s.ls[n.Line-1]
	return n.Column-1 <= len(line) && strings.TrimLeft(line[:n.Column-1], " ") == ""
}

// replace returns the lines with lines from to to (counted from 1, both
// included; to = from-1 inserts) replaced by text, using the file's line
// ending.
func (s splicer) replace(from, to int, text string) []byte {
	return spliceLines(s.ls, from-1, to, text)
}

// appendCollections adds a "collections" mapping holding spec's entry at the
// end of the file, its key indented by indent spaces.
func appendCollections(ls []string, indent, step int, spec Spec) ([]byte, bool, error) {
	s := splicer{ls: ls, step: step}
	entry, err := s.entryText(spec, nil, "", indent+step)
	if err != nil {
		return nil, false, err
	}
	text := strings.Repeat(" ", indent) + "collections:\n" + entry
	if len(ls) > 0 && strings.TrimSpace(ls[len(ls)-1]) != "" {
		text = "\n" + text
	}
	return spliceLines(ls, len(ls), len(ls), text), false, nil
}

// spliceLines returns ls with ls[from:to] replaced by text, whose "\n" line
// endings become those of the file.
func spliceLines(ls []string, from, to int, text string) []byte {
	nl := "\n"
	if len(ls) > 0 && strings.HasSuffix(ls[0], "\r\n") {
		nl = "\r\n"
		text = strings.ReplaceAll(text, "\n", nl)
	}

	var b bytes.Buffer
	for _, line := range ls[:from] {
		b.WriteString(line)
	}
	if b.Len() > 0 && !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
		b.WriteString(nl)
	}
	b.WriteString(text)
	for _, line := range ls[to:] {
		b.WriteString(line)
	}
	return b.Bytes()
}

// splitLines splits src into lines, each keeping its line ending.
func splitLines(src []byte) []string {
	if len(src) == 0 {
		return nil
	}
	ls := strings.SplitAfter(string(src), "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	return ls
}

// lastContentLine returns the last line from from up to before next that is
// neither blank nor only a comment, counting lines from 1.
func lastContentLine(ls []string, from, next int) int {
	for i := next - 1; i > from; i-- {
		t := strings.TrimSpace(ls[i-1])
		if t != "" && !strings.HasPrefix(t, "#") {
			return i
		}
	}
	return from
}

// indentStep returns how far the file indents a nested mapping, from the
// first one under the top level, or 2.
func indentStep(root *yaml.Node) int {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 {
			if step := v.Content[0].Column - k.Column; step >= 2 && step <= 9 {
				return step
			}
		}
	}
	return 2
}
