//go:build !race

// The race detector instruments every allocation and multiplies the run time; this test
// measures the heap, so it runs in the ordinary test pass only.

package verifier

import (
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/ses"
)

// TestVerifyMemoryWithinBudget verifies many signatures made under memorySeals different
// seals, each of about 9 KB, on all cores through one Verifier whose four caches have a
// budget of memoryBudget bytes each, in rounds of memoryRound, and measures the live heap
// after a full collection between rounds. The seals alone are 90 MB, far more than the caches
// may hold, so a cache that grew with what it saw would show. The largest live heap above what
// the test itself holds (the seals, measured before) must stay within the four budgets plus
// memoryOverhead, the bookkeeping of the caches and the verifier's small tables. A cache that
// kept every seal it saw would add the seals' 90 MB again, and fail it (it does, with budgets
// of 1 GiB). Garbage not yet collected is not counted: how much of it the runtime lets pile up
// is GOGC's choice, in proportion to the live heap, not the caches'.
//
// ESEAL_MEMORY_SIGNATURES sets how many signatures (default 30,000, each seal used three
// times); the figure for the record is a million:
//
//	ESEAL_MEMORY_SIGNATURES=1000000 go test ./verifier -run MemoryWithinBudget -v -timeout 30m
func TestVerifyMemoryWithinBudget(t *testing.T) {
	const (
		memorySeals    = 10000
		memoryBudget   = 4 << 20
		memoryOverhead = 16 << 20
		memoryRound    = 5000
	)
	total := 30000
	if s := os.Getenv("ESEAL_MEMORY_SIGNATURES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("ESEAL_MEMORY_SIGNATURES=%q is not a positive count", s)
		}
		total = n
	}
	p := newPKI(t)
	start, end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	opts := p.trust(signedAt.Add(time.Hour))
	opts.Caches = newCaches(t, memoryBudget)
	v := New(opts)

	seals := make([]*ses.Seal, memorySeals)
	pic := make([]byte, 8<<10)
	var wg sync.WaitGroup
	var next atomic.Int64
	workers := runtime.GOMAXPROCS(0)
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < memorySeals; i = int(next.Add(1)) - 1 {
				own := append([]byte("\x89PNG\r\n\x1a\n"), pic[8:]...)
				if _, err := rand.Read(own[8:]); err != nil {
					t.Error(err)
					return
				}
				s, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{
					VID: "eseal", ESID: fmt.Sprintf("46000020240%05d", i), Type: 1, Name: "海南省测试单位",
					SignerCerts: [][]byte{p.signer.Raw}, CreateDate: start, ValidStart: start, ValidEnd: end,
					Picture: ses.Picture{Type: "PNG", Data: own, Width: 40, Height: 40},
				}, p.maker.Raw, p.makerKey)
				if err != nil {
					t.Error(err)
					return
				}
				seals[i] = s
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	baseline := liveHeap()
	var peak uint64
	began := time.Now()
	var done, bad atomic.Int64
	// The signatures go in rounds on all cores; between rounds, with nothing in flight, the
	// live heap is measured after a full collection. Caches fill in the first round and keep
	// churning in every later one, so the largest of these is what the verifier holds.
	for from := 0; from < total; from += memoryRound {
		to := min(from+memoryRound, total)
		next.Store(int64(from))
		for range workers {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < to; i = int(next.Add(1)) - 1 {
					seal := seals[i%memorySeals]
					data := []byte(fmt.Sprintf("<Signature n=%q/>", strconv.Itoa(i)))
					sum := sm3.Sum(data)
					der, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: p.signer.Raw, DataHash: sum[:],
						PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: signedAt}, p.signerKey)
					if err != nil {
						t.Error(err)
						return
					}
					if r := v.VerifySignature(der, data); r.Indication != TotalPassed {
						if bad.Add(1) == 1 {
							t.Errorf("signature %d: %s/%s %+v", i, r.Indication, r.SubIndication, r.Checks)
						}
					}
					done.Add(1)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		peak = max(peak, liveHeap())
	}
	took := time.Since(began)

	budget := uint64(4 * memoryBudget)
	grown := int64(peak) - int64(baseline)
	t.Logf("%d signatures under %d seals in %s: largest live heap %.1f MiB above the %.1f MiB the test holds; cache budgets %.1f MiB, allowed %.1f MiB",
		done.Load(), memorySeals, took.Round(time.Millisecond), mib(grown), mib(int64(baseline)), mib(int64(budget)), mib(int64(budget+memoryOverhead)))
	if done.Load() != int64(total) {
		t.Fatalf("verified %d of %d signatures", done.Load(), total)
	}
	if grown > int64(budget+memoryOverhead) {
		t.Fatalf("the heap grew %.1f MiB above the test's own data, more than the cache budgets (%.1f MiB) plus %.1f MiB",
			mib(grown), mib(int64(budget)), mib(memoryOverhead))
	}
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
