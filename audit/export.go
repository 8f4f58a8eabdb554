package audit

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/eseal/eseal/store"
)

// ExportFormat and ExportVersion name the export's format in its first line.
const (
	ExportFormat  = "eseal-audit-export"
	ExportVersion = 1
)

// exportLine is one line of the export; Type says which fields are set.
type exportLine struct {
	Type    string `json:"type"`
	Format  string `json:"format,omitempty"`
	Version int    `json:"version,omitempty"`

	Seq          uint64            `json:"seq,omitempty"`
	Time         string            `json:"time,omitempty"`
	Actor        string            `json:"actor,omitempty"`
	Action       string            `json:"action,omitempty"`
	Seal         string            `json:"seal,omitempty"`
	Digest       string            `json:"digest,omitempty"`
	SignatureSM3 string            `json:"signature_sm3,omitempty"`
	Outcome      string            `json:"outcome,omitempty"`
	Details      map[string]string `json:"details,omitempty"`
	Prev         string            `json:"prev,omitempty"`
	Hash         string            `json:"hash,omitempty"`
	StoredHash   string            `json:"stored_hash,omitempty"`
	Encoding     []byte            `json:"encoding,omitempty"`
	Error        string            `json:"error,omitempty"`

	Key       string `json:"key,omitempty"`
	PublicKey []byte `json:"public_key,omitempty"`
	Signature []byte `json:"signature,omitempty"`
}

const timeFormat = "2006-01-02T15:04:05.000000000Z"

// Export writes the audit log kept in kv to w as JSON lines for an outside auditor (the
// format is in the package doc). It writes what is stored, also when the chain is broken:
// a record that does not decode is written with its stored bytes and the error.
func Export(ctx context.Context, kv store.KV, w io.Writer) error {
	v := newView(kv)
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	put := func(l *exportLine) error {
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		return nil
	}
	if err := put(&exportLine{Type: "log", Format: ExportFormat, Version: ExportVersion}); err != nil {
		return err
	}
	keys, err := v.storedKeys(ctx)
	if err != nil {
		return err
	}
	ids := make([]KeyID, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return string(ids[i][:]) < string(ids[j][:]) })
	for _, id := range ids {
		if err := put(&exportLine{Type: "key", Key: hex.EncodeToString(id[:]), PublicKey: keys[id]}); err != nil {
			return err
		}
	}
	heads, _, err := v.heads(ctx)
	if err != nil {
		return err
	}
	hi := 0
	putHeads := func(upTo Seq) error {
		for ; hi < len(heads) && heads[hi].Seq <= upTo; hi++ {
			h := &heads[hi]
			if err := put(&exportLine{Type: "head", Seq: uint64(h.Seq), Hash: hex.EncodeToString(h.Hash[:]),
				Time: h.Time.UTC().Format(timeFormat), Key: hex.EncodeToString(h.Key[:]), Signature: h.Signature}); err != nil {
				return err
			}
		}
		return nil
	}
	err = v.sp.Scan(ctx, recPrefix, func(k, val []byte) error {
		s, ok := seqFromKey(k)
		if !ok || s == 0 {
			return put(&exportLine{Type: "record", Error: fmt.Sprintf("a record key of %d bytes that no record has", len(k)), Encoding: val})
		}
		if err := putHeads(s - 1); err != nil {
			return err
		}
		l := &exportLine{Type: "record", Seq: uint64(s)}
		encb, stored, err := splitStored(val)
		if err != nil {
			l.Error, l.Encoding = err.Error(), val
			return put(l)
		}
		l.StoredHash = hex.EncodeToString(stored[:])
		r, err := DecodeRecord(encb)
		if err != nil {
			l.Error, l.Encoding = err.Error(), encb
			return put(l)
		}
		l.Seq, l.Time, l.Actor, l.Action, l.Seal = uint64(r.Seq), r.Time.UTC().Format(timeFormat), r.Actor, r.Action, r.SealCode
		l.Digest, l.SignatureSM3, l.Outcome, l.Details = hex.EncodeToString(r.Digest), hex.EncodeToString(r.SignatureSM3), r.Outcome, r.Details
		l.Prev, l.Hash, l.Encoding = hex.EncodeToString(r.Prev[:]), hex.EncodeToString(r.Hash[:]), encb
		if r.Seq != s {
			l.Error = fmt.Sprintf("stored in the place of record %d", s)
		}
		if err := put(l); err != nil {
			return err
		}
		return putHeads(s)
	})
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	if err := putHeads(^Seq(0)); err != nil {
		return err
	}
	if tail, h, ok, err := v.tail(ctx); errors.Is(err, errBadTail) {
		raw, _ := v.sp.Get(ctx, tailKey)
		if err := put(&exportLine{Type: "tail", Error: err.Error(), Encoding: raw}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	} else if ok {
		if err := put(&exportLine{Type: "tail", Seq: uint64(tail), Hash: hex.EncodeToString(h[:])}); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}

// Export writes the log as Export does.
func (l *Log) Export(ctx context.Context, w io.Writer) error { return Export(ctx, l.kv, w) }

// ReadRecord reads record s of the audit log kept in kv, as Log.Record does.
func ReadRecord(ctx context.Context, kv store.KV, s Seq) (Record, error) {
	return newView(kv).record(ctx, s)
}
