package cache

import (
	"context"
	"sync"
	"testing"
)

// BenchmarkGetHit compares a cache hit with a plain sync.Map lookup of the same keys, so the cost of
// the cache (ristretto's lookup, its access buffer and metrics, the namespace generation) reads off
// as the ratio of the two sub-benchmarks.
func BenchmarkGetHit(b *testing.B) {
	const n = 1024
	keys := make([]Key, n)
	vals := make([]*int, n)
	for i := range keys {
		keys[i] = keyN(i)
		v := i
		vals[i] = &v
	}
	c := newCache[*int](b, Config{MaxBytes: 64 << 20})
	var m sync.Map
	for i, k := range keys {
		if _, err := c.GetOrLoad(context.Background(), k, func() (*int, int64, error) { return vals[i], 8, nil }); err != nil {
			b.Fatal(err)
		}
		m.Store(k, vals[i])
	}
	b.Run("cache", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := c.Get(keys[i%n]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
	b.Run("syncmap", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, ok := m.Load(keys[i%n]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}

// BenchmarkGetHitParallel is BenchmarkGetHit on all cores.
func BenchmarkGetHitParallel(b *testing.B) {
	const n = 1024
	keys := make([]Key, n)
	c := newCache[int](b, Config{MaxBytes: 64 << 20})
	var m sync.Map
	for i := range keys {
		keys[i] = keyN(i)
		if _, err := c.GetOrLoad(context.Background(), keys[i], func() (int, int64, error) { return i, 8, nil }); err != nil {
			b.Fatal(err)
		}
		m.Store(keys[i], i)
	}
	b.Run("cache", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok := c.Get(keys[i%n]); !ok {
					b.Error("miss")
					return
				}
				i++
			}
		})
	})
	b.Run("syncmap", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, ok := m.Load(keys[i%n]); !ok {
					b.Error("miss")
					return
				}
				i++
			}
		})
	})
}
