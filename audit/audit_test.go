package audit

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/store"
)

func TestAuditAppendChainsAndVerifies(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t, true)
	lg := openLog(t, db, Options{HeadEvery: 16})
	for i := range 50 {
		s, err := lg.Append(ctx, useRecord(i))
		if err != nil {
			t.Fatal(err)
		}
		if s != Seq(i+1) {
			t.Fatalf("append %d: seq %d", i, s)
		}
	}
	var prev Hash
	var last time.Time
	for s := Seq(1); s <= 50; s++ {
		r, err := lg.Record(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		want := useRecord(int(s - 1))
		if r.Seq != s || r.Prev != prev || r.Actor != want.Actor || !bytes.Equal(r.Digest, want.Digest) || r.Details["request"] != want.Details["request"] {
			t.Fatalf("record %d = %+v", s, r)
		}
		if r.Time.Before(last) {
			t.Fatalf("record %d time goes back", s)
		}
		prev, last = r.Hash, r.Time
	}
	if ts, th := lg.Tail(); ts != 50 || th != prev {
		t.Fatalf("tail %d %x", ts, th)
	}
	if n := len(lg.Heads()); n != 3 {
		t.Fatalf("%d heads after 50 records every 16, want 3", n)
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	if hs := lg.Heads(); hs[len(hs)-1].Seq != 50 {
		t.Fatalf("Close did not sign a head over the tail: last head %d", hs[len(hs)-1].Seq)
	}
	if _, err := lg.Append(ctx, useRecord(99)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after Close: %v", err)
	}
	rep, err := Verify(ctx, db, VerifyOptions{Keys: []crypto.PublicKey{testKey.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Records != 50 || rep.Heads != 4 || rep.LastSigned != 50 || rep.Unsigned() != 0 || rep.KeysFromLog {
		t.Fatalf("report %+v", rep)
	}
	// Reopened, the log goes on from its tail.
	lg2 := openLog(t, db, Options{HeadEvery: 16})
	if s, err := lg2.Append(ctx, useRecord(50)); err != nil || s != 51 {
		t.Fatalf("append after reopen: %d %v", s, err)
	}
	if r, _ := lg2.Record(ctx, 51); r.Prev != prev {
		t.Fatal("record 51 does not link to record 50")
	}
}

func TestAuditRecordRules(t *testing.T) {
	long := strings.Repeat("x", MaxDetailLen+1)
	tests := []struct {
		name string
		edit func(r *Record)
		want string // "" when accepted
	}{
		{"ok", func(r *Record) {}, ""},
		{"pin detail", func(r *Record) { r.Details["pin"] = "123456" }, "names a secret"},
		{"user password", func(r *Record) { r.Details["user_password"] = "x" }, "names a secret"},
		{"key id", func(r *Record) { r.Details["key-id"] = "x" }, "names a secret"},
		{"private.key", func(r *Record) { r.Details["private.key"] = "x" }, "names a secret"},
		{"reason allowed", func(r *Record) { r.Details["reason"] = "lost carrier" }, ""},
		{"document as digest", func(r *Record) { r.Digest = make([]byte, 65) }, "never documents"},
		{"long detail", func(r *Record) { r.Details["reason"] = long }, "detail"},
		{"no actor", func(r *Record) { r.Actor = "" }, "actor"},
		{"control in actor", func(r *Record) { r.Actor = "a\nb" }, "actor"},
		{"bad action", func(r *Record) { r.Action = "Sign" }, "action"},
		{"short signature sm3", func(r *Record) { r.SignatureSM3 = []byte{1} }, "signature SM3"},
		{"no outcome", func(r *Record) { r.Outcome = "" }, "outcome"},
		{"resident id as actor", func(r *Record) { r.Actor = "11010519491231002X" }, "resident ID"},
		{"resident id in a detail", func(r *Record) { r.Details["holder"] = "holder 11010519491231002x applied" }, "resident ID"},
		{"masked resident id", func(r *Record) { r.Details["holder"] = "110105********0021" }, ""},
		{"longer digit run", func(r *Record) { r.Details["order"] = "911010519491231002X" }, ""},
		{"wrong check character", func(r *Record) { r.Actor = "110105194912310022" }, ""},
	}
	db, _ := openStore(t, true)
	lg := openLog(t, db, Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := useRecord(1)
			tc.edit(&r)
			_, err := lg.Append(context.Background(), r)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidRecord) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrInvalidRecord about %q", err, tc.want)
			}
		})
	}
}

