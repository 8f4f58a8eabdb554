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
// # Mechanisms
//
// A Profile gives the key type, curve, key-generation and signing
// mechanisms, whether the token hashes Z‖M itself, and its signature form.
// Open checks the token offers the profile's mechanisms.
package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm2"
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

	mu       sync.Mutex // guards slot, login, loggedIn; serialises recovery
	slot     uint
	login    p11.SessionHandle
	haveLog  bool
	epoch    sync.RWMutex  // read: an operation holds sessions; write: recovery
	gen      atomic.Uint64 // bumped by every recovery
	genMu    sync.Mutex    // serialises Generate/Delete
	pool     chan *session
	size     int
	handles  sync.Map // label -> keyRef
	pubs     sync.Map // label -> crypto.PublicKey
	closed   atomic.Bool
	recovers atomic.Uint64
}

type session struct {
	h p11.SessionHandle
}

type keyRef struct {
	h   p11.ObjectHandle
	gen uint64
}

var _ signer.KeyStore = (*Store)(nil)

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
	s := &Store{cfg: cfg, prof: prof, mod: mod, ctx: mod.ctx, log: cfg.Logger, wait: cfg.WaitTimeout}
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
	select {
	case sess = <-s.pool:
	default:
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, s.wait)
			defer cancel()
		}
		select {
		case sess = <-s.pool:
		case <-ctx.Done():
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

// findObjects returns handles of objects matching template (at most max).
func (s *Store) findObjects(sh p11.SessionHandle, tmpl []*p11.Attribute, max int) ([]p11.ObjectHandle, error) {
	if err := s.ctx.FindObjectsInit(sh, tmpl); err != nil {
		return nil, err
	}
	var out []p11.ObjectHandle
	for len(out) < max {
		hs, _, err := s.ctx.FindObjects(sh, min(max-len(out), 256))
		if err != nil {
			_ = s.ctx.FindObjectsFinal(sh)
			return nil, err
		}
		if len(hs) == 0 {
			break
		}
		out = append(out, hs...)
	}
	if err := s.ctx.FindObjectsFinal(sh); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) keyTemplate(class uint, label string) []*p11.Attribute {
	return []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, class),
		p11.NewAttribute(p11.CKA_KEY_TYPE, s.prof.KeyType),
		p11.NewAttribute(p11.CKA_LABEL, label),
	}
}

// privHandle returns the private key handle of label, from the cache when
// it is of the current generation.
func (s *Store) privHandle(sh p11.SessionHandle, label string) (p11.ObjectHandle, error) {
	g := s.gen.Load()
	if v, ok := s.handles.Load(label); ok {
		if r := v.(keyRef); r.gen == g {
			return r.h, nil
		}
	}
	hs, err := s.findObjects(sh, s.keyTemplate(p11.CKO_PRIVATE_KEY, label), 2)
	if err != nil {
		return 0, err
	}
	switch len(hs) {
	case 0:
		// A session that lost its login sees no private objects: report
		// that, so the caller re-logs in instead of calling the key missing.
		if si, err := s.ctx.GetSessionInfo(sh); err != nil {
			return 0, err
		} else if si.State != p11.CKS_RO_USER_FUNCTIONS && si.State != p11.CKS_RW_USER_FUNCTIONS {
			return 0, p11.Error(p11.CKR_USER_NOT_LOGGED_IN)
		}
		return 0, signer.Errorf(signer.ErrKeyNotFound, "pkcs11.FindKey", label, nil, "no %s private key with this label on token %q", s.prof.Algorithm, s.cfg.TokenLabel)
	case 1:
	default:
		return 0, signer.Errorf(signer.ErrCorrupt, "pkcs11.FindKey", label, nil, "more than one private key with this label on token %q", s.cfg.TokenLabel)
	}
	s.handles.Store(label, keyRef{h: hs[0], gen: g})
	return hs[0], nil
}

