package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/psmongo/psmongo/handlers"
	"github.com/psmongo/psmongo/hooks"
	"github.com/psmongo/psmongo/keys"
	"github.com/psmongo/psmongo/mongoapply"
)

// Label values that stand for whatever is not in a label's fixed set, so
// that clients cannot mint series. "$" is in no collection name.
const (
	unlistedCollection = "$unlisted"
	unmatchedRoute     = "unmatched"
	otherMethod        = "OTHER"
	otherCode          = "HOOK_OTHER"
)

// maxHookCodes is how many codes of the hooks' own get a series each; the
// hooks are the app's code, but one that builds codes from data must not
// grow the metrics without bound.
const maxHookCodes = 32

// metrics are the server's Prometheus metrics, in a registry of its own so
// that two servers in one process (as in tests) do not collide. It is the
// applier's mongoapply.Observer.
type metrics struct {
	registry *prometheus.Registry

	inFlight      prometheus.Gauge
	requests      *prometheus.HistogramVec
	opsApplied    *prometheus.CounterVec
	opsRejected   *prometheus.CounterVec
	units         *prometheus.CounterVec
	tokensIssued  prometheus.Counter
	tokensRefused *prometheus.CounterVec
	mongoErrors   *prometheus.CounterVec

	collections map[string]string // the configured ones, each to itself
	routes      map[string]string // path to label, set once the routes are
	codes       codeLabels
}

