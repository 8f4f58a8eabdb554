// Package crashtest kills a child test process with SIGKILL in the middle of its work, so that
// a test can check what survives on disk of the operations the child acknowledged.
package crashtest

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Round is one run of a child process: the test binary running Test again with Env added to
// its environment.
type Round struct {
	// N numbers the round in failure messages.
	N int
	// Test names the test the child runs; the test recognises the child by its environment.
	Test string
	// Env holds the child's extra environment, as KEY=VALUE.
	Env []string
	// Delay picks how long after the first acknowledgement the child is killed.
	Delay func() time.Duration
	// Quiet is how long the child may print nothing before the round fails.
	Quiet time.Duration
	// Ack reads one line the child printed and reports whether it acknowledged an
	// operation; it may fail t.
	Ack func(line string) bool
}

// Run starts the child, hands each line it prints to r.Ack, kills it with SIGKILL r.Delay()
// after the first acknowledgement and waits for it. It fails t when the child cannot start,
// prints nothing for r.Quiet, or ends by any means other than the signal.
func (r Round) Run(t testing.TB) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+r.Test+"$")
	cmd.Env = append(os.Environ(), r.Env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// Kill at a random moment after the first acknowledgement.
	var timer <-chan time.Time
	got := 0
read:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break read
			}
			if !r.Ack(l) {
				continue
			}
			if got++; got == 1 {
				timer = time.After(r.Delay())
			}
		case <-timer:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			timer = nil
		case <-time.After(r.Quiet):
			_ = cmd.Process.Kill()
			t.Fatalf("round %d: the child acknowledged nothing for %d s; stderr: %s", r.N, int(r.Quiet/time.Second), stderr.String())
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("round %d: the child ended by itself (%v); stderr: %s", r.N, err, stderr.String())
	}
}
