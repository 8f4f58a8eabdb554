//go:build linux

package audit

import (
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/internal/benchratio"
)

// BenchmarkFileGroupCommitVsSM2Sign measures what no log on this disk can pass at one record
// per call: the group commit of BenchmarkAuditAppendVsSM2Sign/per-call=1 with nothing but the
// disk in the way. 64 goroutines each make a use record as the audit benchmark does, encode
// and hash it, hand it to one writer and wait until it is durable. The writer takes what is
// queued, waits (at most 300µs) until as many records as its last sync held have come back,
// writes them with one write over a file already filled (as a recycled write-ahead log is)
// and makes them durable with one fdatasync. There is no chain, no store and no index.
// Metrics: file/sm2sign-median, records/sync and sync-us (the mean fdatasync).
//
// Each round of the closed loop costs one sync plus the time the 64 goroutines take to come
// back with their next records, so the rate is at most 64 records per (sync + that time),
// whatever the log does. Where this ratio is below 2, the audit log cannot reach 2 at
// per-call=1 on this disk; bulk signing (per-call=16) shares each sync among more records.
func BenchmarkFileGroupCommitVsSM2Sign(b *testing.B) {
	const goroutines = 64
	signing := sm2SignSide(b, goroutines)
	const size = 64 << 20
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "journal"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(chunk)) {
		if _, err := f.WriteAt(chunk, off); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}

	type entry struct {
		rec  []byte
		done chan error
	}
	queue := make(chan *entry, 4*goroutines)
	var syncs, records, syncNanos atomic.Int64
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var off int64
		var out []byte
		expect := 1
		for e := range queue {
			batch := []*entry{e}
			deadline := time.Now().Add(300 * time.Microsecond)
			for len(batch) < expect && time.Now().Before(deadline) {
				select {
				case e := <-queue:
					batch = append(batch, e)
				default:
					runtime.Gosched()
				}
			}
		drain:
			for {
				select {
				case e := <-queue:
					batch = append(batch, e)
				default:
					break drain
				}
			}
			expect = len(batch)
			out = out[:0]
			for _, e := range batch {
				out = append(out, e.rec...)
			}
			if off+int64(len(out)) > size {
				off = 0
			}
			_, err := f.WriteAt(out, off)
			off += int64(len(out))
			t := time.Now()
			if err == nil {
				err = syscall.Fdatasync(int(f.Fd()))
			}
			syncNanos.Add(int64(time.Since(t)))
			syncs.Add(1)
			records.Add(int64(len(batch)))
			for _, e := range batch {
				e.done <- err
			}
		}
	}()
	var next atomic.Int64
	benchratio.Interleave(b, 16*goroutines,
		signing,
		benchratio.Side{Name: "file", Run: func(n int) error {
			return runN(goroutines, n, 1, func(int) error {
				s := next.Add(1)
				r := useRecord(int(s))
				r.Seq = Seq(s)
				enc := r.Encode()
				e := &entry{rec: storedRecord(enc, sm3.Sum(enc)), done: make(chan error, 1)}
				queue <- e
				return <-e.done
			})
		}})
	close(queue)
	<-stopped
	n := max(syncs.Load(), 1)
	b.ReportMetric(float64(records.Load())/float64(n), "records/sync")
	b.ReportMetric(float64(syncNanos.Load())/float64(n)/1e3, "sync-us")
}
