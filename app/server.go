package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/psmongo/psmongo/hooks"
	"github.com/psmongo/psmongo/mongoapply"
)

// Server is psmongo assembled: its store, core and HTTP app.
type Server struct {
	cfg     *Config
	log     *slog.Logger
	store   *Store
	auth    *Auth
	applier *mongoapply.Applier
	metrics *metrics
	http    *fiber.App
}

// New builds the server from cfg: it opens the store and wires the routes,
// but does not listen. Close releases what it opened.
func New(ctx context.Context, cfg *Config, logger *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, log: logger, metrics: newMetrics(sortedKeys(cfg.Collections))}
	var err error
	// Keys first: a bad key should stop start-up before the store starts.
	if s.auth, err = loadAuth(ctx, cfg, logger); err != nil {
		return nil, err
	}
	if s.store, err = OpenStore(ctx, cfg, logger); err != nil {
		return nil, err
	}

	if err := s.build(ctx); err != nil {
		s.store.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

func (s *Server) build(ctx context.Context) error {
	collections, err := s.collections(ctx)
	if err != nil {
		return err
	}

	s.applier, err = mongoapply.New(ctx, s.store.DB, mongoapply.Config{
		Collections:    collections,
		RejectUnlisted: s.cfg.RejectUnlisted,
		DeadLetter:     s.cfg.MongoDB.DeadLetter,
		Transactions:   s.cfg.MongoDB.Transactions,
		Limits:         s.cfg.Server.Limits,
		Hooks:          s.hooks(),
		Logger:         s.log,
		Observer:       s.metrics,
	})
	if err != nil {
		return fmt.Errorf("preparing writes: %w", err)
	}
	s.log.Info("writes ready", slog.Bool("transactions", s.applier.UsesTransactions()),
		slog.Int("collections", len(collections)), slog.Any("hooks", s.hooks().Collections()))
	s.warnUnsupported(collections)

	s.http = fiber.New(s.fiberConfig())
	return s.routes()
}

// fiberConfig bounds what a client may make the server hold: a request
// must arrive within server.read_timeout and its answer be taken within
// server.write_timeout, so that a slow or stalled client holds no
// connection for longer; an idle keep-alive connection is closed after
// server.idle_timeout. The request line and headers must fit in
// server.max_header_bytes.
func (s *Server) fiberConfig() fiber.Config {
	return fiber.Config{
		AppName:               "psmongo",
		BodyLimit:             s.cfg.Server.BodyLimit,
		ErrorHandler:          s.handleError,
		DisableStartupMessage: true,
		ReadTimeout:           s.cfg.Server.ReadTimeout,
		WriteTimeout:          s.cfg.Server.WriteTimeout,
		IdleTimeout:           s.cfg.Server.IdleTimeout,
		ReadBufferSize:        s.cfg.Server.MaxHeaderBytes,
	}
}

// collections returns the write rules of the configured collections. A
// collection with schema: validators takes its field types from its
// $jsonSchema validator, read now; fields the config names win over it.
func (s *Server) collections(ctx context.Context) (map[string]mongoapply.Collection, error) {
	out := make(map[string]mongoapply.Collection, len(s.cfg.Collections))
	for _, name := range sortedKeys(s.cfg.Collections) {
		c := s.cfg.Collections[name]
		if c.Schema == "validators" {
			fields, err := s.validatorFields(ctx, name)
			if err != nil {
				return nil, err
			}
			for f, t := range c.Fields {
				fields[f] = t
			}
			c.Fields = fields
		}
		out[name] = c.Collection
	}
	return out, nil
}

// validatorFields reads the field types of a collection's validator.
func (s *Server) validatorFields(ctx context.Context, name string) (map[string]mongoapply.FieldType, error) {
	fields := make(map[string]mongoapply.FieldType)
	validator, ok, err := mongoapply.CollectionValidator(ctx, s.store.DB, name)
	if err != nil {
		return nil, fmt.Errorf("reading the validator of %q: %w", name, err)
	}
	if !ok {
		s.log.WarnContext(ctx, "collection has no validator", slog.String("collection", name),
			slog.String("note", "schema is validators; values keep their JSON types"))
		return fields, nil
	}

	types, err := mongoapply.FieldsFromValidator(validator)
	if err != nil && !errors.Is(err, mongoapply.ErrUnmappedType) {
		return nil, fmt.Errorf("config: collections.%s.schema: %v", name, err)
	}
	if err != nil {
		s.log.WarnContext(ctx, "validator fields without a type",
			slog.String("collection", name), slog.Any("error", err))
	}
	for f, t := range types {
		if fields[f], err = mongoapply.ParseFieldType(t); err != nil {
			return nil, fmt.Errorf("config: collections.%s.schema: field %q: %v", name, f, err)
		}
	}
	s.log.InfoContext(ctx, "field types read from the validator",
		slog.String("collection", name), slog.Int("fields", len(fields)))
	return fields, nil
}

func (s *Server) hooks() *hooks.Registry {
	if s.cfg.Hooks != nil {
		return s.cfg.Hooks
	}
	return hooks.Default
}

// warnUnsupported names the decimal fields that the deployment cannot hold,
// at start-up rather than at the first write.
func (s *Server) warnUnsupported(collections map[string]mongoapply.Collection) {
	if !s.applier.Capabilities().FerretDB {
		return
	}
	for _, name := range sortedKeys(collections) {
		for _, field := range sortedKeys(collections[name].Fields) {
			if collections[name].Fields[field] == mongoapply.FieldDecimal {
				s.log.Warn("decimal field unsupported", slog.String("collection", name), slog.String("field", field),
					slog.String("note", "FerretDB cannot hold decimals; writes get UNSUPPORTED_TYPE"))
			}
		}
	}
}

// HTTP returns the Fiber app, for tests that call it without a listener.
func (s *Server) HTTP() *fiber.App { return s.http }

// Store returns the store the server writes to.
func (s *Server) Store() *Store { return s.store }

// Serve listens on the configured address and serves until ctx ends, then
// shuts down gracefully within server.shutdown_timeout.
func (s *Server) Serve(ctx context.Context) error {
	addr := net.JoinHostPort(s.cfg.Server.Host, strconv.Itoa(s.cfg.Server.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener serves on ln until ctx ends, then shuts down: it stops
// accepting connections, lets the requests in flight finish for up to
// server.shutdown_timeout, and leaves those that have not to be cut when
// the process exits. Running past the timeout is logged, not an error.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	// Answers given while shutting down say Connection: close, so that no
	// client sends another request on a connection about to be closed.
	s.http.Server().CloseOnShutdown = true
	s.log.Info("listening", slog.String("addr", ln.Addr().String()))

	errc := make(chan error, 1)
	go func() { errc <- s.http.Listener(ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	return s.shutdown(ln, errc)
}

// shutdown stops the HTTP server serving ln; errc delivers what serving
// returned.
func (s *Server) shutdown(ln net.Listener, errc <-chan error) error {
	start, timeout := time.Now(), s.cfg.Server.ShutdownTimeout
	s.log.Info("shutting down", slog.String("timeout", timeout.String()),
		slog.Int("connections", int(s.http.Server().GetOpenConnectionsCount())))

	err := s.http.ShutdownWithTimeout(timeout)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		// The requests cut get no access line and no metrics: their
		// handlers may still be running when the process exits.
		s.log.Warn("shutdown timeout passed", slog.String("timeout", timeout.String()),
			slog.String("note", "requests still open are cut"))
	case err != nil:
		return fmt.Errorf("shutting down: %w", err)
	}
	// Shutdown closes only the listeners Fiber serves already: one whose
	// serving had not yet begun would be served for ever after.
	_ = ln.Close()
	if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	s.log.Info("http server stopped", slog.Float64("duration_ms", milliseconds(time.Since(start))))
	return nil
}

// closeTimeout bounds closing the store, which waits for connections in
// use: one that a request cut at shutdown holds could keep it waiting.
const closeTimeout = 5 * time.Second

// Close disconnects from MongoDB and stops the embedded store, if any,
// within closeTimeout. Call it after Serve returns.
func (s *Server) Close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, closeTimeout)
	defer cancel()
	s.store.Close(ctx)
	s.log.Info("stopped")
}

// Run builds the server from cfg and serves until ctx ends.
func Run(ctx context.Context, cfg *Config, logger *slog.Logger) error {
	if cfg.File != "" {
		logger.Info("config loaded", slog.String("file", cfg.File))
	}
	s, err := New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer s.Close(context.WithoutCancel(ctx))
	return s.Serve(ctx)
}
