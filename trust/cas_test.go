package trust

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/eseal/eseal/store"
)

// racyKV is a KV whose CompareAndSwap first runs before, if set: another writer that gets
// in between a read and the write that depends on it.
type racyKV struct {
	store.KV
	before func()
	swaps  atomic.Int64
}

func (r *racyKV) CompareAndSwap(ctx context.Context, key, old, value []byte) error {
	r.swaps.Add(1)
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	return r.KV.CompareAndSwap(ctx, key, old, value)
}

// TestChangeRetriesAfterConflict makes another writer change the set between a Put's
// read and its write: the write must fail, be retried on top of the other change, and
// take the next generation, so that neither change is lost.
func TestChangeRetriesAfterConflict(t *testing.T) {
	e := newEnv(t)
	racy := &racyKV{KV: e.kv()}
	s, err := Open(ctx, racy, Options{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	other := e.sets(t, Options{})
	a, b, c := newPKI(t, "A"), newPKI(t, "B"), newPKI(t, "C")
	if _, err := s.Put(ctx, "x", a.input()); err != nil {
		t.Fatal(err)
	}
	var otherGen uint64
	racy.before = func() {
		var err error
		if otherGen, err = other.Put(ctx, "x", b.input()); err != nil {
			t.Error(err)
		}
	}
	gen, err := s.Put(ctx, "x", c.input())
	if err != nil {
		t.Fatal(err)
	}
	if otherGen != 2 || gen != 3 {
		t.Fatalf("generations: other writer %d, this one %d; want 2 and 3", otherGen, gen)
	}
	if n := racy.swaps.Load(); n != 3 {
		t.Fatalf("%d compare-and-swaps, want 3 (one Put, one lost, its retry)", n)
	}
	set, g, _ := s.TrustSet("x")
	if g != 3 {
		t.Fatalf("TrustSet generation %d, want 3", g)
	}
	sameSet(t, set, "x", c.input())

	// The same for a Remove that meets a Put.
	racy.before = func() {
		if _, err := other.Put(ctx, "x", a.input()); err != nil {
			t.Error(err)
		}
	}
	if err := s.Remove(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if g, err := s.Put(ctx, "x", b.input()); err != nil || g != 6 {
		t.Fatalf("put after remove after a concurrent put: generation %d, %v; want 6", g, err)
	}
}

// conflictKV loses every compare-and-swap.
type conflictKV struct{ store.KV }

func (conflictKV) CompareAndSwap(context.Context, []byte, []byte, []byte) error {
	return store.ErrConflict
}

func TestChangeGivesUp(t *testing.T) {
	e := newEnv(t)
	s, err := Open(ctx, conflictKV{e.kv()}, Options{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	called := false
	s.Watch(func(string) { called = true })
	_, err = s.Put(ctx, "x", newPKI(t, "X").input())
	wantKind(t, err, ErrConflict, "other writers changed the set", "not changed")
	if _, _, err := s.TrustSet("x"); err == nil || called {
		t.Fatal("a change that was never stored is visible or announced")
	}
}
