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
	"maps"
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

	mu     sync.RWMutex // guards the state below, which only the writer changes
	tail   Seq
	hash   Hash
	ttime  time.Time // time of the tail record
	heads  []Head    // every stored head, in sequence order
	failed error     // set when a write failed: the log takes no more records

	queue chan *pending
	done  chan struct{}
	stats struct{ records, batches, heads atomic.Uint64 }
	err   error // the writer's last error at Close

	cache proofCache
}

type pending struct {
	recs   []Record
	writes []Write
	state  atomic.Int32 // 0 queued, 1 taken by the writer, 2 given up by the caller
	ack    chan ackMsg
}

type ackMsg struct {
	first Seq
	err   error
}

// Open opens the audit log kept in kv (under the keyspace "audit") and starts its writer.
// It checks the end of the chain it will extend: the last signed head verifies, every record
// after it links to the one before, and the tail marker names the last record. It returns
// ErrBroken (with what is wrong) otherwise; Verify then names the first bad record.
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
	return l, nil
}

// load reads the heads and the tail and checks the chain from the last head to the tail.
func (l *Log) load(ctx context.Context) error {
	heads, bad, err := l.v.heads(ctx)
	if err != nil {
		return fmt.Errorf("audit: open: %w", err)
	}
	tail, tailHash, haveTail, err := l.v.tail(ctx)
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
		l.ttime = l.opts.Clock()
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
	l.tail, l.hash, l.ttime, l.heads = tail, tailHash, r.Time, heads
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
// The context bounds the wait for a place in the queue and for the writer to take the
// record: when it ends before, the record is not written and Append returns the context's
// error. Once the writer has taken the record, Append waits for the outcome of its write.
func (l *Log) Append(ctx context.Context, rec Record) (Seq, error) {
	return l.AppendWith(ctx, rec, nil)
}

// AppendAll appends recs in one batch, in order, with consecutive sequence numbers, and
// returns the first one. Bulk signing uses it for the records of one batch of signatures.
func (l *Log) AppendAll(ctx context.Context, recs []Record) (Seq, error) {
	if len(recs) == 0 {
		return 0, invalid("no records")
	}
	return l.enqueue(ctx, recs, nil)
}

// AppendWith appends rec as Append does and commits writes, into the store the log was
// opened on, in the same atomic batch. writes may not touch the log's own keyspace.
func (l *Log) AppendWith(ctx context.Context, rec Record, writes []Write) (Seq, error) {
	return l.enqueue(ctx, []Record{rec}, writes)
}

func (l *Log) enqueue(ctx context.Context, recs []Record, writes []Write) (Seq, error) {
	if len(recs) > l.opts.MaxBatch {
		return 0, invalid("%d records in one append, more than %d", len(recs), l.opts.MaxBatch)
	}
	own := make([]Record, len(recs))
	for i := range recs {
		if err := recs[i].Validate(); err != nil {
			return 0, err
		}
		r := recs[i]
		own[i] = Record{Actor: r.Actor, Action: r.Action, SealCode: r.SealCode, Digest: bytes.Clone(r.Digest),
			SignatureSM3: bytes.Clone(r.SignatureSM3), Outcome: r.Outcome, Details: maps.Clone(r.Details)}
	}
	prefix := l.v.sp.Key(nil)
	ws := make([]Write, len(writes))
	for i, w := range writes {
		if len(w.Key) == 0 || bytes.HasPrefix(w.Key, prefix) {
			return 0, invalid("write %d: empty key or a key inside the audit keyspace", i)
		}
		ws[i] = Write{Key: bytes.Clone(w.Key), Value: bytes.Clone(w.Value), Delete: w.Delete}
	}
	p := &pending{recs: own, writes: ws, ack: make(chan ackMsg, 1)}
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

// run is the writer: it takes what is queued, writes it as one synced batch, and acks.
func (l *Log) run() {
	defer close(l.done)
	tick := time.NewTicker(min(l.opts.HeadInterval/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case p, ok := <-l.queue:
			if !ok {
				l.finish()
				return
			}
			batch, n := []*pending{p}, len(p.recs)
			open := true
		drain:
			for n < l.opts.MaxBatch {
				select {
				case q, ok := <-l.queue:
					if !ok {
						open = false
						break drain
					}
					if n+len(q.recs) > l.opts.MaxBatch {
						l.commit(batch)
						batch, n = nil, 0
					}
					batch, n = append(batch, q), n+len(q.recs)
				default:
					break drain
				}
			}
			l.commit(batch)
			if !open {
				l.finish()
				return
			}
		case <-tick.C:
			if l.failed == nil && l.tail > l.lastHeadSeq() && l.opts.Clock().Sub(l.lastHeadTime()) >= l.opts.HeadInterval {
				l.writeHead()
			}
		}
	}
}

// The writer reads the state without the lock: only it writes the state.

func (l *Log) lastHeadSeq() Seq {
	if n := len(l.heads); n > 0 {
		return l.heads[n-1].Seq
	}
	return 0
}

func (l *Log) lastHeadTime() time.Time {
	if n := len(l.heads); n > 0 {
		return l.heads[n-1].Time
	}
	return l.ttime
}

// finish writes a head over the last record when it has none.
func (l *Log) finish() {
	if l.failed == nil && l.tail > l.lastHeadSeq() {
		l.writeHead()
	}
	l.err = l.failed
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

// writeHead signs and writes a head over the current tail on its own.
func (l *Log) writeHead() {
	now := later(l.opts.Clock(), l.ttime)
	hd := l.makeHead(l.tail, l.hash, now)
	if hd == nil {
		return
	}
	b := l.kv.NewBatch()
	defer b.Close()
	err := b.Set(l.v.sp.Key(headKey(hd.Seq)), hd.encode())
	if err == nil {
		err = b.Commit(context.Background())
	}
	if err != nil {
		l.fail(err)
		return
	}
	l.mu.Lock()
	l.heads = append(l.heads, *hd)
	l.mu.Unlock()
	l.stats.heads.Add(1)
}

// Stats returns the log's counters.
func (l *Log) Stats() Stats {
	return Stats{Records: l.stats.records.Load(), Batches: l.stats.batches.Load(), Heads: l.stats.heads.Load()}
}

func (l *Log) fail(err error) {
	l.lg.Error("audit write failed; the log takes no more records", "err", err)
	l.mu.Lock()
	l.failed = fmt.Errorf("audit: a write failed, the log takes no more records: %w", err)
	l.mu.Unlock()
}

// commit writes the records of batch as one synced batch, chained after the tail.
func (l *Log) commit(batch []*pending) {
	live := batch[:0]
	for _, p := range batch {
		if p.state.CompareAndSwap(0, 1) {
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return
	}
	if l.failed != nil {
		for _, p := range live {
			p.ack <- ackMsg{err: l.failed}
		}
		return
	}
	b := l.kv.NewBatch()
	defer b.Close()
	s, prev := l.tail, l.hash
	now := later(l.opts.Clock(), l.ttime)
	firsts := make([]Seq, len(live))
	var err error
	set := func(k, v []byte) {
		if err == nil {
			err = b.Set(k, v)
		}
	}
	for i, p := range live {
		firsts[i] = s + 1
		for _, r := range p.recs {
			s++
			r.Seq, r.Time, r.Prev = s, now, prev
			enc := r.Encode()
			prev = sm3.Sum(enc)
			set(l.v.sp.Key(recKey(s)), storedRecord(enc, prev))
			if r.indexed() {
				set(l.v.sp.Key(sigKey(r.SignatureSM3)), binary.BigEndian.AppendUint64(nil, uint64(s)))
			}
		}
		for _, w := range p.writes {
			if w.Delete {
				if err == nil {
					err = b.Delete(w.Key)
				}
			} else {
				set(w.Key, w.Value)
			}
		}
	}
	var hd *Head
	if int(s-l.lastHeadSeq()) >= l.opts.HeadEvery || now.Sub(l.lastHeadTime()) >= l.opts.HeadInterval {
		if hd = l.makeHead(s, prev, now); hd != nil {
			set(l.v.sp.Key(headKey(s)), hd.encode())
		}
	}
	set(l.v.sp.Key(tailKey), tailValue(s, prev))
	if err == nil {
		err = b.Commit(context.Background())
	}
	if err != nil {
		l.fail(err)
		for _, p := range live {
			p.ack <- ackMsg{err: l.failed}
		}
		return
	}
	l.mu.Lock()
	first := l.tail + 1
	l.tail, l.hash, l.ttime = s, prev, now
	if hd != nil {
		l.heads = append(l.heads, *hd)
	}
	l.mu.Unlock()
	l.stats.records.Add(uint64(s - first + 1))
	l.stats.batches.Add(1)
	if hd != nil {
		l.stats.heads.Add(1)
	}
	for i, p := range live {
		p.ack <- ackMsg{first: firsts[i]}
	}
}

// later returns the later of a and b, so that record times never go back.
func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
