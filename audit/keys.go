package audit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/eseal/eseal/store"
)

// SpaceName is the keyspace the log keeps its keys in (see the package doc).
const SpaceName = "audit"

// Keys inside the space.
var (
	recPrefix  = []byte("r/")
	headPrefix = []byte("h/")
	sigPrefix  = []byte("s/")
	keyPrefix  = []byte("k/")
	tailKey    = []byte("tail")
)

func seqKey(prefix []byte, s Seq) []byte {
	k := make([]byte, 0, len(prefix)+8)
	return binary.BigEndian.AppendUint64(append(k, prefix...), uint64(s))
}

func recKey(s Seq) []byte  { return seqKey(recPrefix, s) }
func headKey(s Seq) []byte { return seqKey(headPrefix, s) }

func sigKey(valueSM3 []byte) []byte {
	return append(append(make([]byte, 0, len(sigPrefix)+len(valueSM3)), sigPrefix...), valueSM3...)
}

func keyKey(id KeyID) []byte { return append(append([]byte{}, keyPrefix...), id[:]...) }

// seqFromKey reads the sequence number after a 2-byte prefix.
func seqFromKey(k []byte) (Seq, bool) {
	if len(k) != 2+8 {
		return 0, false
	}
	return Seq(binary.BigEndian.Uint64(k[2:])), true
}

func tailValue(s Seq, h Hash) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+HashSize), uint64(s))
	return append(v, h[:]...)
}

// ErrTampered is returned when a stored record does not read back as written: it does not
// decode, holds another record, or no longer has its hash.
var ErrTampered = errors.New("audit: record changed in the store")

// view reads the log's keyspace; the Log and the functions that work on a store without a
// Log (Verify, Export, ReadRecord) share it.
type view struct{ sp *store.Space }

func newView(kv store.KV) view { return view{sp: store.MustSpace(kv, SpaceName)} }

// record reads record s. It returns store.ErrNotFound when there is none, and an error
// naming the record when its stored bytes do not decode, hold another sequence number or do
// not match the hash stored with them.
func (v view) record(ctx context.Context, s Seq) (Record, error) {
	val, err := v.sp.Get(ctx, recKey(s))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Record{}, err
		}
		return Record{}, fmt.Errorf("audit: read record %d: %w", s, err)
	}
	enc, stored, err := splitStored(val)
	if err != nil {
		return Record{}, fmt.Errorf("%w: record %d: %v", ErrTampered, s, err)
	}
	r, err := DecodeRecord(enc)
	switch {
	case err != nil:
		return Record{}, fmt.Errorf("%w: record %d: %v", ErrTampered, s, err)
	case r.Hash != stored:
		return Record{}, fmt.Errorf("%w: record %d: its content no longer has the hash stored with it", ErrTampered, s)
	case r.Seq != s:
		return Record{}, fmt.Errorf("%w: record %d holds record %d", ErrTampered, s, r.Seq)
	}
	return r, nil
}

// errBadTail marks a tail marker that is there but malformed: the store was tampered with.
var errBadTail = errors.New("the tail marker is malformed")

// tail reads the tail marker: the last record's sequence number and hash (0 and zero when
// the log is empty).
func (v view) tail(ctx context.Context) (Seq, Hash, bool, error) {
	val, err := v.sp.Get(ctx, tailKey)
	if errors.Is(err, store.ErrNotFound) {
		return 0, Hash{}, false, nil
	}
	if err != nil {
		return 0, Hash{}, false, fmt.Errorf("audit: read tail: %w", err)
	}
	if len(val) != 8+HashSize {
		return 0, Hash{}, false, fmt.Errorf("%w: it is %d bytes, want %d", errBadTail, len(val), 8+HashSize)
	}
	var h Hash
	copy(h[:], val[8:])
	return Seq(binary.BigEndian.Uint64(val)), h, true, nil
}

// heads reads every stored head in sequence order. A head that does not decode or is kept
// under another sequence number is returned in bad, by the sequence number of its key.
func (v view) heads(ctx context.Context) (heads []Head, bad map[Seq]string, err error) {
	err = v.sp.Scan(ctx, headPrefix, func(k, val []byte) error {
		s, ok := seqFromKey(k)
		if !ok {
			if bad == nil {
				bad = map[Seq]string{}
			}
			bad[0] = fmt.Sprintf("a head key of %d bytes", len(k))
			return nil
		}
		h, err := decodeHead(val)
		if err == nil && h.Seq != s {
			err = fmt.Errorf("it holds the head of record %d", h.Seq)
		}
		if err != nil {
			if bad == nil {
				bad = map[Seq]string{}
			}
			bad[s] = err.Error()
			return nil
		}
		heads = append(heads, h)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("audit: read heads: %w", err)
	}
	return heads, bad, nil
}

// storedKeys reads the head keys kept in the log. Keys that do not parse are left out.
func (v view) storedKeys(ctx context.Context) (map[KeyID][]byte, error) {
	keys := map[KeyID][]byte{}
	err := v.sp.Scan(ctx, keyPrefix, func(k, val []byte) error {
		if len(k) != len(keyPrefix)+len(KeyID{}) {
			return nil
		}
		var id KeyID
		copy(id[:], k[len(keyPrefix):])
		keys[id] = append([]byte(nil), val...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: read head keys: %w", err)
	}
	return keys, nil
}
