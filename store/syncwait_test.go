package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestCommitNoSyncWait(t *testing.T) {
	ctx := context.Background()
	for _, noSync := range []bool{false, true} {
		t.Run(fmt.Sprintf("nosync=%v", noSync), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			db, err := Open(dir, &Options{NoSync: noSync})
			if err != nil {
				t.Fatal(err)
			}
			sp := MustSpace(db, "log")
			// Several batches in flight at once, waited for in order; a key
			// written twice keeps the later batch's value.
			var waits []func() error
			for i := range 5 {
				b := sp.NewBatch()
				for j := range 50 {
					_ = b.Set(fmt.Appendf(nil, "r/%d/%d", i, j), bytes.Repeat([]byte{byte(i)}, 100+j))
				}
				_ = b.Set([]byte("tail"), []byte{byte(i)})
				if i == 4 {
					_ = b.Delete([]byte("r/0/0"))
				}
				wait, err := CommitNoSyncWait(ctx, b)
				if err != nil {
					t.Fatalf("batch %d: %v", i, err)
				}
				// Applied: readable before its sync is waited for.
				if v, err := sp.Get(ctx, []byte("tail")); err != nil || !bytes.Equal(v, []byte{byte(i)}) {
					t.Fatalf("batch %d not applied: %v %v", i, v, err)
				}
				if err := b.Commit(ctx); err == nil {
					t.Fatalf("batch %d committed twice", i)
				}
				waits = append(waits, wait)
			}
			for i, w := range waits {
				if err := w(); err != nil {
					t.Fatalf("wait %d: %v", i, err)
				}
				if err := w(); err != nil {
					t.Fatalf("second wait %d: %v", i, err)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db, err = Open(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			n := 0
			err = db.Scan(ctx, []byte("log/r/"), func(k, v []byte) error {
				var i, j int
				if _, err := fmt.Sscanf(string(k), "log/r/%d/%d", &i, &j); err != nil {
					return err
				}
				if !bytes.Equal(v, bytes.Repeat([]byte{byte(i)}, 100+j)) {
					return fmt.Errorf("%s holds %d bytes of %d", k, len(v), v[0])
				}
				n++
				return nil
			})
			if err != nil || n != 5*50-1 {
				t.Fatalf("after reopening: %d records, %v", n, err)
			}
			if v, err := db.Get(ctx, []byte("log/tail")); err != nil || !bytes.Equal(v, []byte{4}) {
				t.Fatalf("tail after reopening: %v %v", v, err)
			}
		})
	}
}

func TestCommitNoSyncWaitExpect(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.Set(ctx, []byte("v"), []byte("1"))
	b := db.NewBatch()
	_ = b.Expect([]byte("v"), []byte("2"))
	_ = b.Set([]byte("w"), []byte("x"))
	if _, err := CommitNoSyncWait(ctx, b); !errors.Is(err, ErrConflict) {
		t.Fatalf("failed condition: %v, want ErrConflict", err)
	}
	if _, err := db.Get(ctx, []byte("w")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a batch whose condition failed wrote: %v", err)
	}
	b = db.NewBatch()
	_ = b.Expect([]byte("v"), []byte("1"))
	_ = b.Set([]byte("v"), []byte("2"))
	wait, err := CommitNoSyncWait(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Get(ctx, []byte("v")); string(v) != "2" {
		t.Fatalf("v = %q", v)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	b = db.NewBatch()
	_ = b.Set([]byte("c"), []byte("x"))
	if _, err := CommitNoSyncWait(canceled, b); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

// TestCommitNoSyncWaitHoldsClose checks that Close waits for a batch whose sync is not yet
// waited for, and that commits after Close fail with ErrClosed.
func TestCommitNoSyncWaitHoldsClose(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "db")
	db, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	_ = b.Set([]byte("k"), []byte("v"))
	wait, err := CommitNoSyncWait(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a sync was not waited for", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	b = db.NewBatch()
	_ = b.Set([]byte("k2"), []byte("v"))
	if _, err := CommitNoSyncWait(ctx, b); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
	db, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Get(ctx, []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("after reopening: %q %v", v, err)
	}
}

// plainBatch is a Batch without CommitNoSyncWait.
type plainBatch struct{ Batch }

func TestCommitNoSyncWaitFallsBack(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	b := plainBatch{db.NewBatch()}
	_ = b.Set([]byte("k"), []byte("v"))
	wait, err := CommitNoSyncWait(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	// Committed in full before CommitNoSyncWait returned.
	if v, err := db.Get(ctx, []byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("fallback commit: %q %v", v, err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	b = plainBatch{db.NewBatch()}
	_ = b.Expect([]byte("k"), []byte("other"))
	if _, err := CommitNoSyncWait(ctx, b); !errors.Is(err, ErrConflict) {
		t.Fatalf("fallback with a failed condition: %v", err)
	}
}
