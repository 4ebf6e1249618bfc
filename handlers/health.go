package handlers

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Pinger checks that MongoDB answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Health answers liveness and readiness probes.
type Health struct {
	DB Pinger
}

// Live handles GET /healthz: the process is up.
func (h *Health) Live(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// Ready handles GET /readyz: MongoDB answers within two seconds.
func (h *Health) Ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()

	if err := h.DB.Ping(ctx); err != nil {
		return Unavailable("MongoDB does not answer", err)
	}
	return c.JSON(fiber.Map{"status": "ready"})
}
