package appliance

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eseal/eseal/registry"
)

func TestIdempotentReplay(t *testing.T) {
	ts, calls := startServer(t, serverOpts{})
	body := []byte(`{"name":"seal-a","count":1}`)
	first := ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "k-1")
	if first.status != 201 {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	again := ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "k-1")
	if again.status != 201 || string(again.body) != string(first.body) || again.header.Get("Content-Type") != first.header.Get("Content-Type") {
		t.Fatalf("replay: %d %s (first %s)", again.status, again.body, first.body)
	}
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Error("the replay is not marked")
	}
	if n := countOf(calls, "act"); n != 1 {
		t.Fatalf("acted %d times, want once", n)
	}
	// The same key with another body.
	a := ts.do("POST", "/v1/test/act", "admin-1", []byte(`{"name":"seal-b"}`), "Idempotency-Key", "k-1")
	if a.status != 422 || a.errBody(t).Code != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("other body: %d %s", a.status, a.body)
	}
	// Another key acts again; no key acts every time.
	ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "k-2")
	ts.do("POST", "/v1/test/act", "admin-1", body)
	ts.do("POST", "/v1/test/act", "admin-1", body)
	if n := countOf(calls, "act"); n != 4 {
		t.Fatalf("acted %d times, want 4", n)
	}
	// A bad key is refused.
	a = ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", strings.Repeat("k", 300))
	if a.status != 400 {
		t.Fatalf("bad key: %d %s", a.status, a.body)
	}
}

// TestIdempotencyPerCaller checks that two callers' keys do not meet.
func TestIdempotencyPerCaller(t *testing.T) {
	ts, calls := startServer(t, serverOpts{})
	secret, err := ts.svc.APIKeys.Create(context.Background(), "admin-2", []registry.Role{registry.RoleAdmin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts.keys["admin-2"] = secret
	body := []byte(`{"name":"x"}`)
	a1 := ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "same")
	a2 := ts.do("POST", "/v1/test/act", "admin-2", body, "Idempotency-Key", "same")
	if a1.status != 201 || a2.status != 201 || a2.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("two callers: %d %d %v", a1.status, a2.status, a2.header)
	}
	if n := countOf(calls, "act"); n != 2 {
		t.Fatalf("acted %d times, want 2", n)
	}
}

// TestIdempotencyErrors checks that a refusal (4xx) is kept and replayed, and that a server
// error is not: the retry acts.
func TestIdempotencyErrors(t *testing.T) {
	ts, calls := startServer(t, serverOpts{})
	for range 2 {
		a := ts.do("POST", "/v1/test/act", "admin-1", []byte(`{"name":"refuse"}`), "Idempotency-Key", "r")
		if a.status != 409 || a.errBody(t).Code != "WRONG_STATE" {
			t.Fatalf("refusal: %d %s", a.status, a.body)
		}
	}
	if n := countOf(calls, "act"); n != 1 {
		t.Fatalf("a kept refusal acted %d times", n)
	}
	for range 2 {
		a := ts.do("POST", "/v1/test/act", "admin-1", []byte(`{"name":"fail"}`), "Idempotency-Key", "f")
		if a.status != 500 {
			t.Fatalf("failure: %d %s", a.status, a.body)
		}
	}
	if n := countOf(calls, "act"); n != 3 {
		t.Fatalf("after two failures: acted %d times, want 3", n)
	}
}

// TestIdempotencyConcurrent sends a retry while the first try still runs: it waits and gets
// the first answer; the handler acts once.
func TestIdempotencyConcurrent(t *testing.T) {
	gate := make(chan struct{})
	ts, calls := startServer(t, serverOpts{gate: gate})
	body := []byte(`{"name":"slow"}`)
	var wg sync.WaitGroup
	answers := make([]answer, 3)
	wg.Add(1)
	go func() {
		defer wg.Done()
		answers[0] = ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "c")
	}()
	for countOf(calls, "act") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	for i := 1; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "c")
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(gate)
	wg.Wait()
	for i, a := range answers {
		if a.status != 201 || string(a.body) != string(answers[0].body) {
			t.Errorf("answer %d: %d %s", i, a.status, a.body)
		}
	}
	if n := countOf(calls, "act"); n != 1 {
		t.Fatalf("acted %d times, want once", n)
	}
}

// TestIdempotencyInProgress checks the 409 of a retry that waited its limit.
func TestIdempotencyInProgress(t *testing.T) {
	gate := make(chan struct{})
	ts, calls := startServer(t, serverOpts{gate: gate})
	body := []byte(`{"name":"slow"}`)
	first := make(chan error, 1)
	go func() {
		_, err := ts.try("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "p")
		first <- err
	}()
	defer func() {
		close(gate) // let the first request finish, then see how it went
		if err := <-first; err != nil {
			t.Errorf("the first request: %v", err)
		}
	}()
	for countOf(calls, "act") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	a := ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "p")
	if a.status != 409 || a.errBody(t).Code != "IN_PROGRESS" {
		t.Fatalf("retry in progress: %d %s", a.status, a.body)
	}
	if d := time.Since(start); d < idemWait/2 {
		t.Fatalf("answered after %v without waiting", d)
	}
}

// TestIdempotencyExpiry checks that records past their day are taken over and swept.
func TestIdempotencyExpiry(t *testing.T) {
	ts, calls := startServer(t, serverOpts{})
	p := ts.srv.idem
	body := []byte(`{"name":"x"}`)
	ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "e")
	if n, err := p.sweepOnce(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep of a fresh record: %d %v", n, err)
	}
	p.now = func() time.Time { return time.Now().UTC().Add(idemTTL + time.Minute) }
	if n, err := p.sweepOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep of an expired record: %d %v", n, err)
	}
	a := ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "e")
	if a.status != 201 || a.header.Get("Idempotent-Replayed") != "" || countOf(calls, "act") != 2 {
		t.Fatalf("after expiry: %d %v, acted %d", a.status, a.header, countOf(calls, "act"))
	}
}
