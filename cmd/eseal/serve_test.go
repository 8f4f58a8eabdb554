package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eseal/eseal/appliance"
)

func TestServeUsageAndConfigErrors(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // no configs/eseal.yaml here: the built-in defaults
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	typo := write("typo.yaml", "server:\n  listen: 127.0.0.1:9000\n  lisen: x\n")
	tests := []struct {
		name string
		args []string
		env  []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{name: "help", args: []string{"--help"}, code: exitOK, out: serveSynopsis},
		{name: "unknown flag", args: []string{"--port", "1"}, code: exitUsage, err: "flag provided but not defined: -port"},
		{name: "argument", args: []string{"extra"}, code: exitUsage, err: `unexpected argument "extra"`},
		{name: "missing file", args: []string{"--config", filepath.Join(dir, "none.yaml")}, code: exitUsage, err: "none.yaml"},
		{name: "unknown key", args: []string{"--config", typo}, code: exitUsage, err: `line 3 column 3: unknown field "lisen"`},
		{name: "unknown variable", env: []string{"ESEAL_SERVER_LISTN=1"}, code: exitUsage, err: "ESEAL_SERVER_LISTN: names no setting"},
		{name: "bad variable", env: []string{"ESEAL_CACHES_CERTS=big"}, code: exitUsage, err: "ESEAL_CACHES_CERTS: not an integer"},
		{name: "bad listen", args: []string{"--listen", "8080"}, code: exitUsage, err: "server.listen"},
		{name: "wildcard listen without CRL URL", args: []string{"--listen", "0.0.0.0:8080"}, code: exitUsage, err: "ca.crl_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			_, code, ok := serveConfig(tc.args, tc.env, &stdout, &stderr)
			if ok || code != tc.code {
				t.Fatalf("ok %v code %d, want %d; stderr %s", ok, code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.err) {
				t.Fatalf("stdout %q\nstderr %q\nwant %q / %q", stdout.String(), stderr.String(), tc.out, tc.err)
			}
		})
	}
	// Through the command table.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"serve", "--listen", "nowhere"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "server.listen") {
		t.Fatalf("run serve: %d %s", code, stderr.String())
	}
	stdout.Reset()
	run([]string{"help"}, &stdout, &stderr)
	if !strings.Contains(stdout.String(), serveSynopsis) {
		t.Fatal("the usage does not list serve")
	}
}

// TestServeConfigSources: without --config the repository's configs/eseal.yaml is used when
// present, else the built-in defaults; the environment overrides the file, and the flags
// override both.
func TestServeConfigSources(t *testing.T) {
	var stdout, stderr bytes.Buffer
	configs, err := filepath.Abs(filepath.Join("..", "..", "configs"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	cfg, _, ok := serveConfig(nil, nil, &stdout, &stderr)
	if !ok {
		t.Fatal(stderr.String())
	}
	if cfg.Server.Listen != appliance.DefaultConfig().Server.Listen || cfg.Data.Dir != "./data" {
		t.Fatalf("built-in defaults not used: %+v", cfg.Server)
	}

	if err := os.Mkdir(filepath.Join(dir, "configs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, defaultConfigFile), []byte("server:\n  listen: 127.0.0.1:9001\ndata:\n  dir: ./from-file\nlog:\n  level: warn\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, ok = serveConfig(nil, nil, &stdout, &stderr)
	if !ok || cfg.Server.Listen != "127.0.0.1:9001" || cfg.Data.Dir != "./from-file" || cfg.Log.Level != "warn" {
		t.Fatalf("configs/eseal.yaml not used: %v %+v %s", ok, cfg, stderr.String())
	}
	cfg, _, ok = serveConfig([]string{"--data", "/srv/eseal"}, []string{"ESEAL_SERVER_LISTEN=127.0.0.1:9002", "ESEAL_DATA_DIR=/env", "ESEAL_LOG_LEVEL=debug"}, &stdout, &stderr)
	if !ok || cfg.Server.Listen != "127.0.0.1:9002" || cfg.Data.Dir != "/srv/eseal" || cfg.Log.Level != "debug" {
		t.Fatalf("precedence: %+v %s", cfg, stderr.String())
	}
	cfg, _, ok = serveConfig([]string{"--listen", "127.0.0.1:9003"}, []string{"ESEAL_SERVER_LISTEN=127.0.0.1:9002"}, &stdout, &stderr)
	if !ok || cfg.Server.Listen != "127.0.0.1:9003" {
		t.Fatalf("--listen does not win: %+v", cfg.Server)
	}

	// The repository's own files serve as --config.
	for _, f := range []string{"eseal.yaml", "hsm.yaml"} {
		if _, code, ok := serveConfig([]string{"--config", filepath.Join(configs, f)}, nil, &stdout, &stderr); !ok {
			t.Fatalf("%s: %d %s", f, code, stderr.String())
		}
	}
}
