package mongoapply

import (
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"
)

// rawDoc returns d encoded as BSON for a write model: the driver takes
// bson.Raw as it is, where it encodes a bson.D through its codecs, by
// reflection, at several times the cost. A value of a type appendValue
// does not know, such as one a hook set, leaves d for the driver.
func rawDoc(d bson.D) any {
	b, ok := appendDoc(make([]byte, 0, 32+48*len(d)), d) // room for short values
	if !ok {
		return d
	}
	return bson.Raw(b)
}

// appendDoc appends d as the driver encodes it, or reports false.
func appendDoc(dst []byte, d bson.D) ([]byte, bool) {
	start, dst := bsoncore.AppendDocumentStart(dst)
	for _, e := range d {
		var ok bool
		if dst, ok = appendValue(dst, e.Key, e.Value); !ok {
			return nil, false
		}
	}
	dst, err := bsoncore.AppendDocumentEnd(dst, start)
	return dst, err == nil
}

// appendValue appends the element key: v for the types that restored
// values have, or reports false. Nil slices are left to the driver, which
// writes them as null; keys with a NUL byte too, which it refuses.
func appendValue(dst []byte, key string, v any) ([]byte, bool) {
	if strings.IndexByte(key, 0) >= 0 {
		return nil, false
	}
	switch v := v.(type) {
	case nil:
		return bsoncore.AppendNullElement(dst, key), true
	case string:
		return bsoncore.AppendStringElement(dst, key, v), true
	case bool:
		return bsoncore.AppendBooleanElement(dst, key, v), true
	case int32:
		return bsoncore.AppendInt32Element(dst, key, v), true
	case int64:
		return bsoncore.AppendInt64Element(dst, key, v), true
	case float64:
		return bsoncore.AppendDoubleElement(dst, key, v), true
	case time.Time:
		return bsoncore.AppendDateTimeElement(dst, key, int64(primitive.NewDateTimeFromTime(v))), true
	case primitive.DateTime:
		return bsoncore.AppendDateTimeElement(dst, key, int64(v)), true
	case primitive.Decimal128:
		return bsoncore.AppendDecimal128(bsoncore.AppendHeader(dst, bsontype.Decimal128, key), v), true
	case primitive.ObjectID:
		return bsoncore.AppendObjectIDElement(dst, key, v), true
	case primitive.Binary:
		return bsoncore.AppendBinaryElement(dst, key, v.Subtype, v.Data), true
	case bson.D:
		if v == nil {
			return nil, false
		}
		return appendDoc(bsoncore.AppendHeader(dst, bsontype.EmbeddedDocument, key), v)
	case bson.A:
		if v == nil {
			return nil, false
		}
		return appendArray(dst, key, v)
	}
	return nil, false
}

func appendArray(dst []byte, key string, a bson.A) ([]byte, bool) {
	start, dst := bsoncore.AppendArrayElementStart(dst, key)
	for i, v := range a {
		var ok bool
		if dst, ok = appendValue(dst, strconv.Itoa(i), v); !ok {
			return nil, false
		}
	}
	dst, err := bsoncore.AppendArrayEnd(dst, start)
	return dst, err == nil
}
