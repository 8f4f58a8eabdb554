// Package cache holds bounded, concurrent in-memory caches in front of slow work: parsing
// certificates, building chains, fetching revocation status, checking a seal's maker signature.
//
// It is the only package that imports github.com/dgraph-io/ristretto; callers see a small generic
// type, [Cache], keyed by [Key] (the SM3 digest of the object's DER encoding, see [KeyOf]).
//
// # Bound
//
// Each Cache is bounded by a budget in bytes, [Config.MaxBytes]. An entry costs the size its loader
// reports plus a fixed [Config.EntryOverhead] for the bookkeeping around it. When the budget is
// reached, ristretto's TinyLFU admission and sampled-LFU eviction decide what stays; an entry whose
// cost alone exceeds the budget is never kept. The bound is on the costs the callers report: a
// loader that under-reports its value's size breaks it.
//
// # Loading
//
// [Cache.GetOrLoad] returns a cached value or runs the loader. Concurrent misses for one key in one
// namespace run the loader once and share its result. A loader's error is returned to every waiter
// and never cached: the next call loads again. A loader that panics is reported as an error.
// Once GetOrLoad has returned a freshly loaded value, the next Get sees it, unless ristretto's
// admission policy refused the entry (the cache is full of entries used more often) or the entry
// has since been evicted or invalidated: a cache may always forget, it never serves a stale value.
// [Cache.GetOrLoadUntil] also lets the loader say until when its value holds (a CRL's
// nextUpdate); lookups miss from then on.
//
// # Namespaces and invalidation
//
// A Cache is split into namespaces (for instance one per trust set). Each namespace carries a
// generation counter that is folded into the internal key of every entry. [Cache.Invalidate]
// increments the counter: when it returns, every entry stored under the namespace before it is
// unreachable at once, for Get and GetOrLoad alike, including the value of a load that was running
// while Invalidate was called (that load captured the old generation, so its result is stored, if at
// all, where no lookup will find it; its own callers still receive it, as they asked before the
// invalidation). Unreachable entries are not freed at once: they keep their share of the budget until
// ristretto evicts them as cold. The names of namespaces are kept for the life of the Cache, so
// callers should use a bounded set of names.
//
// # Concurrency
//
// All methods but Close are safe for concurrent use; Close is called once, after the cache's users
// have stopped (loads still running in the background are waited for). Get allocates nothing and
// takes no lock.
package cache

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/sync/singleflight"
)

// Key identifies an entry inside a namespace: the SM3 digest of the object's DER encoding.
type Key [sm3.Size]byte

// KeyOf returns the key of an object by the SM3 digest of its DER encoding.
func KeyOf(der []byte) Key {
	return Key(sm3.Sum(der))
}

// String returns the key in lowercase hexadecimal.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// DefaultEntryOverhead is the bookkeeping cost in bytes added to each entry when
// [Config.EntryOverhead] is zero: ristretto's item and policy records plus this package's entry.
const DefaultEntryOverhead = 256

// DefaultEntrySize is the typical size in bytes of an entry assumed when [Config.TypicalEntry] is
// zero. It only sizes ristretto's frequency counters.
const DefaultEntrySize = 1024

// Config sets up a Cache. Its zero value is invalid: MaxBytes must be set.
type Config struct {
	// MaxBytes is the budget in bytes: the sum of the costs of the entries kept stays within it.
	MaxBytes int64
	// EntryOverhead is added to each entry's reported size; zero means DefaultEntryOverhead.
	EntryOverhead int64
	// TypicalEntry is the expected size in bytes of one entry, used to size the admission
	// counters (ten per expected entry); zero means DefaultEntrySize.
	TypicalEntry int64
}

// ErrConfig reports an unusable Config.
var ErrConfig = errors.New("cache: invalid configuration")

// ErrNegativeCost reports a loader that returned a negative cost.
var ErrNegativeCost = errors.New("cache: loader returned a negative cost")

// ErrClosed reports a call on a closed Cache.
var ErrClosed = errors.New("cache: closed")

// Cache is a bounded cache of values of type V. Build one with [New].
type Cache[V any] struct {
	rc       *ristretto.Cache[uint64, *entry[V]]
	overhead int64
	group    singleflight.Group

	mu     sync.RWMutex
	spaces map[string]*space
	fast   atomic.Pointer[map[string]*space] // a copy of spaces, read without a lock or an allocation
	def    *space
	nextID atomic.Uint64

	loads      atomic.Uint64
	loadErrors atomic.Uint64
	closed     atomic.Bool
	// closeMu keeps Close apart from the stores of loads still running (ristretto's Close must
	// not overlap a Set or a Wait).
	closeMu sync.RWMutex
}

// space is one namespace: its identity is its pointer, its generation moves on Invalidate.
type space struct {
	name string
	id   uint64
	gen  atomic.Uint64
}

// entry is what ristretto stores: the full identity of the entry beside its value, so that a
// collision of the 64-bit internal key is a miss, never a wrong value.
type entry[V any] struct {
	sp  *space
	gen uint64
	key Key
	val V
}

