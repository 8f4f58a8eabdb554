package verifier

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/eseal/eseal/errs"
)

// BatchItem is one signature of a batch: a DER SES_Signature and its original data, as
// VerifySignature takes them (nil data skips the data_hash check).
type BatchItem struct {
	Signature, Data []byte
}

// PoolOptions configure a Pool.
type PoolOptions struct {
	// Workers is how many signatures are verified at once; zero means GOMAXPROCS.
	Workers int
	// Queue is how many signatures may wait for a worker, over all batches; zero means
	// DefaultQueuePerWorker × Workers, and at least DefaultQueueMin. A batch that does not fit in what is free is refused
	// at once (errs.Busy); one larger than Queue can never fit and is refused as
	// errs.LimitExceeded.
	Queue int
}

// The queue's size when PoolOptions.Queue is zero: DefaultQueuePerWorker places for each
// worker, and at least DefaultQueueMin, so that a batch of ten thousand signatures fits.
// A place costs a few words; the bound is on the work waiting, not on memory.
const (
	DefaultQueuePerWorker = 256
	DefaultQueueMin       = 16384
)

// Pool verifies batches of signatures on several goroutines through one bounded queue.
// Admission is all or nothing: a batch is queued whole, or refused at once with an error of
// kind errs.Busy when the queue has not room for all of it, so that load beyond what the
// workers keep up with is pushed back to the caller rather than held in memory. It is safe
// for concurrent use; the Verifier it runs is shared by all its workers.
type Pool struct {
	v      *Verifier
	verify func(BatchItem) SignatureReport // v.VerifySignature; replaced in tests
	jobs   chan job
	mu     sync.Mutex // serialises admission and Close
	closed bool
	done   sync.WaitGroup // the workers

	workers                  int
	admitted, busy, verified atomic.Uint64
}

// job is one signature of a batch, with where its report goes.
type job struct {
	item  BatchItem
	index int
	out   *SignatureReport
	b     *batch
	v     *Verifier // the verifier of VerifyBatchUsing; nil: the pool's own
}

// batch is the state shared by the jobs of one VerifyBatch call.
type batch struct {
	ctx    context.Context
	left   atomic.Int64
	over   chan struct{}         // closed when every job is done or skipped
	broken atomic.Pointer[error] // the first verification that panicked
}

func (b *batch) finish() {
	if b.left.Add(-1) == 0 {
		close(b.over)
	}
}

// NewPool starts a Pool running v. Close stops it.
func NewPool(v *Verifier, opts PoolOptions) *Pool {
	w := opts.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	q := opts.Queue
	if q <= 0 {
		q = max(DefaultQueuePerWorker*w, DefaultQueueMin)
	}
	p := &Pool{v: v, verify: func(it BatchItem) SignatureReport { return v.VerifySignature(it.Signature, it.Data) },
		jobs: make(chan job, q), workers: w}
	for range w {
		p.done.Go(p.work)
	}
	return p
}

func (p *Pool) work() {
	for j := range p.jobs {
		p.run(j)
	}
}

// run verifies one signature. A job of a cancelled or broken batch is skipped: its caller has
// gone. A panic (a fault in the procedure, not in the input) fails the batch with an internal
// error instead of ending the process and every other caller's batch with it.
func (p *Pool) run(j job) {
	defer j.b.finish()
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("signature %d of the batch: verification failed unexpectedly: %v", j.index, r)
			j.b.broken.CompareAndSwap(nil, &err)
		}
	}()
	if j.b.ctx.Err() == nil && j.b.broken.Load() == nil {
		if j.v != nil {
			*j.out = j.v.VerifySignature(j.item.Signature, j.item.Data)
		} else {
			*j.out = p.verify(j.item)
		}
		p.verified.Add(1)
	}
}

// VerifyBatch verifies items on the pool's workers and returns their reports in the order of
// items. The batch is refused without any work done when the pool is closed (errs.Closed),
// when it is larger than the whole queue (errs.LimitExceeded), or when the queue has not room
// for all of it now (errs.Busy: retry later). When ctx ends first, VerifyBatch returns its
// error at once and the batch's signatures not yet started are not verified.
func (p *Pool) VerifyBatch(ctx context.Context, items []BatchItem) ([]SignatureReport, error) {
	return p.verifyBatch(ctx, nil, items)
}

