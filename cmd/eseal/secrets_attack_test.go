package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignOFDAttackLooseSecretFile gives sign-ofd and bench a PIN, identity number or API
// key file that others may read or write, a folder or a pipe: each is refused as a usage error
// naming the file and its mode, before anything is sent, and the secret is never printed.
func TestSignOFDAttackLooseSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, value string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "pin.fifo") // no writer: opening it would wait for one
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	key := write("api.key", "esk_private_key", 0o600)
	pin := write("seal.pin", "135790", 0o600)
	doc := write("a.ofd", "x", 0o644)
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		name, flag, file, want string
	}{
		{"a world-readable PIN file", "--pin-file", write("world.pin", "135790", 0o644), "mode 0644"},
		{"a group-readable PIN file", "--pin-file", write("group.pin", "135790", 0o640), "mode 0640"},
		{"a world-writable PIN file", "--pin-file", write("writable.pin", "135790", 0o602), "mode 0602"},
		{"a world-readable API key file", "--key-file", write("world.key", "esk_private_key", 0o604), "mode 0604"},
		{"a group-readable identity number file", "--person-id-file", write("id.txt", "11010519491231002X", 0o640), "mode 0640"},
		{"a folder as PIN file", "--pin-file", dir, "not a regular file"},
		{"a pipe as PIN file", "--pin-file", fifo, "not a regular file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			flags := map[string]string{"--key-file": key, "--pin-file": pin, "--person-id-file": ""}
			flags[c.flag] = c.file
			args := []string{"sign-ofd", "--target", "http://127.0.0.1:1", "--seal", "46010000000001", "--out", out}
			for f, v := range flags {
				if v != "" {
					args = append(args, f, v)
				}
			}
			code, stdout, stderr := runCLI(append(args, doc)...)
			if code != exitUsage || !strings.Contains(stderr, c.flag) || !strings.Contains(stderr, c.file) || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want %d naming %s, %s and %q", code, stderr, exitUsage, c.flag, c.file, c.want)
			}
			for _, secret := range []string{"135790", "esk_private_key", "11010519491231002X"} {
				if strings.Contains(stdout+stderr, secret) {
					t.Fatalf("a secret was printed: %q", stdout+stderr)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("the output folder was made although the command was refused")
			}
		})
	}
	loose := write("bench.key", "esk_private_key", 0o644)
	code, stdout, stderr := runCLI("bench", "--op", "sign", "--key-file", loose, "--target", "http://127.0.0.1:1")
	if code != exitUsage || !strings.Contains(stderr, "mode 0644") || strings.Contains(stdout+stderr, "esk_private_key") {
		t.Fatalf("bench with a world-readable key file: exit %d, stderr %q", code, stderr)
	}
}

