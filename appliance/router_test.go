package appliance

import (
	"slices"
	"strings"
	"testing"
)

func nop(*Call) error { return nil }

func TestRouterLookup(t *testing.T) {
	r, err := newRouter([]Route{
		{Method: "GET", Path: "/v1/seals/{code}", Handle: nop},
		{Method: "GET", Path: "/v1/seals/{code}/esl", Handle: nop},
		{Method: "POST", Path: "/v1/seals/{code}/revoke", Handle: nop},
		{Method: "POST", Path: "/v1/seals/verify", Handle: nop},
		{Method: "GET", Path: "/v1/seals", Handle: nop},
		{Method: "POST", Path: "/v1/use-requests/{id}/approve", Handle: nop},
		{Method: "GET", Path: "/healthz", Handle: nop},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		route        string
		params       map[string]string
		allow        []string
	}{
		{"GET", "/v1/seals/4401", "/v1/seals/{code}", map[string]string{"code": "4401"}, nil},
		{"GET", "/v1/seals/4401/esl", "/v1/seals/{code}/esl", map[string]string{"code": "4401"}, nil},
		{"POST", "/v1/seals/verify", "/v1/seals/verify", nil, nil},
		// The static segment has no GET: the search goes back to {code}.
		{"GET", "/v1/seals/verify", "/v1/seals/{code}", map[string]string{"code": "verify"}, nil},
		{"GET", "/v1/seals", "/v1/seals", nil, nil},
		{"POST", "/v1/use-requests/u-1/approve", "/v1/use-requests/{id}/approve", map[string]string{"id": "u-1"}, nil},
		{"DELETE", "/v1/seals/4401", "", nil, []string{"GET"}},
		{"GET", "/v1/seals/4401/revoke", "", nil, []string{"POST"}},
		{"PUT", "/v1/seals/verify", "", nil, []string{"GET", "POST"}},
		{"GET", "/v1/seals/", "", nil, nil},
		{"GET", "/v1//seals", "", nil, nil},
		{"GET", "/nothing", "", nil, nil},
		{"GET", "", "", nil, nil},
		{"GET", "/", "", nil, nil},
		{"GET", "/v1/seals/4401/esl/more", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			m := r.lookup(tt.method, tt.path)
			got := ""
			if m.route != nil {
				got = m.route.Path
			}
			if got != tt.route {
				t.Fatalf("route %q, want %q", got, tt.route)
			}
			for k, v := range tt.params {
				if m.params[k] != v {
					t.Errorf("param %s = %q, want %q", k, m.params[k], v)
				}
			}
			if len(m.params) != len(tt.params) {
				t.Errorf("params %v, want %v", m.params, tt.params)
			}
			if !slices.Equal(m.allow, tt.allow) {
				t.Errorf("allow %v, want %v", m.allow, tt.allow)
			}
		})
	}
}

func TestRouterRefusesBadTables(t *testing.T) {
	for name, rs := range map[string][]Route{
		"duplicate":     {{Method: "GET", Path: "/a", Handle: nop}, {Method: "GET", Path: "/a", Handle: nop}},
		"no slash":      {{Method: "GET", Path: "a", Handle: nop}},
		"empty segment": {{Method: "GET", Path: "/a//b", Handle: nop}},
		"two names":     {{Method: "GET", Path: "/a/{x}", Handle: nop}, {Method: "GET", Path: "/a/{y}/b", Handle: nop}},
		"repeated name": {{Method: "GET", Path: "/a/{x}/{x}", Handle: nop}},
		"mixed segment": {{Method: "GET", Path: "/a/x{y}", Handle: nop}},
		"no handler":    {{Method: "GET", Path: "/a"}},
		"no method":     {{Path: "/a", Handle: nop}},
	} {
		if _, err := newRouter(rs); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestAPIRoutesCompile checks that the API's own route table compiles.
func TestAPIRoutesCompile(t *testing.T) {
	if _, err := newRouter(routes()); err != nil {
		t.Fatal(err)
	}
}

func FuzzRouterLookup(f *testing.F) {
	r, err := newRouter([]Route{
		{Method: "GET", Path: "/v1/seals/{code}", Handle: nop},
		{Method: "POST", Path: "/v1/seals/{code}/revoke", Handle: nop},
		{Method: "POST", Path: "/v1/seals/verify", Handle: nop},
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"/v1/seals/1", "/v1/seals/verify", "//", "/v1/seals/a/revoke", ""} {
		f.Add("GET", s)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		m := r.lookup(method, path)
		if m.route != nil {
			if m.route.Method != method {
				t.Fatalf("%s %s matched %s %s", method, path, m.route.Method, m.route.Path)
			}
			for _, v := range m.params {
				if v == "" || strings.Contains(v, "/") {
					t.Fatalf("%s %s: param %q", method, path, v)
				}
			}
		}
	})
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	a := ts.do("GET", "/v1/nothing/here", "admin-1", nil)
	if a.status != 404 || a.errBody(t).Code != "NOT_FOUND" {
		t.Fatalf("unknown path: %d %s", a.status, a.body)
	}
	a = ts.do("PUT", "/v1/test/items/7", "admin-1", nil)
	if a.status != 405 || a.errBody(t).Code != "METHOD_NOT_ALLOWED" {
		t.Fatalf("wrong method: %d %s", a.status, a.body)
	}
	if got := a.header.Get("Allow"); got != "DELETE, GET" {
		t.Fatalf("Allow %q, want \"DELETE, GET\"", got)
	}
	// A path parameter reaches the handler.
	a = ts.do("GET", "/v1/test/items/x-42", "admin-1", nil)
	if a.status != 200 || !strings.Contains(string(a.body), `"param":"x-42"`) {
		t.Fatalf("param: %d %s", a.status, a.body)
	}
	a = ts.do("GET", "/v1/test/items/special", "admin-1", nil)
	if a.status != 200 || !strings.Contains(string(a.body), `"param":"static"`) {
		t.Fatalf("static beside param: %d %s", a.status, a.body)
	}
}
