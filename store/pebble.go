package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// File modes of the data directory and its files.
const (
	DirMode  os.FileMode = 0o700
	FileMode os.FileMode = 0o600
)

// Options configure Open. The zero value is the production default.
type Options struct {
	// NoSync skips fsync on writes (tests and benchmarks only).
	NoSync bool
	// Logger receives Pebble's messages; nil means slog.Default().
	Logger *slog.Logger
	// CacheSize is Pebble's block cache in bytes; 0 means Pebble's default.
	CacheSize int64
}

// Pebble is the on-disk store. It implements DB.
type Pebble struct {
	mu   sync.RWMutex // held for reading by every op, for writing by Close
	wmu  sync.RWMutex // held for reading by plain writes, for writing by conditional ones
	db   *pebble.DB
	wo   *pebble.WriteOptions
	dir  string
	done bool
}

var _ DB = (*Pebble)(nil)

// Open opens (creating if needed) the Pebble store in dir.
func Open(dir string, opts *Options) (*Pebble, error) {
	if dir == "" {
		return nil, errors.New("store: open: empty directory")
	}
	if opts == nil {
		opts = &Options{}
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.Default()
	}
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	po := &pebble.Options{Logger: pebbleLogger{lg.With("component", "store", "dir", dir)}, FS: privateFS{vfs.Default}}
	if opts.CacheSize > 0 {
		c := pebble.NewCache(opts.CacheSize)
		defer c.Unref()
		po.Cache = c
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	if err := tighten(dir); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	wo := pebble.Sync
	if opts.NoSync {
		wo = pebble.NoSync
	}
	return &Pebble{db: db, wo: wo, dir: dir}, nil
}

func (p *Pebble) enter(ctx context.Context) error {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	p.mu.RLock()
	if p.done {
		p.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (p *Pebble) leave() { p.mu.RUnlock() }

// Get implements Reader.
func (p *Pebble) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := p.enter(ctx); err != nil {
		return nil, err
	}
	defer p.leave()
	v, closer, err := p.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	out := bytes.Clone(v)
	if out == nil {
		out = []byte{}
	}
	if err := closer.Close(); err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	return out, nil
}

// Set implements Writer.
func (p *Pebble) Set(ctx context.Context, key, value []byte) error {
	if err := p.enter(ctx); err != nil {
		return err
	}
	defer p.leave()
	p.wmu.RLock()
	defer p.wmu.RUnlock()
	if err := p.db.Set(key, value, p.wo); err != nil {
		return fmt.Errorf("store: set: %w", err)
	}
	return nil
}

// Delete implements Writer.
func (p *Pebble) Delete(ctx context.Context, key []byte) error {
	if err := p.enter(ctx); err != nil {
		return err
	}
	defer p.leave()
	p.wmu.RLock()
	defer p.wmu.RUnlock()
	if err := p.db.Delete(key, p.wo); err != nil {
		return fmt.Errorf("store: delete: %w", err)
	}
	return nil
}

// CompareAndSwap implements Swapper. It is atomic with respect to every
// other write of this Pebble (they wait while it compares).
func (p *Pebble) CompareAndSwap(ctx context.Context, key, old, value []byte) error {
	if err := p.enter(ctx); err != nil {
		return err
	}
	defer p.leave()
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if err := p.expect(key, old); err != nil {
		return err
	}
	var err error
	if value == nil {
		err = p.db.Delete(key, p.wo)
	} else {
		err = p.db.Set(key, value, p.wo)
	}
	if err != nil {
		return fmt.Errorf("store: compare-and-swap: %w", err)
	}
	return nil
}

// expect checks that key holds old (absent when old is nil). Caller holds
// p.wmu for writing.
func (p *Pebble) expect(key, old []byte) error {
	v, closer, err := p.db.Get(key)
	found := err == nil
	if err != nil && !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("store: compare-and-swap: %w", err)
	}
	same := false
	if found {
		same = old != nil && bytes.Equal(v, old)
		if err := closer.Close(); err != nil {
			return fmt.Errorf("store: compare-and-swap: %w", err)
		}
	} else {
		same = old == nil
	}
	if !same {
		return fmt.Errorf("store: key %q: %w", key, ErrConflict)
	}
	return nil
}

// Scan implements Reader.
func (p *Pebble) Scan(ctx context.Context, prefix []byte, fn func(key, value []byte) error) error {
	if err := p.enter(ctx); err != nil {
		return err
	}
	defer p.leave()
	io := &pebble.IterOptions{}
	if len(prefix) > 0 {
		io.LowerBound = prefix
		io.UpperBound = PrefixEnd(prefix)
	}
	it, err := p.db.NewIter(io)
	if err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	var ferr error
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%1024 == 0 && ctx != nil {
			if ferr = ctx.Err(); ferr != nil {
				break
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			ferr = fmt.Errorf("store: scan: %w", err)
			break
		}
		if err := fn(it.Key(), v); err != nil {
			if !errors.Is(err, ErrStop) {
				ferr = err
			}
			break
		}
	}
	if err := it.Close(); err != nil && ferr == nil {
		ferr = fmt.Errorf("store: scan: %w", err)
	}
	return ferr
}

// NewBatch implements KV.
func (p *Pebble) NewBatch() Batch { return &pebbleBatch{p: p} }

// Checkpoint implements DB: a consistent on-disk copy for backup.
func (p *Pebble) Checkpoint(ctx context.Context, dir string) error {
	if err := p.enter(ctx); err != nil {
		return err
	}
	defer p.leave()
	if dir == "" {
		return errors.New("store: checkpoint: empty directory")
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("store: checkpoint: %s already exists", dir)
	}
	if err := p.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("store: checkpoint to %s: %w", dir, err)
	}
	if err := tighten(dir); err != nil {
		return fmt.Errorf("store: checkpoint to %s: %w", dir, err)
	}
	return nil
}

