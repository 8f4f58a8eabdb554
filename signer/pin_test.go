package signer

import (
	"context"
	"crypto"
	"crypto/pbkdf2"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/eseal/eseal/store"
)

func testKV(t testing.TB) store.KV {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store.MustSpace(db, "pin")
}

func testGuard(t testing.TB, opts GuardOptions) *Guard {
	t.Helper()
	if opts.Iterations == 0 {
		opts.Iterations = MinPINIterations
	}
	g, err := NewGuard(testKV(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestPBKDF2MatchesStdlib(t *testing.T) {
	want, err := pbkdf2.Key(sm3.New, "123456", []byte("salt-salt-salt-s"), 1000, 32)
	if err != nil {
		t.Fatal(err)
	}
	got := pbkdf2SM3([]byte("123456"), []byte("salt-salt-salt-s"), 1000)
	if string(got) != string(want) {
		t.Fatalf("pbkdf2SM3 = %x, want %x", got, want)
	}
}

func TestPINLifecycle(t *testing.T) {
	for _, ttl := range []time.Duration{-1, time.Minute} {
		t.Run("ttl="+ttl.String(), func(t *testing.T) {
			ctx := context.Background()
			g := testGuard(t, GuardOptions{CacheTTL: ttl})
			if err := g.Verify(ctx, "seal1", []byte("123456")); !errors.Is(err, ErrNoPIN) {
				t.Fatalf("verify without record: %v", err)
			}
			if err := g.SetPIN(ctx, "seal1", []byte("123")); !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("short PIN: %v", err)
			}
			if err := g.SetPIN(ctx, "seal1", []byte("123456")); err != nil {
				t.Fatal(err)
			}
			if err := g.Verify(ctx, "seal1", []byte("123456")); err != nil {
				t.Fatalf("right PIN: %v", err)
			}
			// Four wrong, then right: the count resets.
			for i := range 4 {
				err := g.Verify(ctx, "seal1", []byte("654321"))
				if !errors.Is(err, ErrWrongPIN) || errors.Is(err, ErrLocked) {
					t.Fatalf("wrong PIN %d: %v", i, err)
				}
				if !strings.Contains(err.Error(), "seal1") || strings.Contains(err.Error(), "654321") {
					t.Fatalf("error must name the key and not the PIN: %v", err)
				}
			}
			if st, _ := g.Status(ctx, "seal1"); st.Failures != 4 || st.Locked {
				t.Fatalf("status after 4: %+v", st)
			}
			if err := g.Verify(ctx, "seal1", []byte("123456")); err != nil {
				t.Fatalf("right PIN after 4 wrong: %v", err)
			}
			if st, _ := g.Status(ctx, "seal1"); st.Failures != 0 {
				t.Fatalf("status after reset: %+v", st)
			}
			// Five wrong in a row lock.
			for i := range 5 {
				err := g.Verify(ctx, "seal1", []byte("000000"))
				if i < 4 && !errors.Is(err, ErrWrongPIN) {
					t.Fatalf("wrong %d: %v", i, err)
				}
				if i == 4 && !errors.Is(err, ErrLocked) {
					t.Fatalf("5th wrong PIN did not lock: %v", err)
				}
			}
			err := g.Verify(ctx, "seal1", []byte("123456"))
			if !errors.Is(err, ErrLocked) || errors.Is(err, ErrWrongPIN) {
				t.Fatalf("right PIN on locked key: %v", err)
			}
			if KindOf(err) != ErrLocked || ErrLocked.Code() != "KEY_LOCKED" {
				t.Fatalf("KindOf = %v", KindOf(err))
			}
			if err := g.Unlock(ctx, "seal1"); err != nil {
				t.Fatal(err)
			}
			if err := g.Verify(ctx, "seal1", []byte("123456")); err != nil {
				t.Fatalf("after unlock: %v", err)
			}
			if err := g.ChangePIN(ctx, "seal1", []byte("bad-old"), []byte("abcdefgh")); !errors.Is(err, ErrWrongPIN) {
				t.Fatalf("change with wrong old: %v", err)
			}
			if err := g.ChangePIN(ctx, "seal1", []byte("123456"), []byte("abcdefgh")); err != nil {
				t.Fatal(err)
			}
			if err := g.Verify(ctx, "seal1", []byte("123456")); !errors.Is(err, ErrWrongPIN) {
				t.Fatalf("old PIN after change: %v", err)
			}
			if err := g.Verify(ctx, "seal1", []byte("abcdefgh")); err != nil {
				t.Fatalf("new PIN: %v", err)
			}
			before, _ := g.Status(ctx, "seal1")
			for _, empty := range [][]byte{nil, {}} {
				if err := g.Verify(ctx, "seal1", empty); !errors.Is(err, ErrPINRequired) || errors.Is(err, ErrWrongPIN) {
					t.Fatalf("empty PIN: %v, want ErrPINRequired only", err)
				}
			}
			if after, _ := g.Status(ctx, "seal1"); after != before {
				t.Fatalf("a missing PIN counted as a try: %+v -> %+v", before, after)
			}
			if err := g.Verify(ctx, "bad/label", []byte("abcdefgh")); !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("bad label: %v", err)
			}
			if err := g.Remove(ctx, "seal1"); err != nil {
				t.Fatal(err)
			}
			if err := g.Verify(ctx, "seal1", []byte("abcdefgh")); !errors.Is(err, ErrNoPIN) {
				t.Fatalf("after remove: %v", err)
			}
		})
	}
}

func TestPINNotStoredInClear(t *testing.T) {
	ctx := context.Background()
	kv := testKV(t)
	g, _ := NewGuard(kv, GuardOptions{Iterations: MinPINIterations})
	_ = g.SetPIN(ctx, "k", []byte("secret-pin-987"))
	_ = kv.Scan(ctx, nil, func(k, v []byte) error {
		if strings.Contains(string(v), "secret-pin-987") {
			t.Fatalf("PIN in clear in record %s", k)
		}
		return nil
	})
	// A corrupt record is a clear error, not a panic.
	_ = kv.Set(ctx, []byte("k"), []byte("{not json"))
	if err := g.Verify(ctx, "k", []byte("secret-pin-987")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt record: %v", err)
	}
}

func TestPINConcurrentWrongTries(t *testing.T) {
	ctx := context.Background()
	g := testGuard(t, GuardOptions{})
	_ = g.SetPIN(ctx, "k", []byte("123456"))
	var wrong, locked atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := g.Verify(ctx, "k", []byte("999999"))
			switch {
			case errors.Is(err, ErrLocked):
				locked.Add(1)
			case errors.Is(err, ErrWrongPIN):
				wrong.Add(1)
			default:
				t.Errorf("unexpected %v", err)
			}
		}()
	}
	wg.Wait()
	if wrong.Load() != 4 || locked.Load() != 16 {
		t.Fatalf("wrong=%d locked=%d, want 4 and 16", wrong.Load(), locked.Load())
	}
}

