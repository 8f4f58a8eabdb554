package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

func newCache[V any](t testing.TB, cfg Config) *Cache[V] {
	t.Helper()
	c, err := New[V](cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(c.Close)
	return c
}

func keyN(i int) Key { return KeyOf(fmt.Appendf(nil, "object %d", i)) }

func TestKeyOf(t *testing.T) {
	der := []byte{0x30, 0x03, 0x02, 0x01, 0x05}
	if got, want := KeyOf(der), Key(sm3.Sum(der)); got != want {
		t.Fatalf("KeyOf = %s, want SM3 %s", got, want)
	}
	if KeyOf(der) == KeyOf(der[:4]) {
		t.Fatal("different DER gave the same key")
	}
	if s := KeyOf(der).String(); len(s) != 2*sm3.Size || strings.ToLower(s) != s {
		t.Fatalf("String = %q, want %d lowercase hex digits", s, 2*sm3.Size)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"zero budget", Config{}},
		{"negative budget", Config{MaxBytes: -1}},
		{"negative overhead", Config{MaxBytes: 1 << 20, EntryOverhead: -1}},
		{"negative typical entry", Config{MaxBytes: 1 << 20, TypicalEntry: -5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New[int](tt.cfg)
			if !errors.Is(err, ErrConfig) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("New(%+v) error = %v, want ErrConfig", tt.cfg, err)
			}
		})
	}
}

func TestGetOrLoadThenGetHits(t *testing.T) {
	c := newCache[string](t, Config{MaxBytes: 1 << 20})
	k := keyN(1)
	if _, ok := c.Get(k); ok {
		t.Fatal("Get hit on an empty cache")
	}
	v, err := c.GetOrLoad(context.Background(), k, func() (string, int64, error) { return "one", 3, nil })
	if err != nil || v != "one" {
		t.Fatalf("GetOrLoad = %q, %v; want one, nil", v, err)
	}
	// Set is asynchronous in ristretto; GetOrLoad waits, so the very next Get must hit.
	if got, ok := c.Get(k); !ok || got != "one" {
		t.Fatalf("Get after GetOrLoad = %q, %v; want one, true", got, ok)
	}
	v, err = c.GetOrLoad(context.Background(), k, func() (string, int64, error) {
		t.Error("loader called for a cached key")
		return "", 0, nil
	})
	if err != nil || v != "one" {
		t.Fatalf("second GetOrLoad = %q, %v", v, err)
	}
	if m := c.Metrics(); m.Loads != 1 || m.Hits < 2 || m.Misses < 1 {
		t.Fatalf("metrics = %+v, want 1 load, >= 2 hits, >= 1 miss", m)
	}
}

// TestByteBound inserts twenty times the budget and checks that what stays reachable, and what the
// cache charges, stays within the budget plus one entry's overhead.
func TestByteBound(t *testing.T) {
	const (
		budget   = 1 << 20
		size     = 1000
		overhead = 200
		n        = 20 * budget / size
	)
	c := newCache[[]byte](t, Config{MaxBytes: budget, EntryOverhead: overhead, TypicalEntry: size})
	ctx := context.Background()
	for i := range n {
		if _, err := c.GetOrLoad(ctx, keyN(i), func() ([]byte, int64, error) {
			b := make([]byte, size)
			return b, int64(len(b)), nil
		}); err != nil {
			t.Fatalf("GetOrLoad %d: %v", i, err)
		}
	}
	kept, sum := 0, int64(0)
	for i := range n {
		if v, ok := c.Get(keyN(i)); ok {
			kept++
			sum += int64(len(v)) + overhead
		}
	}
	m := c.Metrics()
	t.Logf("kept %d of %d entries, %d bytes of %d; metrics %+v", kept, n, sum, budget, m)
	if sum > budget+overhead {
		t.Fatalf("reachable entries cost %d bytes, budget %d + overhead %d", sum, budget, overhead)
	}
	if m.CostKept > budget {
		t.Fatalf("charged cost %d > budget %d", m.CostKept, budget)
	}
	if kept == 0 || m.Evicted == 0 && m.Rejected == 0 {
		t.Fatalf("kept %d entries, evicted %d, rejected %d: the cache neither kept nor bounded", kept, m.Evicted, m.Rejected)
	}
	if m.Loads != n {
		t.Fatalf("loads = %d, want %d", m.Loads, n)
	}
}