// VerifyBatchUsing is VerifyBatch with the signatures verified by v instead of the pool's own
// Verifier, such as one that Using gives for another trust set, on the same workers and
// through the same queue. A nil v is the pool's own.
func (p *Pool) VerifyBatchUsing(ctx context.Context, v *Verifier, items []BatchItem) ([]SignatureReport, error) {
	return p.verifyBatch(ctx, v, items)
}

func (p *Pool) verifyBatch(ctx context.Context, v *Verifier, items []BatchItem) ([]SignatureReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, &BatchError{Op: "verify batch", N: len(items), Err: err}
	}
	reports := make([]SignatureReport, len(items))
	if len(items) == 0 {
		return reports, nil
	}
	b := &batch{ctx: ctx, over: make(chan struct{})}
	b.left.Store(int64(len(items)))
	if err := p.admit(b, v, items, reports); err != nil {
		return nil, err
	}
	select {
	case <-b.over:
	case <-ctx.Done():
		select {
		case <-b.over: // finished as the context ended: the reports stand
		default:
			return nil, &BatchError{Op: "verify batch", N: len(items), Err: ctx.Err()}
		}
	}
	if err := b.broken.Load(); err != nil {
		return nil, &BatchError{Op: "verify batch", N: len(items), Err: *err}
	}
	return reports, nil
}

// admit queues every item of b, or none.
func (p *Pool) admit(b *batch, v *Verifier, items []BatchItem, reports []SignatureReport) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch free := cap(p.jobs) - len(p.jobs); {
	case p.closed:
		return &BatchError{Kind: errs.Closed, Op: "verify batch", N: len(items)}
	case len(items) > cap(p.jobs):
		return &BatchError{Kind: errs.LimitExceeded, Op: "verify batch", N: len(items), Queue: cap(p.jobs)}
	case len(items) > free:
		p.busy.Add(1)
		return &BatchError{Kind: errs.Busy, Op: "verify batch", N: len(items), Queue: cap(p.jobs), Free: free}
	}
	p.admitted.Add(uint64(len(items)))
	// Only admitters add to the queue, under p.mu, and workers only take from it: the room
	// seen above stays, so none of these sends blocks.
	for i := range items {
		p.jobs <- job{item: items[i], index: i, out: &reports[i], b: b, v: v}
	}
	return nil
}

// Close refuses new batches, lets the workers finish every signature already queued, and
// returns when they have. Calling it again does nothing.
func (p *Pool) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.jobs)
	}
	p.mu.Unlock()
	p.done.Wait()
}

// BatchError is why a batch was refused or not finished. errors.Is(err, errs.Busy) tells a
// full queue; a batch whose context ended has no kind and matches the context's error; one
// whose verification failed unexpectedly has no kind either (errs.KindOf gives INTERNAL).
type BatchError struct {
	Kind  errs.Kind
	Op    string
	N     int   // signatures in the batch
	Queue int   // the queue's size, when it matters
	Free  int   // room in the queue when the batch came, for errs.Busy
	Err   error // the cause, such as context.Canceled
}

func (e *BatchError) Error() string {
	s := e.Op + ": "
	switch e.Kind {
	case errs.Busy:
		s += fmt.Sprintf("busy: %d signatures do not fit in the %d free places of the queue of %d; retry later", e.N, e.Free, e.Queue)
	case errs.LimitExceeded:
		s += fmt.Sprintf("a batch of %d signatures is larger than the queue of %d: split it", e.N, e.Queue)
	case 0:
		s += fmt.Sprintf("a batch of %d signatures", e.N)
	default:
		s += fmt.Sprintf("%s: a batch of %d signatures", e.Kind.Error(), e.N)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives the kind, then the cause.
func (e *BatchError) Unwrap() []error { return errs.Chain(e.Kind, e.Err) }

// PoolStats describe a Pool: its workers and queue, the signatures waiting now, and since it
// began how many signatures were admitted and verified and how many batches were refused as
// busy.
type PoolStats struct {
	Workers, Queue, Queued int
	Admitted, Verified     uint64
	BusyRefusals           uint64
}

// Stats reports on the pool.
func (p *Pool) Stats() PoolStats {
	return PoolStats{Workers: p.workers, Queue: cap(p.jobs), Queued: len(p.jobs),
		Admitted: p.admitted.Load(), Verified: p.verified.Load(), BusyRefusals: p.busy.Load()}
}