// TestSignOFDAttackResumeForeignOutput runs sign-ofd again after an input changed: the
// output left from the earlier input verifies TOTAL_PASSED, but it is not this input signed,
// so it is not skipped as done; it is listed as OUTPUT_MISMATCH, kept, and the exit status
// is 1. The unchanged input's output is still skipped.
func TestSignOFDAttackResumeForeignOutput(t *testing.T) {
	s := startSignServer(t)
	in := licences(t, 2)
	out := t.TempDir()
	if code, stdout, stderr := runCLI(s.args("--out", out, in)...); code != exitOK {
		t.Fatalf("first run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	changed := filepath.Join(in, "licence-001.ofd")
	other, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ofd", "licence.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(changed, other, 0o644); err != nil {
		t.Fatal(err)
	}
	kept, err := os.ReadFile(filepath.Join(out, "licence-001.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(s.args("--out", out, in)...)
	if done, skipped, failed := summary(t, stdout); code != exitFailed || done != 0 || skipped != 1 || failed != 1 {
		t.Fatalf("after the input changed: exit %d, %s%s", code, stdout, stderr)
	}
	f := readFailures(t, out)
	if len(f) != 1 || f[0].File != changed || f[0].Code != "OUTPUT_MISMATCH" {
		t.Fatalf("failures.json: %+v", f)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "licence-001.ofd")); !bytes.Equal(got, kept) {
		t.Fatal("the mismatched output was rewritten")
	}
}

// TestSignOFDAttackPipeInput names a pipe (with no writer) and a device as documents to
// sign: sign-ofd refuses them at once as a usage error naming them, where reading the pipe
// would wait for ever (and the device up to the size limit).
func TestSignOFDAttackPipeInput(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "waiting.ofd")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	key, pin := filepath.Join(dir, "api.key"), filepath.Join(dir, "seal.pin")
	for _, f := range []string{key, pin} {
		if err := os.WriteFile(f, []byte("135790\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ input, want string }{{fifo, "a pipe"}, {os.DevNull, "a device"}} {
		type result struct {
			code   int
			stderr string
		}
		done := make(chan result, 1)
		go func() {
			code, _, stderr := runCLI("sign-ofd", "--target", "http://127.0.0.1:1", "--key-file", key, "--seal", "46010000000001",
				"--pin-file", pin, "--out", filepath.Join(dir, "out"), c.input)
			done <- result{code, stderr}
		}()
		select {
		case r := <-done:
			if r.code != exitUsage || !strings.Contains(r.stderr, c.input) || !strings.Contains(r.stderr, c.want) {
				t.Fatalf("%s: exit %d, stderr %q; want %d naming it %s", c.input, r.code, r.stderr, exitUsage, c.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: sign-ofd still reading after 10 s", c.input)
		}
	}
}

// TestAuditKeyAttackPipe gives audit verify and restore a --key that is a pipe with no
// writer: each refuses it at once as a usage error naming it, where reading it would wait
// for ever (and a device such as /dev/zero would be read into memory without end).
func TestAuditKeyAttackPipe(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "head.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"audit", "verify", "--data", filepath.Join(dir, "store"), "--key", fifo},
		{"restore", "--from", filepath.Join(dir, "backup"), "--data", filepath.Join(dir, "store"), "--key", fifo},
	} {
		type result struct {
			code   int
			stderr string
		}
		done := make(chan result, 1)
		go func() {
			code, _, stderr := runCLI(args...)
			done <- result{code, stderr}
		}()
		select {
		case r := <-done:
			if r.code != exitUsage || !strings.Contains(r.stderr, "--key") || !strings.Contains(r.stderr, "a pipe") {
				t.Fatalf("%s: exit %d, stderr %q; want %d naming the pipe", args[0], r.code, r.stderr, exitUsage)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still reading --key after 10 s", args[0])
		}
	}
}

// TestSignOFDAttackForeignAnswer points sign-ofd at a server that answers every document
// with another document, signed: sign-ofd does not write it as the input signed; the
// document is listed as BAD_ANSWER and the exit status is 1.
func TestSignOFDAttackForeignAnswer(t *testing.T) {
	foreign, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ofd", "licence-signed.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/ofd")
		w.Write(foreign)
	}))
	defer srv.Close()
	dir := t.TempDir()
	key, pin := filepath.Join(dir, "api.key"), filepath.Join(dir, "seal.pin")
	for _, f := range []string{key, pin} {
		if err := os.WriteFile(f, []byte("135790\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	in := licences(t, 1)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI("sign-ofd", "--target", srv.URL, "--key-file", key, "--seal", "46010000000001",
		"--pin-file", pin, "--page", "1", "--x", "150", "--y", "200", "--out", out, in)
	if done, skipped, failed := summary(t, stdout); code != exitFailed || done != 0 || skipped != 0 || failed != 1 {
		t.Fatalf("exit %d, %s%s", code, stdout, stderr)
	}
	if f := readFailures(t, out); len(f) != 1 || f[0].Code != "BAD_ANSWER" {
		t.Fatalf("failures.json: %+v", f)
	}
	if _, err := os.Stat(filepath.Join(out, "licence-000.ofd")); err == nil {
		t.Fatal("the foreign answer was written as the signed document")
	}
}
