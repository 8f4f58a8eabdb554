// Package genmemo is a small, fixed-size, lock-free memo of values read from a store by the
// one component that also writes them. The writer moves a generation on after every write;
// a value is answered only while the generation it was read under is still the current one,
// so a write takes effect on the very next lookup, with no delay and no invalidation lists.
//
// The protocol, for a reader: g := t.Gen() before reading the store, then t.Put(key, g, v)
// with what was read; for the writer: t.Bump() after each write (also a failed one). A value
// read before a write and put after it carries the older generation and is never answered.
//
// The table is direct-mapped: each key has one slot, and a newer key in the same slot
// replaces the older one, so its memory is bounded by its size, whatever is looked up.
package genmemo

import (
	"hash/maphash"
	"sync/atomic"
)

// Table memoises values of type V by string key. The zero value is not usable: use New.
type Table[V any] struct {
	gen   atomic.Uint64
	seed  maphash.Seed
	slots []atomic.Pointer[entry[V]]
}

type entry[V any] struct {
	key string
	gen uint64
	val V
}

// New returns a table of size slots (at least 1).
func New[V any](size int) *Table[V] {
	return &Table[V]{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[entry[V]], max(size, 1))}
}

// Gen is the current generation; read it before reading the store.
func (t *Table[V]) Gen() uint64 { return t.gen.Load() }

// Bump moves the generation on: every value held is from then on a miss. Call it after each
// write to what the table memoises.
func (t *Table[V]) Bump() { t.gen.Add(1) }

func (t *Table[V]) slot(key string) *atomic.Pointer[entry[V]] {
	return &t.slots[maphash.String(t.seed, key)%uint64(len(t.slots))]
}

// Get returns the value held for key if it was read under the current generation.
func (t *Table[V]) Get(key string) (V, bool) {
	if e := t.slot(key).Load(); e != nil && e.key == key && e.gen == t.gen.Load() {
		return e.val, true
	}
	var zero V
	return zero, false
}

// Put holds v for key, read from the store under generation gen (what Gen said before the
// read). A value of an older generation than the current one is not held.
func (t *Table[V]) Put(key string, gen uint64, v V) {
	if gen != t.gen.Load() {
		return
	}
	t.slot(key).Store(&entry[V]{key: key, gen: gen, val: v})
}
