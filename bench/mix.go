package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// Mix is the share of each kind of op in an upload run, as weights: put=60
// and patch=30 means two PUTs for every PATCH.
type Mix struct {
	Put, Patch, Delete int
}

// DefaultMix is the mix psmongo bench uses when none is given.
var DefaultMix = Mix{Put: 60, Patch: 30, Delete: 10}

// ParseMix reads a mix written as "put=60,patch=30,delete=10". Kinds left
// out weigh nothing; at least one must weigh more than nothing.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := make(map[string]bool)
	for part := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" {
			return Mix{}, fmt.Errorf("mix %q: want kind=weight pairs such as put=60,patch=30,delete=10", s)
		}
		if seen[name] {
			return Mix{}, fmt.Errorf("mix %q: %s is given twice", s, name)
		}
		seen[name] = true

		w, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || w < 0 {
			return Mix{}, fmt.Errorf("mix %q: weight of %s is not a whole number of 0 or more", s, name)
		}
		switch name {
		case "put":
			m.Put = w
		case "patch":
			m.Patch = w
		case "delete":
			m.Delete = w
		default:
			return Mix{}, fmt.Errorf("mix %q: unknown kind %q (want put, patch or delete)", s, name)
		}
	}
	if m.total() == 0 {
		return Mix{}, fmt.Errorf("mix %q: every weight is 0", s)
	}
	return m, nil
}

// String writes m as ParseMix reads it.
func (m Mix) String() string {
	return fmt.Sprintf("put=%d,patch=%d,delete=%d", m.Put, m.Patch, m.Delete)
}

func (m Mix) total() int { return m.Put + m.Patch + m.Delete }
