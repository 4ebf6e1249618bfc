package mongoapply

import (
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// fuzzIDTypes are the id types FuzzDocumentID picks from.
var fuzzIDTypes = []IDType{IDString, IDObjectID, IDUUID}

// FuzzDocumentID checks that no row id, under any id type, panics; that an
// id is refused only for the ObjectId and UUID types, with a message that
// can be sent; and that an accepted id is the value the text spells, which
// BSON can encode.
func FuzzDocumentID(f *testing.F) {
	for i := range fuzzIDTypes {
		for _, s := range []string{
			"65a1f0c2e4b0a1b2c3d4e5f6", "65A1F0C2E4B0A1B2C3D4E5F6", "11111111-1111-4111-8111-111111111111",
			"11111111111141118111111111111111", "ae360e55-471a-4198-a042-556c4ed6264e", "nope", "",
			"11111111-1111-4111-8111-11111111111x", "1111111--1111-4111-8111-111111111111",
			"g5a1f0c2e4b0a1b2c3d4e5f6", "é5a1f0c2e4b0a1b2c3d4e5f", "11111111-1111-4111-8111-1111111111é",
		} {
			f.Add(byte(i), s)
		}
	}

	f.Fuzz(func(t *testing.T, typ byte, s string) {
		idType := fuzzIDTypes[int(typ)%len(fuzzIDTypes)]
		id, err := documentID(s, idType)
		if err != nil {
			if idType == IDString || !utf8.ValidString(err.Error()) {
				t.Fatalf("documentID(%q, %s) = %v", s, idType, err)
			}
			return
		}
		if _, err := bson.Marshal(bson.D{{Key: "_id", Value: id}}); err != nil {
			t.Fatalf("documentID(%q, %s) = %#v, which BSON cannot encode: %v", s, idType, id, err)
		}
		if b, ok := id.(primitive.Binary); ok && b.Subtype != 4 {
			t.Fatalf("documentID(%q, %s) = binary subtype %d, want a UUID's 4", s, idType, b.Subtype)
		}
		if got := idText(id); got != strings.ToLower(s) && !(idType == IDUUID && got == uuidHex(s)) {
			t.Fatalf("documentID(%q, %s) = %q, not the id the text spells", s, idType, got)
		}
	})
}

// idText spells an _id as its text: hex for ObjectIds and UUIDs.
func idText(id any) string {
	switch id := id.(type) {
	case primitive.ObjectID:
		return id.Hex()
	case primitive.Binary:
		return hex.EncodeToString(id.Data)
	case string:
		return strings.ToLower(id)
	}
	return ""
}

// uuidHex returns the hex digits of a UUID in its 36-character form.
func uuidHex(s string) string {
	if len(s) != 36 {
		return ""
	}
	return strings.ToLower(s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:])
}
