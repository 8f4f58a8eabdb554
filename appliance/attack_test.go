package appliance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/store"
)

// bodyPrefetch is how many bytes of a body fasthttp reads with the headers (of a streamed
// body) before the handler runs.
const bodyPrefetch = 8 << 10

// heapInUse is the heap's live bytes after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestBodyAttackHeadersWithoutKey opens connections that announce the largest body allowed
// and send a few bytes of it, with no API key: the server must not set memory aside for
// bodies nobody authenticated (it allocated the whole announced length for each, before
// reading a byte of it, so a few hundred such connections took tens of GiB).
func TestBodyAttackHeadersWithoutKey(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	const conns = 8
	before := heapInUse()
	addr := strings.TrimPrefix(ts.url, "http://")
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := fmt.Fprintf(c, "POST /v1/sign HTTP/1.1\r\nHost: eseal.test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"seal\":\"%d\"",
			DefaultMaxBodyBytes, i); err != nil {
			t.Fatal(err)
		}
	}
	// Let the server read every request's headers.
	var grown uint64
	for range 20 {
		time.Sleep(25 * time.Millisecond)
		if h := heapInUse(); h > before {
			grown = max(grown, h-before)
		}
	}
	t.Logf("%d connections without a key: the heap grew by %d KiB", conns, grown>>10)
	if grown > 32<<20 {
		t.Fatalf("%d connections without a key, a few bytes of body each, grew the heap by %d MiB", conns, grown>>20)
	}
}

// TestBodyAttackStreamed sends bodies the server reads after authenticating their caller:
// a chunked body over the limit is refused (the length is not announced), a body sent in
// pieces is read whole, and a body without a key is not read.
func TestBodyAttackStreamed(t *testing.T) {
	ts, calls := startServer(t, serverOpts{cfg: ServerConfig{MaxBodyBytes: 1024}})
	bearer := "Bearer " + ts.keys["maker-1"]

	req, err := http.NewRequest("POST", ts.url+"/v1/test/echo", io.MultiReader(strings.NewReader(`{"name":"`), strings.NewReader(strings.Repeat("x", 2000)+`"}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(b), "LIMIT_EXCEEDED") || !strings.Contains(string(b), "1024") {
		t.Fatalf("a chunked body over the limit: %d %s", resp.StatusCode, b)
	}

	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"name":"in pie`))
		time.Sleep(50 * time.Millisecond)
		pw.Write([]byte(`ces","count":2}`))
		pw.Close()
	}()
	req, _ = http.NewRequest("POST", ts.url+"/v1/test/echo", pr)
	req.Header.Set("Authorization", bearer)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var got echoResp
	if resp.StatusCode != 200 || json.Unmarshal(b, &got) != nil || got.Name != "in pieces" || got.Count != 2 {
		t.Fatalf("a body sent in pieces: %d %s", resp.StatusCode, b)
	}

	n := countOf(calls, "echo")
	a := ts.do("POST", "/v1/test/echo", "Bearer wrong-key", []byte(`{"name":"a"}`))
	if a.status != 401 || countOf(calls, "echo") != n {
		t.Fatalf("a body with a wrong key: %d %s", a.status, a.body)
	}
}

// TestBodyAttackSlowBody trickles an authenticated body: the read timeout still bounds it,
// now that the body is read by the handler rather than before it.
func TestBodyAttackSlowBody(t *testing.T) {
	ts, calls := startServer(t, serverOpts{cfg: ServerConfig{ReadTimeout: 300 * time.Millisecond}})
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "POST /v1/test/echo HTTP/1.1\r\nHost: eseal.test\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\n{\"name\":", ts.keys["maker-1"]); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	c.SetReadDeadline(began.Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if took := time.Since(began); took > 3*time.Second {
		t.Fatalf("a body cut short held its connection for %v", took)
	}
	if countOf(calls, "echo") != 0 {
		t.Fatalf("the handler acted on a body cut short: %s", b)
	}
	if len(b) > 0 && !strings.Contains(string(b), "not received in time") {
		t.Fatalf("answer %q", b)
	}
}

