package audit

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/internal/benchratio"
	"github.com/eseal/eseal/store"
)

// BenchmarkAuditAppendVsSM2Sign runs, in alternating rounds on all cores, use records
// appended by 64 goroutines to a log on a real Pebble store with synced writes, and SM2
// signatures (gmsm, default user ID) made by 64 goroutines. Each op is one record, or one
// signature. Metrics: sm2sign-ns/op, audit-ns/op, and audit/sm2sign-total and -median, the
// append rate over the signing rate, which must stay at least 2 for the log never to bound
// signing.
//
// per-call=1: each goroutine appends one record at a time (single signing requests); the
// rate is then at most 64 records per sync of the disk. per-call=16: each goroutine appends
// the records of a bulk signing of 16 digests with one AppendAll.
func BenchmarkAuditAppendVsSM2Sign(b *testing.B) {
	const goroutines = 64
	signing := sm2SignSide(b, goroutines)
	for _, per := range []int{1, 16} {
		b.Run(fmt.Sprintf("per-call=%d", per), func(b *testing.B) {
			db := runningStore(b)
			lg := openLog(b, db, Options{})
			var next atomic.Int64
			benchratio.Interleave(b, 16*goroutines,
				signing,
				benchratio.Side{Name: "audit", Run: func(n int) error {
					return runN(goroutines, n, per, func(k int) error {
						recs := make([]Record, k)
						for i := range recs {
							recs[i] = useRecord(int(next.Add(1)))
						}
						_, err := lg.AppendAll(context.Background(), recs)
						return err
					})
				}})
			st := lg.Stats()
			b.ReportMetric(float64(st.Records)/float64(max(st.Batches, 1)), "records/sync")
		})
	}
}

// sm2SignSide is the base side of the audit benchmarks: SM2 signatures (gmsm, the default user
// ID) over a document digest, made by goroutines goroutines on all cores.
func sm2SignSide(b *testing.B, goroutines int) benchratio.Side {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	msg := sm3.New().Sum([]byte("a document digest"))
	return benchratio.Side{Name: "sm2sign", Run: func(n int) error {
		return runN(goroutines, n, 1, func(int) error {
			_, err := sm2.SignASN1(rand.Reader, key, msg, sm2.DefaultSM2SignerOpts)
			return err
		})
	}}
}

// runN runs n operations over c goroutines, at most per in each call of op(k), which
// does k of them.
func runN(c, n, per int, op func(k int) error) error {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range min(c, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int64(per)
				if l := left.Add(-k); l < 0 {
					k += l
				}
				if k <= 0 {
					return
				}
				if err := op(int(k)); err != nil {
					mu.Lock()
					first = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// BenchmarkSyncedBatchVsSM2Sign measures the ceiling of BenchmarkAuditAppendVsSM2Sign at
// per-call=1: with 64 goroutines appending one record each, a sync can cover at most 64
// records, so the log can append no faster than one synced Pebble batch of 64 records
// (stored records, signature index entries, tail marker) per sync. Each op is one record
// of such a batch (encoded beforehand), committed from one goroutine with nothing else in
// the way, or one SM2 signature made by 64 goroutines. The audit log reaches 2 at
// per-call=1 only where sync64/sm2sign-median is well above 2, and only where
// BenchmarkFileGroupCommitVsSM2Sign, which adds the time the 64 goroutines take to come back
// with their next records, is above 2 as well.
func BenchmarkSyncedBatchVsSM2Sign(b *testing.B) {
	const goroutines = 64
	signing := sm2SignSide(b, goroutines)
	db := runningStore(b)
	v := newView(db)
	type kv struct{ k, v []byte }
	recs := make([]kv, 0, 2*b.N)
	var prev Hash
	for i := range b.N {
		s := Seq(i + 1)
		r := useRecord(i)
		r.Seq, r.Prev = s, prev
		enc := r.Encode()
		prev = sm3.Sum(enc)
		recs = append(recs, kv{v.sp.Key(recKey(s)), storedRecord(enc, prev)},
			kv{v.sp.Key(sigKey(r.SignatureSM3)), binary.BigEndian.AppendUint64(nil, uint64(s))})
	}
	next := 0
	benchratio.Interleave(b, 16*goroutines,
		signing,
		benchratio.Side{Name: "sync64", Run: func(n int) error {
			for n > 0 {
				k := min(n, goroutines)
				n -= k
				batch := db.NewBatch()
				for _, e := range recs[2*next : 2*(next+k)] {
					_ = batch.Set(e.k, e.v)
				}
				next += k
				_ = batch.Set(v.sp.Key(tailKey), tailValue(Seq(next), prev))
				if err := batch.Commit(context.Background()); err != nil {
					return err
				}
			}
			return nil
		}})
}

// runningStore opens a store with synced writes in the state that a running appliance's
// store is in: its write-ahead log a file that Pebble recycled after a flush, which a sync
// overwrites, not a new one, which a sync grows. A sync that grows a file also writes the
// file system's metadata, and costs this kind of disk about twice a sync that overwrites
// blocks the file has (measured with fdatasync after 8 KB writes: 0.88 ms appending, 0.35 ms
// overwriting). A fresh store pays the first cost until its memtables have flushed and their
// logs are recycled; a running one pays the second. Warming up with a few large batches and
// forced flushes is not enough (the log in use afterwards was still a new file); eight
// memtables' worth of ordinary writes is, and runningStore checks that the log in use is
// already as large as a memtable's.
func runningStore(b *testing.B) *store.Pebble {
	b.Helper()
	ctx := context.Background()
	db, dir := openStore(b, false)
	junk := store.MustSpace(db, "warm")
	val := make([]byte, 64<<10)
	for i := range 512 { // 32 MiB in writes well under a memtable (4 MiB): eight rotations
		if err := junk.Set(ctx, []byte(fmt.Sprintf("%d", i)), val); err != nil {
			b.Fatal(err)
		}
	}
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(logs) == 0 {
		b.Fatalf("no write-ahead log in %s (%v)", dir, err)
	}
	last := logs[len(logs)-1] // zero-padded numbers: the newest sorts last
	fi, err := os.Stat(last)
	if err != nil {
		b.Fatal(err)
	}
	if fi.Size() < 2<<20 {
		b.Fatalf("the write-ahead log in use (%s, %d bytes) is a new file, not a recycled one",
			strings.TrimPrefix(last, dir), fi.Size())
	}
	return db
}
