//go:build cgo

package pkcs11

import (
	p11 "github.com/miekg/pkcs11"

	"github.com/eseal/eseal/signer"
)

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
	err = s.ctx.Login(sh, p11.CKU_USER, s.cfg.PIN)
	if err != nil && !isCKR(err, p11.CKR_USER_ALREADY_LOGGED_IN) {
		_ = s.ctx.CloseSession(sh)
		if isCKR(err, p11.CKR_PIN_INCORRECT, p11.CKR_PIN_INVALID, p11.CKR_PIN_LEN_RANGE) {
			return signer.Errorf(signer.ErrConfig, op, "", err, "user PIN of token %q rejected", s.cfg.TokenLabel)
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
// lost it rebuilds every session: the pool's and the login session are
// closed, a new login session is opened and logged in (the token found
// again by label when its slot is gone), and the pool refilled.
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
		s.log.Warn("token recovery failed", "cause", cause, "err", err)
		return err
	}
	s.fill()
	s.gen.Add(1)
	s.recovers.Add(1)
	s.log.Info("token sessions and login recovered", "cause", cause)
	return nil
}
