package app

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/psmongo/psmongo/handlers"
)

// metrics are the server's Prometheus metrics, in a registry of its own so
// that two servers in one process (as in tests) do not collide.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
	ops      *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "psmongo_http_request_duration_seconds",
			Help:    "HTTP requests by route and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route", "status"}),
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "psmongo_upload_ops_total",
			Help: "Ops received in uploads that were answered.",
		}, []string{"status"}),
	}
	m.registry.MustRegister(m.requests, m.ops,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe records a finished request.
func (m *metrics) observe(c *fiber.Ctx, took time.Duration) {
	status := strconv.Itoa(c.Response().StatusCode())
	// Labels outlive the request: copy what points into Fiber's buffers.
	method, route := strings.Clone(c.Method()), strings.Clone(c.Route().Path)
	m.requests.WithLabelValues(method, route, status).Observe(took.Seconds())
	if n := handlers.OpCount(c); n > 0 {
		m.ops.WithLabelValues(status).Add(float64(n))
	}
}

func (s *Server) metricsHandler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
}
