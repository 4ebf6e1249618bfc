package mongoapply

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/bsontype"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"
)

// encodeDoc returns d encoded as BSON, as bson.Marshal would. It writes
// the types that restored values have itself, at a fraction of the cost
// of the driver's codecs, which encode by reflection; a value of another
// type, such as one a hook set, leaves d to bson.Marshal.
func encodeDoc(d bson.D) ([]byte, error) {
	if b, ok := appendDoc(make([]byte, 0, 32+48*len(d)), d); ok { // room for short values
		return b, nil
	}
	return bson.Marshal(d)
}

// rawValue returns a document id, as documentID gives it, encoded.
func rawValue(id any) bson.RawValue {
	b, ok := appendValue(nil, "", id)
	if !ok {
		t, v, err := bson.MarshalValue(id)
		if err != nil {
			panic(fmt.Sprintf("mongoapply: encoding a document id of type %T: %v", id, err))
		}
		return bson.RawValue{Type: t, Value: v}
	}
	return bson.RawValue{Type: bsontype.Type(b[0]), Value: b[2:]}
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
	case bson.RawValue:
		return append(bsoncore.AppendHeader(dst, v.Type, key), v.Value...), v.Type.IsValid()
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
