package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func openTest(t *testing.T) *Pebble {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestGetSetDelete(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if _, err := db.Get(ctx, []byte("a")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	if err := db.Set(ctx, []byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	v, err := db.Get(ctx, []byte("a"))
	if err != nil || string(v) != "1" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	v[0] = 'x' // the copy is ours
	if v2, _ := db.Get(ctx, []byte("a")); string(v2) != "1" {
		t.Fatalf("value changed through returned slice: %q", v2)
	}
	if err := db.Set(ctx, []byte("empty"), nil); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get(ctx, []byte("empty")); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("empty value: %q %v", v, err)
	}
	if err := db.Delete(ctx, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := db.Delete(ctx, []byte("never")); err != nil {
		t.Fatalf("delete absent: %v", err)
	}
	if _, err := db.Get(ctx, []byte("a")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestCanceledContext(t *testing.T) {
	db := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.Set(ctx, []byte("a"), []byte("b")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Set with canceled ctx: %v", err)
	}
}

func TestBatchAtomic(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	_ = db.Set(ctx, []byte("gone"), []byte("x"))
	b := db.NewBatch()
	for i := range 10 {
		if err := b.Set(fmt.Appendf(nil, "k%02d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	_ = b.Delete([]byte("gone"))
	if b.Len() != 11 {
		t.Fatalf("Len = %d", b.Len())
	}
	// Nothing visible before Commit.
	if _, err := db.Get(ctx, []byte("k00")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("visible before commit: %v", err)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(ctx); err == nil {
		t.Fatal("second Commit succeeded")
	}
	b.Close()
	n := 0
	_ = db.Scan(ctx, []byte("k"), func(k, v []byte) error { n++; return nil })
	if n != 10 {
		t.Fatalf("scan after commit: %d keys", n)
	}
	if _, err := db.Get(ctx, []byte("gone")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("batch delete: %v", err)
	}
	// A closed, uncommitted batch writes nothing.
	b = db.NewBatch()
	_ = b.Set([]byte("never"), []byte("x"))
	b.Close()
	if err := b.Commit(ctx); err == nil {
		t.Fatal("commit after close succeeded")
	}
	if _, err := db.Get(ctx, []byte("never")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("closed batch wrote: %v", err)
	}
}

func TestScanPrefixAndStop(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	for _, k := range []string{"a", "ab", "ab\xff", "ab\xff\xff", "ac", "b"} {
		_ = db.Set(ctx, []byte(k), []byte(k))
	}
	var got []string
	if err := db.Scan(ctx, []byte("ab"), func(k, v []byte) error {
		if !bytes.Equal(k, v) {
			t.Errorf("key %q value %q", k, v)
		}
		got = append(got, string(k))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint([]string{"ab", "ab\xff", "ab\xff\xff"}) {
		t.Fatalf("scan ab: %q", got)
	}
	got = nil
	_ = db.Scan(ctx, nil, func(k, v []byte) error { got = append(got, string(k)); return nil })
	if len(got) != 6 {
		t.Fatalf("full scan: %q", got)
	}
	n := 0
	if err := db.Scan(ctx, nil, func(k, v []byte) error { n++; return ErrStop }); err != nil || n != 1 {
		t.Fatalf("ErrStop: n=%d err=%v", n, err)
	}
	boom := errors.New("boom")
	if err := db.Scan(ctx, nil, func(k, v []byte) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("callback error: %v", err)
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{nil, nil},
		{[]byte{0xff, 0xff}, nil},
		{[]byte("a"), []byte("b")},
		{[]byte{'a', 0xff}, []byte("b")},
	} {
		if got := PrefixEnd(c.in); !bytes.Equal(got, c.want) {
			t.Errorf("PrefixEnd(%x) = %x, want %x", c.in, got, c.want)
		}
	}
}

func TestSpaces(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	a := MustSpace(db, "a")
	ab := MustSpace(db, "ab")
	nested := MustSpace(a, "x")
	_ = a.Set(ctx, []byte("k"), []byte("in a"))
	_ = ab.Set(ctx, []byte("k"), []byte("in ab"))
	_ = nested.Set(ctx, []byte("k"), []byte("in a/x"))
	if v, _ := a.Get(ctx, []byte("k")); string(v) != "in a" {
		t.Fatalf("a: %q", v)
	}
	if v, _ := db.Get(ctx, []byte("a/x/k")); string(v) != "in a/x" {
		t.Fatalf("nested raw key: %q", v)
	}
	var keys []string
	_ = a.Scan(ctx, nil, func(k, v []byte) error { keys = append(keys, string(k)); return nil })
	if fmt.Sprint(keys) != "[k x/k]" {
		t.Fatalf("scan a sees %q (must not see space ab)", keys)
	}
	// Atomic batch across spaces through the parent.
	b := db.NewBatch()
	_ = b.Set(a.Key([]byte("t")), []byte("1"))
	_ = b.Set(ab.Key([]byte("t")), []byte("2"))
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := ab.Get(ctx, []byte("t")); string(v) != "2" {
		t.Fatalf("cross-space batch: %q", v)
	}
	sb := nested.NewBatch()
	_ = sb.Delete([]byte("k"))
	_ = sb.Commit(ctx)
	if _, err := nested.Get(ctx, []byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("space batch delete: %v", err)
	}
	for _, bad := range []string{"", "A", "a/b", "ü", string(make([]byte, 65))} {
		if _, err := NewSpace(db, bad); err == nil {
			t.Errorf("NewSpace(%q) accepted", bad)
		}
	}
}

func TestCheckpointAndReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		_ = db.Set(ctx, fmt.Appendf(nil, "k%03d", i), []byte("v"))
	}
	cp := filepath.Join(dir, "backup")
	if err := db.Checkpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}
	if err := db.Checkpoint(ctx, cp); err == nil {
		t.Fatal("checkpoint into existing dir succeeded")
	}
	_ = db.Set(ctx, []byte("after"), []byte("x"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := db.Get(ctx, []byte("k000")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after close: %v", err)
	}
	if err := db.NewBatch().Commit(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit after close: %v", err)
	}
	back, err := Open(cp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	n := 0
	_ = back.Scan(ctx, nil, func(k, v []byte) error { n++; return nil })
	if n != 100 {
		t.Fatalf("checkpoint has %d keys, want 100", n)
	}
	if _, err := back.Get(ctx, []byte("after")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("checkpoint sees later write: %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := fmt.Appendf(nil, "g%d/%d", g, i)
				if err := db.Set(ctx, k, k); err != nil {
					t.Error(err)
					return
				}
				if v, err := db.Get(ctx, k); err != nil || !bytes.Equal(v, k) {
					t.Errorf("get %s: %q %v", k, v, err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			_ = db.Scan(ctx, []byte("g"), func(k, v []byte) error { return nil })
		}
	}()
	wg.Wait()
}

func TestOpenBadDir(t *testing.T) {
	if _, err := Open("", nil); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
	if _, err := Open("/proc/definitely/not/here", nil); err == nil {
		t.Fatal("Open in /proc succeeded")
	}
}
