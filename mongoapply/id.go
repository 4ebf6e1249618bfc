package mongoapply

import (
	"encoding/hex"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/bson/primitive"
)

// documentID returns the _id of the row id s under the collection's id type.
func documentID(s string, t IDType) (any, error) {
	switch t {
	case IDObjectID:
		id, err := primitive.ObjectIDFromHex(s)
		if err != nil {
			return nil, fmt.Errorf("id %s is not an ObjectId (want 24 hex digits)", quoteShort(s))
		}
		return id, nil
	case IDUUID:
		b, err := parseUUID(s)
		if err != nil {
			return nil, fmt.Errorf("id %s is not a UUID", quoteShort(s))
		}
		return primitive.Binary{Subtype: 4, Data: b}, nil
	}
	return s, nil
}

// parseUUID reads a UUID in its 36-character form, or as 32 hex digits.
func parseUUID(s string) ([]byte, error) {
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return nil, fmt.Errorf("misplaced hyphens")
		}
		s = strings.ReplaceAll(s, "-", "")
	}
	if len(s) != 32 {
		return nil, fmt.Errorf("wrong length")
	}
	return hex.DecodeString(s)
}
