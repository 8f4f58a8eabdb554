package audit

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"sort"

	"github.com/eseal/eseal/store"
)

// ProblemKind says what is wrong at a record.
type ProblemKind string

// The kinds of problem Verify names.
const (
	// Changed: the record's content no longer has its hash, does not decode, or its hash
	// no longer matches the link in the next record, the head that signs it or the tail.
	Changed ProblemKind = "changed"
	// Removed: the record is missing.
	Removed ProblemKind = "removed"
	// Reordered: another record sits in its place, or its time is before the record's before.
	Reordered ProblemKind = "reordered"
	// BadHead: a signed head over the record does not verify, is unreadable or is signed
	// by a key that is not trusted.
	BadHead ProblemKind = "head"
)

// Problem is one thing wrong with the chain, at record Seq.
type Problem struct {
	Seq    Seq
	Kind   ProblemKind
	Detail string
}

func (p Problem) String() string {
	return fmt.Sprintf("record %d %s: %s", p.Seq, p.Kind, p.Detail)
}

// Report is the result of Verify.
type Report struct {
	// Records is the number of records read; Last and LastHash the last one's sequence
	// number and stored hash.
	Records  uint64
	Last     Seq
	LastHash Hash
	// Heads is the number of signed heads whose signature verified; LastSigned the
	// sequence number of the last of them.
	Heads      int
	LastSigned Seq
	// KeysFromLog is set when the heads were checked with the keys kept in the log itself
	// (no keys were given): that shows the heads are consistent, not who signed them.
	KeysFromLog bool
	// Problems are what is wrong, by sequence number, at most VerifyOptions.MaxProblems;
	// More is set when there were more.
	Problems []Problem
	More     bool
}

// OK reports whether the chain is intact: no problem at all.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// First returns the first bad record's problem, or nil when the chain is intact.
func (r *Report) First() *Problem {
	if len(r.Problems) == 0 {
		return nil
	}
	return &r.Problems[0]
}

// Unsigned is the number of records after the last verified signed head.
func (r *Report) Unsigned() uint64 { return uint64(r.Last - min(r.LastSigned, r.Last)) }

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Keys are the trusted head keys (SM2 public keys). Empty means the keys kept in the
	// log, and the report says so (KeysFromLog).
	Keys []crypto.PublicKey
	// MaxProblems bounds Report.Problems; 0 means 100.
	MaxProblems int
}

