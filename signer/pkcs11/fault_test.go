//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/eseal/eseal/signer"
)

// faultCtx wraps the real module and makes the next n C_SignInit calls
// fail with code, to drive the recovery path with every listed CKR value.
type faultCtx struct {
	p11Ctx
	mu    sync.Mutex
	code  uint
	n     int
	calls int
}

func (f *faultCtx) SignInit(sh p11.SessionHandle, m []*p11.Mechanism, o p11.ObjectHandle) error {
	f.mu.Lock()
	f.calls++
	if f.n > 0 {
		f.n--
		f.mu.Unlock()
		return p11.Error(f.code)
	}
	f.mu.Unlock()
	return f.p11Ctx.SignInit(sh, m, o)
}

func (f *faultCtx) arm(code uint, n int) {
	f.mu.Lock()
	f.code, f.n, f.calls = code, n, 0
	f.mu.Unlock()
}

func TestRecoveryOnEachCode(t *testing.T) {
	e := softHSM(t)
	s := openStore(t, e, "ecdsa-p256", 2)
	label := genKey(t, s, "fault")
	f := &faultCtx{p11Ctx: s.ctx}
	s.ctx = f
	sg, err := s.Signer(context.Background(), label)
	if err != nil {
		t.Fatal(err)
	}
	pub := sg.Public().(*ecdsa.PublicKey)
	d := sha256.Sum256([]byte("x"))
	for _, code := range []uint{
		p11.CKR_USER_NOT_LOGGED_IN, p11.CKR_OBJECT_HANDLE_INVALID, p11.CKR_SESSION_HANDLE_INVALID,
		p11.CKR_DEVICE_REMOVED, p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_KEY_HANDLE_INVALID,
	} {
		t.Run(fmt.Sprintf("%#x", code), func(t *testing.T) {
			before := s.recovers.Load()
			// One failure: dropped cache, recovery, one retry, success.
			f.arm(code, 1)
			sig, err := sg.Sign(nil, d[:], crypto.SHA256)
			if err != nil || !ecdsa.VerifyASN1(pub, d[:], sig) {
				t.Fatalf("one failure then retry: %v", err)
			}
			if f.calls != 2 || s.recovers.Load() != before+1 {
				t.Fatalf("SignInit calls = %d, recoveries = %d; want 2 and 1", f.calls, s.recovers.Load()-before)
			}
			// Two failures in a row: exactly one retry, then a clear error.
			f.arm(code, 2)
			_, err = sg.Sign(nil, d[:], crypto.SHA256)
			if !errors.Is(err, signer.ErrUnavailable) || !errors.Is(err, p11.Error(code)) || f.calls != 2 {
				t.Fatalf("two failures: err=%v calls=%d", err, f.calls)
			}
			// And the next signature works.
			f.arm(code, 0)
			if _, err := sg.Sign(nil, d[:], crypto.SHA256); err != nil {
				t.Fatal(err)
			}
		})
	}
	// A non-recoverable error is not retried.
	f.arm(p11.CKR_FUNCTION_FAILED, 1)
	if _, err := sg.Sign(nil, d[:], crypto.SHA256); !errors.Is(err, signer.ErrUnavailable) || f.calls != 1 {
		t.Fatalf("CKR_FUNCTION_FAILED: err=%v calls=%d", err, f.calls)
	}
	f.arm(p11.CKR_MECHANISM_INVALID, 1)
	if _, err := sg.Sign(nil, d[:], crypto.SHA256); !errors.Is(err, signer.ErrMechanism) || f.calls != 1 {
		t.Fatalf("CKR_MECHANISM_INVALID: err=%v calls=%d", err, f.calls)
	}
}

// loginFaultCtx wraps the real module to play a token that has lost our
// login (sessions public, C_SignInit CKR_USER_NOT_LOGGED_IN) and refuses
// the PIN with code; it counts the C_Login calls.
type loginFaultCtx struct {
	p11Ctx
	mu     sync.Mutex
	lost   bool
	refuse uint
	logins int
}

func (f *loginFaultCtx) set(lost bool, refuse uint) {
	f.mu.Lock()
	f.lost, f.refuse, f.logins = lost, refuse, 0
	f.mu.Unlock()
}

func (f *loginFaultCtx) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins
}

func (f *loginFaultCtx) Login(sh p11.SessionHandle, userType uint, pin string) error {
	f.mu.Lock()
	f.logins++
	refuse := f.refuse
	f.mu.Unlock()
	if refuse != 0 {
		return p11.Error(refuse)
	}
	return f.p11Ctx.Login(sh, userType, pin)
}

func (f *loginFaultCtx) GetSessionInfo(sh p11.SessionHandle) (p11.SessionInfo, error) {
	f.mu.Lock()
	lost := f.lost
	f.mu.Unlock()
	si, err := f.p11Ctx.GetSessionInfo(sh)
	if lost && err == nil {
		si.State = p11.CKS_RW_PUBLIC_SESSION
	}
	return si, err
}