// TestIdempotencyAttackGuessBody reads the idempotency records in the store (a backup holds
// them too) and tries to confirm a guess of a request body: a body carrying a seal's PIN
// (POST /v1/seals/{code}/pin) kept under a plain hash gave the PIN away in a million SM3s,
// where its PIN record costs a slow hash per guess.
func TestIdempotencyAttackGuessBody(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	body := []byte(`{"name":"246810"}`)
	if a := ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "pin-1"); a.status != 201 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	guess := func(b []byte) []byte {
		h := sm3.New()
		h.Write([]byte("POST\x00/v1/test/act\x00"))
		h.Write(b)
		return h.Sum(nil)
	}
	n := 0
	err := store.MustSpace(ts.svc.DB, "idem").Scan(context.Background(), nil, func(_, v []byte) error {
		n++
		var rec idemRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if bytes.Equal(rec.Request, guess(body)) {
			t.Error("the stored record confirms a guess of the request body")
		}
		if bytes.Contains(v, []byte("246810")) {
			t.Error("the stored record holds the body")
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("%d records: %v", n, err)
	}
	// The record still does its work: the same request is answered again, another refused.
	if a := ts.do("POST", "/v1/test/act", "admin-1", body, "Idempotency-Key", "pin-1"); a.status != 201 || a.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %v", a.status, a.header)
	}
	if a := ts.do("POST", "/v1/test/act", "admin-1", []byte(`{"name":"246811"}`), "Idempotency-Key", "pin-1"); a.status != 422 {
		t.Fatalf("another body: %d %s", a.status, a.body)
	}
}

// TestBodyAttackExpectContinue sends a body after the server's 100 Continue, as curl does
// with a large upload: it is read after the caller is authenticated, like any other.
func TestBodyAttackExpectContinue(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	body := `{"name":"continued","count":7}`
	if _, err := fmt.Fprintf(c, "POST /v1/test/echo HTTP/1.1\r\nHost: eseal.test\r\nAuthorization: Bearer %s\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", ts.keys["maker-1"], len(body)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, "100") {
		t.Fatalf("before the body: %q %v", line, err)
	}
	for {
		if l, err := br.ReadString('\n'); err != nil || l == "\r\n" {
			break
		}
	}
	if _, err := io.WriteString(c, body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got echoResp
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 || got.Name != "continued" || got.Count != 7 {
		t.Fatalf("%d %+v %v", resp.StatusCode, got, err)
	}
}

// TestBodyAttackManyBodies holds bodies of the largest size on many connections at once:
// beyond what the server may hold of them all together, a body is answered BUSY instead of
// growing the memory with every connection; once the bodies held are done with, it is read.
func TestBodyAttackManyBodies(t *testing.T) {
	gate := make(chan struct{})
	ts, _ := startServer(t, serverOpts{cfg: ServerConfig{MaxBodyBytes: 64 << 10}, gate: gate})
	body := bytes.Repeat([]byte("x"), 62<<10) // 17 of them are beyond 16 of the largest
	held := bodyMemoryBodies
	done := make(chan answer, held)
	for range held {
		go func() {
			a, err := ts.try("POST", "/v1/test/slow", "maker-1", body)
			if err != nil {
				t.Error(err)
			}
			done <- a
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.srv.bodies.used.Load() < int64(held*len(body)) {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes held, want %d", ts.srv.bodies.used.Load(), held*len(body))
		}
		time.Sleep(10 * time.Millisecond)
	}
	a := ts.do("POST", "/v1/test/echo", "maker-1", append([]byte(`{"name":"`), append(body, `"}`...)...))
	if a.status != 503 || a.errBody(t).Code != "BUSY" || a.header.Get("Retry-After") == "" {
		t.Fatalf("a body beyond what the server holds: %d, %d bytes answered", a.status, len(a.body))
	}
	close(gate)
	for range held {
		if a := <-done; a.status != 200 {
			t.Fatalf("a held body: %d, %d bytes answered", a.status, len(a.body))
		}
	}
	if n := ts.srv.bodies.used.Load(); n != 0 {
		t.Fatalf("%d bytes still counted once every request is done", n)
	}
	if a := ts.do("POST", "/v1/test/echo", "maker-1", []byte(`{"name":"after"}`)); a.status != 200 {
		t.Fatalf("after: %d %s", a.status, a.body)
	}
}
