// Package bench measures the appliance over HTTP: a load generator driving one operation
// (sign, sign-batch, verify, verify-batch, ofd-verify, ofd-sign) from many workers over
// keep-alive connections, latencies in an HDR histogram (corrected for coordinated omission
// when the arrival rate is fixed), errors counted by code, and, in the same run, the raw SM2
// primitives on every core, so that each figure is read as a ratio to what the machine can
// do at all. Sweep runs every operation at rising concurrency and writes a report and a
// plot.
//
// The package speaks to the server through a Doer (appliance.Client is one), so that it
// does not depend on the HTTP library.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Doer makes one call to the API: method on path (with its query), the header's names and
// values in pairs, the body (none when nil); the answer's body is appended to dst[:0]. An
// error means no answer was read. appliance.Client is a Doer.
type Doer interface {
	Do(method, path string, header []string, body, dst []byte) (status int, answer []byte, err error)
}

// The operations.
const (
	OpSign        = "sign"
	OpSignBatch   = "sign-batch"
	OpVerify      = "verify"
	OpVerifyBatch = "verify-batch"
	OpOFDVerify   = "ofd-verify"
	OpOFDSign     = "ofd-sign"
)

// Ops are the operations, in the order a sweep runs them.
var Ops = []string{OpSign, OpSignBatch, OpVerify, OpVerifyBatch, OpOFDVerify, OpOFDSign}

// Error codes of calls that got no API answer, beside the API's own codes.
const (
	// CodeTransport is a call whose connection failed.
	CodeTransport = "TRANSPORT"
	// CodeTimeout is a call that got no answer in time.
	CodeTimeout = "TIMEOUT"
	// CodeUnexpected is a success answer that is not what the operation expects (a
	// verification that did not pass, a batch with refused items, an answer that is not
	// an OFD document).
	CodeUnexpected = "UNEXPECTED_ANSWER"
)

// Config is how a run drives its workload.
type Config struct {
	// Concurrency is the number of workers, each with its own keep-alive connection.
	Concurrency int
	// Duration is the measured time, after Warmup (not measured).
	Duration, Warmup time.Duration
	// Rate, when positive, fixes the arrival rate (requests a second, all workers
	// together): request k is due at start + k/Rate, and its latency is counted from then,
	// so that a stalled server is charged for the requests it kept waiting (coordinated
	// omission). Requests due in the measured time but not sent by its end are counted
	// with the time they waited. Zero runs each worker as fast as the server answers.
	Rate float64
	// Progress, when not nil, gets a progress bar with the current rate (give it a
	// terminal only).
	Progress io.Writer
}

// Validate names what is wrong with c.
func (c Config) Validate() error {
	switch {
	case c.Concurrency < 1 || c.Concurrency > 100000:
		return fmt.Errorf("bench: concurrency %d: 1 to 100000", c.Concurrency)
	case c.Duration <= 0:
		return fmt.Errorf("bench: duration %v: it must be positive", c.Duration)
	case c.Warmup < 0:
		return fmt.Errorf("bench: warm-up %v: it must not be negative", c.Warmup)
	case c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("bench: rate %v: a positive number of requests a second, or 0", c.Rate)
	case c.Rate > 0 && c.Rate*(c.Warmup+c.Duration).Seconds() > 1e9:
		return fmt.Errorf("bench: rate %v for %v: more than a billion requests", c.Rate, c.Warmup+c.Duration)
	}
	return nil
}

// Result is what a run measured.
type Result struct {
	Op          string
	Concurrency int
	// Batch is the items of one request (1 for the single operations).
	Batch int
	// Items is what one request signs or verifies: Batch, or an OFD document's signatures.
	Items    int
	Duration time.Duration
	Rate     float64
	// Ops is the requests answered as expected in the measured time: those due in it at a
	// fixed rate, those that finished in it in a closed loop.
	Ops     int64
	Latency *Histogram
	// Errors counts the other requests by code (the API's, or one of the Code constants).
	Errors map[string]int64
	// TBSLen is the size of TBS_Sign of a signature the operation made or verifies.
	TBSLen int
	// Baseline, when measured, holds the raw primitives of the same run.
	Baseline *Baseline
}

// OpsPerSec is the requests answered a second.
func (r *Result) OpsPerSec() float64 { return float64(r.Ops) / r.Duration.Seconds() }

// ItemsPerSec is the signatures made or verified (ofd-sign: documents signed) a second.
func (r *Result) ItemsPerSec() float64 { return r.OpsPerSec() * float64(r.Items) }

