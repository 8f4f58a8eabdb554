package appliance

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
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
