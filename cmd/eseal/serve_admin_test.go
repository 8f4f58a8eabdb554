package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeAdminListener: with admin.listen set, eseal serve answers profiles on that
// loopback listener, the API listener does not, and both stop with the server.
func TestServeAdminListener(t *testing.T) {
	var stdout, stderr bytes.Buffer
	dir := t.TempDir()
	cfg, _, ok := serveConfig([]string{"--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0"},
		[]string{"ESEAL_ADMIN_LISTEN=127.0.0.1:0", "ESEAL_REVOCATION_FETCH=false", "ESEAL_LOG_LEVEL=error", "ESEAL_CA_CRL_URL=http://127.0.0.1:8080/v1/pki/crl"}, &stdout, &stderr)
	if !ok {
		t.Fatal(stderr.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, out) }()
	api := regexp.MustCompile(`listening on (\S+),`)
	prof := regexp.MustCompile(`profiles on (http://\S+/debug/pprof/)`)
	var apiAddr, profURL string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		s := out.String()
		if m, p := api.FindStringSubmatch(s), prof.FindStringSubmatch(s); m != nil && p != nil {
			apiAddr, profURL = m[1], p[1]
			break
		}
	}
	if profURL == "" {
		t.Fatalf("no listeners announced: %q", out.String())
	}
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(profURL + "cmdline"); st != http.StatusOK {
		t.Fatalf("admin listener: %d", st)
	}
	if st := get("http://" + apiAddr + "/debug/pprof/cmdline"); st != http.StatusNotFound {
		t.Fatalf("API listener answers profiles: %d", st)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if _, err := http.Get(profURL + "cmdline"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("the admin listener is still up after serve returned: %v", err)
	}
}
