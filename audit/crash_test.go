package audit_test

import (
	"context"
	"crypto"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/internal/crashtest"
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
// "ack SEQ REQUEST" for each acknowledged record; the odd goroutines also write a state key
// in the same batch.
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
				// Half the writers change state with their record, as lifecycle acts do.
				var writes []audit.Write
				if g%2 == 1 {
					writes = []audit.Write{{Key: []byte("state/" + id), Value: []byte(id)}}
				}
				s, err := lg.AppendWith(context.Background(), crashRecord(id), writes)
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
// holds every acknowledged record, with the state written beside it, and that its chain is
// intact.
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
		crashtest.Round{
			N:     rounds,
			Test:  "TestCrashAuditStream",
			Env:   []string{crashDirEnv + "=" + dir, crashKeyEnv + "=" + keyHex},
			Delay: func() time.Duration { return time.Duration(rand.IntN(150)) * time.Millisecond },
			Quiet: 10 * time.Second,
			Ack: func(l string) bool {
				f := strings.Fields(l)
				if len(f) != 3 || f[0] != "ack" {
					return false
				}
				s, err := strconv.ParseUint(f[1], 10, 64)
				if err != nil {
					t.Fatalf("child line %q", l)
				}
				if prev, dup := acked[audit.Seq(s)]; dup {
					t.Fatalf("seq %d acknowledged twice: %s and %s", s, prev, f[2])
				}
				acked[audit.Seq(s)] = f[2]
				return true
			},
		}.Run(t)
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
		var g int
		if _, err := fmt.Sscanf(id[strings.Index(id, "-")+1:], "%d-", &g); err != nil {
			t.Fatal(err)
		}
		if g%2 == 1 {
			if v, err := db.Get(ctx, []byte("state/"+id)); err != nil || string(v) != id {
				t.Fatalf("the state written with record %d (%s): %q %v", s, id, v, err)
			}
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
