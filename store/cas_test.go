package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	sp := MustSpace(db, "cas")
	for _, kv := range []KV{db, sp} {
		t.Run(fmt.Sprintf("%T", kv), func(t *testing.T) {
			k := []byte("k")
			// Create only if absent.
			if err := kv.CompareAndSwap(ctx, k, nil, []byte("1")); err != nil {
				t.Fatal(err)
			}
			if err := kv.CompareAndSwap(ctx, k, nil, []byte("x")); !errors.Is(err, ErrConflict) {
				t.Fatalf("create over a present key: %v, want ErrConflict", err)
			}
			// Swap from the value read.
			if err := kv.CompareAndSwap(ctx, k, []byte("1"), []byte("2")); err != nil {
				t.Fatal(err)
			}
			// A stale read loses.
			err := kv.CompareAndSwap(ctx, k, []byte("1"), []byte("3"))
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("stale swap: %v, want ErrConflict", err)
			}
			if v, _ := kv.Get(ctx, k); string(v) != "2" {
				t.Fatalf("after a lost swap the value is %q, want 2", v)
			}
			// An empty value is present, not absent.
			if err := kv.CompareAndSwap(ctx, k, []byte("2"), []byte{}); err != nil {
				t.Fatal(err)
			}
			if err := kv.CompareAndSwap(ctx, k, nil, []byte("x")); !errors.Is(err, ErrConflict) {
				t.Fatalf("create over an empty value: %v", err)
			}
			// nil value deletes.
			if err := kv.CompareAndSwap(ctx, k, []byte{}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := kv.Get(ctx, k); !errors.Is(err, ErrNotFound) {
				t.Fatalf("after CAS delete: %v", err)
			}
		})
	}
	if _, err := sp.Get(ctx, []byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatal("space and parent share keys")
	}
}

func TestBatchExpect(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	sp := MustSpace(db, "b")
	_ = sp.Set(ctx, []byte("seq"), []byte("1"))
	b := sp.NewBatch()
	_ = b.Expect([]byte("seq"), []byte("1"))
	_ = b.Expect([]byte("new"), nil)
	_ = b.Set([]byte("seq"), []byte("2"))
	_ = b.Set([]byte("new"), []byte("n"))
	// Another writer moves seq first: the batch writes nothing.
	_ = sp.Set(ctx, []byte("seq"), []byte("5"))
	if err := b.Commit(ctx); !errors.Is(err, ErrConflict) {
		t.Fatalf("Commit after a concurrent change: %v, want ErrConflict", err)
	}
	if _, err := sp.Get(ctx, []byte("new")); !errors.Is(err, ErrNotFound) {
		t.Fatal("a conflicting batch wrote part of its keys")
	}
	b.Close()
	b = sp.NewBatch()
	defer b.Close()
	_ = b.Expect([]byte("seq"), []byte("5"))
	_ = b.Expect([]byte("new"), nil)
	_ = b.Set([]byte("seq"), []byte("6"))
	_ = b.Set([]byte("new"), []byte("n"))
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := sp.Get(ctx, []byte("seq")); string(v) != "6" {
		t.Fatalf("seq = %q", v)
	}
}

// TestUpdateConcurrentIncrements: goroutines increment one counter
// through Update, mixed with plain writes to other keys; no increment is
// lost. Run it with -race.
func TestUpdateConcurrentIncrements(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	kv := MustSpace(db, "ctr")
	const goroutines, each = 8, 100
	incr := func(old []byte) ([]byte, error) {
		var n uint64
		if old != nil {
			if len(old) != 8 {
				return nil, errors.New("counter is not 8 bytes")
			}
			n = binary.BigEndian.Uint64(old)
		}
		return binary.BigEndian.AppendUint64(nil, n+1), nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines+1)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if _, err := Update(ctx, kv, []byte("n"), incr); err != nil {
					errs <- err
					return
				}
				if err := kv.Set(ctx, fmt.Appendf(nil, "other/%d/%d", g, i), []byte("x")); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	v, err := kv.Get(ctx, []byte("n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(v); got != goroutines*each {
		t.Fatalf("counter = %d after %d increments: updates were lost", got, goroutines*each)
	}
	// fn's error ends the loop unchanged.
	stop := errors.New("stop")
	if _, err := Update(ctx, kv, []byte("n"), func([]byte) ([]byte, error) { return nil, stop }); !errors.Is(err, stop) {
		t.Fatalf("Update with a failing fn: %v", err)
	}
}

// flakyKV makes every CompareAndSwap conflict, to show Update gives up.
type flakyKV struct {
	KV
	n int
}

func (f *flakyKV) CompareAndSwap(context.Context, []byte, []byte, []byte) error {
	f.n++
	return ErrConflict
}

func TestUpdateGivesUp(t *testing.T) {
	db := openTest(t)
	f := &flakyKV{KV: db}
	_, err := Update(context.Background(), f, []byte("k"), func([]byte) ([]byte, error) { return []byte("v"), nil })
	if !errors.Is(err, ErrConflict) || f.n != MaxUpdateTries {
		t.Fatalf("Update under endless conflicts: %v after %d tries", err, f.n)
	}
}
