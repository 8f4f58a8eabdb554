package appliance

import (
	"strings"
	"testing"

	"github.com/eseal/eseal/cache"
)

type fakeCache struct{ m cache.Metrics }

func (f fakeCache) Metrics() cache.Metrics { return f.m }

func TestMetrics(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	ts.srv.ObserveCache("certs", fakeCache{cache.Metrics{Hits: 7, Misses: 3, CostKept: 4096}})
	ts.do("GET", "/v1/test/items/1", "admin-1", nil)
	ts.do("GET", "/v1/test/items/2", "admin-1", nil)
	ts.do("GET", "/v1/test/items/3", "", nil)
	ts.do("GET", "/no/such/path", "", nil)
	ts.do("BREW", "/no/such/path", "", nil)
	countSignaturesMade(2)
	countVerified("TOTAL_PASSED", 1)
	a := ts.do("GET", "/metrics", "", nil)
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", a.status, a.header.Get("Content-Type"))
	}
	text := string(a.body)
	for _, want := range []string{
		`eseal_http_requests_total{method="GET",route="/v1/test/items/{id}",status="200"} 2`,
		`eseal_http_requests_total{method="GET",route="/v1/test/items/{id}",status="401"} 1`,
		`eseal_http_requests_total{method="GET",route="",status="404"} 1`,
		`eseal_http_requests_total{method="OTHER",route="",status="404"} 1`,
		`eseal_http_request_duration_seconds_bucket{method="GET",route="/v1/test/items/{id}",le="+Inf"} 3`,
		`eseal_http_request_duration_seconds_count{method="GET",route="/v1/test/items/{id}"} 3`,
		`eseal_http_requests_in_flight 1`, // the /metrics request itself
		`eseal_cache_hits_total{cache="certs"} 7`,
		`eseal_cache_misses_total{cache="certs"} 3`,
		`eseal_cache_bytes{cache="certs"} 4096`,
		`eseal_signatures_made_total `,
		`eseal_signatures_verified_total{indication="TOTAL_PASSED"} `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(text, "/no/such/path") || strings.Contains(text, "BREW") {
		t.Error("an unknown path became a label")
	}
}