// Verify walks the whole chain of the audit log kept in kv and names every record that was
// changed, removed or reordered, and every signed head that does not verify. The error is
// set only when the store could not be read or the options are wrong; a broken chain is a
// Report that is not OK.
func Verify(ctx context.Context, kv store.KV, opts VerifyOptions) (Report, error) {
	v := newView(kv)
	var rep Report
	keys := map[KeyID]*ecdsa.PublicKey{}
	for i, k := range opts.Keys {
		id, _, err := keyID(k)
		if err != nil {
			return rep, fmt.Errorf("audit: verify: key %d: %w", i, err)
		}
		keys[id], _ = sm2Public(k)
	}
	if len(keys) == 0 {
		rep.KeysFromLog = true
		stored, err := v.storedKeys(ctx)
		if err != nil {
			return rep, err
		}
		for id, der := range stored {
			if pub, err := parseKey(id, der); err == nil {
				keys[id] = pub
			}
		}
	}
	w := walker{max: max(opts.MaxProblems, 1), bad: map[Seq]bool{}}
	if opts.MaxProblems <= 0 {
		w.max = 100
	}
	heads, badHeads, err := v.heads(ctx)
	if err != nil {
		return rep, err
	}
	headAt := map[Seq]*Head{}
	for i := range heads {
		headAt[heads[i].Seq] = &heads[i]
	}
	seen := map[Seq]bool{} // the records that heads sign, when found

	expected := Seq(1)
	var prev Hash // stored hash of record expected-1; zero before record 1
	linked := true
	var prevTime int64
	err = v.sp.Scan(ctx, recPrefix, func(k, val []byte) error {
		s, ok := seqFromKey(k)
		if !ok || s == 0 {
			w.add(expected, Changed, fmt.Sprintf("a record key of %d bytes that no record has", len(k)))
			return nil
		}
		rep.Records++
		if s > expected {
			w.add(expected, Removed, missing(expected, s-1))
			linked = false
		}
		expected = s + 1
		rep.Last = s
		enc, stored, err := splitStored(val)
		if err != nil {
			w.add(s, Changed, err.Error())
			linked = false
			return nil
		}
		rep.LastHash = stored
		r, err := DecodeRecord(enc)
		if err != nil {
			w.add(s, Changed, "does not decode: "+err.Error())
			prev, linked = stored, true
			return nil
		}
		if headAt[s] != nil {
			seen[s] = true
		}
		switch {
		case r.Hash != stored:
			w.add(s, Changed, "its content no longer has the hash stored with it")
		case r.Seq != s:
			w.add(s, Reordered, fmt.Sprintf("its place holds record %d", r.Seq))
		case linked && r.Prev != prev:
			if s == 1 {
				w.add(s, Changed, "the first record links to a record before it")
			} else {
				w.add(s-1, Changed, fmt.Sprintf("its hash does not match the link in record %d: record %d, or that link, was changed", s, s-1))
			}
		case r.Time.UnixNano() < prevTime:
			w.weak(s, Reordered, fmt.Sprintf("its time %s is before the time of record %d", r.Time.Format("2006-01-02T15:04:05.999999999Z07:00"), s-1))
		}
		if h := headAt[s]; h != nil && h.Hash != r.Hash {
			w.add(s, Changed, fmt.Sprintf("its hash is not the one head %d signed", s))
		}
		prev, linked, prevTime = stored, true, r.Time.UnixNano()
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}

	tail, tailHash, haveTail, err := v.tail(ctx)
	badTail := errors.Is(err, errBadTail)
	if err != nil && !badTail {
		return rep, err
	}
	switch {
	case badTail:
		w.add(rep.Last, Changed, err.Error())
	case !haveTail && rep.Records > 0:
		w.add(rep.Last, Changed, "the tail marker is missing")
	case tail > rep.Last:
		w.add(rep.Last+1, Removed, missing(rep.Last+1, tail)+" from the end of the log")
	case tail < rep.Last:
		w.add(tail+1, Changed, fmt.Sprintf("records %d to %d were added after the last record written (%d)", tail+1, rep.Last, tail))
	case haveTail && tailHash != rep.LastHash:
		w.add(rep.Last, Changed, "its hash is not the one the tail marker names")
	}

	for s, why := range badHeads {
		w.add(s, BadHead, "the head stored for it is unreadable: "+why)
	}
	for i := range heads {
		h := &heads[i]
		pub, ok := keys[h.Key]
		switch {
		case !ok:
			w.add(h.Seq, BadHead, fmt.Sprintf("its head is signed by key %x, which is not trusted", h.Key[:8]))
			continue
		case !verifyHead(h, pub):
			w.add(h.Seq, BadHead, "the signature of its head does not verify")
			continue
		case !seen[h.Seq]:
			w.add(h.Seq, Removed, "a signed head covers it but it is not there")
			continue
		}
		rep.Heads++
		rep.LastSigned = max(rep.LastSigned, h.Seq)
	}
	rep.Problems, rep.More = w.result()
	return rep, nil
}

// Verify runs Verify on the log's store with its trusted head keys.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	keys := make([]crypto.PublicKey, 0, len(l.keys))
	for _, k := range l.keys {
		keys = append(keys, k)
	}
	return Verify(ctx, l.kv, VerifyOptions{Keys: keys})
}

func missing(from, to Seq) string {
	if from == to {
		return "it was removed"
	}
	return fmt.Sprintf("records %d to %d were removed", from, to)
}

// walker collects problems, one per record. A weak problem (a time going back) gives way to
// another found later at the same record (its link to the next record broken: it was
// changed).
type walker struct {
	max    int
	bad    map[Seq]bool
	weakAt map[Seq]int
	probs  []Problem
}

// maxCollected bounds the problems kept before sorting.
const maxCollected = 10000

func (w *walker) add(s Seq, k ProblemKind, detail string) {
	if i, ok := w.weakAt[s]; ok {
		delete(w.weakAt, s)
		w.probs[i] = Problem{Seq: s, Kind: k, Detail: detail}
		return
	}
	if w.bad[s] || len(w.probs) >= maxCollected {
		return
	}
	w.bad[s] = true
	w.probs = append(w.probs, Problem{Seq: s, Kind: k, Detail: detail})
}

func (w *walker) weak(s Seq, k ProblemKind, detail string) {
	if w.bad[s] || len(w.probs) >= maxCollected {
		return
	}
	w.add(s, k, detail)
	if w.weakAt == nil {
		w.weakAt = map[Seq]int{}
	}
	w.weakAt[s] = len(w.probs) - 1
}

func (w *walker) result() ([]Problem, bool) {
	sort.SliceStable(w.probs, func(i, j int) bool { return w.probs[i].Seq < w.probs[j].Seq })
	if len(w.probs) > w.max {
		return w.probs[:w.max], true
	}
	return w.probs, false
}