// Flush writes the memtable to disk and starts a new write-ahead log. Pebble then reuses
// the log files that flushes made obsolete: a synced write into a reused file overwrites
// blocks the file already has, and costs the disk about half of a sync that has to grow a
// new file. A running store reaches that state by itself after its first flushes; Flush
// gets there at once (benchmarks use it to measure the store as it runs, not as it starts).
func (p *Pebble) Flush(ctx context.Context) error {
	if err := p.enter(ctx); err != nil {
		return err
	}
	defer p.leave()
	if err := p.db.Flush(); err != nil {
		return fmt.Errorf("store: flush %s: %w", p.dir, err)
	}
	return nil
}

// Close implements DB. It waits for running operations.
func (p *Pebble) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return nil
	}
	p.done = true
	if err := p.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", p.dir, err)
	}
	return nil
}

// pebbleBatch writes into a Pebble batch (taken from Pebble's pool at the first
// write), which copies keys and values once into one buffer. A Pebble batch holds
// no file or memtable of the store until it is applied, and Commit checks that
// the store is open before applying it, so a batch may outlive a Close of the
// store harmlessly.
type pebbleBatch struct {
	p      *Pebble
	pb     *pebble.Batch
	n      int
	expect []batchOp // conditions: key must hold value (absent when value is nil)
	closed bool
}

var _ SyncWaiter = (*pebbleBatch)(nil)

type batchOp struct {
	key, value []byte
}

func (b *pebbleBatch) batch() (*pebble.Batch, error) {
	if b.closed {
		return nil, errors.New("store: batch closed")
	}
	if b.pb == nil {
		b.pb = b.p.db.NewBatch()
	}
	return b.pb, nil
}

