package appliance

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// echoServer answers every request with its method, path, a header and body, on a loopback
// port; /slow answers after a second.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/slow" {
			time.Sleep(time.Second)
		}
		ctx.SetStatusCode(fasthttp.StatusAccepted)
		ctx.SetBodyString(string(ctx.Method()) + " " + string(ctx.RequestURI()) + " " +
			string(ctx.Request.Header.Peek("X-Test")) + " " + string(ctx.PostBody()))
	}}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown() })
	return "http://" + ln.Addr().String()
}

func TestClientDo(t *testing.T) {
	c, err := NewClient(echoServer(t), ClientOptions{Conns: 2, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst := make([]byte, 0, 8)
	status, answer, err := c.Do("POST", "/v1/x?a=1", []string{"X-Test", "yes"}, []byte("body"), dst)
	if err != nil || status != 202 || string(answer) != "POST /v1/x?a=1 yes body" {
		t.Fatalf("%d %q %v", status, answer, err)
	}
	// The answer reuses dst's memory when it fits.
	_, again, _ := c.Do("GET", "/", nil, nil, answer)
	if string(again) != "GET /  " || &again[0] != &answer[0] {
		t.Fatalf("%q", again)
	}
	if _, _, err := c.Do("GET", "/", []string{"X-Test"}, nil, nil); err == nil {
		t.Fatal("a header name without its value")
	}
	_, _, err = c.Do("GET", "/slow", nil, nil, nil)
	var to interface{ Timeout() bool }
	if !errors.Is(err, ErrClientTimeout) || !errors.As(err, &to) || !to.Timeout() {
		t.Fatalf("slow answer: %v", err)
	}
}

func TestClientRefusesBadTargets(t *testing.T) {
	for _, target := range []string{"", "ftp://host", "http://", "http://host/v1", "http://host?a=b", "::"} {
		if _, err := NewClient(target, ClientOptions{}); err == nil {
			t.Errorf("%q: no error", target)
		}
	}
	c, err := NewClient("http://127.0.0.1:1", ClientOptions{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Do("GET", "/", nil, nil, nil); err == nil || !strings.Contains(err.Error(), "GET /") {
		t.Fatalf("a closed port: %v", err)
	}
}
