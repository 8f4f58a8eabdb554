package appliance

import (
	"net/http"
	"strings"
	"testing"

	"github.com/eseal/eseal/errs"
)

func TestAuth(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	body := []byte(`{"name":"a","count":1}`)
	tests := []struct {
		name   string
		method string
		path   string
		key    string
		status int
		code   string
	}{
		{"no key", "POST", "/v1/test/echo", "", 401, "UNAUTHENTICATED"},
		{"unknown key", "POST", "/v1/test/echo", "Bearer esk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401, "UNAUTHENTICATED"},
		{"not a key", "POST", "/v1/test/echo", "Bearer hello", 401, "UNAUTHENTICATED"},
		{"not bearer", "POST", "/v1/test/echo", "Basic YWRtaW46YWRtaW4=", 401, "UNAUTHENTICATED"},
		{"wrong role", "POST", "/v1/test/echo", "signer-1", 403, "WRONG_ROLE"},
		{"right role", "POST", "/v1/test/echo", "maker-1", 200, ""},
		{"lower-case scheme", "POST", "/v1/test/echo", "bearer MAKER", 200, ""},
		{"any key", "GET", "/v1/test/items/x1", "signer-1", 200, ""},
		{"any key, none given", "GET", "/v1/test/items/x1", "", 401, "UNAUTHENTICATED"},
		{"anonymous if open, closed", "POST", "/v1/test/verify", "", 401, "UNAUTHENTICATED"},
		{"anonymous if open, with key", "POST", "/v1/test/verify", "verifier-1", 200, ""},
		{"anonymous if open, wrong role", "POST", "/v1/test/verify", "maker-1", 403, "WRONG_ROLE"},
		{"always anonymous", "GET", "/healthz", "", 200, ""},
		{"always anonymous, bad key ignored", "GET", "/healthz", "Bearer nonsense", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := strings.Replace(tt.key, "MAKER", ts.keys["maker-1"], 1)
			a := ts.do(tt.method, tt.path, key, body)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if tt.code != "" {
				if e := a.errBody(t); e.Code != tt.code || e.Message == "" {
					t.Fatalf("answer %+v, want code %s with a message", e, tt.code)
				}
			}
			if a.header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id answered")
			}
		})
	}
}

func TestAnonymousVerifyOpen(t *testing.T) {
	ts, _ := startServer(t, serverOpts{cfg: ServerConfig{AnonymousVerify: true}})
	a := ts.do("POST", "/v1/test/verify", "", nil)
	if a.status != 200 || !strings.Contains(string(a.body), `"anonymous":true`) {
		t.Fatalf("anonymous verify: %d %s", a.status, a.body)
	}
	// A key given is still checked, and identifies its caller.
	if a := ts.do("POST", "/v1/test/verify", "Bearer esk_bad", nil); a.status != 401 {
		t.Fatalf("bad key on an open route: %d %s", a.status, a.body)
	}
	a = ts.do("POST", "/v1/test/verify", "verifier-1", nil)
	if a.status != 200 || !strings.Contains(string(a.body), `"caller":"verifier-1"`) {
		t.Fatalf("keyed verify: %d %s", a.status, a.body)
	}
	// Other routes stay closed.
	if a := ts.do("POST", "/v1/test/echo", "", []byte(`{}`)); a.status != 401 {
		t.Fatalf("echo without key on an open server: %d", a.status)
	}
}

func TestRevokedKeyRefused(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	if a := ts.do("GET", "/v1/test/items/1", "maker-1", nil); a.status != 200 {
		t.Fatalf("before revocation: %d", a.status)
	}
	if err := ts.svc.APIKeys.Revoke(t.Context(), "maker-1"); err != nil {
		t.Fatal(err)
	}
	a := ts.do("GET", "/v1/test/items/1", "maker-1", nil)
	if a.status != http.StatusUnauthorized || a.errBody(t).Code != errs.Unauthenticated.Code() {
		t.Fatalf("after revocation: %d %s", a.status, a.body)
	}
}
