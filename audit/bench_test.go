package audit

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/internal/benchratio"
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
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	msg := sm3.New().Sum([]byte("a document digest"))
	for _, per := range []int{1, 16} {
		b.Run(fmt.Sprintf("per-call=%d", per), func(b *testing.B) {
			db, _ := openStore(b, false)
			lg := openLog(b, db, Options{})
			var next atomic.Int64
			benchratio.Interleave(b, 16*goroutines,
				benchratio.Side{Name: "sm2sign", Run: func(n int) error {
					return runN(goroutines, n, 1, func(int) error {
						_, err := sm2.SignASN1(rand.Reader, key, msg, sm2.DefaultSM2SignerOpts)
						return err
					})
				}},
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
