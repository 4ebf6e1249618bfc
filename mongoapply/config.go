package mongoapply

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/psmongo/psmongo/hooks"
)

// IDType is the BSON type a collection's _id takes.
type IDType string

// The id types a collection may use.
const (
	IDString   IDType = "string"
	IDObjectID IDType = "objectid"
	IDUUID     IDType = "uuid"
)

// FieldType names the BSON type a field's value is restored to.
type FieldType string

// The field types a collection's fields map may name.
const (
	FieldBool     FieldType = "bool"
	FieldDate     FieldType = "date"
	FieldInt      FieldType = "int"
	FieldLong     FieldType = "long"
	FieldDouble   FieldType = "double"
	FieldDecimal  FieldType = "decimal"
	FieldObject   FieldType = "object"
	FieldArray    FieldType = "array"
	FieldObjectID FieldType = "objectid"
	FieldString   FieldType = "string"
)

// FieldTypes lists every FieldType, in the order the documentation gives.
var FieldTypes = []FieldType{
	FieldBool, FieldDate, FieldInt, FieldLong, FieldDouble, FieldDecimal,
	FieldObject, FieldArray, FieldObjectID, FieldString,
}

// PutMode says how a PUT writes an existing document.
type PutMode string

// The PUT modes.
const (
	PutReplace PutMode = "replace" // the document becomes {_id, ...data}
	PutMerge   PutMode = "merge"   // $set of the given fields, others kept
)

// TxMode says when a unit is written in a MongoDB transaction.
type TxMode string

// The transaction modes.
const (
	TxAuto   TxMode = "auto"   // when the deployment is a replica set
	TxAlways TxMode = "always" // always; start-up fails without a replica set
	TxNever  TxMode = "never"  // never; ordered bulk writes only
)

// DefaultDeadLetter is the default name of the dead-letter collection.
const DefaultDeadLetter = "powersync_rejected_writes"

// Collection holds the write rules of one collection.
type Collection struct {
	IDType     IDType
	OwnerField string // when set, documents belong to the user who PUT them
	Put        PutMode
	Fields     map[string]FieldType // restored types; fields not named keep their JSON type
}

// Config holds what an Applier needs besides the database.
type Config struct {
	// Collections lists the configured collections by name.
	Collections map[string]Collection

	// RejectUnlisted refuses ops on collections not in Collections with
	// code UNKNOWN_COLLECTION; otherwise they are written with default rules.
	RejectUnlisted bool

	// DeadLetter names the dead-letter collection; DefaultDeadLetter if empty.
	DeadLetter string

	// Transactions chooses when units are written in a transaction.
	Transactions TxMode

	// Limits bound what one op may hold; zero fields take their defaults.
	Limits Limits

	// Hooks holds the per-collection hooks; nil means none.
	Hooks *hooks.Registry

	// Logger receives the applier's log lines; nil discards them.
	Logger *slog.Logger

	// Observer learns of each unit and each MongoDB error; nil for none.
	Observer Observer
}

// ParseIDType returns the IDType named s.
func ParseIDType(s string) (IDType, error) {
	switch t := IDType(s); t {
	case IDString, IDObjectID, IDUUID:
		return t, nil
	case "":
		return IDString, nil
	}
	return "", fmt.Errorf("unknown id type %q (want string, objectid or uuid)", s)
}

// ParseFieldType returns the FieldType named s.
func ParseFieldType(s string) (FieldType, error) {
	for _, t := range FieldTypes {
		if string(t) == s {
			return t, nil
		}
	}
	names := make([]string, len(FieldTypes))
	for i, t := range FieldTypes {
		names[i] = string(t)
	}
	return "", fmt.Errorf("unknown field type %q (want one of %s)", s, strings.Join(names, ", "))
}

// ParsePutMode returns the PutMode named s.
func ParsePutMode(s string) (PutMode, error) {
	switch m := PutMode(s); m {
	case PutReplace, PutMerge:
		return m, nil
	case "":
		return PutReplace, nil
	}
	return "", fmt.Errorf("unknown put mode %q (want replace or merge)", s)
}

// ParseTxMode returns the TxMode named s.
func ParseTxMode(s string) (TxMode, error) {
	switch m := TxMode(s); m {
	case TxAuto, TxAlways, TxNever:
		return m, nil
	case "":
		return TxAuto, nil
	}
	return "", fmt.Errorf("unknown transactions mode %q (want auto, always or never)", s)
}

// CheckFieldName returns an error if name cannot be a field the client
// writes: empty, "id" or "_id", starting with "$", or holding "." or NUL.
func CheckFieldName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty field name")
	case name == "id" || name == "_id":
		return fmt.Errorf("field %q is the document id, not a field", name)
	}
	return checkKey(name)
}

// keyError is a field name that MongoDB would read as an operator or a
// path, or cannot store.
type keyError struct{ msg string }

func (e *keyError) Error() string { return e.msg }

// checkKey refuses a key MongoDB would read as an operator or a path, at
// any depth of a document. An error is a *keyError.
func checkKey(name string) error {
	problem := ""
	switch {
	case name == "":
		return &keyError{"empty field name"}
	case !utf8.ValidString(name):
		problem = "is not valid UTF-8"
	case strings.HasPrefix(name, "$"):
		problem = "starts with $"
	case strings.Contains(name, "."):
		problem = "contains a dot"
	case strings.ContainsRune(name, 0):
		problem = "contains a NUL byte"
	default:
		return nil
	}
	return &keyError{fmt.Sprintf("field name %s %s", quoteShort(name), problem)}
}

// CheckCollectionName returns an error naming the rule that name breaks, if
// clients may not write to a collection so named. deadLetter is the name of
// the dead-letter collection, which clients never write to.
func CheckCollectionName(name, deadLetter string) error {
	if deadLetter == "" {
		deadLetter = DefaultDeadLetter
	}

	switch {
	case name == "":
		return fmt.Errorf("collection name is empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("collection name %q is not valid UTF-8", name)
	case len(name) > 200:
		// MongoDB limits "database.collection" to 255 bytes; this leaves
		// 54 for the database name.
		return fmt.Errorf("collection name is longer than 200 bytes")
	case strings.ContainsAny(name, "$\x00"):
		return fmt.Errorf("collection name %q contains $ or a NUL byte", name)
	case strings.HasPrefix(name, "."), strings.HasSuffix(name, "."):
		return fmt.Errorf("collection name %q starts or ends with a dot", name)
	case strings.HasPrefix(name, "system."):
		return fmt.Errorf("collection %q is a system collection", name)
	case strings.HasPrefix(name, "_powersync"):
		return fmt.Errorf("collection %q belongs to PowerSync", name)
	case name == deadLetter:
		return fmt.Errorf("collection %q is the dead-letter collection", name)
	}
	return nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m)) // one allocation, where slices.Sorted grows
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
