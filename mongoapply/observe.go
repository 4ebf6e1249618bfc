package mongoapply

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/x/mongo/driver/topology"
)

// Classes of MongoDB errors, as ErrorClass names them. The set is fixed, so
// that a class can label a metric.
const (
	ClassNetwork            = "network"             // a connection failed or was closed
	ClassServerSelection    = "server_selection"    // no server could be reached in time
	ClassTimeout            = "timeout"             // a deadline passed, the request's or MongoDB's
	ClassTransient          = "transient"           // MongoDB asked for a retry: an election, a shutdown
	ClassDocumentValidation = "document_validation" // a collection validator refused a document
	ClassDuplicateKey       = "duplicate_key"       // a unique index refused a document
	ClassWriteRefused       = "write_refused"       // MongoDB refused a write for another reason
	ClassOther              = "other"
)

// Observer learns what an Applier does, for metrics. Apply calls it from
// concurrent requests, on the request's path: its methods must be safe for
// concurrent use and quick.
type Observer interface {
	// Unit reports a unit that was written or refused. A unit that an
	// error cut short is not reported; the error is.
	Unit(u UnitOutcome)

	// MongoError reports an error of MongoDB's by its class: one that
	// failed a batch, or a write that MongoDB refused.
	MongoError(class string)
}

// UnitOutcome is what became of one unit.
type UnitOutcome struct {
	Ops     []Op   // the unit's ops; the observer must neither change nor keep them
	Applied int    // how many of Ops, from the first, were written
	Refused int    // the index in Ops of the op that refused the unit; -1 when none did
	Code    string // the refused op's code; "" when the unit was written whole
}

// Outcome names the unit's outcome: "applied", "rejected", or "partial"
// when MongoDB refused an op after others of the unit were written.
func (u UnitOutcome) Outcome() string {
	switch {
	case u.Refused < 0:
		return "applied"
	case u.Applied > 0:
		return "partial"
	}
	return "rejected"
}

// OpCode returns the code the op at index i of the unit was rejected with,
// as the response lists it, or "" when it was applied.
func (u UnitOutcome) OpCode(i int) string {
	switch {
	case u.Refused < 0 || i < u.Applied:
		return ""
	case i == u.Refused:
		return u.Code
	}
	return CodeUnitRejected
}

// Codes returns the codes that psmongo itself gives refused ops. Hooks may
// use codes of their own besides.
func Codes() []string {
	return []string{
		CodeInvalidCollection, CodeUnknownCollection, CodeInvalidID, CodeInvalidField,
		CodeTypeMismatch, CodeUnsupportedType, CodeForbidden, CodeHookFailed,
		CodeDocumentValidation, CodeDuplicateKey, CodeDocumentTooLarge, CodeWriteRejected,
		CodeUnitRejected,
	}
}

// ErrorClass names the class of an error that talking to MongoDB returned:
// one of the Class constants. An error it does not recognize is ClassOther.
func ErrorClass(err error) string {
	var selection topology.ServerSelectionError
	var server mongo.ServerError
	switch {
	case errors.As(err, &selection):
		return ClassServerSelection
	case errors.Is(err, context.DeadlineExceeded), mongo.IsTimeout(err):
		return ClassTimeout
	case errors.Is(err, mongo.ErrClientDisconnected), mongo.IsNetworkError(err):
		return ClassNetwork
	case isTransient(err):
		return ClassTransient
	case mongo.IsDuplicateKeyError(err):
		return ClassDuplicateKey
	case errors.As(err, &server) && server.HasErrorCode(121):
		return ClassDocumentValidation
	}
	return ClassOther
}

// refusalClass names the class of a write that MongoDB refused.
func refusalClass(code string) string {
	switch code {
	case CodeDocumentValidation:
		return ClassDocumentValidation
	case CodeDuplicateKey:
		return ClassDuplicateKey
	}
	return ClassWriteRefused
}

// observer returns the Observer of the config, or one that does nothing.
func (a *Applier) observer() Observer {
	if a.cfg.Observer == nil {
		return nopObserver{}
	}
	return a.cfg.Observer
}

// nopObserver is the Observer of an Applier that was given none.
type nopObserver struct{}

func (nopObserver) Unit(UnitOutcome)  {}
func (nopObserver) MongoError(string) {}
