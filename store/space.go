package store

import (
	"context"
	"fmt"
)

// Space is a KV restricted to the keys under one prefix ("name/"). Keys
// passed in and handed out are relative to the space.
type Space struct {
	kv     KV
	prefix []byte
}

var _ KV = (*Space)(nil)

// ValidSpaceName reports whether name can name a keyspace: 1..64 bytes of
// 'a'-'z', '0'-'9', '-', '_' or '.'.
func ValidSpaceName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// NewSpace returns the keyspace name inside kv (which may itself be a
// Space). It fails only on an invalid name.
func NewSpace(kv KV, name string) (*Space, error) {
	if !ValidSpaceName(name) {
		return nil, fmt.Errorf("store: invalid keyspace name %q", name)
	}
	return &Space{kv: kv, prefix: []byte(name + "/")}, nil
}

// MustSpace is NewSpace for names fixed in code; it panics on a bad name.
func MustSpace(kv KV, name string) *Space {
	s, err := NewSpace(kv, name)
	if err != nil {
		panic(err)
	}
	return s
}

// Key returns the key in the parent KV for a key of this space, so that a
// batch of the parent can write into several spaces atomically.
func (s *Space) Key(key []byte) []byte {
	k := make([]byte, 0, len(s.prefix)+len(key))
	return append(append(k, s.prefix...), key...)
}

// Get implements Reader.
func (s *Space) Get(ctx context.Context, key []byte) ([]byte, error) {
	return s.kv.Get(ctx, s.Key(key))
}

// Set implements Writer.
func (s *Space) Set(ctx context.Context, key, value []byte) error {
	return s.kv.Set(ctx, s.Key(key), value)
}

// Delete implements Writer.
func (s *Space) Delete(ctx context.Context, key []byte) error {
	return s.kv.Delete(ctx, s.Key(key))
}

// CompareAndSwap implements Swapper.
func (s *Space) CompareAndSwap(ctx context.Context, key, old, value []byte) error {
	return s.kv.CompareAndSwap(ctx, s.Key(key), old, value)
}

// Scan implements Reader; keys given to fn are relative to the space.
func (s *Space) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	n := len(s.prefix)
	return s.kv.Scan(ctx, s.Key(prefix), func(k, v []byte) error {
		return fn(k[n:], v)
	})
}

// NewBatch implements KV: a batch whose keys are relative to the space.
func (s *Space) NewBatch() Batch { return &spaceBatch{b: s.kv.NewBatch(), s: s} }

type spaceBatch struct {
	b Batch
	s *Space
}

func (b *spaceBatch) Set(key, value []byte) error      { return b.b.Set(b.s.Key(key), value) }
func (b *spaceBatch) Delete(key []byte) error          { return b.b.Delete(b.s.Key(key)) }
func (b *spaceBatch) Expect(key, old []byte) error     { return b.b.Expect(b.s.Key(key), old) }
func (b *spaceBatch) Len() int                         { return b.b.Len() }
func (b *spaceBatch) Commit(ctx context.Context) error { return b.b.Commit(ctx) }
func (b *spaceBatch) Close() error                     { return b.b.Close() }

// CommitNoSyncWait implements SyncWaiter when the parent's batch does, and
// commits with the sync wait otherwise.
func (b *spaceBatch) CommitNoSyncWait(ctx context.Context) (func() error, error) {
	return CommitNoSyncWait(ctx, b.b)
}
