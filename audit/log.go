package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/store"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit: log closed")

// ErrBroken is returned by Open when the end of the chain, which the log must extend, is not
// intact; Verify names what is wrong.
var ErrBroken = errors.New("audit: chain broken")

// Options configure Open.
type Options struct {
	// HeadSigner signs the chain heads: the platform's SM2 key (a signer.KeyStore signer).
	// Required.
	HeadSigner crypto.Signer
	// HeadKeys are further SM2 public keys whose heads are trusted: the platform's earlier
	// head keys after a key change. HeadSigner's own key is always trusted.
	HeadKeys []crypto.PublicKey
	// HeadEvery is the number of records after which a head is signed; 0 means 1024.
	HeadEvery int
	// HeadInterval is the longest time a record waits for a head; 0 means one minute.
	HeadInterval time.Duration
	// QueueSize bounds the appends waiting for the writer; 0 means 8192. Append blocks
	// (until its context ends) while the queue is full.
	QueueSize int
	// MaxBatch bounds the records written in one synced batch; 0 means 4096.
	MaxBatch int
	// MaxLinger bounds how long the writer, once a batch is synced, waits for the appends
	// that batch acknowledged to come back before it writes the next batch; 0 means 1ms,
	// negative means never.
	MaxLinger time.Duration
	// ProofCacheSegments is the number of verified head segments ProveExistence remembers;
	// 0 means 64.
	ProofCacheSegments int
	// Clock gives record and head times; nil means time.Now.
	Clock func() time.Time
	// Logger receives the log's warnings; nil means slog.Default().
	Logger *slog.Logger
}

// Appender is what the packages that act (registry, pki, signer) need of the log: a
// durable append. *Log implements it; tests can hand in their own.
type Appender interface {
	Append(ctx context.Context, rec Record) (Seq, error)
}

var _ Appender = (*Log)(nil)

// Stats counts the log's work since Open.
type Stats struct {
	// Records and Batches are the records written and the synced batches that held them:
	// Records/Batches is the mean group-commit size.
	Records, Batches uint64
	// Heads is the number of heads signed and written.
	Heads uint64
}

// Write is a write into the parent store that AppendWith commits in the same batch as its
// records, so that a state change and its audit record are durable together or not at all.
type Write struct {
	Key, Value []byte
	Delete     bool
}

// Log is the append-only audit log. Its methods are safe for concurrent use.
type Log struct {
	kv    store.KV
	v     view
	opts  Options
	lg    *slog.Logger
	keys  map[KeyID]*ecdsa.PublicKey // trusted head keys
	signK KeyID

	// qmu guards closed and the queue's closing: Append sends holding it for reading. The
	// writer never takes it, so that a full queue always drains.
	qmu    sync.RWMutex
	closed bool

	// mu guards the durable state below: the end of the chain as synced, which the syncer
	// advances after each batch's sync, and the failure.
	mu     sync.RWMutex
	tail   Seq
	hash   Hash
	heads  []Head      // every stored head, in sequence order
	failed error       // set when a write failed: the log takes no more records
	broken atomic.Bool // failed is set

	// The writer's own state: the end of the chain as applied to the store, ahead of the
	// durable state while batches sync. Only the writer goroutine touches it.
	w struct {
		tail     Seq
		hash     Hash
		time     time.Time // time of the tail record
		headSeq  Seq       // the last head's record, 0 when none
		headTime time.Time // the last head's time, the tail record's at Open when none
		val, key []byte    // scratch for values and keys (Batch.Set copies them)
	}
	// Keys in the parent store, built once: the record and signature index prefixes, the
	// tail marker.
	recPrefix, sigPrefix, tailKey []byte

	queue  chan *pending
	landed atomic.Uint64 // batches synced (or failed), counted before their appends return
	done   chan struct{}
	stats  struct{ records, batches, heads atomic.Uint64 }
	err    error // the writer's last error at Close

	cache proofCache
}

type pending struct {
	recs   []pendingRecord
	writes []Write
	state  atomic.Int32 // 0 queued, 1 taken by the writer, 2 given up by the caller
	ack    chan ackMsg
	born   uint64 // batches landed when it was queued
	first  Seq    // its first record's number, set by the writer
}

