package softkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/store"
)

// TestDeleteRacesSigner: Delete runs against goroutines calling Signer on
// a key not yet unwrapped (a fresh Store over the same keyspace, as after
// a restart), many rounds. No Signer call that starts after Delete returned
// may succeed, and every signer handed out must stop signing once Delete
// returned. Run it with -race.
func TestDeleteRacesSigner(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kv := store.MustSpace(db, "softkey")
	kek := testKEK(t)
	quiet := Options{Logger: slog.New(slog.DiscardHandler)}
	maker, err := New(kv, kek, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const rounds, readers = 200, 4
	handedOut := 0
	for round := range rounds {
		label := fmt.Sprintf("race-%d", round)
		if _, err := maker.Generate(ctx, label, signer.SM2); err != nil {
			t.Fatal(err)
		}
		s, err := New(kv, kek, quiet)
		if err != nil {
			t.Fatal(err)
		}
		var deleted atomic.Bool
		var wg sync.WaitGroup
		var mu sync.Mutex
		var got []signer.MessageSigner
		fail := make(chan error, readers)
		var started sync.WaitGroup
		started.Add(readers)
		for range readers {
			wg.Go(func() {
				started.Done()
				for range 20 {
					after := deleted.Load()
					sg, err := s.Signer(ctx, label)
					if err == nil && after {
						fail <- fmt.Errorf("round %d: Signer succeeded after Delete returned", round)
						return
					}
					if err != nil && !errors.Is(err, signer.ErrKeyNotFound) {
						fail <- fmt.Errorf("round %d: Signer: %v", round, err)
						return
					}
					if err == nil {
						mu.Lock()
						got = append(got, sg.(signer.MessageSigner))
						mu.Unlock()
					}
				}
			})
		}
		started.Wait() // readers are loading the key now
		if err := s.Delete(ctx, label); err != nil {
			t.Fatalf("round %d: Delete: %v", round, err)
		}
		deleted.Store(true)
		wg.Wait()
		close(fail)
		for err := range fail {
			t.Fatal(err)
		}
		for _, sg := range got {
			if _, err := sg.SignMessage(nil, []byte("m"), sm2.DefaultSM2SignerOpts); !errors.Is(err, signer.ErrKeyNotFound) {
				t.Fatalf("round %d: a signer handed out before Delete still signs after it: %v", round, err)
			}
		}
		handedOut += len(got)
		if _, err := s.Signer(ctx, label); !errors.Is(err, signer.ErrKeyNotFound) {
			t.Fatalf("round %d: Signer after Delete: %v", round, err)
		}
		s.Close()
	}
	t.Logf("%d signers handed out before Delete over %d rounds (all dead after it)", handedOut, rounds)
}
