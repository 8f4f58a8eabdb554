package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eseal/eseal/store"
)

// syncHookKV's batches commit without waiting for their sync (store.SyncWaiter); after
// batch n's real sync, its wait calls hook(n), which may block or fail it. Batches are
// numbered from 1 in commit order.
type syncHookKV struct {
	store.KV
	n    atomic.Int64
	hook func(n int64) error
}

func (k *syncHookKV) NewBatch() store.Batch { return &syncHookBatch{Batch: k.KV.NewBatch(), k: k} }

type syncHookBatch struct {
	store.Batch
	k *syncHookKV
}

func (b *syncHookBatch) CommitNoSyncWait(ctx context.Context) (func() error, error) {
	wait, err := store.CommitNoSyncWait(ctx, b.Batch)
	if err != nil {
		return nil, err
	}
	n := b.k.n.Add(1)
	return func() error {
		err := wait()
		if herr := b.k.hook(n); herr != nil {
			return herr
		}
		return err
	}, nil
}

// gate blocks batch hold's sync until open is closed, then fails it with err (nil: it
// succeeds). entered is closed when that sync is waited for.
type gate struct {
	hold    int64
	entered chan struct{}
	open    chan struct{}
	err     error
}

func newGate(hold int64, err error) *gate {
	return &gate{hold: hold, entered: make(chan struct{}), open: make(chan struct{}), err: err}
}

func (g *gate) hook(n int64) error {
	if n != g.hold {
		return nil
	}
	close(g.entered)
	<-g.open
	return g.err
}

type appendResult struct {
	seq Seq
	err error
}

func appendAsync(lg *Log, i int) <-chan appendResult {
	ch := make(chan appendResult, 1)
	go func() {
		s, err := lg.Append(context.Background(), useRecord(i))
		ch <- appendResult{s, err}
	}()
	return ch
}