func TestEntryLargerThanBudgetIsNotKept(t *testing.T) {
	c := newCache[int](t, Config{MaxBytes: 4096})
	k := keyN(7)
	v, err := c.GetOrLoad(context.Background(), k, func() (int, int64, error) { return 7, 1 << 20, nil })
	if err != nil || v != 7 {
		t.Fatalf("GetOrLoad = %d, %v; want 7, nil", v, err)
	}
	if _, ok := c.Get(k); ok {
		t.Fatal("an entry larger than the budget was kept")
	}
}

func TestConcurrentMissesLoadOnce(t *testing.T) {
	c := newCache[int](t, Config{MaxBytes: 1 << 20})
	const goroutines = 64
	var calls atomic.Int32
	var start, done sync.WaitGroup
	start.Add(1)
	results := make([]int, goroutines)
	errs := make([]error, goroutines)
	k := keyN(42)
	for i := range goroutines {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			results[i], errs[i] = c.GetOrLoad(context.Background(), k, func() (int, int64, error) {
				calls.Add(1)
				time.Sleep(50 * time.Millisecond) // hold the flight open while the others arrive
				return 42, 8, nil
			})
		}()
	}
	start.Done()
	done.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("loader ran %d times for %d concurrent misses, want 1", n, goroutines)
	}
	for i := range goroutines {
		if errs[i] != nil || results[i] != 42 {
			t.Fatalf("goroutine %d got %d, %v; want 42, nil", i, results[i], errs[i])
		}
	}
	if m := c.Metrics(); m.Loads != 1 {
		t.Fatalf("Loads = %d, want 1", m.Loads)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	c := newCache[int](t, Config{MaxBytes: 1 << 20})
	k := keyN(3)
	boom := errors.New("fetch failed")
	var calls int
	load := func() (int, int64, error) {
		calls++
		if calls == 1 {
			return 0, 0, boom
		}
		return 3, 8, nil
	}
	if _, err := c.GetOrLoad(context.Background(), k, load); !errors.Is(err, boom) {
		t.Fatalf("first GetOrLoad error = %v, want %v", err, boom)
	}
	if _, ok := c.Get(k); ok {
		t.Fatal("Get hit after a failed load")
	}
	v, err := c.GetOrLoad(context.Background(), k, load)
	if err != nil || v != 3 || calls != 2 {
		t.Fatalf("second GetOrLoad = %d, %v after %d calls; want 3, nil after 2", v, err, calls)
	}
	if m := c.Metrics(); m.Loads != 2 || m.LoadErrors != 1 {
		t.Fatalf("metrics = %+v, want 2 loads, 1 error", m)
	}
}

func TestBadLoadersGiveErrors(t *testing.T) {
	c := newCache[int](t, Config{MaxBytes: 1 << 20})
	tests := []struct {
		name string
		load func() (int, int64, error)
		want string
	}{
		{"negative cost", func() (int, int64, error) { return 1, -1, nil }, "negative cost"},
		{"panic", func() (int, int64, error) { panic("bad input") }, "panicked: bad input"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := keyN(100 + i)
			_, err := c.GetOrLoad(context.Background(), k, tt.load)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
			if _, ok := c.Get(k); ok {
				t.Fatal("a failed load was cached")
			}
		})
	}
}

func TestContextEndsWaitNotLoad(t *testing.T) {
	c := newCache[int](t, Config{MaxBytes: 1 << 20})
	k := keyN(9)
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.GetOrLoad(ctx, k, func() (int, int64, error) {
			<-release
			return 9, 8, nil
		})
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	close(release)
	// The load goes on for others; a new caller joins it or finds its value.
	v, err := c.GetOrLoad(context.Background(), k, func() (int, int64, error) { return 9, 8, nil })
	if err != nil || v != 9 {
		t.Fatalf("GetOrLoad after cancel = %d, %v", v, err)
	}
}