// New returns a Cache bounded by cfg.MaxBytes.
func New[V any](cfg Config) (*Cache[V], error) {
	if cfg.MaxBytes <= 0 {
		return nil, fmt.Errorf("%w: MaxBytes %d, want > 0", ErrConfig, cfg.MaxBytes)
	}
	if cfg.EntryOverhead < 0 {
		return nil, fmt.Errorf("%w: EntryOverhead %d, want >= 0", ErrConfig, cfg.EntryOverhead)
	}
	if cfg.TypicalEntry < 0 {
		return nil, fmt.Errorf("%w: TypicalEntry %d, want >= 0", ErrConfig, cfg.TypicalEntry)
	}
	overhead := cfg.EntryOverhead
	if overhead == 0 {
		overhead = DefaultEntryOverhead
	}
	typical := cfg.TypicalEntry
	if typical == 0 {
		typical = DefaultEntrySize
	}
	counters := 10 * (cfg.MaxBytes/(typical+overhead) + 1)
	counters = max(counters, 1000)
	rc, err := ristretto.NewCache(&ristretto.Config[uint64, *entry[V]]{
		NumCounters:        counters,
		MaxCost:            cfg.MaxBytes,
		BufferItems:        64,
		Metrics:            true,
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: new ristretto cache: %w", err)
	}
	c := &Cache[V]{rc: rc, overhead: overhead, spaces: make(map[string]*space)}
	c.def = c.space("")
	return c, nil
}

// space returns the namespace called name, creating it on first use.
func (c *Cache[V]) space(name string) *space {
	if m := c.fast.Load(); m != nil {
		if sp := (*m)[name]; sp != nil {
			return sp
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sp := c.spaces[name]
	if sp == nil {
		sp = &space{name: name, id: c.nextID.Add(1)}
		c.spaces[name] = sp
		m := maps.Clone(c.spaces) // namespaces are few and made once: copying on a new one is cheap
		c.fast.Store(&m)
	}
	return sp
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hash folds the namespace and its generation into the key's first 64 bits.
func hash(sp *space, gen uint64, k Key) uint64 {
	return binary.LittleEndian.Uint64(k[:8]) ^ mix(sp.id*0x9e3779b97f4a7c15^mix(gen))
}

func (c *Cache[V]) get(sp *space, gen uint64, k Key) (V, bool) {
	e, ok := c.rc.Get(hash(sp, gen, k))
	if !ok || e == nil || e.sp != sp || e.gen != gen || e.key != k {
		var zero V
		return zero, false
	}
	return e.val, true
}

// Get returns the value cached for k in the default namespace.
func (c *Cache[V]) Get(k Key) (V, bool) {
	return c.get(c.def, c.def.gen.Load(), k)
}

// GetIn returns the value cached for k in namespace ns.
func (c *Cache[V]) GetIn(ns string, k Key) (V, bool) {
	sp := c.space(ns)
	return c.get(sp, sp.gen.Load(), k)
}

// GetOrLoad returns the value cached for k in the default namespace, or loads it. See
// [Cache.GetOrLoadIn].
func (c *Cache[V]) GetOrLoad(ctx context.Context, k Key, load func() (V, int64, error)) (V, error) {
	return c.getOrLoad(ctx, c.def, k, load)
}

// GetOrLoadIn returns the value cached for k in namespace ns, or calls load once for all the
// concurrent callers that miss on the same key and namespace, caches its value at the cost it
// reports (plus the entry overhead) and returns it. An error from load is returned and not cached.
// If ctx ends before the value is there, GetOrLoadIn returns ctx's error; the load goes on for the
// other callers and its value is cached.
func (c *Cache[V]) GetOrLoadIn(ctx context.Context, ns string, k Key, load func() (V, int64, error)) (V, error) {
	return c.getOrLoad(ctx, c.space(ns), k, load)
}

// GetOrLoadUntil is GetOrLoadIn for values that are good only until a time the loader reports
// (a CRL's nextUpdate, a certificate's notAfter): from that time on, lookups miss and the next
// GetOrLoadUntil loads again. A zero time means no limit; a time already past means the value is
// returned but not cached.
func (c *Cache[V]) GetOrLoadUntil(ctx context.Context, ns string, k Key, load func() (V, int64, time.Time, error)) (V, error) {
	return c.getOrLoadUntil(ctx, c.space(ns), k, load)
}

// flightKey names one load: namespace, generation and key, so that a caller arriving after an
// Invalidate never joins a load begun before it.
func flightKey(sp *space, gen uint64, k Key) string {
	var b [8 + 8 + sm3.Size]byte
	binary.BigEndian.PutUint64(b[0:], sp.id)
	binary.BigEndian.PutUint64(b[8:], gen)
	copy(b[16:], k[:])
	return string(b[:])
}

func (c *Cache[V]) getOrLoad(ctx context.Context, sp *space, k Key, load func() (V, int64, error)) (V, error) {
	return c.getOrLoadUntil(ctx, sp, k, func() (V, int64, time.Time, error) {
		v, cost, err := load()
		return v, cost, time.Time{}, err
	})
}

func (c *Cache[V]) getOrLoadUntil(ctx context.Context, sp *space, k Key, load func() (V, int64, time.Time, error)) (V, error) {
	var zero V
	if c.closed.Load() {
		return zero, ErrClosed
	}
	gen := sp.gen.Load()
	if v, ok := c.get(sp, gen, k); ok {
		return v, nil
	}
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("cache: load %s: %w", k, err)
	}
	ch := c.group.DoChan(flightKey(sp, gen, k), func() (any, error) {
		return c.loadAndStore(sp, gen, k, load)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		v, _ := r.Val.(V) // a nil value of an interface type V is not a V
		return v, nil
	case <-ctx.Done():
		return zero, fmt.Errorf("cache: load %s: %w", k, ctx.Err())
	}
}

// loadAndStore runs load and stores its value under the generation captured before it began.
func (c *Cache[V]) loadAndStore(sp *space, gen uint64, k Key, load func() (V, int64, time.Time, error)) (val any, err error) {
	c.loads.Add(1)
	defer func() {
		if p := recover(); p != nil {
			val, err = nil, fmt.Errorf("cache: load %s panicked: %v", k, p)
		}
		if err != nil {
			c.loadErrors.Add(1)
		}
	}()
	v, cost, until, err := load()
	if err != nil {
		return nil, fmt.Errorf("cache: load %s: %w", k, err)
	}
	if cost < 0 {
		return nil, fmt.Errorf("%w: %d for %s", ErrNegativeCost, cost, k)
	}
	c.closeMu.RLock()
	defer c.closeMu.RUnlock()
	if c.closed.Load() {
		return v, nil
	}
	var ttl time.Duration // zero: no limit
	if !until.IsZero() {
		if ttl = time.Until(until); ttl <= 0 {
			return v, nil
		}
	}
	h := hash(sp, gen, k)
	if c.rc.SetWithTTL(h, &entry[V]{sp: sp, gen: gen, key: k, val: v}, cost+c.overhead, ttl) {
		// Set is buffered: wait until it is applied so that the next Get sees the value.
		c.rc.Wait()
		if sp.gen.Load() != gen {
			// Invalidated while loading: the entry is unreachable already; give its room back.
			c.rc.Del(h)
		}
	}
	return v, nil
}

// Invalidate makes every entry of namespace ns unreachable. When it returns, no Get or GetOrLoad
// in ns returns a value stored, or being loaded, before the call.
func (c *Cache[V]) Invalidate(ns string) {
	c.space(ns).gen.Add(1)
}

// InvalidateAll makes every entry of every namespace unreachable.
func (c *Cache[V]) InvalidateAll() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, sp := range c.spaces {
		sp.gen.Add(1)
	}
}

// Close releases the cache's goroutines. Later lookups miss and GetOrLoad fails with ErrClosed.
// Close waits for loads that are storing their value; it must not be called while a Get is under
// way (Get takes no lock, to stay cheap), so call it once the cache's users have stopped.
func (c *Cache[V]) Close() {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closed.Swap(true) {
		return
	}
	c.rc.Close()
}

// Metrics is a snapshot of a Cache's counters.
type Metrics struct {
	Hits       uint64 // lookups that found an entry
	Misses     uint64 // lookups that found none
	Loads      uint64 // loader calls (one per group of concurrent misses)
	LoadErrors uint64 // loader calls that failed
	Added      uint64 // entries admitted
	Evicted    uint64 // entries evicted to stay within the budget
	Rejected   uint64 // entries refused by the admission policy
	Dropped    uint64 // entries dropped under contention before reaching the policy
	CostAdded  uint64 // bytes admitted
	CostKept   int64  // bytes currently charged against the budget
}

// Metrics returns the cache's counters. Hits and misses count ristretto lookups: a lookup that finds
// an entry of another namespace or generation under the same 64-bit hash counts as a hit there but
// returns nothing (a rare collision).
func (c *Cache[V]) Metrics() Metrics {
	m := c.rc.Metrics
	return Metrics{
		Hits:       m.Hits(),
		Misses:     m.Misses(),
		Loads:      c.loads.Load(),
		LoadErrors: c.loadErrors.Load(),
		Added:      m.KeysAdded(),
		Evicted:    m.KeysEvicted(),
		Rejected:   m.SetsRejected(),
		Dropped:    m.SetsDropped(),
		CostAdded:  m.CostAdded(),
		CostKept:   c.rc.MaxCost() - c.rc.RemainingCost(),
	}
}

// MaxBytes returns the cache's budget in bytes.
func (c *Cache[V]) MaxBytes() int64 { return c.rc.MaxCost() }

// Overhead returns the cost in bytes added to each entry's reported size.
func (c *Cache[V]) Overhead() int64 { return c.overhead }

// Load is GetOrLoadUntil without a context, keyed by the bare 32 bytes of a Key: the shape the
// verifier asks of its caches (a Cache[any] is a verifier.Cache).
func (c *Cache[V]) Load(ns string, key [32]byte, load func() (V, int64, time.Time, error)) (V, error) {
	return c.getOrLoadUntil(context.Background(), c.space(ns), Key(key), load)
}