func (f *loginFaultCtx) SignInit(sh p11.SessionHandle, m []*p11.Mechanism, o p11.ObjectHandle) error {
	f.mu.Lock()
	lost := f.lost
	f.mu.Unlock()
	if lost {
		return p11.Error(p11.CKR_USER_NOT_LOGGED_IN)
	}
	return f.p11Ctx.SignInit(sh, m, o)
}

// TestRefusedPINBacksOff: once the token refuses the PIN on re-login, a
// flood of requests makes no further C_Login until the back-off ends (one
// login per back-off step, the step doubling), readiness says why, and an
// operator's Relogin brings the store back.
func TestRefusedPINBacksOff(t *testing.T) {
	e := softHSM(t)
	s := openStore(t, e, "ecdsa-p256", 2)
	label := genKey(t, s, "pinfault")
	f := &loginFaultCtx{p11Ctx: s.ctx}
	var clockMu sync.Mutex
	clock := time.Now()
	advance := func(d time.Duration) {
		clockMu.Lock()
		clock = clock.Add(d)
		clockMu.Unlock()
	}
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
	pub := sg.Public().(*ecdsa.PublicKey)
	d := sha256.Sum256([]byte("x"))

	// flood signs from 16 goroutines, 8 times each; every one must fail
	// as unavailable, naming the refusal.
	flood := func(t *testing.T, code uint) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 16*8)
		for range 16 {
			wg.Go(func() {
				for range 8 {
					_, err := sg.Sign(nil, d[:], crypto.SHA256)
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, signer.ErrUnavailable) || !errors.Is(err, p11.Error(code)) || signer.KindOf(err) != signer.ErrUnavailable {
				t.Fatalf("sign while the PIN is refused: %v", err)
			}
		}
	}
	for _, code := range []uint{p11.CKR_PIN_INCORRECT, p11.CKR_PIN_LOCKED, p11.CKR_PIN_EXPIRED} {
		t.Run(fmt.Sprintf("%#x", code), func(t *testing.T) {
			if err := s.Ready(); err != nil {
				t.Fatalf("Ready before the fault: %v", err)
			}
			f.set(true, code)
			flood(t, code)
			if n := f.count(); n != 1 {
				t.Fatalf("C_Login calls after the first refusal and 128 requests = %d, want 1", n)
			}
			err := s.Ready()
			if !errors.Is(err, signer.ErrUnavailable) || !errors.Is(err, p11.Error(code)) || !strings.Contains(err.Error(), "refused the user PIN") {
				t.Fatalf("Ready while refused: %v", err)
			}
			if strings.Contains(err.Error(), e.pin) {
				t.Fatal("readiness error shows the PIN")
			}
			// Steps of the back-off: 1 min, then 2, then 4.
			want := 1
			for _, step := range []time.Duration{LoginRetryMin, 2 * LoginRetryMin, 4 * LoginRetryMin} {
				advance(step - time.Second)
				flood(t, code)
				if n := f.count(); n != want {
					t.Fatalf("C_Login calls 1 s before the %v step ends = %d, want %d", step, n, want)
				}
				advance(time.Second)
				flood(t, code)
				want++
				if n := f.count(); n != want {
					t.Fatalf("C_Login calls once the %v step ended = %d, want %d", step, n, want)
				}
			}
			// The operator fixes the token and asks for a login.
			f.set(false, 0)
			if err := s.Relogin(ctx); err != nil {
				t.Fatalf("Relogin: %v", err)
			}
			if n := f.count(); n != 1 {
				t.Fatalf("C_Login calls for Relogin = %d, want 1", n)
			}
			if err := s.Ready(); err != nil {
				t.Fatalf("Ready after Relogin: %v", err)
			}
			sig, err := sg.Sign(nil, d[:], crypto.SHA256)
			if err != nil || !ecdsa.VerifyASN1(pub, d[:], sig) {
				t.Fatalf("sign after Relogin: %v", err)
			}
		})
	}
	// A refused operator Relogin also starts the back-off.
	f.set(true, p11.CKR_PIN_INCORRECT)
	if err := s.Relogin(ctx); !errors.Is(err, signer.ErrUnavailable) || !errors.Is(err, p11.Error(p11.CKR_PIN_INCORRECT)) {
		t.Fatalf("refused Relogin: %v", err)
	}
	flood(t, p11.CKR_PIN_INCORRECT)
	if n := f.count(); n != 1 {
		t.Fatalf("C_Login calls after a refused Relogin and 128 requests = %d, want 1", n)
	}
	f.set(false, 0)
	if err := s.Relogin(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLoginBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 7: time.Hour, 100: time.Hour} {
		if got := loginBackoff(n); got != want {
			t.Errorf("loginBackoff(%d) = %v, want %v", n, got, want)
		}
	}
}
