// Package handlers holds psmongo's HTTP endpoints, one per file.
//
// A handler binds and checks the request, takes the caller's identity from
// the authentication middleware, calls the core (mongoapply or keys) with a
// context from the request, and encodes the response. Handlers return
// errors and never write error responses themselves: an *Error carries the
// status and body the client sees, and the application's error handler
// renders it; any other error becomes a 500 without its text.
package handlers
