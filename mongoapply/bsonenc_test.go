package mongoapply

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

// TestEncodeDocMatchesTheDriver encodes documents of every type
// appendValue knows, and random ones, and compares the bytes with
// bson.Marshal's.
func TestEncodeDocMatchesTheDriver(t *testing.T) {
	dec, _ := primitive.ParseDecimal128("19.99")
	docs := []bson.D{
		{},
		{{Key: "_id", Value: "a"}, {Key: "n", Value: nil}, {Key: "s", Value: "é\x00x"}, {Key: "b", Value: true},
			{Key: "i", Value: int32(-7)}, {Key: "l", Value: int64(1) << 60}, {Key: "f", Value: math.Inf(-1)},
			{Key: "t", Value: time.Date(1969, 7, 20, 20, 17, 40, 999_999_999, time.FixedZone("x", 3600))},
			{Key: "dt", Value: primitive.DateTime(-5)}, {Key: "d", Value: dec},
			{Key: "o", Value: primitive.NewObjectID()}, {Key: "id", Value: rawValue("x")},
			{Key: "u", Value: primitive.Binary{Subtype: 4, Data: bytes.Repeat([]byte{7}, 16)}},
			{Key: "old", Value: primitive.Binary{Subtype: 2, Data: []byte{1, 2}}},
			{Key: "a", Value: bson.A{"x", bson.A{}, bson.D{{Key: "k", Value: int32(1)}}}}, {Key: "e", Value: bson.D{}}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		docs = append(docs, randomDoc(rng, 3))
	}
	for _, d := range docs {
		want, err := bson.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeDoc(d)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("encodeDoc(%v) = %v, %v; want bson.Marshal's %v", d, bson.Raw(got), err, bson.Raw(want))
		}
	}
}

func randomDoc(rng *rand.Rand, depth int) bson.D {
	d := bson.D{}
	for i := range rng.IntN(6) {
		d = append(d, bson.E{Key: string(rune('a' + i)), Value: randomValue(rng, depth)})
	}
	return d
}

func randomValue(rng *rand.Rand, depth int) any {
	switch n := rng.IntN(9); {
	case n == 0:
		return nil
	case n == 1:
		return rng.IntN(2) == 1
	case n == 2:
		return int32(rng.Int32())
	case n == 3:
		return rng.Int64() - math.MaxInt64/2
	case n == 4:
		return rng.NormFloat64()
	case n == 5:
		return time.UnixMilli(rng.Int64N(1 << 45)).UTC()
	case n == 6 && depth > 0:
		return randomDoc(rng, depth-1)
	case n == 7 && depth > 0:
		a := bson.A{}
		for range rng.IntN(4) {
			a = append(a, randomValue(rng, depth-1))
		}
		return a
	}
	return "s" + string(rune(rng.IntN(0x2000)))
}

// TestEncodeDocLeavesTheRest leaves values of other types, nil slices
// and keys with a NUL byte to bson.Marshal, which encodes the first two
// and refuses the last.
func TestEncodeDocLeavesTheRest(t *testing.T) {
	for _, d := range []bson.D{
		{{Key: "n", Value: 1}},
		{{Key: "m", Value: map[string]any{"a": 1}}},
		{{Key: "a", Value: bson.A(nil)}},
		{{Key: "d", Value: bson.D{{Key: "x", Value: bson.D(nil)}}}},
		{{Key: "k\x00", Value: "v"}},
		{{Key: "a", Value: bson.A{uint8(1)}}},
	} {
		if _, ok := appendDoc(nil, d); ok {
			t.Errorf("appendDoc(%v) encoded it; want it left to bson.Marshal", d)
		}
		want, wantErr := bson.Marshal(d)
		got, err := encodeDoc(d)
		if !bytes.Equal(got, want) || (err == nil) != (wantErr == nil) {
			t.Errorf("encodeDoc(%v) = %v, %v; want bson.Marshal's %v, %v", d, bson.Raw(got), err, bson.Raw(want), wantErr)
		}
	}
}
