package app

import (
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/psmongo/psmongo/handlers"
)

// routes lists the middleware, in order, and every route of the API.
func (s *Server) routes() error {
	health := &handlers.Health{DB: s.metrics.pinger(s.store)}
	upload := &handlers.Upload{Applier: s.applier, Timeout: s.cfg.Server.RequestTimeout,
		MaxOps: s.cfg.Server.MaxOps}
	jwks := &handlers.JWKS{Keys: s.auth.Keys}
	token := &handlers.Token{Mode: s.cfg.Auth.TokenMode, Issuer: s.metrics.issuer(s.auth.Signer),
		Upstream: s.metrics.verifier("token", s.auth.Upstream), PowerSyncURL: s.cfg.PowerSyncURL}
	authUpload := s.uploadAuth()

	f := s.http
	f.Use(requestID)
	f.Use(s.accessLog) // outside recover, so a panicking request is logged too
	f.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: s.logPanic}))
	f.Use(handlers.LimitURL(s.cfg.Server.MaxURLBytes))

	f.Get("/healthz", health.Live)
	f.Get("/readyz", health.Ready)
	f.Get("/metrics", s.metricsHandler())

	f.Get("/jwks", jwks.Serve)
	f.Get("/api/auth/keys", jwks.Serve)
	f.Get("/token", token.Issue)
	f.Get("/api/auth/token", token.Issue)

	f.Post("/upload", authUpload, upload.Batch)
	f.Post("/api/data", authUpload, upload.Batch)
	f.Put("/api/data", authUpload, upload.One)
	f.Patch("/api/data", authUpload, upload.One)
	f.Delete("/api/data", authUpload, upload.One)

	s.metrics.setRoutes(f.GetRoutes(true))
	return nil
}
