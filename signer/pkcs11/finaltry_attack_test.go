//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/eseal/eseal/signer"
)

// countingTokenCtx plays a token that counts wrong user PINs as real tokens do: after
// limit-1 wrong ones in a row it says CKF_USER_PIN_FINAL_TRY in its token info, and the
// next wrong one locks the PIN (CKF_USER_PIN_LOCKED, CKR_PIN_LOCKED from then on).
type countingTokenCtx struct {
	loginFaultCtx
	limit, wrong int
}

func (f *countingTokenCtx) Login(sh p11.SessionHandle, userType uint, pin string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logins++
	switch {
	case f.wrong >= f.limit:
		return p11.Error(p11.CKR_PIN_LOCKED)
	case f.refuse != 0:
		f.wrong++
		return p11.Error(p11.CKR_PIN_INCORRECT)
	}
	f.wrong = 0
	return f.p11Ctx.Login(sh, userType, pin)
}

func (f *countingTokenCtx) GetTokenInfo(slot uint) (p11.TokenInfo, error) {
	ti, err := f.p11Ctx.GetTokenInfo(slot)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.wrong >= f.limit:
		ti.Flags |= p11.CKF_USER_PIN_LOCKED
	case f.wrong == f.limit-1:
		ti.Flags |= p11.CKF_USER_PIN_FINAL_TRY | p11.CKF_USER_PIN_COUNT_LOW
	case f.wrong > 0:
		ti.Flags |= p11.CKF_USER_PIN_COUNT_LOW
	}
	return ti, err
}

func (f *countingTokenCtx) lockedOut() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wrong >= f.limit
}

// TestPKCS11AttackRefusedPINRetriedUntilLocked: a user PIN the token refused (a wrong PIN
// in configuration after the token's PIN was changed, say) was offered again at every end
// of the back-off, however the token said it had one try left, until the token locked its
// user PIN: a configuration error turned into a locked HSM that only the security officer
// can unlock. The store must not spend the token's last try on its own.
func TestPKCS11AttackRefusedPINRetriedUntilLocked(t *testing.T) {
	e := softHSM(t)
	s := openStore(t, e, "ecdsa-p256", 2)
	label := genKey(t, s, "finaltry")
	f := &countingTokenCtx{loginFaultCtx: loginFaultCtx{p11Ctx: s.ctx}, limit: 3}
	var clockMu sync.Mutex
	clock := time.Now()
	s.mu.Lock()
	s.ctx = f
	s.now = func() time.Time {
		clockMu.Lock()
		defer clockMu.Unlock()
		return clock
	}
	s.mu.Unlock()
	ctx := context.Background()
	sg, err := s.Signer(ctx, label)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("x"))
	f.set(true, p11.CKR_PIN_INCORRECT)
	// A day of requests, one a minute: the back-off ends many times.
	for range 24 * 60 {
		if _, err := sg.Sign(nil, d[:], crypto.SHA256); !errors.Is(err, signer.ErrUnavailable) {
			t.Fatalf("sign while the PIN is refused: %v", err)
		}
		clockMu.Lock()
		clock = clock.Add(time.Minute)
		clockMu.Unlock()
	}
	if f.lockedOut() {
		t.Fatalf("the store offered the refused PIN %d times and locked the token's user PIN", f.count())
	}
	if n := f.count(); n != f.limit-1 {
		t.Fatalf("C_Login calls = %d, want %d (every try but the last)", n, f.limit-1)
	}
	err = s.Ready()
	if !errors.Is(err, signer.ErrUnavailable) || !strings.Contains(err.Error(), "one try left") {
		t.Fatalf("Ready with one try left: %v", err)
	}
	if strings.Contains(err.Error(), e.pin) {
		t.Fatal("readiness error shows the PIN")
	}
	// The operator corrects the PIN and asks for a login: that one is made.
	f.mu.Lock()
	f.lost, f.refuse = false, 0
	f.mu.Unlock()
	if err := s.Relogin(ctx); err != nil {
		t.Fatalf("Relogin: %v", err)
	}
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready after Relogin: %v", err)
	}
	sig, err := sg.Sign(nil, d[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(sg.Public().(*ecdsa.PublicKey), d[:], sig) {
		t.Fatalf("sign after Relogin: %v", err)
	}
}

// TestPKCS11AttackOpenSpendsLastPINTry: a process restarted over and over with a wrong PIN
// in its configuration offered it at every Open, down to the token's last try, and locked
// the token. Open must not offer the PIN when the token has one try left or none.
func TestPKCS11AttackOpenSpendsLastPINTry(t *testing.T) {
	e := softHSM(t)
	s := openStore(t, e, "ecdsa-p256", 1)
	// The module is loaded once per process: play the token through it.
	modules.Lock()
	var m *module
	for _, x := range modules.m {
		if x.ctx == s.ctx {
			m = x
		}
	}
	if m == nil {
		modules.Unlock()
		t.Fatal("module of the open store not found")
	}
	f := &countingTokenCtx{loginFaultCtx: loginFaultCtx{p11Ctx: m.ctx}, limit: 3}
	m.ctx = f
	modules.Unlock()
	defer func() {
		modules.Lock()
		m.ctx = f.p11Ctx
		modules.Unlock()
	}()
	f.set(false, p11.CKR_PIN_INCORRECT)
	cfg := Config{Module: e.module, TokenLabel: e.label, PIN: NewSecret(e.pin + "-wrong"), Profile: "ecdsa-p256", Sessions: 1}
	for i := range 10 {
		st, err := Open(cfg)
		if err == nil {
			st.Close()
			t.Fatalf("open %d with a wrong PIN succeeded", i)
		}
		if strings.Contains(err.Error(), e.pin) {
			t.Fatalf("open error shows the PIN: %v", err)
		}
		if i >= f.limit-1 && !errors.Is(err, signer.ErrConfig) {
			t.Fatalf("open %d with one try left: %v", i, err)
		}
	}
	if f.lockedOut() {
		t.Fatalf("Open offered the wrong PIN %d times and locked the token's user PIN", f.count())
	}
	if n := f.count(); n != f.limit-1 {
		t.Fatalf("C_Login calls = %d, want %d", n, f.limit-1)
	}
	// Once the count is reset on the token, the right PIN opens.
	f.set(false, 0)
	f.mu.Lock()
	f.wrong = 0
	f.mu.Unlock()
	cfg.PIN = NewSecret(e.pin)
	st, err := Open(cfg)
	if err != nil {
		t.Fatalf("open after the count was reset: %v", err)
	}
	st.Close()
}
