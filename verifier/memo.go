package verifier

import (
	"bytes"
	"hash/maphash"
	"sync"
)

// memo remembers results that depend only on some bytes (a seal's maker-signature check, a
// parsed certificate), so that a seal met again costs a hash of its bytes and a comparison
// instead of an SM2 verification. Entries are keyed by a seeded hash and confirmed by comparing
// the bytes, so a collision can never return another input's result. It holds at most max
// entries and memoMaxBytes of keys, and forgets them all when full: simple, bounded, and
// enough until the cache package takes over.
type memo[V any] struct {
	seed maphash.Seed
	max  int
	mu   sync.RWMutex
	m    map[uint64]memoEntry[V]
	size int // bytes of the keys held
}

type memoEntry[V any] struct {
	key []byte
	val V
}

func newMemo[V any](max int) *memo[V] {
	return &memo[V]{seed: maphash.MakeSeed(), max: max, m: make(map[uint64]memoEntry[V])}
}

// get returns the value remembered for key, or computes, remembers and returns it.
func (c *memo[V]) get(key []byte, compute func() V) V {
	h := maphash.Bytes(c.seed, key)
	c.mu.RLock()
	e, ok := c.m[h]
	c.mu.RUnlock()
	if ok && bytes.Equal(e.key, key) {
		return e.val
	}
	v := compute()
	if len(key) > memoMaxKey {
		return v // not worth keeping: a copy of a huge key costs more than the work
	}
	c.mu.Lock()
	if len(c.m) >= c.max || c.size+len(key) > memoMaxBytes {
		clear(c.m)
		c.size = 0
	}
	c.m[h] = memoEntry[V]{key: bytes.Clone(key), val: v}
	c.size += len(key)
	c.mu.Unlock()
	return v
}

// Bounds on the bytes a memo keeps: keys (seals, certificates) larger than memoMaxKey are
// not remembered, and the memo forgets everything once its keys pass memoMaxBytes.
const (
	memoMaxKey   = 1 << 20
	memoMaxBytes = 64 << 20
)
