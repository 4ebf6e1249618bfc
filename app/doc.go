// Package app loads psmongo's configuration and runs the server: it builds
// the logger, connects to MongoDB (or starts the embedded development
// store), wires the handlers into one Fiber app, and shuts it all down in
// order when the context ends.
package app
