package audit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
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
// the tail this log wrote or checked at Open verifies. For a record that an
// ActionUnsignedFound record of that part names, the time returned is that record's (when
// the log found it unsigned), not its own. The cost is bounded by HeadEvery
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
	verified, found, err := l.verifiedRecord(ctx, r)
	if err != nil {
		return time.Time{}, "", false, fmt.Errorf("audit: prove existence: %w", err)
	}
	if !verified {
		return time.Time{}, "", false, nil
	}
	if found.After(r.Time) {
		return found, fmt.Sprintf("audit log record %d, found unsigned by the log at %s", s, found.UTC().Format(time.RFC3339)), true, nil
	}
	return r.Time, fmt.Sprintf("audit log record %d", s), true, nil
}

// unsignedFound is what an ActionUnsignedFound record says: records from..to were found
// unsigned at time at.
type unsignedFound struct {
	from, to Seq
	at       time.Time
}

// foundOf reads an ActionUnsignedFound record; false for any other record. A record that
// names itself or records after it names nothing.
func foundOf(r *Record) (unsignedFound, bool) {
	if r.Action != ActionUnsignedFound {
		return unsignedFound{}, false
	}
	from, err1 := strconv.ParseUint(r.Details["from"], 10, 64)
	to, err2 := strconv.ParseUint(r.Details["to"], 10, 64)
	if err1 != nil || err2 != nil || from == 0 || from > to || Seq(to) >= r.Seq {
		return unsignedFound{}, false
	}
	return unsignedFound{from: Seq(from), to: Seq(to), at: r.Time}, true
}

// foundAt returns the latest time at which one of fs found record s unsigned; zero when none.
func foundAt(fs []unsignedFound, s Seq) time.Time {
	var at time.Time
	for _, f := range fs {
		if f.from <= s && s <= f.to && f.at.After(at) {
			at = f.at
		}
	}
	return at
}

// errUnverified marks a chain that does not verify (as opposed to a store failure).
var errUnverified = errors.New("chain does not verify")

// verifiedRecord reports whether r (read and hash-checked) is in a verified part of the
// chain, and the latest time at which a record of that part says r was found unsigned
// (zero when none does).
func (l *Log) verifiedRecord(ctx context.Context, r Record) (bool, time.Time, error) {
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
		return false, time.Time{}, nil
	}
	if !covered {
		_, fs, err := l.walk(ctx, r.Seq, tail, tailHash, false)
		ok, err := l.verdict(r.Seq, err)
		return ok, foundAt(fs, r.Seq), err
	}
	if sg, ok := l.cache.get(head.Seq, start); ok {
		if sg.hashes[r.Seq-start] != r.Hash {
			l.lg.Warn("audit record changed since its segment was verified", "seq", uint64(r.Seq))
			return false, time.Time{}, nil
		}
		return true, foundAt(sg.found, r.Seq), nil
	}
	if err := l.checkHead(&head); err != nil {
		ok, err := l.verdict(r.Seq, fmt.Errorf("%w: %v", errUnverified, err))
		return ok, time.Time{}, err
	}
	hs, fs, err := l.walk(ctx, start, head.Seq, head.Hash, true)
	if ok, err := l.verdict(r.Seq, err); !ok {
		return ok, time.Time{}, err
	}
	l.cache.put(head.Seq, segment{start: start, hashes: hs, found: fs})
	if hs[r.Seq-start] != r.Hash {
		l.lg.Warn("audit record changed while its segment was verified", "seq", uint64(r.Seq))
		return false, time.Time{}, nil
	}
	return true, foundAt(fs, r.Seq), nil
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
// has hash end, and returns their hashes when keep is set, and what their
// ActionUnsignedFound records say.
func (l *Log) walk(ctx context.Context, from, to Seq, end Hash, keep bool) ([]Hash, []unsignedFound, error) {
	var hs []Hash
	var fs []unsignedFound
	if keep {
		hs = make([]Hash, 0, to-from+1)
	}
	var prev Hash
	for s := from; s <= to; s++ {
		r, err := l.v.record(ctx, s)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, nil, fmt.Errorf("%w: record %d is missing", errUnverified, s)
		case errors.Is(err, ErrTampered):
			return nil, nil, fmt.Errorf("%w: %v", errUnverified, err)
		case err != nil:
			return nil, nil, err
		case s > from && r.Prev != prev:
			return nil, nil, fmt.Errorf("%w: record %d does not link to record %d", errUnverified, s, s-1)
		}
		if f, ok := foundOf(&r); ok {
			fs = append(fs, f)
		}
		prev = r.Hash
		if keep {
			hs = append(hs, r.Hash)
		}
	}
	if prev != end {
		return nil, nil, fmt.Errorf("%w: record %d does not have the hash of its head or of the tail", errUnverified, to)
	}
	return hs, fs, nil
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
	found  []unsignedFound
}

func (c *proofCache) get(head, start Seq) (segment, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sg, ok := c.segs[head]
	if !ok || sg.start != start {
		return segment{}, false
	}
	return sg, true
}

func (c *proofCache) put(head Seq, sg segment) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.segs == nil {
		c.segs = map[Seq]segment{}
	}
	if _, ok := c.segs[head]; !ok {
		c.order = append(c.order, head)
	}
	c.segs[head] = sg
	for len(c.order) > c.max {
		delete(c.segs, c.order[0])
		c.order = c.order[1:]
	}
}