// pendingRecord is a record as its caller gave it, encoded by the caller: the writer only
// puts the sequence number, time and link around fields and hashes.
type pendingRecord struct {
	fields  []byte // Record.appendFields
	sig     Hash   // SignatureSM3, for the signature index
	indexed bool
}

type ackMsg struct {
	first Seq
	err   error
}

// Open opens the audit log kept in kv (under the keyspace "audit") and starts its writer.
// It checks the end of the chain it will extend: the last signed head verifies, every record
// after it links to the one before, and the tail marker names the last record. It returns
// ErrBroken (with what is wrong) otherwise; Verify then names the first bad record. When
// records after the last signed head are found (after a crash, or written by whoever had the
// data directory), it appends an ActionUnsignedFound record naming them before it returns.
func Open(ctx context.Context, kv store.KV, opts Options) (*Log, error) {
	if opts.HeadSigner == nil {
		return nil, errors.New("audit: open: no head signer")
	}
	if opts.HeadEvery <= 0 {
		opts.HeadEvery = 1024
	}
	if opts.HeadInterval <= 0 {
		opts.HeadInterval = time.Minute
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 8192
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4096
	}
	if opts.MaxLinger == 0 {
		opts.MaxLinger = time.Millisecond
	}
	if opts.ProofCacheSegments <= 0 {
		opts.ProofCacheSegments = 64
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.Default()
	}
	l := &Log{kv: kv, v: newView(kv), opts: opts, lg: lg.With("component", "audit"), keys: map[KeyID]*ecdsa.PublicKey{}}
	l.cache.max = opts.ProofCacheSegments
	l.recPrefix, l.sigPrefix, l.tailKey = l.v.sp.Key(recPrefix), l.v.sp.Key(sigPrefix), l.v.sp.Key(tailKey)

	id, der, err := keyID(opts.HeadSigner.Public())
	if err != nil {
		return nil, fmt.Errorf("audit: open: head signer: %w", err)
	}
	l.signK = id
	l.keys[id], _ = sm2Public(opts.HeadSigner.Public())
	for i, k := range opts.HeadKeys {
		kid, _, err := keyID(k)
		if err != nil {
			return nil, fmt.Errorf("audit: open: head key %d: %w", i, err)
		}
		l.keys[kid], _ = sm2Public(k)
	}
	if old, err := l.v.sp.Get(ctx, keyKey(id)); errors.Is(err, store.ErrNotFound) {
		if err := l.v.sp.Set(ctx, keyKey(id), der); err != nil {
			return nil, fmt.Errorf("audit: open: store head key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	} else if !bytes.Equal(old, der) {
		return nil, fmt.Errorf("%w: the stored head key %x differs from the head signer's", ErrBroken, id[:8])
	}
	if err := l.load(ctx); err != nil {
		return nil, err
	}
	l.queue = make(chan *pending, opts.QueueSize)
	l.done = make(chan struct{})
	go l.run()
	if err := l.noteUnsigned(ctx); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

// noteUnsigned appends an ActionUnsignedFound record when the chain's end, after the last
// signed head, was found unsigned (after a crash, or written by someone else): the next
// head signs those records as this log's, so the record naming them must be chained
// before it.
func (l *Log) noteUnsigned(ctx context.Context) error {
	from := l.w.headSeq + 1
	if l.tail < from {
		return nil
	}
	l.lg.Warn("audit records after the last signed head were found at open; their proofs of existence are the time they were found",
		"from", uint64(from), "to", uint64(l.tail))
	rec := Record{Actor: "audit", Action: ActionUnsignedFound, Outcome: OutcomeOK,
		Details: map[string]string{"from": strconv.FormatUint(uint64(from), 10), "to": strconv.FormatUint(uint64(l.tail), 10)}}
	if _, err := l.enqueue(ctx, []Record{rec}, nil); err != nil {
		return fmt.Errorf("audit: open: record the unsigned records %d to %d: %w", from, l.tail, err)
	}
	return nil
}

// load reads the heads and the tail and checks the chain from the last head to the tail.
func (l *Log) load(ctx context.Context) error {
	heads, bad, err := l.v.heads(ctx)
	if err != nil {
		return fmt.Errorf("audit: open: %w", err)
	}
	tail, tailHash, haveTail, err := l.v.tail(ctx)
	if errors.Is(err, errBadTail) {
		return fmt.Errorf("%w: %v", ErrBroken, err)
	}
	if err != nil {
		return fmt.Errorf("audit: open: %w", err)
	}
	if !haveTail {
		found := false
		if err := l.v.sp.Scan(ctx, recPrefix, func(k, v []byte) error { found = true; return store.ErrStop }); err != nil {
			return fmt.Errorf("audit: open: %w", err)
		}
		if found || len(heads) > 0 || len(bad) > 0 {
			return fmt.Errorf("%w: records or heads are stored but the tail marker is missing", ErrBroken)
		}
		l.w.time = l.opts.Clock()
		l.w.headTime = l.w.time
		return nil
	}
	from := Seq(1)
	if n := len(heads); n > 0 {
		last := heads[n-1]
		for s := range bad {
			if s > last.Seq {
				return fmt.Errorf("%w: head %d: %s", ErrBroken, s, bad[s])
			}
		}
		if err := l.checkHead(&last); err != nil {
			return fmt.Errorf("%w: %v", ErrBroken, err)
		}
		if last.Seq > tail {
			return fmt.Errorf("%w: head %d is beyond the last record %d: records were removed", ErrBroken, last.Seq, tail)
		}
		from = last.Seq
	}
	var prev Hash
	var r Record
	for s := from; s <= tail; s++ {
		if s%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r, err = l.v.record(ctx, s)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: record %d is missing", ErrBroken, s)
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBroken, err)
		}
		if s > from && r.Prev != prev {
			return fmt.Errorf("%w: record %d does not link to record %d", ErrBroken, s, s-1)
		}
		if len(heads) > 0 && s == from && r.Hash != heads[len(heads)-1].Hash {
			return fmt.Errorf("%w: record %d does not have the hash its signed head states", ErrBroken, s)
		}
		prev = r.Hash
	}
	if prev != tailHash {
		return fmt.Errorf("%w: the tail marker does not match record %d", ErrBroken, tail)
	}
	if _, err := l.v.sp.Get(ctx, recKey(tail+1)); err == nil {
		return fmt.Errorf("%w: record %d exists after the tail marker's %d", ErrBroken, tail+1, tail)
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("audit: open: %w", err)
	}
	l.tail, l.hash, l.heads = tail, tailHash, heads
	l.w.tail, l.w.hash, l.w.time, l.w.headTime = tail, tailHash, r.Time, r.Time
	if n := len(heads); n > 0 {
		l.w.headSeq, l.w.headTime = heads[n-1].Seq, heads[n-1].Time
	}
	return nil
}

// checkHead verifies a head's signature with a trusted key.
func (l *Log) checkHead(h *Head) error {
	pub, ok := l.keys[h.Key]
	if !ok {
		return fmt.Errorf("head %d is signed by key %x, which is not a trusted head key", h.Seq, h.Key[:8])
	}
	if !verifyHead(h, pub) {
		return fmt.Errorf("head %d: the signature does not verify", h.Seq)
	}
	return nil
}

// Append appends rec and returns its sequence number once it is durable (synced). Appends
// made at the same time share one synced batch. rec's Seq, Time, Prev and Hash are set by
// the log; the other fields must pass Validate.
//
// The context bounds the wait for a place in the queue and for the writer to seal the
// batch that holds the record: when it ends before, the record is not written and Append
// returns the context's error. Once the batch is sealed, Append waits for the outcome of
// its write.
func (l *Log) Append(ctx context.Context, rec Record) (Seq, error) {
	return l.AppendWith(ctx, rec, nil)
}

// AppendAll appends recs in one batch, in order, with consecutive sequence numbers, and
// returns the first one. Bulk signing uses it for the records of one batch of signatures.
func (l *Log) AppendAll(ctx context.Context, recs []Record) (Seq, error) {
	if len(recs) == 0 {
		return 0, invalid("no records")
	}
	for i := range recs {
		if recs[i].Action == ActionUnsignedFound {
			return 0, invalid("record %d: action %q is the log's own", i, ActionUnsignedFound)
		}
	}
	return l.enqueue(ctx, recs, nil)
}

// AppendWith appends rec as Append does and commits writes, into the store the log was
// opened on, in the same atomic batch. writes may not touch the log's own keyspace.
func (l *Log) AppendWith(ctx context.Context, rec Record, writes []Write) (Seq, error) {
	if rec.Action == ActionUnsignedFound {
		return 0, invalid("action %q is the log's own", ActionUnsignedFound)
	}
	return l.enqueue(ctx, []Record{rec}, writes)
}

func (l *Log) enqueue(ctx context.Context, recs []Record, writes []Write) (Seq, error) {
	if len(recs) > l.opts.MaxBatch {
		return 0, invalid("%d records in one append, more than %d", len(recs), l.opts.MaxBatch)
	}
	// The records are encoded here, in the callers' goroutines, into one buffer: the writer,
	// which every record passes through, only chains them.
	own := make([]pendingRecord, len(recs))
	size := 0
	for i := range recs {
		if err := recs[i].Validate(); err != nil {
			return 0, err
		}
		size += recs[i].fieldsLen()
	}
	buf := make([]byte, 0, size)
	for i := range recs {
		r := &recs[i]
		n := len(buf)
		buf = r.appendFields(buf)
		own[i].fields = buf[n:len(buf):len(buf)]
		if own[i].indexed = r.indexed(); own[i].indexed {
			own[i].sig = Hash(r.SignatureSM3)
		}
	}
	prefix := l.v.sp.Key(nil)
	ws := make([]Write, len(writes))
	for i, w := range writes {
		if len(w.Key) == 0 || bytes.HasPrefix(w.Key, prefix) {
			return 0, invalid("write %d: empty key or a key inside the audit keyspace", i)
		}
		ws[i] = Write{Key: bytes.Clone(w.Key), Value: bytes.Clone(w.Value), Delete: w.Delete}
	}
	p := &pending{recs: own, writes: ws, ack: make(chan ackMsg, 1), born: l.landed.Load()}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.RLock()
	failed := l.failed
	l.mu.RUnlock()
	if failed != nil {
		return 0, failed
	}
	l.qmu.RLock()
	if l.closed {
		l.qmu.RUnlock()
		return 0, ErrClosed
	}
	select {
	case l.queue <- p:
		l.qmu.RUnlock()
	case <-ctx.Done():
		l.qmu.RUnlock()
		return 0, ctx.Err()
	}
	select {
	case a := <-p.ack:
		return a.first, a.err
	case <-ctx.Done():
		if p.state.CompareAndSwap(0, 2) {
			return 0, ctx.Err()
		}
		a := <-p.ack
		return a.first, a.err
	}
}

// Close stops taking records, writes those already queued, signs a head over the last
// record when it has none, and stops the writer. It does not close the store.
func (l *Log) Close() error {
	l.qmu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.qmu.Unlock()
	<-l.done
	return l.err
}

// Tail returns the last record's sequence number and hash (0 and zero when the log is empty).
func (l *Log) Tail() (Seq, Hash) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.tail, l.hash
}

