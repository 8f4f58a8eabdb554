package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eseal/eseal/appliance"
	"github.com/eseal/eseal/signer"
)

// benchServer serves the appliance on a fresh data directory on a loopback port and returns
// its URL and the path of its admin key.
func benchServer(t *testing.T) (url, keyFile string) {
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
	t.Cleanup(func() { svc.Close() })
	keyFile, err = appliance.Bootstrap(ctx, svc, cfg.Data.Dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := appliance.NewServer(svc, cfg.ServerSettings())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	})
	return "http://" + ln.Addr().String(), keyFile
}

func TestBenchUsageErrors(t *testing.T) {
	key := filepath.Join(t.TempDir(), "admin.key")
	if err := os.WriteFile(key, []byte("k\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, "--op is missing"},
		{[]string{"bench", "--op", "sing"}, `--op "sing"`},
		{[]string{"bench", "--sweep", "--rate", "10"}, "--rate and --sweep"},
		{[]string{"bench", "--op", "sign", "--key-file", filepath.Join(t.TempDir(), "none")}, "--key-file"},
		{[]string{"bench", "--op", "sign", "--key-file", key, "--target", "ftp://x"}, "scheme"},
		{[]string{"bench", "--op", "sign", "extra"}, "unexpected argument"},
		{[]string{"bench", "--sweep", "--key-file", key, "--ops", "sign,nope"}, `"nope"`},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr.String(), c.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"bench", "--help"}, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "--baseline") {
		t.Errorf("--help: exit %d, %q", code, stdout.String())
	}
}

// TestBenchJSONAgainstServer: eseal bench --json --baseline prints one object with exactly
// the fields of the issue, requests answered and none failed.
func TestBenchJSONAgainstServer(t *testing.T) {
	url, key := benchServer(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "--target", url, "--key-file", key, "--op", "verify", "--concurrency", "2",
		"--duration", "1s", "--warmup", "100ms", "--baseline", "--json"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var m map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil {
		t.Fatalf("%v: %q", err, stdout.String())
	}
	want := []string{"batch", "concurrency", "duration_s", "errors", "op", "ops", "ops_per_sec", "p50_ms", "p90_ms", "p999_ms", "p99_ms",
		"ratio", "raw_sign_per_sec", "raw_verify_per_sec"}
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	if m["ops"].(float64) <= 0 || len(m["errors"].(map[string]any)) != 0 || m["ratio"].(float64) <= 0 {
		t.Fatalf("%v", m)
	}
	if stderr.Len() != 0 {
		t.Fatalf("a progress bar or message on a non-terminal: %q", stderr.String())
	}
}

// TestBenchSweepWritesReport: a short sweep of one operation writes the report (a row per
// concurrency, the machine in the header) and the plot.
func TestBenchSweepWritesReport(t *testing.T) {
	url, key := benchServer(t)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"bench", "--sweep", "--target", url, "--key-file", key, "--ops", "verify",
		"--duration", "150ms", "--warmup", "0s", "--pid", "self", "--out", out}, &stdout, &stderr)
	if code != exitUsage {
		t.Fatalf("--pid self: exit %d", code)
	}
	stdout.Reset()
	stderr.Reset()
	code = run([]string{"bench", "--sweep", "--target", url, "--key-file", key, "--ops", "verify",
		"--duration", "150ms", "--warmup", "0s", "--pid", strconv.Itoa(os.Getpid()), "--out", out}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"| verify | 1 |", "| verify | 256 |", "cores:", "Go: go", "at its peak", "verify at half its peak rate"} {
		if !strings.Contains(string(md), c) {
			t.Errorf("report lacks %q:\n%s", c, md)
		}
	}
	f, err := os.Open(filepath.Join(out, "throughput.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.DecodeConfig(f); err != nil {
		t.Fatal(err)
	}
}
