package registry

import (
	"context"
	"strconv"

	"github.com/eseal/eseal/errs"

	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/store"
)

// Prefix is the registry's part of the store: every key it writes starts with it.
// "reg/imp/" (filed impressions) and "reg/outbox/" (the outbox) belong to those parts.
const Prefix = "reg/"

// State is where the registry keeps its lifecycle state and how it commits it. Keys are whole
// store keys under Prefix. NewState gives the implementation over a store and the audit
// log; a distributed store (etcd) can implement the same contract: Commit writes its records
// and their audit record all or none, and Next hands out each number once.
//
// The registry serialises its read-check-commit steps in its own process; a State shared by
// several processes must make Commit conditional on what the step read (an etcd transaction
// comparing mod revisions) before more than one node may run lifecycle steps.
type State interface {
	// Get returns a copy of the value under key, or errs.NotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Scan calls fn for each key with the prefix, in byte order.
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error
	// Next returns the next number of the counter under key (1 first), durably: a number
	// handed out is never handed out again, whatever happens afterwards.
	Next(ctx context.Context, key string) (uint64, error)
	// Commit writes writes and appends rec in one atomic synced batch, and returns the
	// record's sequence number.
	Commit(ctx context.Context, rec audit.Record, writes []audit.Write) (audit.Seq, error)
	// AppendAll appends recs (the use records of a bulk signing) in one synced batch.
	AppendAll(ctx context.Context, recs []audit.Record) (audit.Seq, error)
}

// NewState is the State over kv (the whole store) and the audit log opened on the same store.
func NewState(kv store.KV, log *audit.Log) State { return &pebbleState{kv: kv, log: log} }

type pebbleState struct {
	kv  store.KV
	log *audit.Log
}

func (s *pebbleState) Get(ctx context.Context, key string) ([]byte, error) {
	return s.kv.Get(ctx, []byte(key))
}

func (s *pebbleState) Scan(ctx context.Context, prefix string, fn func(string, []byte) error) error {
	return s.kv.Scan(ctx, []byte(prefix), func(k, v []byte) error { return fn(string(k), v) })
}

func (s *pebbleState) Next(ctx context.Context, key string) (uint64, error) {
	var n uint64
	_, err := store.Update(ctx, s.kv, []byte(key), func(old []byte) ([]byte, error) {
		n = 0
		if old != nil {
			var err error
			if n, err = strconv.ParseUint(string(old), 10, 64); err != nil {
				return nil, &Error{Kind: errs.Corrupt, Op: "next", Subject: key, Msg: "stored counter unreadable", Err: err}
			}
		}
		n++
		return strconv.AppendUint(nil, n, 10), nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (s *pebbleState) Commit(ctx context.Context, rec audit.Record, writes []audit.Write) (audit.Seq, error) {
	return s.log.AppendWith(ctx, rec, writes)
}

func (s *pebbleState) AppendAll(ctx context.Context, recs []audit.Record) (audit.Seq, error) {
	return s.log.AppendAll(ctx, recs)
}
