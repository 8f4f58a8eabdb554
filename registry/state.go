package registry

import (
	"context"
	"strings"

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
	v, err := store.Update(ctx, s.kv, []byte(key), func(old []byte) ([]byte, error) {
		return []byte(uitoa(atou(string(old)) + 1)), nil
	})
	if err != nil {
		return 0, err
	}
	return atou(string(v)), nil
}

func (s *pebbleState) Commit(ctx context.Context, rec audit.Record, writes []audit.Write) (audit.Seq, error) {
	return s.log.AppendWith(ctx, rec, writes)
}

func (s *pebbleState) AppendAll(ctx context.Context, recs []audit.Record) (audit.Seq, error) {
	return s.log.AppendAll(ctx, recs)
}

func atou(s string) uint64 {
	var n uint64
	for _, c := range strings.TrimSpace(s) {
		if c < '0' || c > '9' {
			return n
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

func uitoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
