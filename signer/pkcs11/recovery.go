//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/eseal/eseal/signer"
)

// pinRefused reports whether err is the token refusing the PIN itself (as
// opposed to the token being away), and returns the raw code.
func pinRefused(err error) (p11.Error, bool) {
	var e p11.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	switch uint(e) {
	case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_INVALID, p11.CKR_PIN_LEN_RANGE, p11.CKR_PIN_LOCKED, p11.CKR_PIN_EXPIRED:
		return e, true
	}
	return 0, false
}

// loginBackoff is the wait after n refused logins in a row (n >= 1).
func loginBackoff(n int) time.Duration {
	d := LoginRetryMin
	for i := 1; i < n && d < LoginRetryMax; i++ {
		d *= 2
	}
	return min(d, LoginRetryMax)
}

// relogin (re)opens the persistent login session. Caller holds s.mu or is
// Open.
func (s *Store) relogin() error {
	const op = "pkcs11.Login"
	if s.haveLog {
		_ = s.ctx.CloseSession(s.login)
		s.haveLog = false
	}
	sh, err := s.ctx.OpenSession(s.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil && isGone(err) {
		// The slot may have changed: find the token again by label.
		if isCKR(err, p11.CKR_CRYPTOKI_NOT_INITIALIZED) {
			_ = s.ctx.Initialize()
		}
		slot, _, ferr := s.findToken()
		if ferr != nil {
			return signer.Errorf(signer.ErrUnavailable, op, "", err, "token %q is not reachable", s.cfg.TokenLabel)
		}
		s.slot = slot
		sh, err = s.ctx.OpenSession(s.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	}
	if err != nil {
		return signer.Errorf(signer.ErrUnavailable, op, "", err, "opening the login session on token %q", s.cfg.TokenLabel)
	}
	err = s.ctx.Login(sh, p11.CKU_USER, s.cfg.PIN.value())
	if err != nil && !isCKR(err, p11.CKR_USER_ALREADY_LOGGED_IN) {
		_ = s.ctx.CloseSession(sh)
		if isCKR(err, p11.CKR_PIN_INCORRECT, p11.CKR_PIN_INVALID, p11.CKR_PIN_LEN_RANGE) {
			return signer.Errorf(signer.ErrConfig, op, "", err, "user PIN of token %q rejected", s.cfg.TokenLabel)
		}
		if isCKR(err, p11.CKR_PIN_EXPIRED) {
			return signer.Errorf(signer.ErrConfig, op, "", err, "user PIN of token %q has expired; set a new one on the token", s.cfg.TokenLabel)
		}
		if isCKR(err, p11.CKR_PIN_LOCKED) {
			return signer.Errorf(signer.ErrLocked, op, "", err, "user PIN of token %q is locked", s.cfg.TokenLabel)
		}
		return signer.Errorf(signer.ErrUnavailable, op, "", err, "login to token %q", s.cfg.TokenLabel)
	}
	s.login, s.haveLog = sh, true
	return nil
}

// recover drops the handle cache and checks the login. When the login is
// lost it rebuilds every session (see rebuild).
//
// It runs under the write side of s.epoch, so no operation holds a session
// meanwhile. That matters: after a token closes our sessions behind our
// back, SoftHSM hands out the same handle numbers again, so a new session
// must never be opened while an operation may still use an old handle.
//
// seen is the generation the failed operation ran under: when another
// goroutine has recovered since, there is nothing to do.
func (s *Store) recover(seen uint64, cause error) error {
	s.epoch.Lock()
	defer s.epoch.Unlock()
	if s.gen.Load() != seen || s.closed.Load() {
		return nil
	}
	s.handles.Clear()
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := false
	if s.haveLog {
		if si, err := s.ctx.GetSessionInfo(s.login); err == nil &&
			(si.State == p11.CKS_RO_USER_FUNCTIONS || si.State == p11.CKS_RW_USER_FUNCTIONS) {
			ok = true
		}
	}
	if ok {
		s.gen.Add(1)
		s.recovers.Add(1)
		s.log.Info("key handle cache dropped", "cause", cause)
		return nil
	}
	if s.refused != 0 && (s.held || s.now().Before(s.nextLogin)) {
		// The token refused our PIN: do not offer it again before the
		// back-off ends, however many requests fail meanwhile.
		return s.refusedErr("pkcs11.Login", "")
	}
	if s.refused != 0 && s.lastTry() {
		// The same PIN again would spend the token's last try and lock
		// it: that is the operator's decision (Relogin), never ours.
		s.held = true
		s.lastErr = s.refusedErr("pkcs11.Login", "")
		s.log.Error("token has one user PIN try left or none; the refused PIN is not offered again until an operator calls Relogin",
			"code", s.refused.Error(), "refusals", s.refusals)
		return s.lastErr
	}
	return s.rebuild(cause)
}

// lastTry reports whether the token says its user PIN has one try left or is
// locked. Caller holds s.mu.
func (s *Store) lastTry() bool {
	ti, err := s.ctx.GetTokenInfo(s.slot)
	if err != nil {
		return false
	}
	return ti.Flags&(p11.CKF_USER_PIN_FINAL_TRY|p11.CKF_USER_PIN_LOCKED) != 0
}

// rebuild closes the pool's and the login session, opens a new login
// session and logs in (the token found again by label when its slot is
// gone), and refills the pool. It records the outcome for Ready: a refused
// PIN starts or extends the login back-off. Caller holds the write side of
// s.epoch and s.mu.
func (s *Store) rebuild(cause error) error {
	// Every pool session is idle in the channel now. Close them all (the
	// dead ones just fail) before anything new is opened.
	for range s.size {
		if sess := <-s.pool; sess != nil {
			_ = s.ctx.CloseSession(sess.h)
		}
	}
	if err := s.relogin(); err != nil {
		for range s.size {
			s.pool <- nil
		}
		s.down.Store(true)
		if code, ok := pinRefused(err); ok {
			s.refused = code
			s.refusals++
			s.nextLogin = s.now().Add(loginBackoff(s.refusals))
			s.lastErr = s.refusedErr("pkcs11.Login", "")
			s.log.Error("token refused the user PIN; no automatic login until the back-off ends or an operator calls Relogin",
				"code", code.Error(), "refusals", s.refusals, "next_try", s.nextLogin.UTC().Format(time.RFC3339))
			return s.lastErr
		}
		s.lastErr = err
		s.log.Warn("token recovery failed", "cause", cause, "err", err)
		return err
	}
	s.fill()
	s.refused, s.refusals, s.lastErr, s.held = 0, 0, nil, false
	s.nextLogin = time.Time{}
	s.down.Store(false)
	s.gen.Add(1)
	s.recovers.Add(1)
	s.log.Info("token sessions and login recovered", "cause", cause)
	return nil
}

// refusedErr reports the store as unavailable because the token refused
// the PIN. Caller holds s.mu.
func (s *Store) refusedErr(op, label string) error {
	if s.held {
		return signer.Errorf(signer.ErrUnavailable, op, label, s.refused,
			"token %q refused the user PIN (%d time(s) in a row) and has one try left or none; no automatic login: correct the PIN or unlock it on the token, then call Relogin",
			s.cfg.TokenLabel, s.refusals)
	}
	return signer.Errorf(signer.ErrUnavailable, op, label, s.refused,
		"token %q refused the user PIN (%d time(s) in a row); no automatic login before %s: correct the PIN or unlock it on the token, then call Relogin",
		s.cfg.TokenLabel, s.refusals, s.nextLogin.UTC().Format(time.RFC3339))
}

// gate fails fast while a refused PIN's back-off runs, so that requests do
// not reach the token at all. It is cheap when the store is healthy.
func (s *Store) gate(op, label string) error {
	if !s.down.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused != 0 && (s.held || s.now().Before(s.nextLogin)) {
		return s.refusedErr(op, label)
	}
	return nil
}

// Ready implements signer.Readier: nil when the store is logged in and
// serving; otherwise why not (the PIN refused and until when no login is
// tried, the token unreachable at the last recovery, or closed).
func (s *Store) Ready() error {
	if s.closed.Load() {
		return signer.Errorf(signer.ErrClosed, "pkcs11.Ready", "", nil, "key store for token %q closed", s.cfg.TokenLabel)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused != 0 {
		return s.refusedErr("pkcs11.Ready", "")
	}
	return s.lastErr
}

// Relogin is the operator's action after fixing the PIN (or unlocking it
// on the token): it rebuilds the sessions and logs in now, whatever the
// back-off, and returns the outcome. It waits for running operations.
func (s *Store) Relogin(ctx context.Context) error {
	const op = "pkcs11.Relogin"
	if err := ctx.Err(); err != nil {
		return signer.Errorf(signer.ErrUnavailable, op, "", err, "token %q", s.cfg.TokenLabel)
	}
	s.epoch.Lock()
	defer s.epoch.Unlock()
	if s.closed.Load() {
		return signer.Errorf(signer.ErrClosed, op, "", nil, "key store for token %q closed", s.cfg.TokenLabel)
	}
	s.handles.Clear()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log.Info("re-login requested by an operator")
	return s.rebuild(errors.New("operator request"))
}