func (b *pebbleBatch) Set(key, value []byte) error {
	pb, err := b.batch()
	if err != nil {
		return err
	}
	if err := pb.Set(key, value, nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	b.n++
	return nil
}

func (b *pebbleBatch) Delete(key []byte) error {
	pb, err := b.batch()
	if err != nil {
		return err
	}
	if err := pb.Delete(key, nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	b.n++
	return nil
}

func (b *pebbleBatch) Expect(key, old []byte) error {
	if b.closed {
		return errors.New("store: batch closed")
	}
	var v []byte
	if old != nil {
		v = append([]byte{}, old...)
	}
	b.expect = append(b.expect, batchOp{key: bytes.Clone(key), value: v})
	return nil
}

func (b *pebbleBatch) Len() int { return b.n }

func (b *pebbleBatch) Commit(ctx context.Context) error {
	if b.closed {
		return errors.New("store: batch closed")
	}
	if err := b.p.enter(ctx); err != nil {
		return err
	}
	defer b.p.leave()
	pb, err := b.apply(false)
	if err != nil {
		return err
	}
	_ = pb.Close()
	return nil
}

// CommitNoSyncWait implements SyncWaiter with Pebble's ApplyNoSyncWait and
// Batch.SyncWait. The store stays entered (Close waits) until wait is called.
// On a store opened with NoSync it commits as Commit does.
func (b *pebbleBatch) CommitNoSyncWait(ctx context.Context) (func() error, error) {
	if b.closed {
		return nil, errors.New("store: batch closed")
	}
	if err := b.p.enter(ctx); err != nil {
		return nil, err
	}
	pb, err := b.apply(b.p.wo.Sync)
	if err != nil {
		b.p.leave()
		return nil, err
	}
	if !b.p.wo.Sync {
		_ = pb.Close()
		b.p.leave()
		return synced, nil
	}
	var once sync.Once
	var werr error
	return func() error {
		once.Do(func() {
			defer b.p.leave()
			if err := pb.SyncWait(); err != nil {
				werr = fmt.Errorf("store: batch sync: %w", err)
			}
			_ = pb.Close()
		})
		return werr
	}, nil
}

// apply checks the batch's conditions and hands its writes to Pebble: synced
// (or not, as the store is opened) when noSyncWait is false, applied and
// queued for sync when it is true. The caller has entered the store and
// closes the returned batch (after its SyncWait when noSyncWait). On success
// the batch is closed and no longer owns the Pebble batch.
func (b *pebbleBatch) apply(noSyncWait bool) (*pebble.Batch, error) {
	if len(b.expect) > 0 {
		b.p.wmu.Lock()
		defer b.p.wmu.Unlock()
		for _, e := range b.expect {
			if err := b.p.expect(e.key, e.value); err != nil {
				return nil, err
			}
		}
	} else {
		b.p.wmu.RLock()
		defer b.p.wmu.RUnlock()
	}
	pb := b.pb
	if pb == nil {
		pb = b.p.db.NewBatch()
	}
	var err error
	if noSyncWait {
		err = b.p.db.ApplyNoSyncWait(pb, b.p.wo)
	} else {
		err = pb.Commit(b.p.wo)
	}
	if err != nil {
		if pb != b.pb {
			_ = pb.Close()
		}
		return nil, fmt.Errorf("store: batch commit: %w", err)
	}
	b.pb = nil
	b.closed = true
	b.expect = nil
	return pb, nil
}

func (b *pebbleBatch) Close() error {
	if b.pb != nil {
		_ = b.pb.Close()
		b.pb = nil
	}
	b.closed = true
	b.expect = nil
	return nil
}

// pebbleLogger sends Pebble's messages to slog.
type pebbleLogger struct{ l *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.l.Debug(fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.l.Error(fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Fatalf(format string, args ...any) {
	l.l.Error(fmt.Sprintf(format, args...), "fatal", true)
	os.Exit(1)
}

// privateDir creates dir with DirMode, or checks that an existing one lets
// neither group nor others in.
func privateDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, DirMode); err != nil {
			return fmt.Errorf("store: open: creating %s: %w", dir, err)
		}
		if err := os.Chmod(dir, DirMode); err != nil {
			return fmt.Errorf("store: open: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: open: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("store: open: %s is not a directory", dir)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("store: open: data directory %s has mode %#o, which lets group or others read or write it; run chmod 700 %s (and chmod 600 the files in it)", dir, m, dir)
	}
	return nil
}

// tighten sets DirMode on dir and FileMode on the regular files in it.
func tighten(dir string) error {
	if err := os.Chmod(dir, DirMode); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := filepath.Join(dir, e.Name())
		switch {
		case e.Type().IsRegular():
			err = os.Chmod(name, FileMode)
		case e.IsDir():
			err = tighten(name)
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) { // Pebble may remove obsolete files meanwhile
			return err
		}
	}
	return nil
}

// privateFS is Pebble's file system with every file it creates made
// FileMode and every directory DirMode (Pebble asks for 0666 and 0755).
type privateFS struct{ vfs.FS }

func (f privateFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return private(f.FS.Create(name, category))(name)
}

func (f privateFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return private(f.FS.OpenReadWrite(name, category, opts...))(name)
}

func (f privateFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return private(f.FS.ReuseForWrite(oldname, newname, category))(newname)
}

func (f privateFS) MkdirAll(dir string, _ os.FileMode) error {
	return chmodAfter(dir, DirMode, f.FS.MkdirAll(dir, DirMode))
}

func (f privateFS) Lock(name string) (io.Closer, error) {
	c, err := f.FS.Lock(name)
	return c, chmodAfter(name, FileMode, err)
}

// private sets FileMode on a file just opened; on failure it closes it.
func private(file vfs.File, err error) func(name string) (vfs.File, error) {
	return func(name string) (vfs.File, error) {
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(name, FileMode); err != nil {
			_ = file.Close()
			return nil, err
		}
		return file, nil
	}
}

func chmodAfter(name string, mode os.FileMode, err error) error {
	if err != nil {
		return err
	}
	return os.Chmod(name, mode)
}
