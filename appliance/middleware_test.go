package appliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

func TestLimitsAndDecode(t *testing.T) {
	ts, _ := startServer(t, serverOpts{cfg: ServerConfig{MaxBodyBytes: 1024}})
	tests := []struct {
		name   string
		body   []byte
		status int
		code   string
		msg    string
	}{
		{"oversized", bytes.Repeat([]byte("x"), 1500), 413, "LIMIT_EXCEEDED", "1024"}, // small enough to go out with the headers, so the server's close cannot reset the answer away
		{"malformed", []byte(`{"name":`), 400, "INVALID_INPUT", "not the JSON expected"},
		{"unknown field", []byte(`{"name":"a","colour":"red"}`), 400, "INVALID_INPUT", "colour"},
		{"wrong type", []byte(`{"count":"three"}`), 400, "INVALID_INPUT", "count"},
		{"two values", []byte(`{"name":"a"} {"name":"b"}`), 400, "INVALID_INPUT", "more than one"},
		{"empty", nil, 400, "INVALID_INPUT", "empty"},
		{"good", []byte(`{"name":"a","count":3}`), 200, "", ""},
	}
	t.Cleanup(func() {
		m := ts.do("GET", "/metrics", "", nil)
		if !strings.Contains(string(m.body), `eseal_http_requests_total{method="POST",route="",status="413"} 1`) {
			t.Error("the oversized request is not counted")
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ts.do("POST", "/v1/test/echo", "maker-1", tt.body)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if tt.code == "" {
				var r echoResp
				if err := json.Unmarshal(a.body, &r); err != nil || r.Name != "a" || r.Count != 3 || r.Caller != "maker-1" {
					t.Fatalf("answer %s (%v)", a.body, err)
				}
				return
			}
			if e := a.errBody(t); e.Code != tt.code || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("answer %+v, want %s with %q", e, tt.code, tt.msg)
			}
		})
	}
}

func TestBusyAndPanic(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	a := ts.do("POST", "/v1/test/busy", "signer-1", nil)
	if a.status != 503 || a.errBody(t).Code != "BUSY" || a.header.Get("Retry-After") == "" {
		t.Fatalf("busy: %d %v %s", a.status, a.header, a.body)
	}
	a = ts.do("GET", "/v1/test/panic", "signer-1", nil)
	if a.status != 500 || a.errBody(t).Code != "INTERNAL" || strings.Contains(string(a.body), "boom") {
		t.Fatalf("panic: %d %s", a.status, a.body)
	}
	// The server still serves.
	if a := ts.do("GET", "/healthz", "", nil); a.status != 200 {
		t.Fatalf("after a panic: %d", a.status)
	}
}

func TestRequestID(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	a := ts.do("GET", "/healthz", "", nil, "X-Request-Id", "trace-123")
	if got := a.header.Get("X-Request-Id"); got != "trace-123" {
		t.Fatalf("request id %q, want the caller's", got)
	}
	a = ts.do("GET", "/healthz", "", nil, "X-Request-Id", "bad id\twith spaces")
	if got := a.header.Get("X-Request-Id"); len(got) != 32 || strings.Contains(got, " ") {
		t.Fatalf("request id %q, want a fresh one", got)
	}
	if !strings.Contains(ts.logs.String(), `"request_id":"trace-123"`) {
		t.Fatal("the log line lacks the request id")
	}
}

func TestReadiness(t *testing.T) {
	var mu sync.Mutex
	var fail error
	ts, _ := startServer(t, serverOpts{ready: func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return fail
	}})
	if a := ts.do("GET", "/readyz", "", nil); a.status != 200 {
		t.Fatalf("ready: %d %s", a.status, a.body)
	}
	mu.Lock()
	fail = errors.New("token /dev/hsm0 gone")
	mu.Unlock()
	a := ts.do("GET", "/readyz", "", nil)
	if a.status != 503 || a.errBody(t).Code != "UNAVAILABLE" || strings.Contains(string(a.body), "/dev/hsm0") {
		t.Fatalf("not ready: %d %s", a.status, a.body)
	}
	if a := ts.do("GET", "/healthz", "", nil); a.status != 200 {
		t.Fatalf("health while not ready: %d", a.status)
	}
}

