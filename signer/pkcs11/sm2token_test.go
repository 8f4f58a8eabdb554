//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/eseal/eseal/signer"
)

// TestSM2Token: SM2 key generated inside the test token, seal signatures
// made through the pool with each 0x8000-family profile, verified by gmsm
// outside.
func TestSM2Token(t *testing.T) {
	e := sm2Token(t)
	ctx := context.Background()
	msg := []byte("SES_Signature TBS: the seal signature's to-be-signed bytes")
	for _, profile := range []string{"sansec", "sansec-sm3", "sansec-raw", "koal"} {
		t.Run(profile, func(t *testing.T) {
			s := openStore(t, e, profile, 4)
			label := genKey(t, s, "sm2-"+profile)
			sg, err := s.Signer(ctx, label)
			if err != nil {
				t.Fatal(err)
			}
			pub := sg.Public().(*ecdsa.PublicKey)
			if !sm2.IsSM2PublicKey(pub) {
				t.Fatal("public key is not on the SM2 curve")
			}
			sig, err := sg.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
			if err != nil {
				t.Fatal(err)
			}
			if !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
				t.Fatal("token signature does not verify with gmsm (default UID)")
			}
			sig, err = sg.(signer.MessageSigner).SignMessage(rand.Reader, msg, nil)
			if err != nil || !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
				t.Fatalf("SignMessage: %v", err)
			}
			uid := []byte("seal-holder@example.gov.cn")
			sig, err = sg.Sign(rand.Reader, msg, sm2.NewSM2SignerOption(true, uid))
			if s.prof.HashInside {
				if !errors.Is(err, signer.ErrUnsupported) {
					t.Fatalf("custom UID on a hash-inside profile: %v", err)
				}
			} else if err != nil || !sm2.VerifyASN1WithSM2(pub, uid, msg, sig) {
				t.Fatalf("custom UID: %v", err)
			}
			e2, _ := sm2.CalculateSM2Hash(pub, msg, nil)
			sig, err = sg.Sign(rand.Reader, e2, nil)
			if s.prof.HashInside {
				if !errors.Is(err, signer.ErrUnsupported) {
					t.Fatalf("digest on a hash-inside profile: %v", err)
				}
			} else if err != nil || !sm2.VerifyASN1(pub, e2, sig) {
				t.Fatalf("precomputed e: %v", err)
			}
			// ses.Sign hands e only to a key that says it signs digests.
			if d, ok := sg.(interface{ SignsDigest() bool }); !ok || d.SignsDigest() == s.prof.HashInside {
				t.Fatalf("SignsDigest is not the opposite of the profile's hash_inside (%v)", s.prof.HashInside)
			}
			if !s.prof.HashInside {
				if sig, err := sg.Sign(rand.Reader, e2, crypto.Hash(0)); err != nil || !sm2.VerifyASN1(pub, e2, sig) {
					t.Fatalf("precomputed e with crypto.Hash(0): %v", err)
				}
				if _, err := sg.Sign(rand.Reader, msg, nil); !errors.Is(err, signer.ErrInvalidInput) {
					t.Fatalf("message without SM2 opts: %v", err)
				}
			}
		})
	}
}

// TestSM2TokenConcurrentAndRecovery: 64 goroutines sign on a pool of 4
// sessions; then the token closes every session (the login with them) and
// 64 goroutines find out at once: one recovery, one C_Login, and every
// signature still made and valid.
func TestSM2TokenConcurrentAndRecovery(t *testing.T) {
	e := sm2Token(t)
	ctx := context.Background()
	s := openStore(t, e, "sansec", 4)
	f := &loginFaultCtx{p11Ctx: s.ctx} // no faults: it counts C_Login
	s.ctx = f
	label := genKey(t, s, "sm2-conc")
	sg, err := s.Signer(ctx, label)
	if err != nil {
		t.Fatal(err)
	}
	pub := sg.Public().(*ecdsa.PublicKey)
	sign := func(g, i int) error {
		m := fmt.Appendf(nil, "doc %d/%d", g, i)
		sig, err := sg.Sign(rand.Reader, m, sm2.DefaultSM2SignerOpts)
		if err == nil && !sm2.VerifyASN1WithSM2(pub, nil, m, sig) {
			err = errors.New("bad signature")
		}
		return err
	}
	hammer(t, s, 64, 4, sign)
	if n := f.count(); n != 0 {
		t.Fatalf("C_Login calls while healthy = %d, want 0", n)
	}

	// Recovery: the token drops every session, ours and the login.
	before := s.recovers.Load()
	if err := s.ctx.CloseAllSessions(s.slot); err != nil {
		t.Fatal(err)
	}
	hammer(t, s, 64, 4, sign)
	if got := s.recovers.Load() - before; got != 1 {
		t.Fatalf("recoveries after CloseAllSessions = %d, want 1", got)
	}
	if n := f.count(); n != 1 {
		t.Fatalf("C_Login calls for the recovery = %d, want 1", n)
	}
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready after recovery: %v", err)
	}
}

