package verifier

import (
	"sync"
	"sync/atomic"
)

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
