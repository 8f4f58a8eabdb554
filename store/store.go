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
// keys), "pin" (signer.Guard: PIN records).
//
// # Durability and concurrency
//
// Writes and batch commits are synced to disk unless Options.NoSync is set.
// All methods are safe for concurrent use. Use after Close returns ErrClosed.
// Values passed to Scan callbacks are valid only during the call; values
// returned by Get are the caller's to keep.
package store

import (
	"bytes"
	"context"
	"errors"

	"github.com/eseal/eseal/errs"
)

// The store's error kinds, from the one table in package errs.
const (
	// ErrNotFound is returned by Get when the key is absent.
	ErrNotFound = errs.NotFound
	// ErrClosed is returned by every operation after Close.
	ErrClosed = errs.Closed
	// ErrConflict is returned by a compare-and-swap that lost: another
	// writer changed the key since it was read.
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

// Batch collects writes that Commit applies atomically: all or none.
// A Batch is not safe for concurrent use. Close releases it; closing a
// committed batch is allowed and closing twice is harmless.
type Batch interface {
	Set(key, value []byte) error
	Delete(key []byte) error
	// Len is the number of writes collected.
	Len() int
	Commit(ctx context.Context) error
	Close() error
}

// KV is a readable, writable keyspace with atomic batches.
type KV interface {
	Reader
	Writer
	NewBatch() Batch
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