// TestSM2TokenRemoved: the token goes away (errors, no hang) and comes
// back (the pool recovers, with renumbered handles).
func TestSM2TokenRemoved(t *testing.T) {
	e := sm2Token(t)
	if e.dir == "" {
		if required() {
			t.Fatal("ESEAL_SM2_TOKEN_DIR is not set")
		}
		t.Skip("ESEAL_SM2_TOKEN_DIR is not set")
	}
	ctx := context.Background()
	s := openStore(t, e, "sansec", 2)
	label := genKey(t, s, "sm2-removed")
	sg, _ := s.Signer(ctx, label)
	msg := []byte("m")
	if _, err := sg.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts); err != nil {
		t.Fatal(err)
	}
	flag := filepath.Join(e.dir, "removed")
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(flag)
	start := time.Now()
	for range 3 {
		_, err := sg.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
		if !errors.Is(err, signer.ErrUnavailable) || !strings.Contains(err.Error(), e.label) {
			t.Fatalf("token removed: %v", err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("errors took %v", d)
	}
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	sig, err := sg.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	if err != nil || !sm2.VerifyASN1WithSM2(sg.Public().(*ecdsa.PublicKey), nil, msg, sig) {
		t.Fatalf("after the token came back: %v", err)
	}
}

func TestSM2TokenErrors(t *testing.T) {
	e := sm2Token(t)
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		profile string
		pin     string
		kind    signer.Kind
		want    []string
	}{
		{"Luna profile on a Sansec-family token", "luna", e.pin, signer.ErrMechanism, []string{"0x80000b20", "0x80000b21", `"luna"`, "0x80008104"}},
		{"IBM profile", "ibm", e.pin, signer.ErrMechanism, []string{"0x8005000a", `"ibm"`}},
		{"ECDSA profile on an SM2 token", "ecdsa-p256", e.pin, signer.ErrMechanism, []string{"0x1040", "0x1041"}},
		{"wrong token PIN", "sansec", e.pin + "0", signer.ErrConfig, []string{"PIN", "rejected", e.label}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(Config{Module: e.module, TokenLabel: e.label, PIN: NewSecret(c.pin), Profile: c.profile})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			if !errors.Is(err, c.kind) {
				t.Fatalf("got %v, want kind %v", err, c.kind)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), c.pin) {
				t.Error("error contains the PIN")
			}
		})
	}
	// A custom profile whose sign mechanism the token rejects at C_SignInit.
	s, err := Open(Config{Module: e.module, TokenLabel: e.label, PIN: NewSecret(e.pin), CustomProfile: &Profile{
		Name: "bad-output", Algorithm: signer.SM2, KeyType: 0x80000004, KeyGenMech: 0x80008001, SignMech: 0x80008105, Output: DER,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	label := genKey(t, s, "sm2-badout")
	sg, _ := s.Signer(ctx, label)
	if _, err := sg.Sign(rand.Reader, []byte("m"), sm2.DefaultSM2SignerOpts); !errors.Is(err, signer.ErrMechanism) || !strings.Contains(err.Error(), "DER") {
		t.Fatalf("r||s token output under a DER profile: %v", err)
	}
}

// TestPINLayerOverPKCS11: the PIN guard in front of the HSM backend.
func TestPINLayerOverPKCS11(t *testing.T) {
	e := sm2Token(t)
	ctx := context.Background()
	s := openStore(t, e, "sansec", 2)
	g, err := signer.NewGuard(memKV{m: map[string][]byte{}}, signer.GuardOptions{Iterations: signer.MinPINIterations})
	if err != nil {
		t.Fatal(err)
	}
	p := &signer.Protected{KeyStore: s, PINs: g}
	label := uniqueLabel("sm2-pin")
	if _, err := p.GenerateWithPIN(ctx, label, signer.SM2, []byte("12345678")); err != nil {
		t.Fatal(err)
	}
	defer p.Delete(ctx, label)
	if _, err := p.Signer(ctx, label); !errors.Is(err, signer.ErrPINRequired) {
		t.Fatalf("no PIN: %v", err)
	}
	for i := range 5 {
		_, err := p.SignerWithPIN(ctx, label, []byte("87654321"))
		if i < 4 && !errors.Is(err, signer.ErrWrongPIN) || i == 4 && !errors.Is(err, signer.ErrLocked) {
			t.Fatalf("wrong PIN %d: %v", i, err)
		}
	}
	if _, err := p.SignerWithPIN(ctx, label, []byte("12345678")); !errors.Is(err, signer.ErrLocked) {
		t.Fatalf("locked: %v", err)
	}
	_ = g.Unlock(ctx, label)
	sg, err := p.SignerWithPIN(ctx, label, []byte("12345678"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := sg.Sign(rand.Reader, []byte("m"), sm2.DefaultSM2SignerOpts)
	if err != nil || !sm2.VerifyASN1WithSM2(sg.Public().(*ecdsa.PublicKey), nil, []byte("m"), sig) {
		t.Fatalf("sign after unlock: %v", err)
	}
}

// TestSM2TokenReopen: a token key outlives the Store (and the module being
// finalised and unloaded when the last Store closes).
func TestSM2TokenReopen(t *testing.T) {
	e := sm2Token(t)
	ctx := context.Background()
	cfg := Config{Module: e.module, TokenLabel: e.label, PIN: NewSecret(e.pin), Profile: "sansec", Sessions: 2}
	a, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	label := uniqueLabel("sm2-reopen")
	ki, err := a.Generate(ctx, label, signer.SM2)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Signer(ctx, label); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("closed store: %v", err)
	}
	b := openStore(t, e, "sansec", 2)
	defer b.Delete(ctx, label)
	sg, err := b.Signer(ctx, label)
	if err != nil {
		t.Fatal(err)
	}
	if !sg.Public().(*ecdsa.PublicKey).Equal(ki.Public) {
		t.Fatal("public key changed across reopen")
	}
	sig, err := sg.Sign(rand.Reader, []byte("m"), sm2.DefaultSM2SignerOpts)
	if err != nil || !sm2.VerifyASN1WithSM2(ki.Public.(*ecdsa.PublicKey), nil, []byte("m"), sig) {
		t.Fatalf("sign after reopen: %v", err)
	}
	l, err := b.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range l {
		found = found || k.Label == label
	}
	if !found {
		t.Fatal("List misses the key")
	}
}

// TestSM2TokenKeysSurviveReload: keys made in two loads of the module, one after the other
// in one process, are both there in a third. (The test token once numbered the files of its
// token keys from 1 again in each load, and the second load overwrote the first's key.)
func TestSM2TokenKeysSurviveReload(t *testing.T) {
	e := sm2Token(t)
	ctx := context.Background()
	cfg := Config{Module: e.module, TokenLabel: e.label, PIN: NewSecret(e.pin), Profile: "sansec", Sessions: 2}
	keys := map[string]crypto.PublicKey{}
	for i := range 2 {
		s, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		label := uniqueLabel(fmt.Sprintf("sm2-reload-%d", i))
		ki, err := s.Generate(ctx, label, signer.SM2)
		if err != nil {
			t.Fatal(err)
		}
		keys[label] = ki.Public
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t, e, "sansec", 2)
	for label, pub := range keys {
		defer s.Delete(ctx, label)
		sg, err := s.Signer(ctx, label)
		if err != nil {
			t.Fatalf("%s after two loads: %v", label, err)
		}
		if !sg.Public().(*ecdsa.PublicKey).Equal(pub) {
			t.Fatalf("%s: another key under the label after two loads", label)
		}
	}
}
