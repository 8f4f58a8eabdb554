package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serveChildEnv names, for TestServeChild, the data directory and address to serve.
const serveChildEnv = "ESEAL_TEST_SERVE_CHILD"

// TestServeChild is `eseal serve` run in a child process by TestServeSIGTERM; on its own it
// does nothing.
func TestServeChild(t *testing.T) {
	spec := os.Getenv(serveChildEnv)
	if spec == "" {
		return
	}
	dir, addr, _ := strings.Cut(spec, ",")
	os.Exit(cmdServe([]string{"--data", dir, "--listen", addr}, os.Stdout, os.Stderr))
}

// TestServeSIGTERM runs `eseal serve` in a child process on a fresh data directory, starts a
// request (making an API key) and leaves it half sent, sends SIGTERM, then sends the rest:
// the request in flight gets its whole answer, and the process exits 0 once it has. A second start on the same
// directory writes no new admin key.
func TestServeSIGTERM(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), serveChildEnv+"="+dir+","+addr, "ESEAL_CA_CRL_URL=http://"+addr+"/v1/pki/crl")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return cmd, &out
				}
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("the server did not come up:\n%s", out.String())
			}
		}
	}
	cmd, out := start()
	key, err := os.ReadFile(filepath.Join(dir, "admin.key"))
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("no admin key after the first start: %v\n%s", err, out.String())
	}

	// A new API key (a store write), its body half sent.
	body := []byte(`{"name": "late-system", "roles": ["verifier"]}`)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/keys HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		addr, strings.TrimSpace(string(key)), len(body))
	conn.Write(body[:10])
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	conn.Write(body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no answer: %v\n%s", err, out.String())
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !bytes.Contains(answer, []byte(`"key"`)) {
		t.Fatalf("the request in flight: %d %s\n%s", resp.StatusCode, answer, out.String())
	}
	conn.Close()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("eseal serve exited with %v after SIGTERM:\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("eseal serve did not stop after SIGTERM:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "first start: the admin API key is in") || strings.Contains(out.String(), strings.TrimSpace(string(key))) {
		t.Fatalf("the first start's output:\n%s", out.String())
	}

	cmd, out = start()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the second run: %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "admin API key") {
		t.Fatalf("the second start bootstrapped again:\n%s", out.String())
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "admin.key")); !bytes.Equal(again, key) {
		t.Fatal("admin.key changed on the second start")
	}
}
