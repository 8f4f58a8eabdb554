package appliance

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/cache"
	"github.com/eseal/eseal/store"
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
		`eseal_cache_hit_ratio{cache="certs"} 0.7`,
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

// TestAuditMetrics checks that the audit log's counters reach /metrics.
func TestAuditMetrics(t *testing.T) {
	db := openStore(t)
	head, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(context.Background(), store.MustSpace(db, "audit"), audit.Options{HeadSigner: head, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	for i := range 3 {
		if _, err := log.Append(context.Background(), audit.Record{Actor: "tester", Action: "test", Outcome: "ok", Details: map[string]string{"i": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := NewServer(&Services{DB: db, Audit: log, Log: slog.New(slog.DiscardHandler)}, ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	srv.met.write(&b)
	for _, want := range []string{"eseal_audit_tail_seq 3\n", "eseal_audit_records_total 3\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