func TestPINConfig(t *testing.T) {
	if _, err := NewGuard(testKV(t), GuardOptions{Iterations: 10}); !errors.Is(err, ErrConfig) {
		t.Fatalf("low iterations: %v", err)
	}
}

type fakeStore struct {
	KeyStore
	signers, generated int
}

func (f *fakeStore) Signer(ctx context.Context, label string) (crypto.Signer, error) {
	f.signers++
	return nil, nil
}

func (f *fakeStore) Generate(ctx context.Context, label string, alg Algorithm) (KeyInfo, error) {
	f.generated++
	return KeyInfo{Label: label, Algorithm: alg}, nil
}

func TestProtected(t *testing.T) {
	ctx := context.Background()
	g := testGuard(t, GuardOptions{})
	fs := &fakeStore{}
	p := &Protected{KeyStore: fs, PINs: g}
	_ = g.SetPIN(ctx, "k", []byte("123456"))
	if _, err := p.Signer(ctx, "k"); !errors.Is(err, ErrPINRequired) || errors.Is(err, ErrWrongPIN) {
		t.Fatalf("Signer without PIN: %v", err)
	}
	// Protected hands out no Generate that skips the PIN, through the
	// type or through the KeyStore interface.
	var ks KeyStore = p
	if _, err := ks.Generate(ctx, "k2", SM2); !errors.Is(err, ErrPINRequired) || fs.generated != 0 {
		t.Fatalf("Generate without PIN: %v (generated %d)", err, fs.generated)
	}
	if st, _ := g.Status(ctx, "k"); st.Failures != 0 {
		t.Fatalf("Signer without PIN counted as a try: %+v", st)
	}
	if _, err := p.GenerateWithPIN(ctx, "k3", SM2, []byte("654321")); err != nil || fs.generated != 1 {
		t.Fatalf("GenerateWithPIN: %v (generated %d)", err, fs.generated)
	}
	if st, _ := g.Status(ctx, "k3"); !st.Set {
		t.Fatal("GenerateWithPIN set no PIN")
	}
	if _, err := p.SignerWithPIN(ctx, "k", []byte("000000")); !errors.Is(err, ErrWrongPIN) {
		t.Fatalf("wrong PIN: %v", err)
	}
	if _, err := p.SignerWithPIN(ctx, "k", []byte("123456")); err != nil || fs.signers != 1 {
		t.Fatalf("right PIN: %v (signers=%d)", err, fs.signers)
	}
}

func TestErrorKinds(t *testing.T) {
	cause := errors.New("CKR_DEVICE_ERROR")
	err := Errorf(ErrUnavailable, "pkcs11.Sign", "seal-1", cause, "token %q", "t1")
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, cause) || errors.Is(err, ErrBusy) {
		t.Fatal("errors.Is on *Error")
	}
	if got := err.Error(); got != `pkcs11.Sign: unavailable (key "seal-1"): token "t1": CKR_DEVICE_ERROR` {
		t.Fatalf("message %q", got)
	}
	wrapped := errors.Join(errors.New("x"), err)
	if KindOf(wrapped) != ErrUnavailable {
		t.Fatalf("KindOf through Join = %v", KindOf(wrapped))
	}
	if KindOf(errors.New("plain")) != 0 {
		t.Fatal("KindOf plain")
	}
}