// Heads returns the signed heads, in sequence order.
func (l *Log) Heads() []Head {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return append([]Head(nil), l.heads...)
}

// Record returns record s, or an error wrapping store.ErrNotFound when there is none. A
// record whose stored bytes no longer match their hash is an error.
func (l *Log) Record(ctx context.Context, s Seq) (Record, error) {
	return l.v.record(ctx, s)
}

// Records calls fn with each record from from to the tail as it was when Records began, in
// order, until fn returns an error (ErrStop ends it with nil). A record that does not read
// back as written ends it with an error wrapping ErrTampered. It serves listings such as a
// page of the log from a sequence number.
func (l *Log) Records(ctx context.Context, from Seq, fn func(Record) error) error {
	tail, _ := l.Tail()
	for s := max(from, 1); s <= tail; s++ {
		r, err := l.v.record(ctx, s)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: record %d is missing", ErrTampered, s)
		}
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

// maxFlights bounds the sealed batches whose sync is not yet waited for.
const maxFlights = 4

// pipelineMin is the size (in records) from which the writer seals a batch while the one
// before is still syncing: applying that many records takes about as long as a sync, so
// the overlap pays more than a shared sync would.
const pipelineMin = 128

// flight is a sealed batch on its way to the disk: the committer applies it to the store
// without waiting for its sync, then the syncer waits for the sync, makes its end of the
// chain the durable one and acknowledges its appends.
type flight struct {
	b       store.Batch
	wait    func() error // waits for the sync; nil when the batch was not applied
	err     error        // why the batch was not applied
	live    []*pending
	tail    Seq
	hash    Hash
	head    *Head
	records int
	applied time.Time
}

// landing tells the writer that a flight's outcome is known: how many appends it
// acknowledged, its number among the landed flights, and how long it took.
type landing struct {
	appends int
	n       uint64
	took    time.Duration
}

// building is the batch the writer fills, record by record as appends arrive, while the
// batches before it are applied and synced.
type building struct {
	b    store.Batch
	live []*pending
	n    int       // records in it
	now  time.Time // its records' time
	// The writer's chain end before the batch, to build it again without the appends
	// whose callers gave up before it was sealed.
	tail Seq
	hash Hash
	time time.Time
	sigs []sigEntry
	err  error // the first write into b that failed
}

// sigEntry is a signature index entry, written after the batch's records so that Pebble
// inserts the records, whose keys ascend, one after the other.
type sigEntry struct {
	sm3 Hash
	seq Seq
}

func (c *building) set(k, v []byte) {
	if c.err == nil {
		c.err = c.b.Set(k, v)
	}
}

// run is the writer. It chains each append it takes into the batch it is building. It
// seals that batch (signature index, callers' writes, head when due, tail marker) and hands
// it to the committer when the batches before have synced and the appends they
// acknowledged are back (or a short linger is over), or, for a large batch, as soon as the
// committer is free. The committer applies the batches in order without waiting for their
// syncs, and the syncer waits for the syncs in order before it acknowledges.
func (l *Log) run() {
	defer close(l.done)
	sealed := make(chan *flight, maxFlights)
	applied := make(chan struct{}, maxFlights)
	toSync := make(chan *flight, maxFlights)
	landings := make(chan landing, maxFlights)
	synced := make(chan struct{})
	go l.commitLoop(sealed, toSync, applied)
	go l.syncLoop(toSync, landings, synced)
	tick := time.NewTicker(min(l.opts.HeadInterval/4, time.Second))
	defer tick.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var (
		cur         *building
		carry       *pending // taken, but too large for cur
		inflight    int      // sealed, not landed
		applying    int      // sealed, not applied
		open        = true
		expect      = 1 // appends expected in the next batch: those the last ones acknowledged
		released    int
		lingerUntil time.Time
		armed       bool
	)
	send := func(f *flight) {
		if f != nil {
			sealed <- f
			inflight++
			applying++
		}
	}
	for {
		if carry != nil && (cur == nil || cur.n+len(carry.recs) <= l.opts.MaxBatch) {
			cur = l.take(cur, carry)
			carry = nil
		}
		if cur != nil && inflight < maxFlights {
			ready := carry != nil || cur.n >= l.opts.MaxBatch || applying == 0 && cur.n >= pipelineMin
			if !ready && inflight == 0 {
				ready = !open || l.opts.MaxLinger < 0 || len(cur.live) >= expect || !time.Now().Before(lingerUntil)
				if !ready && !armed {
					timer.Reset(time.Until(lingerUntil))
					armed = true
				}
			}
			if ready {
				send(l.seal(cur, false))
				cur = nil
				continue
			}
		}
		if !open && cur == nil && carry == nil {
			// Closing: sign a head over the last record when it has none.
			for inflight >= maxFlights {
				select {
				case <-applied:
					applying--
				case <-landings:
					inflight--
				}
			}
			if !l.isFailed() && l.w.tail > l.w.headSeq {
				send(l.seal(l.newBuilding(), true))
			}
			close(sealed)
			for range applied {
			}
			for range landings {
			}
			<-synced
			l.mu.RLock()
			l.err = l.failed
			l.mu.RUnlock()
			return
		}
		var queue chan *pending
		if open && carry == nil && (cur == nil || cur.n < l.opts.MaxBatch) {
			queue = l.queue
		}
		var timerC <-chan time.Time
		if armed {
			timerC = timer.C
		}
		select {
		case p, ok := <-queue:
			if !ok {
				open = false
				continue
			}
			if p.state.Load() != 0 {
				continue // its caller gave up
			}
			if cur != nil && cur.n+len(p.recs) > l.opts.MaxBatch {
				carry = p
				continue
			}
			cur = l.take(cur, p)
		case <-applied:
			applying--
		case ld := <-landings:
			inflight--
			released += ld.appends
			if inflight == 0 {
				// The appends just acknowledged are likely to append again: the next
				// batch waits a little for them, so that they share its sync.
				stay := 0
				if cur != nil {
					for _, p := range cur.live {
						if p.born < ld.n {
							stay++
						}
					}
				}
				expect, released = max(1, released+stay), 0
				lingerUntil = time.Now().Add(min(l.opts.MaxLinger, ld.took/2))
			}
		case <-timerC:
			armed = false
		case <-tick.C:
			if cur == nil && inflight < maxFlights && !l.isFailed() && l.w.tail > l.w.headSeq &&
				l.opts.Clock().Sub(l.w.headTime) >= l.opts.HeadInterval {
				send(l.seal(l.newBuilding(), true))
			}
		}
	}
}

// commitLoop is the committer: it applies each sealed batch to the store, in order,
// without waiting for its sync, and passes it on to the syncer. After a failed write it
// applies nothing more: the chain's end is then unknown.
func (l *Log) commitLoop(sealed <-chan *flight, toSync chan<- *flight, applied chan<- struct{}) {
	defer close(toSync)
	defer close(applied)
	for f := range sealed {
		if f.err == nil && l.isFailed() {
			f.err = l.failure()
		}
		if f.err == nil {
			f.applied = time.Now()
			var err error
			if f.wait, err = store.CommitNoSyncWait(context.Background(), f.b); err != nil {
				f.err = l.fail(err)
			}
		}
		_ = f.b.Close()
		f.b = nil
		applied <- struct{}{}
		toSync <- f
	}
}

// newBuilding starts a batch whose records are stamped now (never before the tail record).
func (l *Log) newBuilding() *building {
	return &building{b: l.kv.NewBatch(), now: later(l.opts.Clock(), l.w.time), tail: l.w.tail, hash: l.w.hash, time: l.w.time}
}

// take chains p's records after the writer's tail and writes them into c (a new batch when
// c is nil). p's caller may still give up until the batch is sealed. After a failed write
// it acknowledges p with the failure instead.
func (l *Log) take(c *building, p *pending) *building {
	if l.isFailed() {
		p.ack <- ackMsg{err: l.failure()}
		return c
	}
	if c == nil {
		c = l.newBuilding()
	}
	l.chain(c, p)
	return c
}

// chain chains p's records after the writer's tail and writes them into c.
func (l *Log) chain(c *building, p *pending) {
	p.first = l.w.tail + 1
	for i := range p.recs {
		r := &p.recs[i]
		l.w.tail++
		// The encoding as Record.appendEncoding writes it.
		enc := append(appendHeader(l.w.val[:0], l.w.tail, c.now), r.fields...)
		enc = append(enc, l.w.hash[:]...)
		h := Hash(sm3.Sum(enc))
		l.w.val = append(enc, h[:]...)
		l.w.key = binary.BigEndian.AppendUint64(append(l.w.key[:0], l.recPrefix...), uint64(l.w.tail))
		c.set(l.w.key, l.w.val)
		if r.indexed {
			c.sigs = append(c.sigs, sigEntry{sm3: r.sig, seq: l.w.tail})
		}
		l.w.hash = h
	}
	l.w.time = c.now
	c.n += len(p.recs)
	c.live = append(c.live, p)
}

// settle marks the appends of c taken, so that their callers wait for the outcome. When
// some callers gave up before, it builds c again without their records.
func (l *Log) settle(c *building) {
	all := true
	for _, p := range c.live {
		if !p.state.CompareAndSwap(0, 1) {
			all = false
		}
	}
	if all {
		return
	}
	_ = c.b.Close()
	live := c.live
	l.w.tail, l.w.hash, l.w.time = c.tail, c.hash, c.time
	*c = building{b: l.kv.NewBatch(), now: c.now, tail: c.tail, hash: c.hash, time: c.time}
	for _, p := range live {
		if p.state.Load() == 1 {
			l.chain(c, p)
		}
	}
}

// seal finishes c: its signature index entries, the callers' writes, a head when one is due
// or forced, the tail marker. It returns the flight for the committer; nil when there is
// nothing to write.
func (l *Log) seal(c *building, forceHead bool) *flight {
	l.settle(c)
	f := &flight{b: c.b, live: c.live, records: c.n}
	if l.isFailed() {
		f.err = l.failure()
		return f
	}
	for _, e := range c.sigs {
		l.w.key = append(append(l.w.key[:0], l.sigPrefix...), e.sm3[:]...)
		l.w.val = binary.BigEndian.AppendUint64(l.w.val[:0], uint64(e.seq))
		c.set(l.w.key, l.w.val)
	}
	for _, p := range c.live {
		for _, w := range p.writes {
			if c.err != nil {
				break
			}
			if w.Delete {
				c.err = c.b.Delete(w.Key)
			} else {
				c.err = c.b.Set(w.Key, w.Value)
			}
		}
	}
	now := c.now
	due := c.n > 0 && (int(l.w.tail-l.w.headSeq) >= l.opts.HeadEvery || now.Sub(l.w.headTime) >= l.opts.HeadInterval)
	if forceHead || due {
		if f.head = l.makeHead(l.w.tail, l.w.hash, now); f.head != nil {
			c.set(l.v.sp.Key(headKey(l.w.tail)), f.head.encode())
			l.w.headSeq, l.w.headTime = f.head.Seq, f.head.Time
		}
	}
	if c.n == 0 && f.head == nil {
		_ = c.b.Close()
		return nil
	}
	if c.n > 0 {
		c.set(l.tailKey, tailValue(l.w.tail, l.w.hash))
	}
	f.tail, f.hash = l.w.tail, l.w.hash
	if c.err != nil {
		// The chain's end is now unknown: no later batch may be applied after this one.
		f.err = l.fail(c.err)
	}
	return f
}

// syncLoop is the syncer: it waits for each flight's sync in order, then makes the flight's
// end of the chain the durable one and acknowledges its appends. Once a batch failed, no
// later one is acknowledged, whatever its own sync did.
func (l *Log) syncLoop(flights <-chan *flight, landings chan<- landing, synced chan<- struct{}) {
	defer close(synced)
	defer close(landings)
	var broken error
	for f := range flights {
		err := f.err
		if f.wait != nil {
			if werr := f.wait(); err == nil {
				err = werr
			}
		}
		if broken == nil && err != nil {
			broken = l.fail(err)
		}
		if broken == nil {
			l.mu.Lock()
			if f.records > 0 {
				l.tail, l.hash = f.tail, f.hash
			}
			if f.head != nil {
				l.heads = append(l.heads, *f.head)
			}
			l.mu.Unlock()
			if f.records > 0 {
				l.stats.records.Add(uint64(f.records))
				l.stats.batches.Add(1)
			}
			if f.head != nil {
				l.stats.heads.Add(1)
			}
		}
		n := l.landed.Add(1)
		landings <- landing{appends: len(f.live), n: n, took: time.Since(f.applied)}
		for _, p := range f.live {
			if broken != nil {
				p.ack <- ackMsg{err: broken}
			} else {
				p.ack <- ackMsg{first: p.first}
			}
		}
	}
}

// makeHead signs a head over s, h; nil when signing failed (logged; the next batch retries).
func (l *Log) makeHead(s Seq, h Hash, now time.Time) *Head {
	hd := &Head{Seq: s, Hash: h, Time: now, Key: l.signK}
	if err := signHead(l.opts.HeadSigner, hd); err != nil {
		l.lg.Warn("audit head not signed; retried with the next batch", "seq", uint64(s), "err", err)
		return nil
	}
	return hd
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	return Stats{Records: l.stats.records.Load(), Batches: l.stats.batches.Load(), Heads: l.stats.heads.Load()}
}

// fail puts the log in its failed state, once, and returns the failure appends report.
func (l *Log) fail(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed == nil {
		l.lg.Error("audit write failed; the log takes no more records", "err", err)
		l.failed = fmt.Errorf("audit: a write failed, the log takes no more records: %w", err)
		l.broken.Store(true)
	}
	return l.failed
}

func (l *Log) isFailed() bool { return l.broken.Load() }

func (l *Log) failure() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.failed
}

// later returns the later of a and b, so that record times never go back.
func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
