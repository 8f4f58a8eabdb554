package verifier

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eseal/eseal/errs"
)

// batchFixture is a Verifier that trusts a test PKI and a batch mixing good signatures,
// signatures over changed data and unreadable bytes, each distinct (its own signing time).
func batchFixture(t *testing.T, n int) (*Verifier, []BatchItem) {
	t.Helper()
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, start.AddDate(2, 0, 0))
	v := New(p.trust(start.AddDate(1, 0, 0)))
	items := make([]BatchItem, n)
	for i := range items {
		data := []byte(fmt.Sprintf("<Signature n=%d/>", i))
		at := start.Add(time.Duration(i+1) * time.Hour)
		switch i % 3 {
		case 0: // good
			items[i] = BatchItem{Signature: p.sign(t, seal, data, at), Data: data}
		case 1: // the data changed after signing
			items[i] = BatchItem{Signature: p.sign(t, seal, data, at), Data: append(data, '!')}
		case 2: // not a signature
			items[i] = BatchItem{Signature: []byte(fmt.Sprintf("not a signature %d", i)), Data: data}
		}
	}
	return v, items
}

func TestVerifyBatchInInputOrder(t *testing.T) {
	v, items := batchFixture(t, 30)
	pool := NewPool(v, PoolOptions{Workers: 4, Queue: 64})
	defer pool.Close()
	got, err := pool.VerifyBatch(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("%d reports for %d signatures", len(got), len(items))
	}
	want := []string{TotalPassed, TotalFailed, TotalFailed}
	wantSub := []string{"", HashFailure, FormatFailure}
	for i, r := range got {
		if r.Indication != want[i%3] || r.SubIndication != wantSub[i%3] {
			t.Errorf("report %d: %s/%s, want %s/%s", i, r.Indication, r.SubIndication, want[i%3], wantSub[i%3])
		}
		// Each report is the one VerifySignature gives for the item at its place.
		if one := v.VerifySignature(items[i].Signature, items[i].Data); !reflect.DeepEqual(r, one) {
			t.Errorf("report %d is not that of signature %d:\n got %+v\nwant %+v", i, i, r, one)
		}
	}
	if r, err := pool.VerifyBatch(context.Background(), nil); err != nil || len(r) != 0 {
		t.Errorf("empty batch: %v, %v", r, err)
	}
}

// gate holds a pool's workers: each verification announces itself on started and waits
// for release.
type gate struct {
	started chan int
	release chan struct{}
	count   atomic.Int64
}

func hold(p *Pool) *gate {
	g := &gate{started: make(chan int, 1024), release: make(chan struct{})}
	verify := p.verify
	p.verify = func(it BatchItem) SignatureReport {
		g.count.Add(1)
		g.started <- len(it.Data)
		<-g.release
		return verify(it)
	}
	return g
}

func TestVerifyBatchBusy(t *testing.T) {
	v, items := batchFixture(t, 6)
	pool := NewPool(v, PoolOptions{Workers: 1, Queue: 3})
	defer pool.Close()
	g := hold(pool)

	type result struct {
		r   []SignatureReport
		err error
	}
	first, second := make(chan result, 1), make(chan result, 1)
	go func() { r, err := pool.VerifyBatch(context.Background(), items[:1]); first <- result{r, err} }()
	<-g.started // the worker holds the first batch; the queue is empty
	// The second batch fills the queue. It is admitted before VerifyBatch can return, which
	// it cannot do while the worker is held; admission is seen through the queue's length.
	go func() { r, err := pool.VerifyBatch(context.Background(), items[1:4]); second <- result{r, err} }()
	for queued(pool) < 3 {
		select {
		case res := <-second:
			t.Fatalf("second batch came back before it was verified: %v", res.err)
		case <-time.After(time.Millisecond):
		}
	}

	for _, n := range []int{1, 2} {
		r, err := pool.VerifyBatch(context.Background(), items[4:4+n])
		if !errors.Is(err, errs.Busy) || errs.KindOf(err) != errs.Busy || r != nil {
			t.Fatalf("batch of %d on a full queue: %v, %v; want a busy error", n, r, err)
		}
		var be *BatchError
		if !errors.As(err, &be) || be.Free != 0 || be.Queue != 3 {
			t.Errorf("busy error detail: %+v", be)
		}
	}
	// A batch larger than the whole queue can never fit.
	if _, err := pool.VerifyBatch(context.Background(), items); !errors.Is(err, errs.LimitExceeded) || errors.Is(err, errs.Busy) {
		t.Errorf("batch larger than the queue: %v", err)
	}
	if got := g.count.Load(); got != 1 {
		t.Errorf("%d verifications started while held, want 1: a refused batch did work", got)
	}

	close(g.release)
	for _, c := range []struct {
		ch   chan result
		want []BatchItem
	}{{first, items[:1]}, {second, items[1:4]}} {
		res := <-c.ch
		if res.err != nil || len(res.r) != len(c.want) {
			t.Fatalf("admitted batch: %d reports, %v", len(res.r), res.err)
		}
		for i, r := range res.r {
			if one := v.VerifySignature(c.want[i].Signature, c.want[i].Data); !reflect.DeepEqual(r, one) {
				t.Errorf("admitted batch, report %d differs", i)
			}
		}
	}
	// With the queue drained the same batch is taken.
	if r, err := pool.VerifyBatch(context.Background(), items[4:6]); err != nil || len(r) != 2 {
		t.Errorf("after draining: %d reports, %v", len(r), err)
	}
}