func BenchmarkPINVerify(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		ttl  time.Duration
		iter int
	}{{"slow-hash", -1, DefaultPINIterations}, {"cached", time.Minute, DefaultPINIterations}} {
		b.Run(c.name, func(b *testing.B) {
			g := testGuard(b, GuardOptions{CacheTTL: c.ttl, Iterations: c.iter})
			_ = g.SetPIN(ctx, "k", []byte("123456"))
			for b.Loop() {
				if err := g.Verify(ctx, "k", []byte("123456")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestSM2Option(t *testing.T) {
	for _, c := range []struct {
		name string
		o    *sm2.SM2SignerOption
		gm   bool
		uid  string
	}{
		{"default", sm2.DefaultSM2SignerOpts, true, "1234567812345678"},
		{"custom", sm2.NewSM2SignerOption(true, []byte("alice")), true, "alice"},
		{"gm-nil-uid", sm2.NewSM2SignerOption(true, nil), true, "1234567812345678"},
		{"digest", sm2.NewSM2SignerOption(false, nil), false, ""},
		{"digest-with-uid", sm2.NewSM2SignerOption(false, []byte("x")), false, ""},
		{"nil", nil, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if IsGMSign(c.o) != c.gm || string(SM2UID(c.o)) != c.uid {
				t.Fatalf("got gm=%v uid=%q", IsGMSign(c.o), SM2UID(c.o))
			}
		})
	}
}

func TestPINRequiredKind(t *testing.T) {
	if ErrPINRequired.Code() != "PIN_REQUIRED" || ErrPINRequired.Error() != "PIN required" {
		t.Fatalf("ErrPINRequired: %q %q", ErrPINRequired.Code(), ErrPINRequired.Error())
	}
	seen := map[string]Kind{}
	for k := ErrKeyNotFound; k <= ErrPINRequired; k++ {
		if prev, dup := seen[k.Code()]; dup || k.Code() == "SIGNER_ERROR" {
			t.Fatalf("kind %d has code %q (also kind %d)", k, k.Code(), prev)
		}
		seen[k.Code()] = k
	}
}

// TestPINFailuresSurviveRestart: four wrong PINs, the store closed and
// opened again (a restart), the count is still four and the fifth wrong
// PIN locks the key.
func TestPINFailuresSurviveRestart(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "db")
	open := func() (*store.Pebble, *Guard) {
		db, err := store.Open(dir, &store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		g, err := NewGuard(store.MustSpace(db, "pin"), GuardOptions{Iterations: MinPINIterations})
		if err != nil {
			t.Fatal(err)
		}
		return db, g
	}
	db, g := open()
	if err := g.SetPIN(ctx, "k", []byte("123456")); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if err := g.Verify(ctx, "k", []byte("000000")); !errors.Is(err, ErrWrongPIN) {
			t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, g = open()
	defer db.Close()
	st, err := g.Status(ctx, "k")
	if err != nil || st.Failures != 4 || st.Locked {
		t.Fatalf("after restart: %+v %v, want 4 failures, not locked", st, err)
	}
	if err := g.Verify(ctx, "k", []byte("000000")); !errors.Is(err, ErrLocked) || errors.Is(err, ErrWrongPIN) {
		t.Fatalf("fifth wrong PIN after restart: %v, want ErrLocked only", err)
	}
	if err := g.Verify(ctx, "k", []byte("123456")); !errors.Is(err, ErrLocked) {
		t.Fatalf("right PIN on a locked key: %v", err)
	}
}

// TestPINTriesCountedAcrossGuards: two Guards over one store (two
// processes, say) take wrong PINs at once; compare-and-swap counts every
// one.
func TestPINTriesCountedAcrossGuards(t *testing.T) {
	ctx := context.Background()
	kv := testKV(t)
	var gs []*Guard
	for range 2 {
		g, err := NewGuard(kv, GuardOptions{Iterations: MinPINIterations, MaxTries: 100})
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
	}
	if err := gs[0].SetPIN(ctx, "k", []byte("123456")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if err := gs[i%2].Verify(ctx, "k", []byte("000000")); !errors.Is(err, ErrWrongPIN) {
				t.Errorf("wrong PIN: %v", err)
			}
		})
	}
	wg.Wait()
	if st, _ := gs[1].Status(ctx, "k"); st.Failures != 40 {
		t.Fatalf("failures = %d after 40 wrong PINs through two guards", st.Failures)
	}
	if err := gs[1].Unlock(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := gs[0].Verify(ctx, "k", []byte("123456")); err != nil {
		t.Fatal(err)
	}
}
