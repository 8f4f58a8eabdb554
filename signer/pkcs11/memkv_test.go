package pkcs11

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/eseal/eseal/store"
)

// memKV is a tiny in-memory store.KV for tests that need no disk.
type memKV struct {
	mu *sync.Mutex
	m  map[string][]byte
}

func (k memKV) lock() func() {
	if k.mu == nil {
		return func() {}
	}
	k.mu.Lock()
	return k.mu.Unlock
}

func (k memKV) Get(_ context.Context, key []byte) ([]byte, error) {
	defer k.lock()()
	v, ok := k.m[string(key)]
	if !ok {
		return nil, store.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (k memKV) Set(_ context.Context, key, value []byte) error {
	defer k.lock()()
	k.m[string(key)] = bytes.Clone(value)
	return nil
}

func (k memKV) Delete(_ context.Context, key []byte) error {
	defer k.lock()()
	delete(k.m, string(key))
	return nil
}

func (k memKV) CompareAndSwap(_ context.Context, key, old, value []byte) error {
	defer k.lock()()
	cur, ok := k.m[string(key)]
	if ok != (old != nil) || ok && !bytes.Equal(cur, old) {
		return store.ErrConflict
	}
	if value == nil {
		delete(k.m, string(key))
	} else {
		k.m[string(key)] = bytes.Clone(value)
	}
	return nil
}

func (k memKV) Scan(_ context.Context, prefix []byte, fn func(key, value []byte) error) error {
	var keys []string
	for s := range k.m {
		if strings.HasPrefix(s, string(prefix)) {
			keys = append(keys, s)
		}
	}
	sort.Strings(keys)
	for _, s := range keys {
		if err := fn([]byte(s), k.m[s]); err != nil {
			return err
		}
	}
	return nil
}

func (k memKV) NewBatch() store.Batch { panic("not used") }
