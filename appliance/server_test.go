package appliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/store"
)

// logBuffer collects the server's log lines for a test to inspect.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testServer is a server on a loopback port with the test's routes.
type testServer struct {
	t    *testing.T
	srv  *Server
	svc  *Services
	url  string
	logs *logBuffer
	keys map[string]string // secrets by key name
	done chan error
}

type echoReq struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type echoResp struct {
	Name   string   `json:"name"`
	Count  int      `json:"count"`
	Caller string   `json:"caller"`
	Anon   bool     `json:"anonymous"`
	Param  string   `json:"param,omitempty"`
	Roles  []string `json:"roles,omitempty"`
}

// testRoutes are small routes that exercise the server.
func testRoutes(calls *sync.Map, gate chan struct{}) []Route {
	count := func(name string) {
		v, _ := calls.LoadOrStore(name, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	return []Route{
		{Method: "POST", Path: "/v1/test/echo", Roles: []registry.Role{registry.RoleMaker},
			Summary: "Echo.", Request: echoReq{}, Response: echoResp{},
			Handle: func(c *Call) error {
				var r echoReq
				if err := c.Decode(&r); err != nil {
					return err
				}
				count("echo")
				return c.JSON(200, echoResp{Name: r.Name, Count: r.Count, Caller: c.Actor().Name, Anon: c.Anonymous()})
			}},
		{Method: "POST", Path: "/v1/test/act", Roles: []registry.Role{registry.RoleAdmin}, Idempotent: true,
			Summary: "Acts once per Idempotency-Key.", Request: echoReq{}, Response: echoResp{},
			Handle: func(c *Call) error {
				var r echoReq
				if err := c.Decode(&r); err != nil {
					return err
				}
				count("act")
				if gate != nil && r.Name == "slow" {
					<-gate
				}
				if r.Name == "refuse" {
					return &Error{Kind: errs.WrongState, Message: "refused on purpose"}
				}
				if r.Name == "fail" {
					return errors.New("a failure with an internal detail /secret/path")
				}
				return c.JSON(201, echoResp{Name: r.Name, Count: r.Count, Caller: c.Actor().Name})
			}},
		{Method: "GET", Path: "/v1/test/items/{id}", Summary: "Any key.", Response: echoResp{},
			Handle: func(c *Call) error {
				return c.JSON(200, echoResp{Param: c.Param("id"), Caller: c.Actor().Name})
			}},
		{Method: "DELETE", Path: "/v1/test/items/{id}", Roles: []registry.Role{registry.RoleAdmin},
			Handle: func(c *Call) error { return c.JSON(200, echoResp{Param: c.Param("id")}) }},
		{Method: "GET", Path: "/v1/test/items/special", Summary: "A static segment beside {id}.",
			Handle: func(c *Call) error { return c.JSON(200, echoResp{Param: "static"}) }},
		{Method: "POST", Path: "/v1/test/verify", Roles: []registry.Role{RoleVerifier}, Anonymous: AnonymousIfOpen,
			Handle: func(c *Call) error {
				return c.JSON(200, echoResp{Caller: c.Actor().Name, Anon: c.Anonymous()})
			}},
		{Method: "POST", Path: "/v1/test/busy", Summary: "Always busy.",
			Handle: func(c *Call) error {
				return &registry.Error{Kind: errs.Busy, Op: "sign", Subject: "S1"}
			}},
		{Method: "POST", Path: "/v1/test/slow", Summary: "Waits for the gate.",
			Handle: func(c *Call) error {
				<-gate
				time.Sleep(100 * time.Millisecond)
				if err := c.Context().Err(); err != nil {
					return fmt.Errorf("the request's context ended: %w", err)
				}
				return c.JSON(200, echoResp{Name: "slow done"})
			}},
		{Method: "GET", Path: "/v1/test/panic", Handle: func(c *Call) error { panic("boom") }},
	}
}

type serverOpts struct {
	cfg   ServerConfig
	gate  chan struct{}
	ready func(context.Context) error
	extra []Route
}

func startServer(t *testing.T, o serverOpts) (*testServer, *sync.Map) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "data"), &store.Options{NoSync: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logs := &logBuffer{}
	svc := &Services{DB: db, APIKeys: NewAPIKeys(db), Ready: o.ready,
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	ts := &testServer{t: t, svc: svc, logs: logs, keys: map[string]string{}, done: make(chan error, 1)}
	ctx := context.Background()
	for name, roles := range map[string][]registry.Role{
		"admin-1":    {registry.RoleAdmin},
		"maker-1":    {registry.RoleMaker},
		"verifier-1": {RoleVerifier},
		"signer-1":   {registry.RoleSigner},
	} {
		secret, err := svc.APIKeys.Create(ctx, name, roles, nil)
		if err != nil {
			t.Fatal(err)
		}
		ts.keys[name] = secret
	}
	calls := &sync.Map{}
	srv, err := newServer(svc, o.cfg, append(testRoutes(calls, o.gate), o.extra...))
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.url = "http://" + ln.Addr().String()
	go func() { ts.done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ts, calls
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) errBody(t *testing.T) ErrorBody {
	t.Helper()
	var e ErrorBody
	if err := json.Unmarshal(a.body, &e); err != nil {
		t.Fatalf("error body %q: %v", a.body, err)
	}
	return e
}

// do sends a request; key is a key name of the server's, a raw "Bearer ..." header value
// (when it has a space), or "".
func (ts *testServer) do(method, path, key string, body []byte, hdr ...string) answer {
	ts.t.Helper()
	a, err := ts.try(method, path, key, body, hdr...)
	if err != nil {
		ts.t.Fatal(err)
	}
	return a
}

// try is do that returns its error, for requests made off the test's goroutine.
func (ts *testServer) try(method, path, key string, body []byte, hdr ...string) (answer, error) {
	req, err := http.NewRequest(method, ts.url+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	if key != "" {
		if strings.Contains(key, " ") {
			req.Header.Set("Authorization", key)
		} else {
			req.Header.Set("Authorization", "Bearer "+ts.keys[key])
		}
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// countOf is how many times the test route name acted.
func countOf(m *sync.Map, name string) int64 {
	v, ok := m.Load(name)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}
