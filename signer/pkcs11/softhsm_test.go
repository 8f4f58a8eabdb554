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

	"github.com/eseal/eseal/signer"
)

func TestSoftHSMECDSA(t *testing.T) {
	e := softHSM(t)
	ctx := context.Background()
	s := openStore(t, e, "ecdsa-p256", 4)
	label := genKey(t, s, "p256")

	sg, err := s.Signer(ctx, label)
	if err != nil {
		t.Fatal(err)
	}
	pub := sg.Public().(*ecdsa.PublicKey)
	d := sha256.Sum256([]byte("document"))
	sig, err := sg.Sign(nil, d[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	// Verified outside the HSM.
	if !ecdsa.VerifyASN1(pub, d[:], sig) {
		t.Fatal("SoftHSM ECDSA signature does not verify with crypto/ecdsa")
	}
	if _, err := sg.Sign(nil, d[:20], crypto.SHA256); !errors.Is(err, signer.ErrInvalidInput) {
		t.Fatalf("short digest: %v", err)
	}

	ki, err := s.Find(ctx, label)
	if err != nil || !ki.Public.(*ecdsa.PublicKey).Equal(pub) || ki.Algorithm != signer.ECDSAP256 {
		t.Fatalf("Find: %+v %v", ki, err)
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range list {
		found = found || k.Label == label
	}
	if !found {
		t.Fatalf("List does not show %s", label)
	}
	if _, err := s.Generate(ctx, label, signer.ECDSAP256); !errors.Is(err, signer.ErrKeyExists) {
		t.Fatalf("duplicate label: %v", err)
	}
	if _, err := s.Generate(ctx, "x", signer.SM2); !errors.Is(err, signer.ErrUnsupported) || !strings.Contains(err.Error(), "ecdsa-p256") {
		t.Fatalf("SM2 on a P-256 profile: %v", err)
	}
	// Missing key: clear error naming the label and the token.
	_, err = s.Signer(ctx, "no-such-key")
	if !errors.Is(err, signer.ErrKeyNotFound) || !strings.Contains(err.Error(), `"no-such-key"`) || !strings.Contains(err.Error(), e.label) {
		t.Fatalf("missing key: %v", err)
	}
	if err := s.Delete(ctx, label); err != nil {
		t.Fatal(err)
	}
	if _, err := sg.Sign(nil, d[:], crypto.SHA256); !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("sign with deleted key: %v", err)
	}
	if err := s.Delete(ctx, label); !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// TestSoftHSMConcurrent: 64 goroutines on 4 sessions (run with -race).
func TestSoftHSMConcurrent(t *testing.T) {
	e := softHSM(t)
	s := openStore(t, e, "ecdsa-p256", 4)
	label := genKey(t, s, "conc")
	sg, err := s.Signer(context.Background(), label)
	if err != nil {
		t.Fatal(err)
	}
	pub := sg.Public().(*ecdsa.PublicKey)
	hammer(t, s, 64, 10, func(g, i int) error {
		d := sha256.Sum256(fmt.Appendf(nil, "doc %d/%d", g, i))
		sig, err := sg.(signer.ContextSigner).SignContext(context.Background(), nil, d[:], crypto.SHA256)
		if err == nil && !ecdsa.VerifyASN1(pub, d[:], sig) {
			err = errors.New("bad signature")
		}
		return err
	})
}

// TestSoftHSMRecovery closes every session of the token behind the pool's
// back (which logs the user out and invalidates every handle in SoftHSM)
// and signs on.
func TestSoftHSMRecovery(t *testing.T) {
	e := softHSM(t)
	ctx := context.Background()
	s := openStore(t, e, "ecdsa-p256", 4)
	label := genKey(t, s, "recover")
	sg, _ := s.Signer(ctx, label)
	pub := sg.Public().(*ecdsa.PublicKey)
	d := sha256.Sum256([]byte("x"))
	sign := func() error {
		sig, err := sg.Sign(nil, d[:], crypto.SHA256)
		if err == nil && !ecdsa.VerifyASN1(pub, d[:], sig) {
			err = errors.New("bad signature")
		}
		return err
	}
	if err := sign(); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		if err := s.ctx.CloseAllSessions(s.slot); err != nil {
			t.Fatal(err)
		}
		if err := sign(); err != nil {
			t.Fatalf("round %d: sign after CloseAllSessions: %v", round, err)
		}
	}
	if s.recovers.Load() < 3 {
		t.Fatalf("recoveries = %d, want >= 3", s.recovers.Load())
	}

	// The same while 16 goroutines sign on 4 sessions.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := sign(); err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	// Close them between operations: SoftHSM crashes (SIGSEGV in C_Sign)
	// when a session is closed while another thread is inside a call on it,
	// so the external close waits for in-flight calls like recovery does.
	s.epoch.Lock()
	_ = s.ctx.CloseAllSessions(s.slot)
	s.epoch.Unlock()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d signatures failed across CloseAllSessions, first: %v", len(failures), failures[0])
	}
	if err := sign(); err != nil {
		t.Fatal(err)
	}
}

func TestBusy(t *testing.T) {
	e := softHSM(t)
	s, err := Open(Config{Module: e.module, TokenLabel: e.label, PIN: NewSecret(e.pin), Profile: "ecdsa-p256", Sessions: 1, WaitTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	label := genKey(t, s, "busy")
	sg, _ := s.Signer(context.Background(), label)
	d := sha256.Sum256([]byte("x"))

	held, err := s.acquire(context.Background(), "test", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = sg.(signer.ContextSigner).SignContext(ctx, nil, d[:], crypto.SHA256)
	if !errors.Is(err, signer.ErrBusy) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), e.label) {
		t.Fatalf("with the only session held: %v", err)
	}
	// No deadline on the context: the configured wait bounds it.
	if _, err := sg.Sign(nil, d[:], crypto.SHA256); !errors.Is(err, signer.ErrBusy) {
		t.Fatalf("Sign without deadline: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("busy waits took %v", time.Since(start))
	}
	s.release(held, false)
	if _, err := sg.Sign(nil, d[:], crypto.SHA256); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	e := softHSM(t)
	for _, c := range []struct {
		name string
		cfg  Config
		kind signer.Kind
		want []string
	}{
		{"module does not exist", Config{Module: "/nonexistent/libpkcs11.so", TokenLabel: "t", Profile: "ecdsa-p256"},
			signer.ErrConfig, []string{"/nonexistent/libpkcs11.so", "does not exist"}},
		{"module is not PKCS#11", Config{Module: "/etc/hostname", TokenLabel: "t", Profile: "ecdsa-p256"},
			signer.ErrConfig, []string{"/etc/hostname", "cannot load"}},
		{"token label does not exist", Config{Module: e.module, TokenLabel: "no-such-token", PIN: NewSecret(e.pin), Profile: "ecdsa-p256"},
			signer.ErrConfig, []string{`no token labelled "no-such-token"`, e.module, e.label}},
		{"unknown profile", Config{Module: e.module, TokenLabel: e.label, PIN: NewSecret(e.pin), Profile: "sm9"},
			signer.ErrConfig, []string{`unknown mechanism profile "sm9"`, "sansec"}},
		{"wrong mechanism profile", Config{Module: e.module, TokenLabel: e.label, PIN: NewSecret(e.pin), Profile: "sansec"},
			signer.ErrMechanism, []string{"0x80008001", "0x80008104", `"sansec"`, e.label}},
		{"no module", Config{TokenLabel: "t", Profile: "ecdsa-p256"}, signer.ErrConfig, []string{"module path"}},
		{"no label", Config{Module: e.module, Profile: "ecdsa-p256"}, signer.ErrConfig, []string{"token label"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(c.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			if !errors.Is(err, c.kind) {
				t.Fatalf("kind: got %v, want %v", err, c.kind)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if e.pin != "" && strings.Contains(err.Error(), e.pin) {
				t.Errorf("error contains the PIN")
			}
		})
	}
	// The module is initialised once per process: two stores share it.
	a := openStore(t, e, "ecdsa-p256", 1)
	b := openStore(t, e, "ecdsa-p256", 1)
	if a.mod != b.mod {
		t.Fatal("two stores loaded the module twice")
	}
}
