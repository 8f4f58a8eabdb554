package appliance

import (
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/eseal/eseal/cache"
	"github.com/eseal/eseal/signer"
)

// domainMetrics count what the routes do (signatures made and verified), across servers.
var domainMetrics = metrics.NewSet()

// countSignaturesMade counts n signatures made and returned (for the signing routes).
func countSignaturesMade(n int) {
	domainMetrics.GetOrCreateCounter("eseal_signatures_made_total").Add(n)
}

// countVerified counts n signatures verified with the indication (TOTAL_PASSED, ...), for
// the verification routes.
func countVerified(indication string, n int) {
	domainMetrics.GetOrCreateCounter(fmt.Sprintf("eseal_signatures_verified_total{indication=%q}", indication)).Add(n)
}

// latencyBuckets are the upper bounds, in seconds, of the latency histograms.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// serverMetrics are one server's metrics.
type serverMetrics struct {
	set      *metrics.Set
	inFlight atomic.Int64

	mu     sync.Mutex
	caches map[string]func() cache.Metrics
}

func newServerMetrics(svc *Services) *serverMetrics {
	m := &serverMetrics{set: metrics.NewSet(), caches: map[string]func() cache.Metrics{}}
	// The verifier's caches of Services made by Open; others are added with ObserveCache.
	for name, c := range svc.caches() {
		m.caches[name] = c.Metrics
	}
	m.set.NewGauge("eseal_http_requests_in_flight", func() float64 { return float64(m.inFlight.Load()) })
	m.set.RegisterMetricsWriter(m.writeCaches)
	if p := svc.Pool; p != nil {
		m.set.RegisterMetricsWriter(func(w io.Writer) {
			st := p.Stats()
			metrics.WriteGaugeUint64(w, "eseal_verify_pool_workers", uint64(st.Workers))
			metrics.WriteGaugeUint64(w, "eseal_verify_queue_capacity", uint64(st.Queue))
			metrics.WriteGaugeUint64(w, "eseal_verify_queue_waiting", uint64(st.Queued))
			metrics.WriteCounterUint64(w, "eseal_verify_queue_admitted_total", st.Admitted)
			metrics.WriteCounterUint64(w, "eseal_verify_queue_busy_total", st.BusyRefusals)
		})
	}
	if k, ok := svc.Keys.(signer.Pooled); ok {
		m.set.RegisterMetricsWriter(func(w io.Writer) {
			st := k.PoolStats()
			metrics.WriteGaugeUint64(w, "eseal_key_sessions", uint64(st.Sessions))
			metrics.WriteGaugeUint64(w, "eseal_key_sessions_idle", uint64(st.Idle))
			metrics.WriteCounterUint64(w, "eseal_key_session_acquires_total", st.Acquires)
			metrics.WriteCounterUint64(w, "eseal_key_session_waits_total", st.Waits)
			metrics.WriteCounterUint64(w, "eseal_key_session_timeouts_total", st.Timeouts)
			metrics.WriteCounterFloat64(w, "eseal_key_session_wait_seconds_total", st.Waited.Seconds())
		})
	}
	if a := svc.Audit; a != nil {
		m.set.RegisterMetricsWriter(func(w io.Writer) {
			seq, _ := a.Tail()
			st := a.Stats()
			metrics.WriteGaugeUint64(w, "eseal_audit_tail_seq", uint64(seq))
			metrics.WriteCounterUint64(w, "eseal_audit_records_total", st.Records)
			metrics.WriteCounterUint64(w, "eseal_audit_batches_total", st.Batches)
			metrics.WriteCounterUint64(w, "eseal_audit_heads_total", st.Heads)
		})
	}
	return m
}

// observe counts a request by method, route pattern and status, and its latency by route.
// A request that matched no route counts under route "", and an unusual method as OTHER
// (so that callers cannot grow the series without bound).
func (m *serverMetrics) observe(method, pattern string, status int, d time.Duration) {
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		method = "OTHER" // a caller's invented method must not make new series
	}
	m.set.GetOrCreateCounter(fmt.Sprintf(`eseal_http_requests_total{method=%q,route=%q,status="%d"}`, method, pattern, status)).Inc()
	m.set.GetOrCreatePrometheusHistogramExt(fmt.Sprintf(`eseal_http_request_duration_seconds{method=%q,route=%q}`, method, pattern), latencyBuckets).Update(d.Seconds())
}

// ObserveCache adds a cache's counters to /metrics under name (certs, seals, chains,
// revocation, ...): hits, misses, loads, evictions, the bytes kept and the hit ratio. The
// verifier caches of Services made by Open are observed without it.
func (s *Server) ObserveCache(name string, c interface{ Metrics() cache.Metrics }) {
	s.met.mu.Lock()
	defer s.met.mu.Unlock()
	s.met.caches[name] = c.Metrics
}

func (m *serverMetrics) writeCaches(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, f := range m.caches {
		c := f()
		n := strconv.Quote(name)
		metrics.WriteCounterUint64(w, "eseal_cache_hits_total{cache="+n+"}", c.Hits)
		metrics.WriteCounterUint64(w, "eseal_cache_misses_total{cache="+n+"}", c.Misses)
		metrics.WriteCounterUint64(w, "eseal_cache_loads_total{cache="+n+"}", c.Loads)
		metrics.WriteCounterUint64(w, "eseal_cache_load_errors_total{cache="+n+"}", c.LoadErrors)
		metrics.WriteCounterUint64(w, "eseal_cache_evicted_total{cache="+n+"}", c.Evicted)
		metrics.WriteGaugeUint64(w, "eseal_cache_bytes{cache="+n+"}", uint64(max(c.CostKept, 0)))
		if lookups := c.Hits + c.Misses; lookups > 0 {
			// The hit rate since the start; from the counters, rate() gives it over a window.
			metrics.WriteGaugeFloat64(w, "eseal_cache_hit_ratio{cache="+n+"}", float64(c.Hits)/float64(lookups))
		}
	}
}

// writeMetrics writes every metric in the Prometheus text format.
func (m *serverMetrics) write(w io.Writer) {
	m.set.WritePrometheus(w)
	domainMetrics.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}
