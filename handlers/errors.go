package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/psmongo/psmongo/mongoapply"
)

// Error is an error the client sees: an HTTP status and the body
// {"error": {"code", "message"}}.
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter int   // seconds; sent as Retry-After when set
	Err        error // the cause, for the log; never sent
}

// Error returns the status, the code and the cause, for the log.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Code, e.Err)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// BadRequest returns a 400 *Error.
func BadRequest(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "BAD_REQUEST", Message: msg}
}

// Unauthorized returns a 401 *Error; cause, which may be nil, is for the log.
func Unauthorized(msg string, cause error) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: msg, Err: cause}
}

// Unavailable returns a 503 *Error asking the client to retry; cause is for
// the log.
func Unavailable(msg string, cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "UNAVAILABLE", Message: msg, RetryAfter: 5, Err: cause}
}

// applyError turns an error of mongoapply into what the client sees.
func applyError(err error) error {
	switch {
	case errors.Is(err, mongoapply.ErrInvalidRequest):
		return BadRequest(err.Error())
	case errors.Is(err, mongoapply.ErrUnavailable):
		return Unavailable("MongoDB is unavailable; retry the upload", err)
	}
	return err
}