// publicKey reads the public key of label (public object, else CKA_EC_POINT
// on the private object).
func (s *Store) publicKey(sh p11.SessionHandle, label string) (crypto.PublicKey, error) {
	if v, ok := s.pubs.Load(label); ok {
		return v.(crypto.PublicKey), nil
	}
	priv, err := s.privHandle(sh, label)
	if err != nil {
		return nil, err
	}
	obj := priv
	if hs, err := s.findObjects(sh, s.keyTemplate(p11.CKO_PUBLIC_KEY, label), 1); err == nil && len(hs) == 1 {
		obj = hs[0]
	} else if err != nil {
		return nil, err
	}
	attrs, err := s.ctx.GetAttributeValue(sh, obj, []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_POINT, nil)})
	if err != nil {
		return nil, err
	}
	pub, err := s.parsePoint(attrs[0].Value)
	if err != nil {
		return nil, signer.Errorf(signer.ErrCorrupt, "pkcs11.PublicKey", label, err, "CKA_EC_POINT on token %q", s.cfg.TokenLabel)
	}
	s.pubs.Store(label, pub)
	return pub, nil
}

// parsePoint accepts CKA_EC_POINT as DER OCTET STRING (the standard) or as
// the raw uncompressed point (some vendors).
func (s *Store) parsePoint(v []byte) (*ecdsa.PublicKey, error) {
	pt := v
	if len(v) != 65 {
		var os []byte
		rest, err := asn1.Unmarshal(v, &os)
		if err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("not a DER OCTET STRING nor a raw point (%d bytes)", len(v))
		}
		pt = os
	}
	if len(pt) != 65 || pt[0] != 4 {
		return nil, fmt.Errorf("not an uncompressed 256-bit point (%d bytes)", len(pt))
	}
	if s.prof.Algorithm == signer.SM2 {
		return sm2.NewPublicKey(pt)
	}
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
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

// Generate implements signer.KeyStore: a token key pair (CKA_TOKEN true,
// private key sensitive and not extractable).
func (s *Store) Generate(ctx context.Context, label string, alg signer.Algorithm) (signer.KeyInfo, error) {
	const op = "pkcs11.Generate"
	if err := s.check(op, label); err != nil {
		return signer.KeyInfo{}, err
	}
	if alg != s.prof.Algorithm {
		return signer.KeyInfo{}, signer.Errorf(signer.ErrUnsupported, op, label, nil, "mechanism profile %q makes %s keys, not %s", s.prof.Name, s.prof.Algorithm, alg)
	}
	if s.prof.KeyGenMech == 0 {
		return signer.KeyInfo{}, signer.Errorf(signer.ErrUnsupported, op, label, nil, "mechanism profile %q has no key generation mechanism", s.prof.Name)
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return signer.KeyInfo{}, err
	}
	var pub crypto.PublicKey
	err := s.do(ctx, op, label, func(sh p11.SessionHandle) error {
		if hs, err := s.findObjects(sh, s.keyTemplate(p11.CKO_PRIVATE_KEY, label), 1); err != nil {
			return err
		} else if len(hs) > 0 {
			return signer.Errorf(signer.ErrKeyExists, op, label, nil, "a private key with this label exists on token %q", s.cfg.TokenLabel)
		}
		pubT := []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, s.prof.KeyType),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_VERIFY, true),
			p11.NewAttribute(p11.CKA_LABEL, label),
			p11.NewAttribute(p11.CKA_ID, id),
		}
		if s.prof.ECParams != nil {
			pubT = append(pubT, p11.NewAttribute(p11.CKA_EC_PARAMS, s.prof.ECParams))
		}
		privT := []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, s.prof.KeyType),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_PRIVATE, true),
			p11.NewAttribute(p11.CKA_SENSITIVE, true),
			p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
			p11.NewAttribute(p11.CKA_SIGN, true),
			p11.NewAttribute(p11.CKA_LABEL, label),
			p11.NewAttribute(p11.CKA_ID, id),
		}
		pubH, privH, err := s.ctx.GenerateKeyPair(sh, s.genMec, pubT, privT)
		if err != nil {
			return err
		}
		attrs, err := s.ctx.GetAttributeValue(sh, pubH, []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_POINT, nil)})
		if err != nil {
			return err
		}
		k, err := s.parsePoint(attrs[0].Value)
		if err != nil {
			_ = s.ctx.DestroyObject(sh, privH)
			_ = s.ctx.DestroyObject(sh, pubH)
			return signer.Errorf(signer.ErrMechanism, op, label, err, "token %q returned an unusable public key for profile %q", s.cfg.TokenLabel, s.prof.Name)
		}
		pub = k
		s.handles.Store(label, keyRef{h: privH, gen: s.gen.Load()})
		return nil
	})
	if err != nil {
		return signer.KeyInfo{}, err
	}
	s.pubs.Store(label, pub)
	s.log.InfoContext(ctx, "key generated", "key", label, "alg", string(alg))
	return signer.KeyInfo{Label: label, Algorithm: alg, Public: pub, Backend: s.backend()}, nil
}

