// Package store is eseal's state: a small key-value layer over Pebble.
//
// It is the only package that imports Pebble. Everything else programs
// against the interfaces here (KV, DB, Batch), so that a later cluster mode
// can put them over a distributed store without touching the callers.
//
// # Keyspaces
//
// Data is partitioned by key prefix. Space(kv, "softkey") returns a KV that
// sees only keys under "softkey/", with the prefix stripped on the way out.
// Spaces nest. Names are lower-case ASCII letters, digits, '-', '_' and '.',
// so one space name can never be a prefix of another's keys.
//
// Spaces in use (add yours here): "softkey" (signer/softkey: wrapped SM2
// keys), "pin" (signer.Guard: PIN records), "pki" (the built-in CA),
// "audit" (the audit log: records, signed heads, the signature index),
// "apikey" (appliance: API keys as hashes of their secrets), "idem"
// (appliance: first answers of idempotent requests); the registry keeps its
// keys under the plain prefix "reg/" (see registry.Prefix).
//
// # Durability and concurrency
//
// Writes and batch commits are synced to disk unless Options.NoSync is set.
// A batch may also be committed without waiting for its sync
// (CommitNoSyncWait) and waited for later, so that a writer can gather its
// next batch while the disk syncs; syncs keep commit order. All methods are
// safe for concurrent use. Use after Close returns ErrClosed.
// Values passed to Scan callbacks are valid only during the call; values
// returned by Get are the caller's to keep.
//
// # Compare-and-swap
//
// A read-modify-write of one key that must not lose a concurrent writer's
// change uses CompareAndSwap (or Update, its retry loop): the write happens
// only if the key still holds the value that was read, else it fails with
// ErrConflict. A Batch may carry the same conditions (Expect) on several
// keys, committed all or none. Pebble implements both under a lock, which is
// enough within one process; an etcd transaction (If Value(key) = old, or
// CreateRevision(key) = 0 for absent; Then the writes) implements the same
// contract across machines. Counters and records whose update depends only
// on the value read (PIN failure counts, certificate sequence numbers) are
// safe under it.
//
// # Files
//
// The data directory is created 0700 and its files 0600; Open refuses a
// directory that group or others may read or enter. Checkpoints get the
// same modes.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/eseal/eseal/errs"
)

// The store's error kinds, from the one table in package errs.
const (
	// ErrNotFound is returned by Get when the key is absent.
	ErrNotFound = errs.NotFound
	// ErrClosed is returned by every operation after Close.
	ErrClosed = errs.Closed
	// ErrConflict is returned by CompareAndSwap, Update (after its retries)
	// and a Batch's Commit with Expect conditions when a key no longer holds
	// the value the caller read: another writer changed it. Match it with
	// errors.Is.
	ErrConflict = errs.Conflict
)

// ErrStop may be returned by a Scan callback to end the scan early without
// an error. It is a signal, not an error kind: Scan never returns it.
var ErrStop = errors.New("store: stop scan")

// Reader reads keys.
type Reader interface {
	// Get returns a copy of the value under key, or ErrNotFound.
	Get(ctx context.Context, key []byte) ([]byte, error)
	// Scan calls fn for each key with the given prefix, in byte order.
	// key and value are valid only during the call. fn returning ErrStop
	// ends the scan with a nil error; any other error ends it with that error.
	Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error
}

// Writer writes single keys.
type Writer interface {
	Set(ctx context.Context, key, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key []byte) error
}

// Swapper updates one key only if nobody changed it since it was read.
type Swapper interface {
	// CompareAndSwap writes value under key only if the key's current
	// value equals old, byte for byte; old nil means the key must be
	// absent (a present key's value, as Get returns it, is never nil).
	// value nil deletes the key. It fails with ErrConflict, writing
	// nothing, when the current value differs.
	CompareAndSwap(ctx context.Context, key, old, value []byte) error
}

// Batch collects writes that Commit applies atomically: all or none.
// Set, Delete and Expect copy their arguments, which the caller may reuse.
// A Batch is not safe for concurrent use. Close releases it; closing a
// committed batch is allowed and closing twice is harmless.
type Batch interface {
	Set(key, value []byte) error
	Delete(key []byte) error
	// Expect makes Commit conditional: it writes nothing and fails with
	// ErrConflict unless key then holds old (absent when old is nil), as
	// for CompareAndSwap.
	Expect(key, old []byte) error
	// Len is the number of writes collected.
	Len() int
	Commit(ctx context.Context) error
	Close() error
}

// SyncWaiter is implemented by batches that can commit without waiting for
// their sync, so that the next batch can be gathered while the disk syncs
// (see CommitNoSyncWait).
type SyncWaiter interface {
	// CommitNoSyncWait applies the batch atomically, as Commit does, and
	// returns once its writes are applied and queued for sync, before they
	// are durable. wait blocks until they are durable and returns the sync's
	// error (again on later calls); it must be called, and until it is the
	// store cannot close. Batches become durable in the order they were
	// committed: when wait returns nil, every batch committed before is
	// durable too.
	CommitNoSyncWait(ctx context.Context) (wait func() error, err error)
}

// CommitNoSyncWait commits b without waiting for its sync when b implements
// SyncWaiter; otherwise it commits b as Commit does and returns a wait that
// reports nothing more. wait must be called when err is nil.
func CommitNoSyncWait(ctx context.Context, b Batch) (wait func() error, err error) {
	if w, ok := b.(SyncWaiter); ok {
		return w.CommitNoSyncWait(ctx)
	}
	if err := b.Commit(ctx); err != nil {
		return nil, err
	}
	return synced, nil
}

func synced() error { return nil }

// KV is a readable, writable keyspace with compare-and-swap and atomic
// batches.
type KV interface {
	Reader
	Writer
	Swapper
	NewBatch() Batch
}

// MaxUpdateTries bounds Update's retries under contention.
const MaxUpdateTries = 1000

// Update applies fn to the value of key in a compare-and-swap loop and
// returns the value written. fn gets the current value (nil when the key is
// absent) and returns the new one (nil deletes the key); it may run several
// times, so it must depend on old only and have no side effects. An error
// from fn ends the loop and is returned as is. After MaxUpdateTries
// conflicts, or when ctx ends, Update gives up.
func Update(ctx context.Context, kv KV, key []byte, fn func(old []byte) ([]byte, error)) ([]byte, error) {
	for range MaxUpdateTries {
		old, err := kv.Get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			old, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		v, err := fn(bytes.Clone(old))
		if err != nil {
			return nil, err
		}
		err = kv.CompareAndSwap(ctx, key, old, v)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("store: update: gave up after %d conflicting writers: %w", MaxUpdateTries, ErrConflict)
}

// DB is a whole store: a KV with backup and lifecycle.
type DB interface {
	KV
	// Checkpoint writes a consistent copy of the store into dir, which
	// must not exist yet. The copy opens with Open.
	Checkpoint(ctx context.Context, dir string) error
	Close() error
}

// PrefixEnd returns the smallest key greater than every key with the given
// prefix, or nil when there is none (prefix empty or all 0xff).
func PrefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