func TestAuditEncodingRoundTrip(t *testing.T) {
	r := useRecord(3)
	r.Seq, r.Time = 7, time.Unix(1700000000, 123456789).UTC()
	r.Details["a"], r.Details["z"] = "1", "2"
	enc := r.Encode()
	if !bytes.Equal(enc, r.Encode()) {
		t.Fatal("encoding not deterministic")
	}
	got, err := DecodeRecord(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != sm3.Sum(enc) || !bytes.Equal(got.Encode(), enc) || !got.Time.Equal(r.Time) || len(got.Details) != 3 {
		t.Fatalf("round trip: %+v", got)
	}
	for _, bad := range [][]byte{nil, {2}, enc[:len(enc)-1], append(bytes.Clone(enc), 0)} {
		if _, err := DecodeRecord(bad); err == nil {
			t.Fatalf("decoded %x", bad)
		}
	}
}

// tamperLog writes 40 records with a head every 10 (and one at Close over record 40).
func tamperLog(t *testing.T) *store.Pebble {
	db, _ := openStore(t, true)
	lg := openLog(t, db, Options{HeadEvery: 10})
	appendN(t, lg, 0, 40)
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestAuditTamperNamesFirstBadRecord(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(t *testing.T, kv store.KV)
		seq    Seq
		kind   ProblemKind
	}{
		{"content changed", func(t *testing.T, kv store.KV) {
			v := rawRecord(t, kv, 13)
			i := bytes.Index(v, []byte("oa-system"))
			v[i] = 'X'
			setRaw(t, kv, recKey(13), v)
		}, 13, Changed},
		{"content changed and rehashed", func(t *testing.T, kv store.KV) {
			rewrite(t, kv, 13, func(r *Record) { r.Outcome = OutcomeRefused })
		}, 13, Changed},
		{"time changed and rehashed", func(t *testing.T, kv store.KV) {
			rewrite(t, kv, 22, func(r *Record) { r.Time = r.Time.Add(-time.Hour) })
		}, 22, Changed},
		{"last record rehashed", func(t *testing.T, kv store.KV) {
			rewrite(t, kv, 40, func(r *Record) { r.Actor = "someone else" })
		}, 40, Changed},
		{"record removed", func(t *testing.T, kv store.KV) { delRaw(t, kv, recKey(17)) }, 17, Removed},
		{"records removed", func(t *testing.T, kv store.KV) {
			delRaw(t, kv, recKey(17))
			delRaw(t, kv, recKey(18))
		}, 17, Removed},
		{"last record removed", func(t *testing.T, kv store.KV) { delRaw(t, kv, recKey(40)) }, 40, Removed},
		{"end removed with tail marker rewritten", func(t *testing.T, kv store.KV) {
			r39 := rawRecord(t, kv, 39)
			delRaw(t, kv, recKey(40))
			var h Hash
			copy(h[:], r39[len(r39)-HashSize:])
			setRaw(t, kv, tailKey, tailValue(39, h))
		}, 40, Removed},
		{"records swapped", func(t *testing.T, kv store.KV) {
			a, b := rawRecord(t, kv, 25), rawRecord(t, kv, 31)
			setRaw(t, kv, recKey(25), b)
			setRaw(t, kv, recKey(31), a)
		}, 25, Reordered},
		{"records renumbered and swapped", func(t *testing.T, kv store.KV) {
			var a, b Record
			rewrite(t, kv, 25, func(r *Record) { a = *r })
			rewrite(t, kv, 26, func(r *Record) { b = *r; r.Actor, r.Details = a.Actor, a.Details })
			rewrite(t, kv, 25, func(r *Record) { r.Actor, r.Details = b.Actor, b.Details })
		}, 25, Changed},
		{"head signature changed", func(t *testing.T, kv store.KV) {
			v, _ := newView(kv).sp.Get(ctx, headKey(20))
			v[len(v)-5] ^= 1
			setRaw(t, kv, headKey(20), v)
		}, 20, BadHead},
		{"head re-signed by another key", func(t *testing.T, kv store.KV) {
			v, _ := newView(kv).sp.Get(ctx, headKey(30))
			h, _ := decodeHead(v)
			other, _ := sm2GenerateForTest()
			h.Key, _ = KeyIDOf(other.Public())
			if err := signHead(other, &h); err != nil {
				t.Fatal(err)
			}
			setRaw(t, kv, headKey(30), h.encode())
		}, 30, BadHead},
		{"head removed with its segment rewritten", func(t *testing.T, kv store.KV) {
			// An intruder rewrites record 5 and every hash after it up to the next head.
			rewrite(t, kv, 5, func(r *Record) { r.Outcome = OutcomeFailed })
			for s := Seq(6); s <= 40; s++ {
				prev := rawRecord(t, kv, s-1)
				rewrite(t, kv, s, func(r *Record) { copy(r.Prev[:], prev[len(prev)-HashSize:]) })
			}
			last := rawRecord(t, kv, 40)
			var h Hash
			copy(h[:], last[len(last)-HashSize:])
			setRaw(t, kv, tailKey, tailValue(40, h))
		}, 10, Changed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := tamperLog(t)
			if rep, err := Verify(ctx, db, VerifyOptions{Keys: []crypto.PublicKey{testKey.Public()}}); err != nil || !rep.OK() {
				t.Fatalf("before tampering: %+v %v", rep, err)
			}
			tc.tamper(t, db)
			rep, err := Verify(ctx, db, VerifyOptions{Keys: []crypto.PublicKey{testKey.Public()}})
			if err != nil {
				t.Fatal(err)
			}
			f := rep.First()
			if f == nil {
				t.Fatal("tampering not found")
			}
			if f.Seq != tc.seq || f.Kind != tc.kind {
				t.Fatalf("first problem %v, want record %d %s; all: %v", f, tc.seq, tc.kind, rep.Problems)
			}
			if !strings.Contains(f.String(), fmt.Sprintf("record %d", tc.seq)) {
				t.Fatalf("problem does not name the record: %s", f)
			}
		})
	}
}