// TestAuditAckOnlyAfterSync checks that an append returns, and the tail moves, only once
// the sync that covers its record is done, and that the appends made meanwhile are gathered
// into the next batch.
func TestAuditAckOnlyAfterSync(t *testing.T) {
	db, _ := openStore(t, false)
	g := newGate(2, nil)
	kv := &syncHookKV{KV: db, hook: g.hook}
	lg := openLog(t, kv, Options{})
	appendN(t, lg, 0, 1) // batch 1
	first := appendAsync(lg, 1)
	<-g.entered // batch 2 (record 2) is applied; its sync is held
	const more = 10
	var rest []<-chan appendResult
	for i := range more {
		rest = append(rest, appendAsync(lg, 10+i))
	}
	select {
	case r := <-first:
		t.Fatalf("append returned %+v before its sync", r)
	case <-time.After(50 * time.Millisecond):
	}
	if s, _ := lg.Tail(); s != 1 {
		t.Fatalf("tail %d while record 2's sync is held, want 1", s)
	}
	close(g.open)
	if r := <-first; r.err != nil || r.seq != 2 {
		t.Fatalf("held append: %+v", r)
	}
	seen := map[Seq]bool{}
	for _, ch := range rest {
		r := <-ch
		if r.err != nil || r.seq < 3 || r.seq > 2+more || seen[r.seq] {
			t.Fatalf("append after the held one: %+v", r)
		}
		seen[r.seq] = true
	}
	st := lg.Stats()
	if st.Records != 2+more || st.Batches >= 2+more {
		t.Fatalf("stats %+v: the appends made during a sync were not gathered", st)
	}
	if rep, err := lg.Verify(context.Background()); err != nil || !rep.OK() || rep.Records != 2+more {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// TestAuditSyncFailureStopsLaterBatches checks that when a batch's sync fails, the batches
// applied after it are not acknowledged even though their own syncs succeed, and that the
// log goes to its failed state at the last durable record.
func TestAuditSyncFailureStopsLaterBatches(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t, false)
	g := newGate(2, errors.New("fsync: input/output error"))
	kv := &syncHookKV{KV: db, hook: g.hook}
	// One record a batch: the writer applies each batch as soon as it is full, while the
	// one before syncs.
	lg := openLog(t, kv, Options{MaxBatch: 1})
	appendN(t, lg, 0, 1)
	held := appendAsync(lg, 1)
	<-g.entered
	later := []<-chan appendResult{appendAsync(lg, 2), appendAsync(lg, 3)}
	// Wait until both later batches are applied (their syncs queue behind the held one).
	deadline := time.Now().Add(5 * time.Second)
	for kv.n.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := kv.n.Load(); n != 4 {
		t.Fatalf("%d batches applied, want 4: the writer did not go on while a sync was held", n)
	}
	close(g.open)
	for i, ch := range append([]<-chan appendResult{held}, later...) {
		r := <-ch
		if r.err == nil || !strings.Contains(r.err.Error(), "input/output error") {
			t.Fatalf("append %d after the failed sync: %+v", i, r)
		}
	}
	if s, _ := lg.Tail(); s != 1 {
		t.Fatalf("tail %d, want the last durable record 1", s)
	}
	if _, err := lg.Append(ctx, useRecord(9)); err == nil {
		t.Fatal("the log took a record after a failed sync")
	}
	if err := lg.Close(); err == nil {
		t.Fatal("Close reported no failure")
	}
	if st := lg.Stats(); st.Records != 1 {
		t.Fatalf("stats %+v count records not durable", st)
	}
}

// TestAuditPipelinedOrder appends from many goroutines with small batches, several in flight
// at once, and checks that every acknowledged number holds its record and the chain verifies.
func TestAuditPipelinedOrder(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t, false)
	var syncs atomic.Int64
	kv := &syncHookKV{KV: db, hook: func(int64) error { syncs.Add(1); return nil }}
	lg := openLog(t, kv, Options{MaxBatch: 3, HeadEvery: 16})
	const G, N = 16, 12
	var mu sync.Mutex
	got := map[Seq]int{}
	var wg sync.WaitGroup
	for g := range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range N {
				id := g*N + i
				recs := []Record{useRecord(id)}
				if i%3 == 0 {
					recs = append(recs, useRecord(100000+id))
				}
				s, err := lg.AppendAll(ctx, recs)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got[s] = id
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for s, id := range got {
		r, err := lg.Record(ctx, s)
		if err != nil || r.Details["request"] != fmt.Sprint(id) {
			t.Fatalf("record %d: %+v %v, acknowledged for %d", s, r.Details, err, id)
		}
		// The writer's encoding is Record.Encode's, byte for byte.
		enc, _, err := splitStored(rawRecord(t, db, s))
		if err != nil || !bytes.Equal(enc, r.Encode()) {
			t.Fatalf("record %d is stored as %x, Encode gives %x (%v)", s, enc, r.Encode(), err)
		}
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(ctx, db, VerifyOptions{})
	want := uint64(G*N + G*((N+2)/3))
	if err != nil || !rep.OK() || rep.Records != want || rep.LastSigned != rep.Last {
		t.Fatalf("verify: %+v %v, want %d records", rep, err, want)
	}
	if st := lg.Stats(); st.Records != want || int64(st.Batches) > syncs.Load() {
		t.Fatalf("stats %+v, %d syncs", st, syncs.Load())
	}
}

// TestAuditCanceledBeforeSealIsNotWritten checks that an append taken into the batch being
// built, while the batch before syncs, can still be given up, and that the batch is then
// chained without it.
func TestAuditCanceledBeforeSealIsNotWritten(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t, false)
	g := newGate(2, nil)
	kv := &syncHookKV{KV: db, hook: g.hook}
	lg := openLog(t, kv, Options{})
	appendN(t, lg, 0, 1)
	held := appendAsync(lg, 1)
	<-g.entered
	before := appendAsync(lg, 2)
	cctx, cancel := context.WithCancel(ctx)
	canceled := make(chan error, 1)
	go func() {
		_, err := lg.Append(cctx, useRecord(3))
		canceled <- err
	}()
	time.Sleep(20 * time.Millisecond)
	after := appendAsync(lg, 4)
	time.Sleep(30 * time.Millisecond) // all three are taken into the next batch
	cancel()
	if err := <-canceled; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled append: %v", err)
	}
	close(g.open)
	if r := <-held; r.err != nil || r.seq != 2 {
		t.Fatalf("held append: %+v", r)
	}
	got := map[Seq]string{}
	for i, ch := range []<-chan appendResult{before, after} {
		r := <-ch
		if r.err != nil {
			t.Fatal(r.err)
		}
		got[r.seq] = fmt.Sprint([]int{2, 4}[i])
	}
	if len(got) != 2 || got[3] == "" || got[4] == "" {
		t.Fatalf("sequence numbers %v, want 3 and 4", got)
	}
	for s, req := range got {
		if r, err := lg.Record(ctx, s); err != nil || r.Details["request"] != req {
			t.Fatalf("record %d: %v %v, want request %s", s, r.Details, err, req)
		}
	}
	if s, _ := lg.Tail(); s != 4 {
		t.Fatalf("tail %d, want 4", s)
	}
	if rep, err := lg.Verify(ctx); err != nil || !rep.OK() || rep.Records != 4 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// TestAuditCloseSignsHeadWithBatchesInFlight closes the log while the most batches it
// keeps in flight wait for their sync, and checks that Close still signs a head over the
// last record.
func TestAuditCloseSignsHeadWithBatchesInFlight(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t, false)
	g := newGate(2, nil)
	kv := &syncHookKV{KV: db, hook: g.hook}
	lg := openLog(t, kv, Options{MaxBatch: 1})
	appendN(t, lg, 0, 1)
	var results []<-chan appendResult
	for i := range maxFlights {
		results = append(results, appendAsync(lg, 1+i))
		if i == 0 {
			<-g.entered
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for kv.n.Load() < 1+maxFlights && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- lg.Close() }()
	time.Sleep(30 * time.Millisecond) // Close waits for the batches in flight
	close(g.open)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for _, ch := range results {
		if r := <-ch; r.err != nil {
			t.Fatal(r.err)
		}
	}
	rep, err := Verify(ctx, db, VerifyOptions{})
	if err != nil || !rep.OK() || rep.Last != 1+maxFlights || rep.LastSigned != rep.Last {
		t.Fatalf("verify after Close: %+v %v", rep, err)
	}
}
