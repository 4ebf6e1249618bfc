package mongoapply

import (
	"context"
	"errors"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/x/mongo/driver/topology"
)

// ErrUnavailable means MongoDB could not be reached, or answered with an
// error that a retry may not meet. Units before the failing one may have
// been written; since every op is idempotent, the client retries the batch.
var ErrUnavailable = errors.New("mongodb unavailable")

// transientCodes are server error codes that mean "try again": shutdowns,
// elections, network trouble and time limits.
var transientCodes = map[int32]bool{
	6: true, 7: true, 89: true, 91: true, 189: true, 262: true, 9001: true,
	10107: true, 11600: true, 11602: true, 13435: true, 13436: true,
}

// classify marks err as ErrUnavailable when a retry may succeed.
func classify(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || !isTransient(err) {
		return err
	}
	return &unavailableError{err: err}
}

// unavailableError is ErrUnavailable with its cause. It unwraps to the cause
// alone because the driver walks single Unwrap chains to find error labels,
// such as the TransientTransactionError that makes it retry a transaction.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string        { return "mongodb unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() error        { return e.err }
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

func isTransient(err error) bool {
	var labeled mongo.LabeledError
	if errors.As(err, &labeled) &&
		(labeled.HasErrorLabel("RetryableWriteError") ||
			labeled.HasErrorLabel("TransientTransactionError") ||
			labeled.HasErrorLabel("UnknownTransactionCommitResult")) {
		return true
	}

	var selection topology.ServerSelectionError
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled),
		errors.Is(err, mongo.ErrClientDisconnected),
		errors.As(err, &selection),
		mongo.IsNetworkError(err),
		mongo.IsTimeout(err):
		return true
	}

	// A write concern error means the write was applied but not yet as
	// durably as asked, as when replication times out (code 64): the
	// client retries, which every op being idempotent allows.
	var written mongo.WriteException
	if errors.As(err, &written) && written.WriteConcernError != nil {
		return true
	}

	return hasTransientCode(err)
}

// hasTransientCode reports whether err is a server error with one of the
// transientCodes.
func hasTransientCode(err error) bool {
	var server mongo.ServerError
	if !errors.As(err, &server) {
		return false
	}
	for code := range transientCodes {
		if server.HasErrorCode(int(code)) {
			return true
		}
	}
	return false
}
