package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/psmongo/psmongo/mongoapply"
)

// Applier applies client writes; *mongoapply.Applier is one.
type Applier interface {
	Apply(ctx context.Context, userID string, ops []mongoapply.Op) (*mongoapply.Result, error)
}

// Upload applies the write batches of PowerSync clients:
// POST /upload and POST /api/data with {"batch": [op, ...]}.
type Upload struct {
	Applier Applier
	Timeout time.Duration // for the whole batch; none when zero
	MaxOps  int           // the most ops in one batch; none when zero
}

// Batch handles a batch upload. It answers 200 once every op is applied or
// stored as rejected, 400 for a malformed batch, and 503 when MongoDB is
// unavailable, so that the client keeps its queue and retries.
func (h *Upload) Batch(c *fiber.Ctx) error {
	body, err := rawBody(c)
	if err != nil {
		return err
	}
	// ParseBatchAtMost copies what it keeps out of the body, which Fiber
	// reuses; it refuses a batch of more than h.MaxOps ops, naming the
	// first op past the limit, without decoding the ops past it.
	ops, err := mongoapply.ParseBatchAtMost(body, h.MaxOps)
	if err != nil {
		return applyError(err)
	}
	return h.apply(c, ops)
}

func (h *Upload) apply(c *fiber.Ctx, ops []mongoapply.Op) error {
	ctx := c.UserContext()
	if h.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.Timeout)
		defer cancel()
	}

	c.Locals(localsOps, OpCounts{Ops: len(ops)})
	res, err := h.Applier.Apply(ctx, UserID(c), ops)
	if err != nil {
		return applyError(err)
	}
	c.Locals(localsOps, OpCounts{Ops: len(ops), Applied: res.Applied, Rejected: len(res.Rejected)})
	return c.JSON(res)
}

// rawBody returns the request body as sent. A compressed body is refused:
// Fiber would inflate it with no limit, past server.body_limit, and the
// PowerSync SDKs do not compress uploads.
func rawBody(c *fiber.Ctx) ([]byte, error) {
	if enc := c.Get(fiber.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Code: "UNSUPPORTED_ENCODING",
			Message: "compressed request bodies are not accepted; send the JSON as is"}
	}
	return c.Request().Body(), nil
}
