package mongoapply

import (
	"fmt"

	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"
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
		var b [16]byte
		if !uuidBytes(&b, s) {
			return nil, fmt.Errorf("id %s is not a UUID", quoteShort(s))
		}
		return primitive.Binary{Subtype: 4, Data: b[:]}, nil
	}
	return s, nil
}

// appendID appends the element key: the _id of the row id s under the
// collection's id type, as documentID gives it, or reports false.
func appendID(dst []byte, key, s string, t IDType) ([]byte, bool) {
	switch t {
	case IDObjectID:
		id, err := primitive.ObjectIDFromHex(s)
		if err != nil {
			return nil, false
		}
		return bsoncore.AppendObjectIDElement(dst, key, id), true
	case IDUUID:
		var b [16]byte
		if !uuidBytes(&b, s) {
			return nil, false
		}
		return bsoncore.AppendBinaryElement(dst, key, 4, b[:]), true
	}
	return bsoncore.AppendStringElement(dst, key, s), true
}

// uuidBytes reads a UUID, in its 36-character form or as 32 hex digits,
// into b.
func uuidBytes(b *[16]byte, s string) bool {
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 {
		return false
	}
	for i := range b {
		hi, ok1 := hexDigit(s[2*i])
		lo, ok2 := hexDigit(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		b[i] = hi<<4 | lo
	}
	return true
}
