package bench_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eseal/eseal/appliance"
	"github.com/eseal/eseal/signer"
)

// testServer is the appliance on the embedded default, on a fresh data directory, served
// on a loopback port, with a client of it.
type testServer struct {
	url    string
	admin  string
	client *appliance.Client
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	cfg := appliance.DefaultConfig()
	cfg.Data.Dir = filepath.Join(t.TempDir(), "data")
	cfg.Registry.PINIterations = signer.MinPINIterations
	cfg.Revocation.Fetch = false
	ctx := context.Background()
	svc, err := appliance.OpenWith(ctx, cfg, appliance.OpenOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	path, err := appliance.Bootstrap(ctx, svc, cfg.Data.Dir)
	if err != nil {
		svc.Close()
		t.Fatal(err)
	}
	key, err := os.ReadFile(path)
	if err != nil {
		svc.Close()
		t.Fatal(err)
	}
	srv, err := appliance.NewServer(svc, cfg.ServerSettings())
	if err != nil {
		svc.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		svc.Close()
		t.Fatal(err)
	}
	go srv.Serve(ln)
	s := &testServer{url: "http://" + ln.Addr().String(), admin: strings.TrimSpace(string(key))}
	s.client, err = appliance.NewClient(s.url, appliance.ClientOptions{Conns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.client.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		svc.Close()
	})
	return s
}
