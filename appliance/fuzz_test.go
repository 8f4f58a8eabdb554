package appliance

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/store"
	"github.com/valyala/fasthttp"
)

// FuzzServe sends arbitrary methods, paths, Authorization and Idempotency-Key headers and
// bodies through the whole handler: every answer has a status, and every refusal is the
// JSON {"code", "message"}.
func FuzzServe(f *testing.F) {
	db, err := store.Open(filepath.Join(f.TempDir(), "data"), &store.Options{NoSync: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	svc := &Services{DB: db, APIKeys: NewAPIKeys(db), Log: slog.New(slog.DiscardHandler)}
	secret, err := svc.APIKeys.Create(context.Background(), "admin-1", []registry.Role{registry.RoleAdmin, registry.RoleMaker}, nil)
	if err != nil {
		f.Fatal(err)
	}
	open := make(chan struct{})
	close(open) // the slow test routes do not wait
	srv, err := newServer(svc, ServerConfig{}, testRoutes(&sync.Map{}, open))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("POST", "/v1/test/echo", "Bearer "+secret, "", []byte(`{"name":"a","count":1}`))
	f.Add("POST", "/v1/test/act", "Bearer "+secret, "k1", []byte(`{"name":"a"}`))
	f.Add("GET", "/v1/test/items/{id}", "Bearer esk_x", "", []byte{})
	f.Add("DELETE", "/healthz", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, path, auth, idem string, body []byte) {
		if method == "" || path == "" || path[0] != '/' {
			return
		}
		var req fasthttp.Request
		req.Header.SetMethod(method)
		req.SetRequestURI(path)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if idem != "" {
			req.Header.Set(headerIdempotencyKey, idem)
		}
		req.SetBody(body)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, nil)
		srv.serve(&ctx)
		st := ctx.Response.StatusCode()
		if st < 200 || st > 599 {
			t.Fatalf("%s %q: status %d", method, path, st)
		}
		if st >= 400 {
			var e ErrorBody
			if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%s %q: refusal %d %q (%v)", method, path, st, ctx.Response.Body(), err)
			}
		}
	})
}