// Find implements signer.KeyStore.
func (s *Store) Find(ctx context.Context, label string) (signer.KeyInfo, error) {
	const op = "pkcs11.Find"
	if err := s.check(op, label); err != nil {
		return signer.KeyInfo{}, err
	}
	var pub crypto.PublicKey
	err := s.do(ctx, op, label, func(sh p11.SessionHandle) error {
		if _, err := s.privHandle(sh, label); err != nil {
			return err
		}
		var err error
		pub, err = s.publicKey(sh, label)
		return err
	})
	if err != nil {
		return signer.KeyInfo{}, err
	}
	return signer.KeyInfo{Label: label, Algorithm: s.prof.Algorithm, Public: pub, Backend: s.backend()}, nil
}

// PublicKey implements signer.KeyStore.
func (s *Store) PublicKey(ctx context.Context, label string) (crypto.PublicKey, error) {
	ki, err := s.Find(ctx, label)
	return ki.Public, err
}

// Signer implements signer.KeyStore.
func (s *Store) Signer(ctx context.Context, label string) (crypto.Signer, error) {
	ki, err := s.Find(ctx, label)
	if err != nil {
		return nil, err
	}
	return &Key{s: s, label: label, pub: ki.Public.(*ecdsa.PublicKey)}, nil
}

// List implements signer.KeyStore: the private keys of the profile's key
// type on the token.
func (s *Store) List(ctx context.Context) ([]signer.KeyInfo, error) {
	const op = "pkcs11.List"
	if s.closed.Load() {
		return nil, signer.Errorf(signer.ErrClosed, op, "", nil, "key store for token %q closed", s.cfg.TokenLabel)
	}
	var labels []string
	err := s.do(ctx, op, "", func(sh p11.SessionHandle) error {
		labels = labels[:0]
		hs, err := s.findObjects(sh, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, s.prof.KeyType),
		}, 1<<16)
		if err != nil {
			return err
		}
		for _, h := range hs {
			a, err := s.ctx.GetAttributeValue(sh, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, nil)})
			if err != nil {
				return err
			}
			if l := string(a[0].Value); signer.ValidLabel(l) {
				labels = append(labels, l)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(labels)
	out := make([]signer.KeyInfo, 0, len(labels))
	for _, l := range labels {
		ki, err := s.Find(ctx, l)
		if err != nil {
			if signer.KindOf(err) == signer.ErrKeyNotFound || signer.KindOf(err) == signer.ErrCorrupt {
				continue
			}
			return nil, err
		}
		out = append(out, ki)
	}
	return out, nil
}

// Delete implements signer.KeyStore: destroys the private and public
// objects labelled label.
func (s *Store) Delete(ctx context.Context, label string) error {
	const op = "pkcs11.Delete"
	if err := s.check(op, label); err != nil {
		return err
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	err := s.do(ctx, op, label, func(sh p11.SessionHandle) error {
		priv, err := s.findObjects(sh, s.keyTemplate(p11.CKO_PRIVATE_KEY, label), 16)
		if err != nil {
			return err
		}
		if len(priv) == 0 {
			return signer.Errorf(signer.ErrKeyNotFound, op, label, nil, "no %s private key with this label on token %q", s.prof.Algorithm, s.cfg.TokenLabel)
		}
		pub, err := s.findObjects(sh, s.keyTemplate(p11.CKO_PUBLIC_KEY, label), 16)
		if err != nil {
			return err
		}
		for _, h := range append(priv, pub...) {
			if err := s.ctx.DestroyObject(sh, h); err != nil {
				return err
			}
		}
		return nil
	})
	s.handles.Delete(label)
	s.pubs.Delete(label)
	if err == nil {
		s.log.InfoContext(ctx, "key deleted", "key", label)
	}
	return err
}

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

// Key is a key in the token: crypto.Signer, signer.ContextSigner and, for
// SM2, crypto.MessageSigner.
type Key struct {
	s     *Store
	label string
	pub   *ecdsa.PublicKey
}

var (
	_ signer.ContextSigner = (*Key)(nil)
	_ signer.MessageSigner = (*Key)(nil)
)

// Public implements crypto.Signer.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Sign implements crypto.Signer with the store's default wait bound.
func (k *Key) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), rnd, digest, opts)
}

