//go:build cgo

package pkcs11

import (
	"context"
	"sync/atomic"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/eseal/eseal/signer"
)

// fill puts size sessions into the empty pool (nil where opening fails;
// those are opened on first use). Caller holds the write side of s.epoch
// or is Open.
func (s *Store) fill() {
	for range s.size {
		h, err := s.ctx.OpenSession(s.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
		if err != nil {
			s.pool <- nil
			continue
		}
		s.pool <- &session{h: h}
	}
}

// acquire takes a worker session, waiting at most until ctx ends (or the
// configured wait when ctx has no deadline). Caller holds s.epoch.RLock.
func (s *Store) acquire(ctx context.Context, op, label string) (*session, error) {
	if s.closed.Load() {
		return nil, signer.Errorf(signer.ErrClosed, op, label, nil, "key store for token %q closed", s.cfg.TokenLabel)
	}
	var sess *session
	s.stats.acquires.Add(1)
	select {
	case sess = <-s.pool:
	default:
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, s.wait)
			defer cancel()
		}
		s.stats.waits.Add(1)
		began := time.Now()
		select {
		case sess = <-s.pool:
			s.stats.waited.Add(int64(time.Since(began)))
		case <-ctx.Done():
			s.stats.waited.Add(int64(time.Since(began)))
			s.stats.timeouts.Add(1)
			return nil, signer.Errorf(signer.ErrBusy, op, label, ctx.Err(), "all %d sessions of token %q are in use", s.size, s.cfg.TokenLabel)
		}
	}
	if s.closed.Load() {
		s.pool <- sess
		return nil, signer.Errorf(signer.ErrClosed, op, label, nil, "key store for token %q closed", s.cfg.TokenLabel)
	}
	if sess != nil {
		return sess, nil
	}
	s.mu.Lock()
	slot := s.slot
	s.mu.Unlock()
	h, err := s.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		s.pool <- nil
		return nil, err // a raw CKR: the caller may recover
	}
	return &session{h: h}, nil
}

// release returns sess to the pool. close: the session is alive but must
// not be reused (a failed call may have left an operation active), so it is
// closed and reopened on next use. Sessions that failed with a recoverable
// code go back as they are: they may be dead, and their handle numbers must
// not be closed (SoftHSM may have given them to someone else); recover
// deals with them.
func (s *Store) release(sess *session, close bool) {
	if close || s.closed.Load() {
		_ = s.ctx.CloseSession(sess.h)
		s.pool <- nil
		return
	}
	s.pool <- sess
}

// do runs fn on a worker session; on a recoverable error it recovers and
// runs fn once more.
func (s *Store) do(ctx context.Context, op, label string, fn func(sh p11.SessionHandle) error) error {
	if err := s.gate(op, label); err != nil {
		return err
	}
	var last error
	for attempt := 0; attempt < 2; attempt++ {
		s.epoch.RLock()
		seen := s.gen.Load()
		sess, err := s.acquire(ctx, op, label)
		if err == nil {
			err = fn(sess.h)
			// Close only sessions that are alive but may carry a half-done
			// operation (a raw, non-recoverable CKR).
			raw := err != nil && signer.KindOf(err) == 0 && !isRecoverable(err)
			s.release(sess, raw)
		}
		s.epoch.RUnlock()
		if err == nil {
			return nil
		}
		if signer.KindOf(err) != 0 && !isRecoverable(err) {
			return err
		}
		last = err
		if !isRecoverable(err) || attempt == 1 {
			break
		}
		if rerr := s.recover(seen, err); rerr != nil {
			return rerr
		}
	}
	return s.mapErr(op, label, last)
}

func (s *Store) mapErr(op, label string, err error) error {
	if err == nil || signer.KindOf(err) != 0 {
		return err
	}
	switch {
	case isCKR(err, p11.CKR_MECHANISM_INVALID, p11.CKR_MECHANISM_PARAM_INVALID, p11.CKR_KEY_TYPE_INCONSISTENT, p11.CKR_KEY_FUNCTION_NOT_PERMITTED):
		return signer.Errorf(signer.ErrMechanism, op, label, err, "token %q rejects mechanism profile %q (sign %#x, keygen %#x)", s.cfg.TokenLabel, s.prof.Name, s.prof.SignMech, s.prof.KeyGenMech)
	case isCKR(err, p11.CKR_DATA_LEN_RANGE, p11.CKR_DATA_INVALID, p11.CKR_ARGUMENTS_BAD, p11.CKR_TEMPLATE_INCONSISTENT, p11.CKR_ATTRIBUTE_VALUE_INVALID):
		return signer.Errorf(signer.ErrInvalidInput, op, label, err, "token %q", s.cfg.TokenLabel)
	}
	return signer.Errorf(signer.ErrUnavailable, op, label, err, "token %q", s.cfg.TokenLabel)
}

// poolStats count the pool's use for PoolStats.
type poolStats struct {
	acquires, waits, timeouts atomic.Uint64
	waited                    atomic.Int64 // nanoseconds
}

// PoolStats tells how the session pool is used: how often an operation had to wait for a
// session, for how long in all, and how often it gave up (answered busy).
func (s *Store) PoolStats() signer.PoolStats {
	return signer.PoolStats{
		Sessions: s.size, Idle: len(s.pool),
		Acquires: s.stats.acquires.Load(), Waits: s.stats.waits.Load(), Timeouts: s.stats.timeouts.Load(),
		Waited: time.Duration(s.stats.waited.Load()),
	}
}