func TestInvalidateIsImmediateAndPerNamespace(t *testing.T) {
	c := newCache[string](t, Config{MaxBytes: 1 << 20})
	ctx := context.Background()
	k := keyN(5)
	for _, ns := range []string{"province-a", "province-b"} {
		if _, err := c.GetOrLoadIn(ctx, ns, k, func() (string, int64, error) { return ns + "-old", 8, nil }); err != nil {
			t.Fatal(err)
		}
	}
	c.Invalidate("province-a")
	if v, ok := c.GetIn("province-a", k); ok {
		t.Fatalf("GetIn after Invalidate returned %q", v)
	}
	if v, ok := c.GetIn("province-b", k); !ok || v != "province-b-old" {
		t.Fatalf("other namespace: GetIn = %q, %v; want province-b-old", v, ok)
	}
	v, err := c.GetOrLoadIn(ctx, "province-a", k, func() (string, int64, error) { return "province-a-new", 8, nil })
	if err != nil || v != "province-a-new" {
		t.Fatalf("GetOrLoadIn after Invalidate = %q, %v; want a fresh load", v, err)
	}
	if v, ok := c.GetIn("province-a", k); !ok || v != "province-a-new" {
		t.Fatalf("GetIn = %q, %v; want province-a-new", v, ok)
	}
	c.InvalidateAll()
	for _, ns := range []string{"province-a", "province-b"} {
		if v, ok := c.GetIn(ns, k); ok {
			t.Fatalf("GetIn(%s) after InvalidateAll = %q", ns, v)
		}
	}
	if _, ok := c.Get(k); ok {
		t.Fatal("default namespace hit for a key never stored there")
	}
}

// TestInvalidateDuringLoad: a load that began before Invalidate is never served after it, and a
// caller arriving after Invalidate does not wait for that load.
func TestInvalidateDuringLoad(t *testing.T) {
	c := newCache[string](t, Config{MaxBytes: 1 << 20})
	k := keyN(11)
	entered, release := make(chan struct{}), make(chan struct{})
	oldc := make(chan string, 1)
	go func() {
		v, err := c.GetOrLoad(context.Background(), k, func() (string, int64, error) {
			close(entered)
			<-release
			return "old", 8, nil
		})
		if err != nil {
			t.Error(err)
		}
		oldc <- v
	}()
	<-entered
	c.Invalidate("")

	// The old load is still running; a new caller must load on its own, not wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := c.GetOrLoad(ctx, k, func() (string, int64, error) { return "new", 8, nil })
	if err != nil || v != "new" {
		t.Fatalf("GetOrLoad after Invalidate = %q, %v; want new", v, err)
	}
	close(release)
	if v := <-oldc; v != "old" {
		t.Fatalf("the racing load's own caller got %q, want old", v)
	}
	if v, ok := c.Get(k); ok && v != "new" {
		t.Fatalf("Get after Invalidate served %q from a load begun before it", v)
	}

	// Same again, with no newer load: the racing value must not appear.
	k2 := keyN(12)
	entered, release = make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.GetOrLoad(context.Background(), k2, func() (string, int64, error) {
			close(entered)
			<-release
			return "stale", 8, nil
		})
	}()
	<-entered
	c.Invalidate("")
	close(release)
	<-done
	if v, ok := c.Get(k2); ok {
		t.Fatalf("Get after Invalidate served %q from a load begun before it", v)
	}
}

// TestInvalidateStress races loads, lookups and invalidations: after Invalidate returns, no Get or
// GetOrLoad may return a value loaded from state older than the invalidation.
func TestInvalidateStress(t *testing.T) {
	c := newCache[int64](t, Config{MaxBytes: 1 << 20})
	var epoch, floor atomic.Int64
	const keys = 8
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int32
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := keyN((g + i) % keys)
				f := floor.Load()
				var v int64
				var ok bool
				if i%2 == 0 {
					v, ok = c.Get(k)
				} else {
					var err error
					v, err = c.GetOrLoad(ctx, k, func() (int64, int64, error) { return epoch.Load(), 8, nil })
					// The floor was read before GetOrLoad captured the generation, so even a
					// value loaded for this very call must come from state at least as new.
					ok = err == nil
				}
				if ok && v < f {
					failures.Add(1)
				}
			}
		}()
	}
	for n := int64(1); n <= 200; n++ {
		epoch.Store(n) // state changes first,
		c.Invalidate("")
		floor.Store(n) // then the cache is told, then readers may rely on it
		time.Sleep(100 * time.Microsecond)
	}
	close(stop)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d lookups served a value older than an Invalidate that had returned", n)
	}
}