// queued is how many signatures wait in the queue.
func queued(p *Pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.jobs)
}

func TestVerifyBatchCancelled(t *testing.T) {
	v, items := batchFixture(t, 5)
	pool := NewPool(v, PoolOptions{Workers: 1, Queue: 8})
	g := hold(pool)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		r, err := pool.VerifyBatch(ctx, items)
		if r != nil {
			err = fmt.Errorf("reports returned for a cancelled batch: %v", err)
		}
		done <- err
	}()
	<-g.started
	cancel()
	err := <-done // returns while the worker is still held
	var be *BatchError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &be) || errs.KindOf(err) != 0 {
		t.Fatalf("cancelled batch: %v", err)
	}
	close(g.release)
	pool.Close()
	if n := g.count.Load(); n != 1 {
		t.Errorf("%d signatures of a cancelled batch verified, want only the 1 started", n)
	}

	// A context already ended queues nothing.
	pool2 := NewPool(v, PoolOptions{Workers: 1})
	defer pool2.Close()
	g2 := hold(pool2)
	close(g2.release)
	if _, err := pool2.VerifyBatch(ctx, items); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v", err)
	}
	if n := g2.count.Load(); n != 0 {
		t.Errorf("%d signatures verified for an ended context", n)
	}
}

func TestPoolCloseDrains(t *testing.T) {
	v, items := batchFixture(t, 6)
	pool := NewPool(v, PoolOptions{Workers: 2, Queue: 8})
	g := hold(pool)
	type result struct {
		r   []SignatureReport
		err error
	}
	res := make(chan result, 1)
	go func() { r, err := pool.VerifyBatch(context.Background(), items); res <- result{r, err} }()
	<-g.started
	for queued(pool)+int(g.count.Load()) < len(items) {
		time.Sleep(time.Millisecond) // polling for admission, not ordering
	}
	closed := make(chan struct{})
	go func() { pool.Close(); close(closed) }()
	for !isClosed(pool) {
		time.Sleep(time.Millisecond)
	}
	if _, err := pool.VerifyBatch(context.Background(), items[:1]); !errors.Is(err, errs.Closed) {
		t.Errorf("batch after Close: %v, want closed", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned with signatures still queued")
	default:
	}
	close(g.release)
	<-closed
	r := <-res
	if r.err != nil || len(r.r) != len(items) {
		t.Fatalf("batch queued before Close: %d reports, %v", len(r.r), r.err)
	}
	for i, rep := range r.r {
		if rep.Indication == "" {
			t.Errorf("report %d empty: Close dropped it", i)
		}
	}
	pool.Close() // again: nothing
}

func isClosed(p *Pool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// TestVerifyBatchConcurrentCallers runs many callers on one pool and one Verifier (its memo
// of seals and certificates shared); under -race it checks both for data races.
func TestVerifyBatchConcurrentCallers(t *testing.T) {
	v, items := batchFixture(t, 12)
	want := make([]SignatureReport, len(items))
	for i, it := range items {
		want[i] = v.VerifySignature(it.Signature, it.Data)
	}
	v2 := New(v.opts) // a fresh memo, first filled by the pool
	pool := NewPool(v2, PoolOptions{Workers: 4, Queue: 16})
	defer pool.Close()
	var wg sync.WaitGroup
	var busy atomic.Int64
	for c := range 16 {
		wg.Go(func() {
			for k := range 10 {
				lo := (c + k) % len(items)
				batch := items[lo:min(lo+4, len(items))]
				got, err := pool.VerifyBatch(context.Background(), batch)
				if errors.Is(err, errs.Busy) {
					busy.Add(1)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				for i := range got {
					if !reflect.DeepEqual(got[i], want[lo+i]) {
						t.Errorf("caller %d: report %d is not that of signature %d", c, i, lo+i)
					}
				}
			}
		})
	}
	wg.Wait()
	if busy.Load() == 16*10 {
		t.Error("every batch refused")
	}
	t.Logf("%d of %d batches refused as busy", busy.Load(), 16*10)
}

// TestPoolDefaults checks that a pool with no options runs one worker per core and queues a
// batch of ten thousand signatures.
func TestPoolDefaults(t *testing.T) {
	v, items := batchFixture(t, 1)
	pool := NewPool(v, PoolOptions{})
	defer pool.Close()
	if c := cap(pool.jobs); c < 10000 || c < DefaultQueuePerWorker*runtime.GOMAXPROCS(0) {
		t.Errorf("default queue of %d", c)
	}
	g := hold(pool)
	cores := runtime.GOMAXPROCS(0)
	batch := make([]BatchItem, cores+1)
	for i := range batch {
		batch[i] = items[0]
	}
	res := make(chan error, 1)
	go func() { _, err := pool.VerifyBatch(context.Background(), batch); res <- err }()
	for range cores {
		<-g.started // every worker holds one signature
	}
	for queued(pool) != 1 { // the last waits: there is no other worker
		select {
		case <-g.started:
			t.Fatalf("more than %d workers", cores)
		case <-time.After(time.Millisecond):
		}
	}
	close(g.release)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if n := g.count.Load(); n != int64(cores+1) {
		t.Errorf("%d verifications for %d signatures", n, cores+1)
	}
}

// TestVerifyBatchPanic checks that a fault in the procedure fails its batch with an internal
// error, and leaves the pool serving the next.
func TestVerifyBatchPanic(t *testing.T) {
	v, items := batchFixture(t, 4)
	pool := NewPool(v, PoolOptions{Workers: 2, Queue: 8})
	defer pool.Close()
	verify := pool.verify
	pool.verify = func(it BatchItem) SignatureReport {
		if string(it.Signature) == "fault" {
			panic("index out of range")
		}
		return verify(it)
	}
	bad := append(append([]BatchItem{}, items[:2]...), BatchItem{Signature: []byte("fault")}, items[3])
	r, err := pool.VerifyBatch(context.Background(), bad)
	var be *BatchError
	if r != nil || !errors.As(err, &be) || errs.KindOf(err) != 0 || !strings.Contains(err.Error(), "signature 2 of the batch") {
		t.Fatalf("batch with a fault: %v, %v", r, err)
	}
	if r, err := pool.VerifyBatch(context.Background(), items); err != nil || len(r) != len(items) || r[0].Indication != TotalPassed {
		t.Fatalf("batch after a fault: %v", err)
	}
}

// TestPoolStats: the pool counts what it admitted, verified and refused as busy.
func TestPoolStats(t *testing.T) {
	v := New(Options{})
	p := NewPool(v, PoolOptions{Workers: 1, Queue: 4})
	defer p.Close()
	gate := make(chan struct{})
	p.verify = func(BatchItem) SignatureReport { <-gate; return SignatureReport{} }
	done := make(chan error, 1)
	go func() {
		_, err := p.VerifyBatch(context.Background(), make([]BatchItem, 4))
		done <- err
	}()
	for p.Stats().Admitted < 4 {
		time.Sleep(time.Millisecond)
	}
	if _, err := p.VerifyBatch(context.Background(), make([]BatchItem, 2)); !errors.Is(err, errs.Busy) {
		t.Fatalf("a batch beyond the queue: %v", err)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Workers != 1 || st.Queue != 4 || st.Admitted != 4 || st.Verified != 4 || st.BusyRefusals != 1 || st.Queued != 0 {
		t.Fatalf("stats %+v", st)
	}
}
