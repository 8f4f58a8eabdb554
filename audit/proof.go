package audit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/store"
)

// ProveExistence looks up the use record of the signature whose value (the content of the
// signature BIT STRING) has the SM3 digest valueSM3, and returns the record's time and a
// source naming it ("audit log record 1234").
//
// ok is true only when the record sits in a verified part of the chain: the chain from the
// record to the signed head that covers it verifies, with the head's signature under a
// trusted head key; for a record after the last signed head, the chain from the record to
// the tail this log wrote or checked at Open verifies. The cost is bounded by HeadEvery
// records: a verified head segment is remembered (its record hashes, ProofCacheSegments
// segments at most), so that a later lookup in it costs one record read. ok is false, with a
// nil error, when there is no such record or the chain around it does not verify (a
// warning is logged); err is set only when the store could not be read.
//
// verifier.ProofFunc(log.ProveExistence) is the verifier's ProofOfExistence.
func (l *Log) ProveExistence(valueSM3 [sm3.Size]byte) (t time.Time, source string, ok bool, err error) {
	ctx := context.Background()
	v, err := l.v.sp.Get(ctx, sigKey(valueSM3[:]))
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, "", false, nil
	}
	if err != nil {
		return time.Time{}, "", false, fmt.Errorf("audit: prove existence: %w", err)
	}
	if len(v) != 8 {
		l.lg.Warn("audit signature index entry malformed", "len", len(v))
		return time.Time{}, "", false, nil
	}
	s := Seq(binary.BigEndian.Uint64(v))
	r, err := l.v.record(ctx, s)
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrTampered):
		l.lg.Warn("audit signature index names a missing or changed record", "seq", uint64(s), "err", err)
		return time.Time{}, "", false, nil
	case err != nil:
		return time.Time{}, "", false, fmt.Errorf("audit: prove existence: %w", err)
	case !r.indexed() || [sm3.Size]byte(r.SignatureSM3) != valueSM3:
		l.lg.Warn("audit signature index names a record of another signature", "seq", uint64(s))
		return time.Time{}, "", false, nil
	}
	verified, err := l.verifiedRecord(ctx, r)
	if err != nil {
		return time.Time{}, "", false, fmt.Errorf("audit: prove existence: %w", err)
	}
	if !verified {
		return time.Time{}, "", false, nil
	}
	return r.Time, fmt.Sprintf("audit log record %d", s), true, nil
}

// errUnverified marks a chain that does not verify (as opposed to a store failure).
var errUnverified = errors.New("chain does not verify")

// verifiedRecord reports whether r (read and hash-checked) is in a verified part of the chain.
func (l *Log) verifiedRecord(ctx context.Context, r Record) (bool, error) {
	l.mu.RLock()
	tail, tailHash := l.tail, l.hash
	i := sort.Search(len(l.heads), func(i int) bool { return l.heads[i].Seq >= r.Seq })
	var head Head
	var start Seq = 1
	covered := i < len(l.heads)
	if covered {
		head = l.heads[i]
		if i > 0 {
			start = l.heads[i-1].Seq + 1
		}
	}
	l.mu.RUnlock()
	if r.Seq > tail {
		l.lg.Warn("audit record beyond the tail", "seq", uint64(r.Seq))
		return false, nil
	}
	if !covered {
		_, err := l.walk(ctx, r.Seq, tail, tailHash, false)
		return l.verdict(r.Seq, err)
	}
	if hs, ok := l.cache.get(head.Seq, start); ok {
		if hs[r.Seq-start] != r.Hash {
			l.lg.Warn("audit record changed since its segment was verified", "seq", uint64(r.Seq))
			return false, nil
		}
		return true, nil
	}
	if err := l.checkHead(&head); err != nil {
		return l.verdict(r.Seq, fmt.Errorf("%w: %v", errUnverified, err))
	}
	hs, err := l.walk(ctx, start, head.Seq, head.Hash, true)
	if ok, err := l.verdict(r.Seq, err); !ok {
		return ok, err
	}
	l.cache.put(head.Seq, start, hs)
	if hs[r.Seq-start] != r.Hash {
		l.lg.Warn("audit record changed while its segment was verified", "seq", uint64(r.Seq))
		return false, nil
	}
	return true, nil
}

func (l *Log) verdict(s Seq, err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errUnverified):
		l.lg.Warn("audit chain around a record does not verify", "seq", uint64(s), "err", err)
		return false, nil
	}
	return false, err
}

// walk reads records from..to, checks that each links to the one before and that the last
// has hash end, and returns their hashes when keep is set.
func (l *Log) walk(ctx context.Context, from, to Seq, end Hash, keep bool) ([]Hash, error) {
	var hs []Hash
	if keep {
		hs = make([]Hash, 0, to-from+1)
	}
	var prev Hash
	for s := from; s <= to; s++ {
		r, err := l.v.record(ctx, s)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("%w: record %d is missing", errUnverified, s)
		case errors.Is(err, ErrTampered):
			return nil, fmt.Errorf("%w: %v", errUnverified, err)
		case err != nil:
			return nil, err
		case s > from && r.Prev != prev:
			return nil, fmt.Errorf("%w: record %d does not link to record %d", errUnverified, s, s-1)
		}
		prev = r.Hash
		if keep {
			hs = append(hs, r.Hash)
		}
	}
	if prev != end {
		return nil, fmt.Errorf("%w: record %d does not have the hash of its head or of the tail", errUnverified, to)
	}
	return hs, nil
}

// proofCache remembers the record hashes of verified head segments, oldest out first.
type proofCache struct {
	mu    sync.Mutex
	max   int
	segs  map[Seq]segment
	order []Seq
}

type segment struct {
	start  Seq
	hashes []Hash
}

func (c *proofCache) get(head, start Seq) ([]Hash, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sg, ok := c.segs[head]
	if !ok || sg.start != start {
		return nil, false
	}
	return sg.hashes, true
}

func (c *proofCache) put(head, start Seq, hs []Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.segs == nil {
		c.segs = map[Seq]segment{}
	}
	if _, ok := c.segs[head]; !ok {
		c.order = append(c.order, head)
	}
	c.segs[head] = segment{start: start, hashes: hs}
	for len(c.order) > c.max {
		delete(c.segs, c.order[0])
		c.order = c.order[1:]
	}
}
