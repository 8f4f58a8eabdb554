package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2"
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
	po := &pebble.Options{Logger: pebbleLogger{lg.With("component", "store", "dir", dir)}}
	if opts.CacheSize > 0 {
		c := pebble.NewCache(opts.CacheSize)
		defer c.Unref()
		po.Cache = c
	}
	db, err := pebble.Open(dir, po)
	if err != nil {
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
	if err := p.db.Delete(key, p.wo); err != nil {
		return fmt.Errorf("store: delete: %w", err)
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

// pebbleBatch buffers writes itself and hands them to Pebble at Commit, so
// that a batch never holds Pebble resources across a Close of the store.
type pebbleBatch struct {
	p      *Pebble
	ops    []batchOp
	closed bool
}

type batchOp struct {
	del        bool
	key, value []byte
}

func (b *pebbleBatch) Set(key, value []byte) error {
	if b.closed {
		return errors.New("store: batch closed")
	}
	b.ops = append(b.ops, batchOp{key: bytes.Clone(key), value: bytes.Clone(value)})
	return nil
}

func (b *pebbleBatch) Delete(key []byte) error {
	if b.closed {
		return errors.New("store: batch closed")
	}
	b.ops = append(b.ops, batchOp{del: true, key: bytes.Clone(key)})
	return nil
}

func (b *pebbleBatch) Len() int { return len(b.ops) }

func (b *pebbleBatch) Commit(ctx context.Context) error {
	if b.closed {
		return errors.New("store: batch closed")
	}
	if err := b.p.enter(ctx); err != nil {
		return err
	}
	defer b.p.leave()
	pb := b.p.db.NewBatch()
	defer pb.Close()
	for _, op := range b.ops {
		var err error
		if op.del {
			err = pb.Delete(op.key, nil)
		} else {
			err = pb.Set(op.key, op.value, nil)
		}
		if err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	if err := pb.Commit(b.p.wo); err != nil {
		return fmt.Errorf("store: batch commit: %w", err)
	}
	b.closed = true
	b.ops = nil
	return nil
}

func (b *pebbleBatch) Close() error {
	b.closed = true
	b.ops = nil
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