func TestAuditOpenRefusesBrokenEnd(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, kv store.KV)
	}{
		{"last record removed", func(t *testing.T, kv store.KV) { delRaw(t, kv, recKey(40)) }},
		{"tail marker removed", func(t *testing.T, kv store.KV) { delRaw(t, kv, tailKey) }},
		{"last head forged", func(t *testing.T, kv store.KV) {
			v, _ := newView(kv).sp.Get(context.Background(), headKey(40))
			v[len(v)-3] ^= 1
			setRaw(t, kv, headKey(40), v)
		}},
		{"record after the tail", func(t *testing.T, kv store.KV) {
			setRaw(t, kv, recKey(41), rawRecord(t, kv, 40))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := tamperLog(t)
			tc.tamper(t, db)
			lg, err := Open(context.Background(), db, Options{HeadSigner: testKey})
			if err == nil {
				lg.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, ErrBroken) {
				t.Fatalf("err %v, want ErrBroken", err)
			}
		})
	}
}

func TestAuditConcurrentAppends(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t, true)
	// A queue much shorter than the appenders: appends wait for room.
	lg := openLog(t, db, Options{HeadEvery: 100, QueueSize: 2, MaxBatch: 8})
	const G, N = 32, 40
	var mu sync.Mutex
	got := map[Seq]int{}
	var wg sync.WaitGroup
	for g := range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range N {
				id := g*N + i
				s, err := lg.Append(ctx, useRecord(id))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if _, dup := got[s]; dup {
					t.Errorf("seq %d twice", s)
				}
				got[s] = id
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != G*N {
		t.Fatalf("%d records acknowledged, want %d", len(got), G*N)
	}
	for s, id := range got {
		r, err := lg.Record(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if r.Details["request"] != fmt.Sprint(id) {
			t.Fatalf("record %d holds request %s, acknowledged for %d", s, r.Details["request"], id)
		}
	}
	rep, err := lg.Verify(ctx)
	if err != nil || !rep.OK() || rep.Records != G*N {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	st := lg.Stats()
	if st.Records != G*N || st.Batches == 0 || st.Batches > st.Records || st.Heads != uint64(len(lg.Heads())) {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d records in %d batches", st.Records, st.Batches)
}

func TestAuditContextAndClose(t *testing.T) {
	db, _ := openStore(t, true)
	lg := openLog(t, db, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lg.Append(ctx, useRecord(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled append: %v", err)
	}
	if s, _ := lg.Tail(); s != 0 {
		t.Fatalf("a canceled append was written: tail %d", s)
	}
	// Appends racing with Close are either written or refused with ErrClosed.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []Seq
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				s, err := lg.Append(context.Background(), useRecord(g*1000+i))
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, s)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	tail, _ := lg.Tail()
	if len(acked) == 0 || uint64(len(acked)) != uint64(tail) {
		t.Fatalf("%d acknowledged, tail %d", len(acked), tail)
	}
	rep, err := Verify(context.Background(), db, VerifyOptions{})
	if err != nil || !rep.OK() || rep.LastSigned != tail || !rep.KeysFromLog {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func TestAuditAppendWith(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t, true)
	lg := openLog(t, db, Options{})
	if _, err := lg.AppendWith(ctx, useRecord(1), []Write{{Key: []byte("registry/seal/1"), Value: []byte("issued")}}); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get(ctx, []byte("registry/seal/1")); err != nil || string(v) != "issued" {
		t.Fatalf("write with the record: %q %v", v, err)
	}
	if _, err := lg.AppendWith(ctx, useRecord(2), []Write{{Key: []byte("audit/tail"), Value: []byte("x")}}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("write into the audit space: %v", err)
	}
	s, err := lg.AppendAll(ctx, []Record{useRecord(3), useRecord(4), useRecord(5)})
	if err != nil || s != 2 {
		t.Fatalf("AppendAll: %d %v", s, err)
	}
	if r, err := lg.Record(ctx, 4); err != nil || r.Details["request"] != "5" {
		t.Fatalf("record 4: %+v %v", r, err)
	}
}

func TestAuditProveExistence(t *testing.T) {
	db, _ := openStore(t, true)
	lg := openLog(t, db, Options{HeadEvery: 10})
	appendN(t, lg, 0, 25) // heads at 10 and 20; 21..25 after the last head
	refused := useRecord(100)
	refused.Outcome = OutcomeRefused
	if _, err := lg.Append(context.Background(), refused); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 4, 9, 10, 19, 24} {
		tm, src, ok, err := lg.ProveExistence(sigValue(i))
		r, _ := lg.Record(context.Background(), Seq(i+1))
		if err != nil || !ok || !tm.Equal(r.Time) || src != fmt.Sprintf("audit log record %d", i+1) {
			t.Fatalf("signature %d: %v %q %v %v", i, tm, src, ok, err)
		}
	}
	for _, v := range [][32]byte{sigValue(1000), sigValue(100)} {
		if _, _, ok, err := lg.ProveExistence(v); ok || err != nil {
			t.Fatalf("proved a signature never made or refused: %v %v", ok, err)
		}
	}
	// Tampering with a verified segment (whose hashes are remembered) or with a record
	// after the last head ends the proofs in this process.
	rewrite(t, db, 5, func(r *Record) { r.Time = r.Time.Add(-24 * time.Hour) })
	if _, _, ok, _ := lg.ProveExistence(sigValue(4)); ok {
		t.Fatal("proved a rewritten record in a remembered segment")
	}
	rewrite(t, db, 23, func(r *Record) { r.Time = r.Time.Add(-24 * time.Hour) })
	if _, _, ok, _ := lg.ProveExistence(sigValue(22)); ok {
		t.Fatal("proved a rewritten record after the last head")
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	// A log opened afterwards refuses to prove records in the rewritten segment, and still
	// proves the intact ones.
	db2 := tamperLog(t)
	rewrite(t, db2, 15, func(r *Record) { r.Time = r.Time.Add(-24 * time.Hour) })
	lg2 := openLog(t, db2, Options{HeadEvery: 10})
	if _, _, ok, err := lg2.ProveExistence(sigValue(14)); ok || err != nil {
		t.Fatalf("proved a record of a rewritten segment: %v %v", ok, err)
	}
	if _, _, ok, err := lg2.ProveExistence(sigValue(25)); !ok || err != nil {
		t.Fatalf("an intact segment is not proved: %v %v", ok, err)
	}
	// The index pointing at another record proves nothing.
	v := sigValue(30)
	setRaw(t, db2, sigKey(v[:]), []byte{0, 0, 0, 0, 0, 0, 0, 2})
	if _, _, ok, _ := lg2.ProveExistence(v); ok {
		t.Fatal("proved through a forged index entry")
	}
}

func TestAuditExportLines(t *testing.T) {
	db := tamperLog(t)
	var buf bytes.Buffer
	if err := Export(context.Background(), db, &buf); err != nil {
		t.Fatal(err)
	}
	checkExport(t, buf.Bytes(), 40, 4)
}

// failingKV fails batch commits while fail is set.
type failingKV struct {
	store.KV
	fail *atomic.Bool
}

func (f failingKV) NewBatch() store.Batch { return failingBatch{f.KV.NewBatch(), f.fail} }

type failingBatch struct {
	store.Batch
	fail *atomic.Bool
}

func (b failingBatch) Commit(ctx context.Context) error {
	if b.fail.Load() {
		return errors.New("disk full")
	}
	return b.Batch.Commit(ctx)
}

func TestAuditWriteFailureStopsTheLog(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t, true)
	var fail atomic.Bool
	lg := openLog(t, failingKV{db, &fail}, Options{})
	appendN(t, lg, 0, 3)
	fail.Store(true)
	if _, err := lg.Append(ctx, useRecord(3)); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("append on a failing store: %v", err)
	}
	fail.Store(false)
	if _, err := lg.Append(ctx, useRecord(4)); err == nil {
		t.Fatal("the log took a record after a failed write")
	}
	lg.Close()
	// Reopened, it goes on from the last durable record: first its own record that records
	// 1 to 3 were found unsigned, then the next.
	lg2 := openLog(t, db, Options{})
	if s, err := lg2.Append(ctx, useRecord(5)); err != nil || s != 5 {
		t.Fatalf("after reopening: %d %v", s, err)
	}
	if r, err := lg2.Record(ctx, 4); err != nil || r.Action != ActionUnsignedFound || r.Details["from"] != "1" || r.Details["to"] != "3" {
		t.Fatalf("record 4 after reopening: %+v %v", r, err)
	}
}

// flakySigner fails while fail is set.
type flakySigner struct {
	crypto.Signer
	fail *atomic.Bool
}

func (s flakySigner) Sign(r io.Reader, msg []byte, o crypto.SignerOpts) ([]byte, error) {
	if s.fail.Load() {
		return nil, errors.New("HSM unavailable")
	}
	return s.Signer.Sign(r, msg, o)
}

func TestAuditHeadsByTimeAndRetry(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t, true)
	var fail atomic.Bool
	fail.Store(true)
	lg := openLog(t, db, Options{HeadSigner: flakySigner{testKey, &fail}, HeadEvery: 4, HeadInterval: 40 * time.Millisecond})
	appendN(t, lg, 0, 6) // no head: the signer fails, the records are still written
	if n := len(lg.Heads()); n != 0 {
		t.Fatalf("%d heads with a failing signer", n)
	}
	if s, _ := lg.Tail(); s != 6 {
		t.Fatalf("tail %d", s)
	}
	fail.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for len(lg.Heads()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	hs := lg.Heads()
	if len(hs) != 1 || hs[0].Seq != 6 {
		t.Fatalf("heads after the interval: %+v", hs)
	}
	if rep, err := lg.Verify(ctx); err != nil || !rep.OK() || rep.LastSigned != 6 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// backClock goes back a second at each call.
type backClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *backClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(-time.Second)
	return c.t
}

func TestAuditTimesNeverGoBack(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t, true)
	c := &backClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	lg := openLog(t, db, Options{Clock: c.now})
	appendN(t, lg, 0, 5)
	var last time.Time
	for s := Seq(1); s <= 5; s++ {
		r, err := lg.Record(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if r.Time.Before(last) {
			t.Fatalf("record %d at %v, before %v", s, r.Time, last)
		}
		last = r.Time
	}
	if rep, err := lg.Verify(ctx); err != nil || !rep.OK() {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// gateKV holds every batch commit until gate is closed.
type gateKV struct {
	store.KV
	entered chan struct{}
	gate    chan struct{}
}

func (g gateKV) NewBatch() store.Batch { return gateBatch{g.KV.NewBatch(), g} }

type gateBatch struct {
	store.Batch
	g gateKV
}

func (b gateBatch) Commit(ctx context.Context) error {
	select {
	case b.g.entered <- struct{}{}:
	default:
	}
	<-b.g.gate
	return b.Batch.Commit(ctx)
}

func TestAuditCanceledWhileQueuedIsNotWritten(t *testing.T) {
	db, _ := openStore(t, true)
	g := gateKV{KV: db, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	lg := openLog(t, g, Options{})
	first := make(chan error, 1)
	go func() {
		_, err := lg.Append(context.Background(), useRecord(1))
		first <- err
	}()
	<-g.entered // the writer is committing record 1
	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		_, err := lg.Append(ctx, useRecord(2))
		second <- err
	}()
	time.Sleep(20 * time.Millisecond) // record 2 waits in the queue
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled append: %v", err)
	}
	close(g.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if s, err := lg.Append(context.Background(), useRecord(3)); err != nil || s != 2 {
		t.Fatalf("next append: %d %v; the canceled record must not take a place", s, err)
	}
	if r, _ := lg.Record(context.Background(), 2); r.Details["request"] != "3" {
		t.Fatalf("record 2 is request %s", r.Details["request"])
	}
}

func TestAuditRecordsFrom(t *testing.T) {
	ctx := context.Background()
	db, _ := openStore(t, true)
	lg := openLog(t, db, Options{})
	appendN(t, lg, 0, 10)
	var got []Seq
	err := lg.Records(ctx, 4, func(r Record) error {
		got = append(got, r.Seq)
		if len(got) == 3 {
			return store.ErrStop
		}
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[4 5 6]" {
		t.Fatalf("records from 4: %v %v", got, err)
	}
	delRaw(t, db, recKey(8))
	err = lg.Records(ctx, 7, func(Record) error { return nil })
	if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "record 8") {
		t.Fatalf("records over a removed one: %v", err)
	}
}