func TestGetDoesNotAllocate(t *testing.T) {
	c := newCache[*int](t, Config{MaxBytes: 1 << 20})
	k := keyN(1)
	x := 1
	if _, err := c.GetOrLoad(context.Background(), k, func() (*int, int64, error) { return &x, 8, nil }); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := c.Get(k); !ok {
			t.Fatal("miss")
		}
	})
	if allocs != 0 {
		t.Fatalf("Get allocates %.1f times per call, want 0", allocs)
	}
}

func TestClosed(t *testing.T) {
	c, err := New[int](Config{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	if _, err := c.GetOrLoad(context.Background(), keyN(1), func() (int, int64, error) { return 1, 1, nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("GetOrLoad on a closed cache: %v, want ErrClosed", err)
	}
	if _, ok := c.Get(keyN(1)); ok {
		t.Fatal("Get hit on a closed cache")
	}
}

// TestCloseWithLoadInFlight closes the cache while an abandoned load is still running: Close does
// not wait for the loader itself, and the load's store afterwards neither panics nor hangs.
func TestCloseWithLoadInFlight(t *testing.T) {
	c, err := New[int](Config{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	entered, release, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = c.GetOrLoad(ctx, keyN(1), func() (int, int64, error) {
			close(entered)
			<-release
			return 1, 8, nil
		})
	}()
	<-entered
	cancel()
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a running loader")
	}
	// Join the running flight to see its store finish after Close.
	joined := c.group.DoChan(flightKey(c.def, 0, keyN(1)), func() (any, error) {
		t.Error("the running load was not joined")
		return nil, nil
	})
	go func() {
		defer close(finished)
		if r := <-joined; r.Err != nil || r.Val != 1 {
			t.Errorf("load finishing after Close gave %v, %v; want 1, nil", r.Val, r.Err)
		}
	}()
	close(release)
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("a load finishing after Close hung")
	}
}

func TestGetOrLoadUntil(t *testing.T) {
	c := newCache[string](t, Config{MaxBytes: 1 << 20})
	ctx := context.Background()
	var calls int
	loadUntil := func(until time.Time) func() (string, int64, time.Time, error) {
		return func() (string, int64, time.Time, error) {
			calls++
			return fmt.Sprint("crl ", calls), 16, until, nil
		}
	}
	k := keyN(20)
	v, err := c.GetOrLoadUntil(ctx, "crl", k, loadUntil(time.Now().Add(100*time.Millisecond)))
	if err != nil || v != "crl 1" {
		t.Fatalf("GetOrLoadUntil = %q, %v", v, err)
	}
	if v, ok := c.GetIn("crl", k); !ok || v != "crl 1" {
		t.Fatalf("GetIn before the limit = %q, %v; want crl 1", v, ok)
	}
	time.Sleep(150 * time.Millisecond)
	if v, ok := c.GetIn("crl", k); ok {
		t.Fatalf("GetIn after the limit served %q", v)
	}
	v, err = c.GetOrLoadUntil(ctx, "crl", k, loadUntil(time.Time{}))
	if err != nil || v != "crl 2" {
		t.Fatalf("GetOrLoadUntil after the limit = %q, %v; want a fresh load", v, err)
	}
	if v, ok := c.GetIn("crl", k); !ok || v != "crl 2" {
		t.Fatalf("GetIn with no limit = %q, %v; want crl 2", v, ok)
	}

	k2 := keyN(21)
	v, err = c.GetOrLoadUntil(ctx, "crl", k2, loadUntil(time.Now().Add(-time.Second)))
	if err != nil || v != "crl 3" {
		t.Fatalf("GetOrLoadUntil with a past limit = %q, %v", v, err)
	}
	if v, ok := c.GetIn("crl", k2); ok {
		t.Fatalf("a value already past its limit was cached: %q", v)
	}
}
