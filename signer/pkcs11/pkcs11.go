//go:build cgo

// Package pkcs11 is the HSM backend of eseal's key custody: keys inside a
// PKCS#11 token, reached through github.com/miekg/pkcs11 behind a small
// consumer-side interface.
//
// # Sessions
//
// One C_Initialize per module per process (modules are shared between
// Stores and finalised when the last one closes). Each Store keeps one
// persistent logged-in session and a bounded pool of worker sessions; a
// worker session is used by one goroutine at a time (SoftHSM crashes when
// two threads share one). Waiting for a session is bounded by the
// request's context (or Config.WaitTimeout when it has no deadline) and
// ends in signer.ErrBusy.
//
// # Recovery
//
// Private-key handles are cached per label. On CKR_USER_NOT_LOGGED_IN,
// CKR_OBJECT_HANDLE_INVALID, CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_REMOVED,
// CKR_TOKEN_NOT_PRESENT (and close relatives) the cache is dropped, the
// login session re-opened and logged in (the token found again by label),
// stale worker sessions replaced, and the operation retried once. A token
// that stays away gives signer.ErrUnavailable; the next request tries again,
// so the pool recovers when it comes back. Recovery runs while no call is
// in flight (an RWMutex: operations read-lock, recovery write-locks), since
// tokens such as SoftHSM reuse session handle numbers and crash when a
// session is closed under a running call. One retry per operation: a
// second incident during the retry is returned as an error.
//
// A PIN the token refuses on re-login (CKR_PIN_INCORRECT, CKR_PIN_LOCKED,
// CKR_PIN_EXPIRED and relatives) is not offered again on the next request:
// that would lock the token's user PIN within a few requests. The store
// reports itself unavailable (Ready, and signer.ErrUnavailable on every
// request, without touching the token) and logs in again only when an
// operator calls Relogin, or after a back-off of LoginRetryMin that doubles
// with each refusal up to LoginRetryMax. Once the token says its user PIN
// has one try left (CKF_USER_PIN_FINAL_TRY) or is locked, a refused PIN is
// not offered again automatically at all: only Relogin does. Open does not
// offer the configured PIN to a token in that state either.
//
// # Mechanisms
//
// A Profile gives the key type, curve, key-generation and signing
// mechanisms, whether the token hashes Z‖M itself, and its signature form.
// Open checks the token offers the profile's mechanisms.
package pkcs11

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/eseal/eseal/signer"
)

// Store is a signer.KeyStore over one token and one mechanism profile.
type Store struct {
	cfg     Config
	prof    Profile
	mod     *module
	ctx     p11Ctx
	log     *slog.Logger
	wait    time.Duration
	signMec []*p11.Mechanism
	genMec  []*p11.Mechanism

	mu        sync.Mutex // guards slot, login, haveLog and the login state below; serialises recovery
	slot      uint
	login     p11.SessionHandle
	haveLog   bool
	refused   p11.Error   // the token's answer to the last login when it refused the PIN, else 0
	refusals  int         // refused logins in a row
	nextLogin time.Time   // no automatic login before this while refused
	held      bool        // refused, and the token has one user PIN try left (or none): no automatic login at all
	lastErr   error       // why the last recovery failed; nil once one succeeds
	down      atomic.Bool // refused != 0 || lastErr != nil, read without s.mu
	now       func() time.Time
	epoch     sync.RWMutex  // read: an operation holds sessions; write: recovery
	gen       atomic.Uint64 // bumped by every recovery
	genMu     sync.Mutex    // serialises Generate/Delete
	pool      chan *session
	size      int
	stats     poolStats
	handles   sync.Map // label -> keyRef
	pubs      sync.Map // label -> crypto.PublicKey
	closed    atomic.Bool
	recovers  atomic.Uint64
}

type session struct {
	h p11.SessionHandle
}

type keyRef struct {
	h   p11.ObjectHandle
	gen uint64
}

var (
	_ signer.KeyStore = (*Store)(nil)
	_ signer.Readier  = (*Store)(nil)
)

