package app

import (
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"

	"github.com/psmongo/psmongo/handlers"
)

// routes lists the middleware, in order, and every route of the API.
func (s *Server) routes() error {
	health := &handlers.Health{DB: s.store}
	upload := &handlers.Upload{Applier: s.applier, Timeout: s.cfg.Server.RequestTimeout}
	authUpload, err := s.uploadAuth()
	if err != nil {
		return err
	}

	f := s.http
	f.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: s.logPanic}))
	f.Use(requestid.New())
	f.Use(s.accessLog)

	f.Get("/healthz", health.Live)
	f.Get("/readyz", health.Ready)

	f.Post("/upload", authUpload, upload.Batch)
	f.Post("/api/data", authUpload, upload.Batch)
	f.Put("/api/data", authUpload, upload.One)
	f.Patch("/api/data", authUpload, upload.One)
	f.Delete("/api/data", authUpload, upload.One)
	return nil
}