func newMetrics(collections []string) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "psmongo_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "psmongo_http_request_duration_seconds",
			Help: "HTTP requests by method, route and status, and how long they took.",
			// up to server.request_timeout's default, which bounds uploads
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "status"}),
		opsApplied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "psmongo_ops_applied_total",
			Help: "Uploaded ops written to MongoDB, by collection and kind.",
		}, []string{"collection", "kind"}),
		opsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "psmongo_ops_rejected_total",
			Help: "Uploaded ops rejected and kept in the dead-letter collection, by collection, kind and code.",
		}, []string{"collection", "kind", "code"}),
		units: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "psmongo_units_total",
			Help: "Uploaded units (client transactions) by outcome: applied, rejected, partial.",
		}, []string{"outcome"}),
		tokensIssued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "psmongo_tokens_issued_total",
			Help: "Tokens signed for the PowerSync Service.",
		}),
		tokensRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "psmongo_tokens_refused_total",
			Help: "Bearer tokens refused, by endpoint (upload or token) and reason.",
		}, []string{"endpoint", "reason"}),
		mongoErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "psmongo_mongodb_errors_total",
			Help: "Errors of MongoDB's, by class.",
		}, []string{"class"}),
		collections: make(map[string]string, len(collections)),
		codes:       newCodeLabels(),
	}
	for _, name := range collections {
		m.collections[name] = name
	}
	m.registry.MustRegister(m.inFlight, m.requests, m.opsApplied, m.opsRejected, m.units,
		m.tokensIssued, m.tokensRefused, m.mongoErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// setRoutes fixes the routes that label requests; others are unmatched.
func (m *metrics) setRoutes(routes []fiber.Route) {
	m.routes = make(map[string]string, len(routes))
	for _, r := range routes {
		m.routes[r.Path] = r.Path
	}
}

// route returns the route label of a request.
func (m *metrics) route(c *fiber.Ctx) string {
	// A request that matched no route carries the last middleware's route,
	// or its own path when fasthttp refused it before routing.
	if p, ok := m.routes[c.Route().Path]; ok {
		return p
	}
	return unmatchedRoute
}

// routeOfPath returns the route label of a request that fasthttp refused
// before routing, such as a body over the limit: the route its path names
// exactly, if any. The label is the route's own string, never the
// request's memory, which Fiber reuses.
func (m *metrics) routeOfPath(path string) string {
	if p, ok := m.routes[path]; ok {
		return p
	}
	return unmatchedRoute
}

// observe records a finished request.
func (m *metrics) observe(c *fiber.Ctx, route string, took time.Duration) {
	status := strconv.Itoa(c.Response().StatusCode())
	m.requests.WithLabelValues(methodLabel(c.Method()), route, status).Observe(took.Seconds())
}

// methods are the values of the method label, besides otherMethod.
var methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// methodLabel bounds the method label; the route names the rest. It
// returns a constant: c.Method() points into Fiber's reused buffers.
func methodLabel(method string) string {
	for _, m := range methods {
		if m == method {
			return m
		}
	}
	return otherMethod
}

// Unit counts a unit and its ops; it implements mongoapply.Observer.
func (m *metrics) Unit(u mongoapply.UnitOutcome) {
	m.units.WithLabelValues(u.Outcome()).Inc()
	// Ops come in runs of one collection and kind: each run is counted
	// at once, since finding a counter by its labels costs more than
	// counting.
	for i := 0; i < len(u.Ops); {
		op := &u.Ops[i]
		code := u.OpCode(i)
		n := 1
		for i+n < len(u.Ops) && u.Ops[i+n].Table == op.Table && u.Ops[i+n].Kind == op.Kind && u.OpCode(i+n) == code {
			n++
		}
		collection, kind := m.collection(op.Table), kindLabel(op.Kind)
		if code != "" {
			m.opsRejected.WithLabelValues(collection, kind, m.codes.label(code)).Add(float64(n))
		} else {
			m.opsApplied.WithLabelValues(collection, kind).Add(float64(n))
		}
		i += n
	}
}

// MongoError counts an error of MongoDB's; it implements
// mongoapply.Observer.
func (m *metrics) MongoError(class string) {
	m.mongoErrors.WithLabelValues(class).Inc()
}

// collection returns the collection label: a configured collection's name,
// or one value for all others, since unlisted_collections: allow lets
// clients name any.
func (m *metrics) collection(name string) string {
	if label, ok := m.collections[name]; ok {
		return label // the config's string, which outlives any request
	}
	return unlistedCollection
}

func kindLabel(k hooks.Kind) string {
	for _, known := range []hooks.Kind{hooks.Put, hooks.Patch, hooks.Delete} {
		if k == known {
			return string(known)
		}
	}
	return otherMethod
}

// codeLabels bounds the code label: psmongo's own codes, and the first
// maxHookCodes codes of the hooks' own; any later code is otherCode.
type codeLabels struct {
	known map[string]bool // read-only: psmongo's codes

	mu   sync.Mutex
	hook map[string]bool
}

func newCodeLabels() codeLabels {
	known := make(map[string]bool)
	for _, c := range mongoapply.Codes() {
		known[c] = true
	}
	return codeLabels{known: known, hook: make(map[string]bool)}
}

func (l *codeLabels) label(code string) string {
	if l.known[code] {
		return code
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hook[code] {
		return code
	}
	if len(l.hook) >= maxHookCodes || len(code) > 64 {
		return otherCode
	}
	code = strings.Clone(code)
	l.hook[code] = true
	return code
}

// issuer counts the tokens that iss signs.
func (m *metrics) issuer(iss handlers.Issuer) handlers.Issuer {
	return countedIssuer{iss, m.tokensIssued}
}

type countedIssuer struct {
	handlers.Issuer
	issued prometheus.Counter
}

func (i countedIssuer) Issue(userID string, now time.Time) (string, time.Time, error) {
	token, expires, err := i.Issuer.Issue(userID, now)
	if err == nil {
		i.issued.Inc()
	}
	return token, expires, err
}

// verifier counts the tokens that v refuses at endpoint. A request with no
// bearer token never reaches v: it counts only as a 401 in the request
// metrics.
func (m *metrics) verifier(endpoint string, v handlers.Verifier) handlers.Verifier {
	refused := m.tokensRefused.MustCurryWith(prometheus.Labels{"endpoint": endpoint})
	return handlers.VerifierFunc(func(ctx context.Context, token string) (string, error) {
		userID, err := v.Verify(ctx, token)
		if err != nil {
			refused.WithLabelValues(refusalReason(err)).Inc()
		}
		return userID, err
	})
}

// refusalReasons name why a token was refused, in a fixed set.
var refusalReasons = []struct {
	err    error
	reason string
}{
	{keys.ErrMissingToken, "missing"},
	{keys.ErrExpired, "expired"},
	{keys.ErrNotYetValid, "not_yet_valid"},
	{keys.ErrAudience, "audience"},
	{keys.ErrIssuer, "issuer"},
	{keys.ErrUnknownKID, "unknown_kid"},
	{keys.ErrSignature, "signature"},
	{keys.ErrAlgorithm, "algorithm"},
	{keys.ErrNoSubject, "no_subject"},
	{keys.ErrMalformed, "malformed"},
	{keys.ErrJWKSUnavailable, "jwks_unavailable"},
}

func refusalReason(err error) string {
	for _, r := range refusalReasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "invalid"
}

// pinger counts the errors of readiness checks.
func (m *metrics) pinger(p handlers.Pinger) handlers.Pinger {
	return countedPinger{p, m}
}

type countedPinger struct {
	handlers.Pinger
	m *metrics
}

func (p countedPinger) Ping(ctx context.Context) error {
	err := p.Pinger.Ping(ctx)
	if err != nil {
		p.m.MongoError(mongoapply.ErrorClass(err))
	}
	return err
}

func (s *Server) metricsHandler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
}