// TestGracefulShutdown starts a slow request, shuts down while it runs, and checks that it
// finishes with its answer, that Shutdown waits for it, and that no new connection is taken.
func TestGracefulShutdown(t *testing.T) {
	gate := make(chan struct{})
	ts, _ := startServer(t, serverOpts{gate: gate})
	got := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", ts.url+"/v1/test/slow", nil)
		req.Header.Set("Authorization", "Bearer "+ts.keys["signer-1"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- answer{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		got <- answer{status: resp.StatusCode, body: b.Bytes()}
	}()
	// Wait until the request is in the handler.
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.met.inFlight.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow request never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	shut := make(chan error, 1)
	go func() { shut <- ts.srv.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	// New connections are refused once the listener is closed.
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(ts.url, "http://"), time.Second); err == nil {
		c.Close()
		t.Error("a new connection was accepted during shutdown")
	}
	close(gate)
	a := <-got
	if a.status != 200 || !strings.Contains(string(a.body), "slow done") {
		t.Fatalf("in-flight request: %d %s", a.status, a.body)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the request finished")
	}
	if err := <-ts.done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// TestConcurrencyBound checks that connections beyond MaxConcurrent are refused 503, not
// queued without bound.
func TestConcurrencyBound(t *testing.T) {
	gate := make(chan struct{})
	ts, _ := startServer(t, serverOpts{gate: gate, cfg: ServerConfig{MaxConcurrent: 1}})
	done := make(chan int, 1)
	go func() {
		c := &fasthttp.Client{}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI(ts.url + "/v1/test/slow")
		req.Header.SetMethod("POST")
		req.Header.Set("Authorization", "Bearer "+ts.keys["signer-1"])
		if err := c.Do(req, resp); err != nil {
			done <- -1
			return
		}
		done <- resp.StatusCode()
	}()
	for ts.srv.met.inFlight.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	c := &fasthttp.Client{}
	st, _, err := c.Get(nil, ts.url+"/healthz")
	if err == nil && st != 503 {
		t.Errorf("a second connection beyond MaxConcurrent=1: status %d", st)
	}
	close(gate)
	if st := <-done; st != 200 {
		t.Fatalf("the first request: %d", st)
	}
}

// TestReadTimeout sends half a body and stalls: the server answers 408 once ReadTimeout
// passes, rather than holding the connection.
func TestReadTimeout(t *testing.T) {
	ts, _ := startServer(t, serverOpts{cfg: ServerConfig{ReadTimeout: 300 * time.Millisecond}})
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write([]byte("POST /v1/test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"name\":")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b bytes.Buffer
	b.ReadFrom(c)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the connection was held %v", d)
	}
	if !strings.HasPrefix(b.String(), "HTTP/1.1 408") || !strings.Contains(b.String(), `"code":"INVALID_INPUT"`) {
		t.Fatalf("answer %q", b.String())
	}
}

// TestShutdownDeadline checks that Shutdown gives up when its context ends with a request
// still in flight, and says so.
func TestShutdownDeadline(t *testing.T) {
	gate := make(chan struct{})
	ts, _ := startServer(t, serverOpts{gate: gate})
	defer close(gate)
	go func() {
		req, _ := http.NewRequest("POST", ts.url+"/v1/test/slow", nil)
		req.Header.Set("Authorization", "Bearer "+ts.keys["signer-1"])
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	for ts.srv.met.inFlight.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := ts.srv.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a request stuck: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v past its deadline", d)
	}
}

func TestHeaderTooLarge(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	a := ts.do("GET", "/healthz", "", nil, "X-Padding", strings.Repeat("p", 8192))
	if a.status != 431 || a.errBody(t).Code != "LIMIT_EXCEEDED" {
		t.Fatalf("large header: %d %s", a.status, a.body)
	}
}
