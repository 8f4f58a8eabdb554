//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"

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