// SignMessage implements crypto.MessageSigner for SM2 keys: msg is the
// message; e = SM3(Z‖msg) with the UID in opts, or the default UID.
func (k *Key) SignMessage(rnd io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if k.s.prof.Algorithm != signer.SM2 {
		return nil, signer.Errorf(signer.ErrUnsupported, "pkcs11.SignMessage", k.label, nil, "message signing is for SM2 keys; hash and call Sign")
	}
	o, ok := opts.(*sm2.SM2SignerOption)
	if !ok || !signer.IsGMSign(o) {
		o = sm2.DefaultSM2SignerOpts
	}
	return k.SignContext(context.Background(), rnd, msg, o)
}

// SignContext signs on a pooled session. rnd is not used (the token makes
// its own randomness). SM2 follows gmsm's convention (see package
// signer); ECDSA takes the digest of opts.HashFunc(). The result is DER.
func (k *Key) SignContext(ctx context.Context, _ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	const op = "pkcs11.Sign"
	s := k.s
	var in []byte
	switch s.prof.Algorithm {
	case signer.SM2:
		o, isSM2 := opts.(*sm2.SM2SignerOption)
		gm := isSM2 && signer.IsGMSign(o)
		if s.prof.HashInside {
			if !gm {
				return nil, signer.Errorf(signer.ErrUnsupported, op, k.label, nil, "profile %q hashes the message inside the token; pass the message with sm2.DefaultSM2SignerOpts", s.prof.Name)
			}
			if string(signer.SM2UID(o)) != string(signer.DefaultUID) {
				return nil, signer.Errorf(signer.ErrUnsupported, op, k.label, nil, "profile %q hashes with the default user ID inside the token; a custom user ID needs a raw-digest profile", s.prof.Name)
			}
			in = digest
		} else {
			e, err := signer.SM2Digest(k.pub, digest, opts)
			if err != nil {
				return nil, err
			}
			in = e
		}
	default:
		if opts != nil && opts.HashFunc() != 0 && len(digest) != opts.HashFunc().Size() {
			return nil, signer.Errorf(signer.ErrInvalidInput, op, k.label, nil, "digest is %d bytes, %v wants %d", len(digest), opts.HashFunc(), opts.HashFunc().Size())
		}
		if len(digest) == 0 || len(digest) > 64 {
			return nil, signer.Errorf(signer.ErrInvalidInput, op, k.label, nil, "digest length %d", len(digest))
		}
		in = digest
	}
	var sig []byte
	err := s.do(ctx, op, k.label, func(sh p11.SessionHandle) error {
		h, err := s.privHandle(sh, k.label)
		if err != nil {
			return err
		}
		if err := s.ctx.SignInit(sh, s.signMec, h); err != nil {
			return err
		}
		sig, err = s.ctx.Sign(sh, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return toDER(op, k.label, s.prof, sig)
}

func toDER(op, label string, p Profile, sig []byte) ([]byte, error) {
	if p.Output == DER {
		if !checkDER(sig) {
			return nil, signer.Errorf(signer.ErrMechanism, op, label, nil, "profile %q expects a DER signature; the token returned %d bytes that are not one", p.Name, len(sig))
		}
		return sig, nil
	}
	if len(sig) != 64 {
		return nil, signer.Errorf(signer.ErrMechanism, op, label, nil, "profile %q expects a 64-byte r||s signature; the token returned %d bytes", p.Name, len(sig))
	}
	der, err := rawToDER(sig)
	if err != nil {
		return nil, signer.Errorf(signer.ErrMechanism, op, label, err, "profile %q: token signature", p.Name)
	}
	return der, nil
}