// Open loads the module (once per process), finds the token by label,
// checks the profile's mechanisms, logs in on a persistent session and
// sets up the worker pool.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	prof, _ := cfg.profile()
	mod, err := openModule(cfg.Module)
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, prof: prof, mod: mod, ctx: mod.ctx, log: cfg.Logger, wait: cfg.WaitTimeout, now: time.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "signer.pkcs11", "token", cfg.TokenLabel)
	if s.wait == 0 {
		s.wait = DefaultWaitTimeout
	}
	s.signMec = []*p11.Mechanism{p11.NewMechanism(prof.SignMech, nil)}
	s.genMec = []*p11.Mechanism{p11.NewMechanism(prof.KeyGenMech, nil)}
	fail := func(err error) (*Store, error) {
		if s.haveLog {
			_ = s.ctx.CloseSession(s.login)
		}
		mod.release()
		return nil, err
	}
	slot, ti, err := s.findToken()
	if err != nil {
		return fail(err)
	}
	s.slot = slot
	if err := s.checkMechanisms(); err != nil {
		return fail(err)
	}
	// A token with one user PIN try left locks on a wrong PIN: a process restarted over
	// and over with a wrong PIN in its configuration must not be what locks it.
	switch {
	case ti.Flags&p11.CKF_USER_PIN_LOCKED != 0:
		return fail(signer.Errorf(signer.ErrLocked, "pkcs11.Open", "", nil, "user PIN of token %q is locked; unlock it on the token", cfg.TokenLabel))
	case ti.Flags&p11.CKF_USER_PIN_FINAL_TRY != 0:
		return fail(signer.Errorf(signer.ErrConfig, "pkcs11.Open", "", nil,
			"token %q has one user PIN try left; the configured PIN is not offered: check it and log in to the token once by hand (a right PIN resets the count), or have the security officer reset it", cfg.TokenLabel))
	}
	if err := s.relogin(); err != nil {
		return fail(err)
	}
	s.size = cfg.Sessions
	if s.size == 0 {
		lim := ti.MaxRwSessionCount
		if lim == 0 || lim == p11.CK_UNAVAILABLE_INFORMATION || lim > DefaultMaxSessions+1 {
			lim = DefaultMaxSessions + 1
		}
		s.size = int(lim) - 1
		if s.size < 1 {
			s.size = 1
		}
	}
	s.pool = make(chan *session, s.size)
	s.fill()
	s.log.Info("PKCS#11 token opened", "module", cfg.Module, "profile", prof.Name, "sessions", s.size)
	return s, nil
}

// findToken returns the slot holding the token labelled cfg.TokenLabel.
func (s *Store) findToken() (uint, p11.TokenInfo, error) {
	const op = "pkcs11.Open"
	slots, err := s.ctx.GetSlotList(true)
	if err != nil {
		return 0, p11.TokenInfo{}, signer.Errorf(signer.ErrUnavailable, op, "", err, "listing slots of module %s", s.cfg.Module)
	}
	var seen []string
	for _, sl := range slots {
		ti, err := s.ctx.GetTokenInfo(sl)
		if err != nil {
			continue
		}
		l := strings.TrimRight(ti.Label, " \x00")
		if l == s.cfg.TokenLabel {
			return sl, ti, nil
		}
		if l != "" {
			seen = append(seen, fmt.Sprintf("%q", l))
		}
	}
	have := "no tokens present"
	if len(seen) > 0 {
		have = "tokens present: " + strings.Join(seen, ", ")
	}
	return 0, p11.TokenInfo{}, signer.Errorf(signer.ErrConfig, op, "", nil, "no token labelled %q in module %s (%s)", s.cfg.TokenLabel, s.cfg.Module, have)
}

func (s *Store) checkMechanisms() error {
	ms, err := s.ctx.GetMechanismList(s.slot)
	if err != nil {
		// Some modules cannot list; C_SignInit will tell.
		s.log.Warn("cannot list mechanisms; not checking the profile", "err", err)
		return nil
	}
	have := map[uint]bool{}
	for _, m := range ms {
		have[m.Mechanism] = true
	}
	var missing []string
	if s.prof.KeyGenMech != 0 && !have[s.prof.KeyGenMech] {
		missing = append(missing, fmt.Sprintf("key generation mechanism %#x", s.prof.KeyGenMech))
	}
	if !have[s.prof.SignMech] {
		missing = append(missing, fmt.Sprintf("sign mechanism %#x", s.prof.SignMech))
	}
	if len(missing) == 0 {
		return nil
	}
	var offered []string
	for m := range have {
		if m >= ckmVendorDefined || m == ckmECDSA || m == ckmECKeyPairGen {
			offered = append(offered, fmt.Sprintf("%#x", m))
		}
	}
	sort.Strings(offered)
	return signer.Errorf(signer.ErrMechanism, "pkcs11.Open", "", nil,
		"token %q does not offer the %s of mechanism profile %q (EC and vendor mechanisms it offers: %s)",
		s.cfg.TokenLabel, strings.Join(missing, " nor the "), s.prof.Name, strings.Join(offered, " "))
}

func (s *Store) check(op, label string) error {
	if err := signer.CheckLabel(op, label); err != nil {
		return err
	}
	if s.closed.Load() {
		return signer.Errorf(signer.ErrClosed, op, label, nil, "key store for token %q closed", s.cfg.TokenLabel)
	}
	return nil
}

func (s *Store) backend() string { return "pkcs11:" + s.cfg.TokenLabel }

// Close waits for running operations, closes every session and releases
// the module (finalised when no other Store uses it).
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.epoch.Lock()
	for range s.size {
		if sess := <-s.pool; sess != nil {
			_ = s.ctx.CloseSession(sess.h)
		}
	}
	s.mu.Lock()
	if s.haveLog {
		_ = s.ctx.CloseSession(s.login)
		s.haveLog = false
	}
	s.mu.Unlock()
	s.epoch.Unlock()
	s.mod.release()
	return nil
}
