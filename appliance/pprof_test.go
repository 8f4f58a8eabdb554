package appliance

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPprofNotOnPublicListener: the public listener answers 404 for every profile path.
func TestPprofNotOnPublicListener(t *testing.T) {
	e := startE2E(t, testConfig(t))
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/profile?seconds=1", "/debug/pprof/heap", "/debug/pprof/allocs", "/debug/pprof/cmdline"} {
		for _, key := range []string{"", e.admin} {
			if st := e.call(key, "GET", p, nil, nil); st != http.StatusNotFound {
				t.Errorf("GET %s (key %v): %d, want 404", p, key != "", st)
			}
		}
	}
}

// TestAdminListenerServesProfiles: the admin listener, on a loopback port, serves the index,
// the allocation profile and a CPU profile.
func TestAdminListenerServesProfiles(t *testing.T) {
	a, addr, err := ListenAdmin(AdminConfig{Listen: "127.0.0.1:0"}, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b
	}
	if st, b := get("/debug/pprof/"); st != 200 || !strings.Contains(string(b), "allocs") {
		t.Fatalf("index: %d %.200s", st, b)
	}
	if st, b := get("/debug/pprof/allocs?debug=1"); st != 200 || !strings.Contains(string(b), "heap profile") {
		t.Fatalf("allocs: %d %.200s", st, b)
	}
	start := time.Now()
	if st, b := get("/debug/pprof/profile?seconds=1"); st != 200 || len(b) == 0 {
		t.Fatalf("CPU profile: %d, %d bytes", st, len(b))
	}
	if time.Since(start) < time.Second {
		t.Fatal("the CPU profile did not run for the second asked")
	}
	if st, _ := get("/v1/keys"); st != http.StatusNotFound {
		t.Fatalf("the API on the admin listener: %d", st)
	}
	off, addrOff, err := ListenAdmin(AdminConfig{}, quietLog)
	if off != nil || addrOff != nil || err != nil {
		t.Fatalf("off by default: %v %v %v", off, addrOff, err)
	}
}

func TestAdminConfigLoopbackOnly(t *testing.T) {
	for _, ok := range []string{"", "127.0.0.1:6060", "127.0.0.1:0", "[::1]:6060", "localhost:6060"} {
		if err := (AdminConfig{Listen: ok}).Validate(); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{":6060", "0.0.0.0:6060", "10.1.2.3:6060", "[::]:6060", "example.org:6060", "127.0.0.1", "127.0.0.1:"} {
		err := (AdminConfig{Listen: bad}).Validate()
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if !strings.Contains(err.Error(), "admin.listen") {
			t.Errorf("%q: %v does not name the setting", bad, err)
		}
		if _, err := NewAdminServer(AdminConfig{Listen: bad}, nil); err == nil {
			t.Errorf("%q: a server was made", bad)
		}
	}
}
