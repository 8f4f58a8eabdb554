package verifier

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/eseal/eseal/internal/benchratio"
	"github.com/eseal/eseal/internal/testvectors"
)

// BenchmarkVerifyBatchVsRawSM2 runs, in alternating rounds of batchBenchSize signatures on all
// cores, a batch of the v4 benchmark signature (BenchmarkVerifySignatureV4's, with no original
// data) through a Pool, and the raw gmsm call it rests on, sm2.VerifyASN1WithSM2 over the same
// TBS_Sign bytes (the SM3 of Z and of TBS_Sign counted), spread over GOMAXPROCS goroutines. An
// op is one signature. The seal and certificates are the same in every signature, so after
// the first the Verifier's memo holds them (warm caches). Metrics: raw-ns/op, batch-ns/op,
// and batch/raw-total and -median, the batch's throughput over the raw call's.
//
//	go test ./verifier -run '^$' -bench VerifyBatchVsRawSM2 -benchtime 20000x
func BenchmarkVerifyBatchVsRawSM2(b *testing.B) {
	der := testvectors.Read(b, benchSig)
	s, pub := benchSignature(b)
	pool := NewPool(New(Options{}), PoolOptions{})
	defer pool.Close()
	items := make([]BatchItem, batchBenchSize)
	for i := range items {
		items[i] = BatchItem{Signature: der}
	}
	// Warm the memo, as the bar asks.
	if _, err := pool.VerifyBatch(context.Background(), items[:1]); err != nil {
		b.Fatal(err)
	}
	workers := runtime.GOMAXPROCS(0)
	benchratio.Interleave(b, batchBenchSize,
		benchratio.Side{Name: "raw", Run: func(n int) error {
			return spread(workers, n, func() error {
				if !sm2.VerifyASN1WithSM2(pub, nil, s.TBS.Raw, s.Value) {
					return fmt.Errorf("raw SM2 verification fails")
				}
				return nil
			})
		}},
		benchratio.Side{Name: "batch", Run: func(n int) error {
			reports, err := pool.VerifyBatch(context.Background(), items[:n])
			if err != nil {
				return err
			}
			for i, r := range reports {
				if status(r.Checks, CheckSignatureValue) != Passed {
					return fmt.Errorf("report %d: signature value %s", i, status(r.Checks, CheckSignatureValue))
				}
			}
			return nil
		}})
	b.ReportMetric(float64(workers), "cores")
}

// batchBenchSize is the batch of the benchmark.
const batchBenchSize = 10000

// spread runs op n times over c goroutines and returns the first error.
func spread(c, n int, op func() error) error {
	var left atomic.Int64
	left.Store(int64(n))
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	for range min(c, n) {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := op(); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return *e
	}
	return nil
}