// ErrorCount is the requests that failed.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Workload is an operation prepared against a server (Prepare makes them): each worker gets
// a call of its own, which makes one request and returns "" when it was answered as
// expected, else the error's code.
type Workload struct {
	Op string
	// Batch and Items are as in Result.
	Batch, Items int
	// TBSLen is as in Result.
	TBSLen int
	// Document is the OFD an ofd operation sends.
	Document []byte
	// Protected, for ofd-sign, are the package files the new signature protects (its
	// references), as the server signed the document once.
	Protected []string
	// Signed, for ofd-sign, is that document as the server signed it: the floor reads the
	// protected files from it (the seal file the signing adds, OFD.xml as it changes).
	Signed []byte
	// NewCall returns worker id's call; a call is used by one goroutine only.
	NewCall func(id int) func() string
}

// Run drives w as cfg says and measures it.
func Run(ctx context.Context, w *Workload, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if w == nil || w.NewCall == nil {
		return nil, errors.New("bench: no workload")
	}
	start := time.Now()
	from := start.Add(cfg.Warmup)
	end := from.Add(cfg.Duration)
	due := func(k int64) time.Time {
		return start.Add(time.Duration(float64(k) * float64(time.Second) / cfg.Rate))
	}
	var next atomic.Int64 // the next request due, with a fixed rate
	var done atomic.Int64 // requests answered as expected in the measured time, for the bar

	type tally struct {
		h    *Histogram
		errs map[string]int64
		ops  int64
	}
	tallies := make([]tally, cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range cfg.Concurrency {
		call := w.NewCall(i)
		t := &tallies[i]
		t.h, t.errs = NewHistogram(), map[string]int64{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				var intended time.Time
				if cfg.Rate > 0 {
					intended = due(next.Add(1) - 1)
					if !intended.Before(end) {
						return
					}
					if d := time.Until(intended); d > 0 {
						sleep(ctx, d)
					}
					if now := time.Now(); !now.Before(end) {
						// Due in time, never sent: it waited until the end.
						if !intended.Before(from) {
							t.h.Record(now.Sub(intended))
						}
						return
					}
				} else {
					intended = time.Now()
					if !intended.Before(end) {
						return
					}
				}
				code := call()
				finished := time.Now()
				took := finished.Sub(intended)
				// At a fixed rate a request counts when it was due in the measured time
				// (so that the requests a stall delayed are charged); in a closed loop
				// when it finished in it (so that requests longer than the warm-up count).
				counted := intended
				if cfg.Rate == 0 {
					counted = finished
					if !finished.Before(end) {
						return
					}
				}
				if counted.Before(from) {
					continue
				}
				if code != "" {
					t.errs[code]++
					continue
				}
				t.h.Record(took)
				t.ops++
				done.Add(1)
			}
		}()
	}
	stopBar := startBar(cfg, w.Op, start, from, end, &done)
	wg.Wait()
	stopBar()
	stopped := time.Now()

	r := &Result{Op: w.Op, Concurrency: cfg.Concurrency, Batch: max(w.Batch, 1), Items: max(w.Items, 1),
		Duration: cfg.Duration, Rate: cfg.Rate, Latency: NewHistogram(), Errors: map[string]int64{}, TBSLen: w.TBSLen}
	for _, t := range tallies {
		r.Latency.Merge(t.h)
		r.Ops += t.ops
		for c, n := range t.errs {
			r.Errors[c] += n
		}
	}
	if cfg.Rate > 0 && ctx.Err() == nil {
		// The requests due in the measured time that no worker reached: they waited until
		// the workers stopped.
		for k := next.Load(); ; k++ {
			t := due(k)
			if !t.Before(end) {
				break
			}
			if !t.Before(from) {
				r.Latency.Record(stopped.Sub(t))
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("bench: %s stopped early: %w", w.Op, err)
	}
	return r, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// startBar draws a progress bar of the run on cfg.Progress, with the rate of the last
// second, until the returned function is called.
func startBar(cfg Config, op string, start, from, end time.Time, done *atomic.Int64) (stop func()) {
	if cfg.Progress == nil {
		return func() {}
	}
	const tick = 100 * time.Millisecond
	total := end.Sub(start)
	bar := progressbar.NewOptions64(int64(total/tick),
		progressbar.OptionSetWriter(cfg.Progress),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetDescription(op+" warm-up"),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(tick),
	)
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(tick)
		defer t.Stop()
		type mark struct {
			at time.Time
			n  int64
		}
		var window []mark // the last second's counts
		for {
			select {
			case <-quit:
				_ = bar.Finish()
				return
			case now := <-t.C:
				_ = bar.Set64(int64(min(now.Sub(start), total) / tick))
				if now.Before(from) {
					continue
				}
				n := done.Load()
				window = append(window, mark{now, n})
				for len(window) > 1 && now.Sub(window[0].at) > time.Second {
					window = window[1:]
				}
				if len(window) > 1 {
					first := window[0]
					rate := float64(n-first.n) / now.Sub(first.at).Seconds()
					bar.Describe(fmt.Sprintf("%s c=%d %.0f req/s", op, cfg.Concurrency, rate))
				}
			}
		}
	}()
	return func() { close(quit); <-finished }
}
