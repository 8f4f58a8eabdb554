package audit_test

import (
	"bufio"
	"context"
	"crypto"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/store"
)

// Environment of the child process of TestCrashAuditStream.
const (
	crashDirEnv = "ESEAL_AUDIT_CRASH_DIR"
	crashKeyEnv = "ESEAL_AUDIT_CRASH_KEY"
)

func crashRecord(id string) audit.Record {
	v := sm3.Sum([]byte("signature " + id))
	return audit.Record{Actor: "bulk-signer", Action: audit.ActionSign, SealCode: "460100000001",
		SignatureSM3: v[:], Outcome: audit.OutcomeOK, Details: map[string]string{"request": id}}
}

// crashChild appends records from 8 goroutines until it is killed, printing
// "ack SEQ REQUEST" for each acknowledged record.
func crashChild(dir, keyHex string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	kb, err := hex.DecodeString(keyHex)
	if err != nil {
		fail(err)
	}
	key, err := sm2.NewPrivateKey(kb)
	if err != nil {
		fail(err)
	}
	db, err := store.Open(dir, nil)
	if err != nil {
		fail(err)
	}
	lg, err := audit.Open(context.Background(), db, audit.Options{HeadSigner: key, HeadEvery: 7})
	if err != nil {
		fail(err)
	}
	var mu sync.Mutex
	pid := os.Getpid()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("%d-%d-%d", pid, g, i)
				s, err := lg.Append(context.Background(), crashRecord(id))
				if err != nil {
					fail(err)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d %s\n", s, id)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashAuditStream runs a child process appending a stream of audit records, kills it
// with SIGKILL at a random moment, and checks after each of 20 rounds that the reopened log
// holds every acknowledged record and that its chain is intact.
func TestCrashAuditStream(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir, os.Getenv(crashKeyEnv))
		return
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	key, err := sm2.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyHex := hex.EncodeToString(key.D.FillBytes(make([]byte, 32)))
	acked := map[audit.Seq]string{}
	deadline := time.Now().Add(25 * time.Second)
	rounds := 0
	for ; rounds < 20 && time.Now().Before(deadline); rounds++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashAuditStream$")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashKeyEnv+"="+keyHex)
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
				f := strings.Fields(l)
				if len(f) != 3 || f[0] != "ack" {
					continue
				}
				s, err := strconv.ParseUint(f[1], 10, 64)
				if err != nil {
					t.Fatalf("child line %q", l)
				}
				if prev, dup := acked[audit.Seq(s)]; dup {
					t.Fatalf("seq %d acknowledged twice: %s and %s", s, prev, f[2])
				}
				acked[audit.Seq(s)] = f[2]
				if got++; got == 1 {
					timer = time.After(time.Duration(rand.IntN(150)) * time.Millisecond)
				}
			case <-timer:
				_ = cmd.Process.Signal(syscall.SIGKILL)
				timer = nil
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("round %d: the child acknowledged nothing for 10 s; stderr: %s", rounds, stderr.String())
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: the child ended by itself (%v); stderr: %s", rounds, err, stderr.String())
		}
		checkAfterCrash(t, ctx, dir, key, acked)
	}
	if rounds < 10 {
		t.Fatalf("only %d rounds in time", rounds)
	}
	t.Logf("%d rounds, %d records acknowledged", rounds, len(acked))
}

// checkAfterCrash reopens the store and its log and checks every acknowledged record and
// the chain.
func checkAfterCrash(t *testing.T, ctx context.Context, dir string, key *sm2.PrivateKey, acked map[audit.Seq]string) {
	t.Helper()
	db, err := store.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lg, err := audit.Open(ctx, db, audit.Options{HeadSigner: key, HeadEvery: 7})
	if err != nil {
		t.Fatalf("reopen after the kill: %v", err)
	}
	for s, id := range acked {
		r, err := lg.Record(ctx, s)
		if err != nil {
			t.Fatalf("acknowledged record %d (%s): %v", s, id, err)
		}
		if r.Details["request"] != id {
			t.Fatalf("record %d holds %s, acknowledged for %s", s, r.Details["request"], id)
		}
	}
	rep, err := audit.Verify(ctx, db, audit.VerifyOptions{Keys: []crypto.PublicKey{key.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("chain broken after the kill: %v", rep.Problems)
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
}
