package softkey

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/internal/benchratio"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/store"
)

func testKEK(t testing.TB) []byte {
	k := make([]byte, KEKSize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func openDB(t testing.TB, dir string) *store.Pebble {
	t.Helper()
	db, err := store.Open(dir, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newStore(t testing.TB) (*Store, store.KV) {
	t.Helper()
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	t.Cleanup(func() { db.Close() })
	kv := store.MustSpace(db, "softkey")
	s, err := New(kv, testKEK(t), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, kv
}

func TestGenerateSignVerify(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	ki, err := s.Generate(ctx, "seal-001", signer.SM2)
	if err != nil {
		t.Fatal(err)
	}
	pub := ki.Public.(*ecdsa.PublicKey)
	if !sm2.IsSM2PublicKey(pub) || ki.Backend != "softkey" || ki.Created.IsZero() {
		t.Fatalf("KeyInfo %+v", ki)
	}
	sg, err := s.Signer(ctx, "seal-001")
	if err != nil {
		t.Fatal(err)
	}
	if !sg.Public().(*ecdsa.PublicKey).Equal(pub) {
		t.Fatal("signer public key differs")
	}
	msg := []byte("sealed document bytes")
	// 1. message with the default UID
	sig, err := sg.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
		t.Fatal("default-UID signature does not verify")
	}
	// 2. SignMessage (crypto.MessageSigner path)
	sig, err = sg.(signer.MessageSigner).SignMessage(rand.Reader, msg, nil)
	if err != nil || !sm2.VerifyASN1WithSM2(pub, []byte("1234567812345678"), msg, sig) {
		t.Fatalf("SignMessage: %v", err)
	}
	// 3. custom UID
	sig, _ = sg.Sign(rand.Reader, msg, sm2.NewSM2SignerOption(true, []byte("alice@example")))
	if !sm2.VerifyASN1WithSM2(pub, []byte("alice@example"), msg, sig) || sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
		t.Fatal("custom UID signature")
	}
	// 4. precomputed e
	e, _ := sm2.CalculateSM2Hash(pub, msg, nil)
	sig, err = sg.Sign(rand.Reader, e, nil)
	if err != nil || !sm2.VerifyASN1(pub, e, sig) {
		t.Fatalf("digest signature: %v", err)
	}
	if _, err := sg.Sign(rand.Reader, msg, nil); !errors.Is(err, signer.ErrInvalidInput) {
		t.Fatalf("message without SM2 opts: %v", err)
	}
	// Find, List, PublicKey
	if fi, err := s.Find(ctx, "seal-001"); err != nil || !fi.Public.(*ecdsa.PublicKey).Equal(pub) {
		t.Fatalf("Find: %v", err)
	}
	_, _ = s.Generate(ctx, "seal-000", signer.SM2)
	l, err := s.List(ctx)
	if err != nil || len(l) != 2 || l[0].Label != "seal-000" || l[1].Label != "seal-001" {
		t.Fatalf("List: %v %+v", err, l)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	for _, c := range []struct {
		name string
		err  error
		kind signer.Kind
		want string
	}{
		{"missing key signer", func() error { _, err := s.Signer(ctx, "nope"); return err }(), signer.ErrKeyNotFound, `"nope"`},
		{"missing key find", func() error { _, err := s.Find(ctx, "nope"); return err }(), signer.ErrKeyNotFound, `"nope"`},
		{"missing key delete", s.Delete(ctx, "nope"), signer.ErrKeyNotFound, `"nope"`},
		{"bad label", func() error { _, err := s.Generate(ctx, "a/b", signer.SM2); return err }(), signer.ErrInvalidInput, "label"},
		{"bad alg", func() error { _, err := s.Generate(ctx, "p256", signer.ECDSAP256); return err }(), signer.ErrUnsupported, "ECDSA-P256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !errors.Is(c.err, c.kind) || !strings.Contains(c.err.Error(), c.want) {
				t.Fatalf("got %v, want kind %v mentioning %s", c.err, c.kind, c.want)
			}
		})
	}
	_, _ = s.Generate(ctx, "dup", signer.SM2)
	if _, err := s.Generate(ctx, "dup", signer.SM2); !errors.Is(err, signer.ErrKeyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	sg, _ := s.Signer(ctx, "dup")
	if err := s.Delete(ctx, "dup"); err != nil {
		t.Fatal(err)
	}
	if _, err := sg.Sign(rand.Reader, []byte("m"), sm2.DefaultSM2SignerOpts); !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("sign with deleted key: %v", err)
	}
	if _, err := s.Signer(ctx, "dup"); !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("signer of deleted key: %v", err)
	}
	s.Close()
	if _, err := s.Generate(ctx, "after", signer.SM2); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestPersistenceAndWrapping(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "db")
	kek := testKEK(t)
	db := openDB(t, dir)
	kv := store.MustSpace(db, "softkey")
	s, _ := New(kv, kek, Options{})
	ki, _ := s.Generate(ctx, "k1", signer.SM2)
	sg, _ := s.Signer(ctx, "k1")
	// The private scalar is not in the store in clear.
	d := sg.(*Key).priv.D.FillBytes(make([]byte, 32))
	_ = db.Scan(ctx, nil, func(k, v []byte) error {
		if bytes.Contains(v, d) || strings.Contains(string(v), hex.EncodeToString(d)) {
			t.Fatal("private key in clear in the store")
		}
		return nil
	})
	s.Close()
	db.Close()

	db = openDB(t, dir)
	defer db.Close()
	kv = store.MustSpace(db, "softkey")
	s2, _ := New(kv, kek, Options{})
	sg2, err := s2.Signer(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := sg2.Sign(rand.Reader, []byte("m"), sm2.DefaultSM2SignerOpts)
	if !sm2.VerifyASN1WithSM2(ki.Public.(*ecdsa.PublicKey), nil, []byte("m"), sig) {
		t.Fatal("key did not survive reopen")
	}

	// Wrong KEK: clear configuration error naming both KEK ids.
	s3, _ := New(kv, testKEK(t), Options{})
	if _, err := s3.Signer(ctx, "k1"); !errors.Is(err, signer.ErrConfig) || !strings.Contains(err.Error(), "another KEK") {
		t.Fatalf("wrong KEK: %v", err)
	}
	// Record copied under another label fails authentication.
	raw, _ := kv.Get(ctx, []byte("k1"))
	_ = kv.Set(ctx, []byte("k2"), raw)
	if _, err := s2.Signer(ctx, "k2"); !errors.Is(err, signer.ErrCorrupt) {
		t.Fatalf("moved record: %v", err)
	}
	// Tampered ciphertext.
	var r record
	_ = json.Unmarshal(raw, &r)
	r.Wrapped[0] ^= 1
	b, _ := json.Marshal(&r)
	_ = kv.Set(ctx, []byte("k3"), b)
	if _, err := s2.Signer(ctx, "k3"); !errors.Is(err, signer.ErrCorrupt) {
		t.Fatalf("tampered: %v", err)
	}
	_ = kv.Set(ctx, []byte("k4"), []byte("garbage"))
	if _, err := s2.Signer(ctx, "k4"); !errors.Is(err, signer.ErrCorrupt) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestLoadKEK(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "kek.hex")
	_ = os.WriteFile(good, []byte("00112233445566778899aabbccddeeff\n"), 0o600)
	k, err := LoadKEK(good, "")
	if err != nil || hex.EncodeToString(k) != "00112233445566778899aabbccddeeff" {
		t.Fatalf("hex file: %x %v", k, err)
	}
	raw := filepath.Join(dir, "kek.bin")
	_ = os.WriteFile(raw, bytes.Repeat([]byte{7}, 16), 0o400)
	if k, err := LoadKEK(raw, ""); err != nil || len(k) != 16 {
		t.Fatalf("raw file: %v", err)
	}
	loose := filepath.Join(dir, "loose")
	_ = os.WriteFile(loose, []byte("00112233445566778899aabbccddeeff"), 0o644)
	bad := filepath.Join(dir, "bad")
	_ = os.WriteFile(bad, []byte("this-is-not-hex-but-32-chars-xx!"), 0o600)
	t.Setenv("ESEAL_TEST_KEK", "ffeeddccbbaa99887766554433221100")
	t.Setenv("ESEAL_TEST_KEK_SHORT", "abcd")
	if k, err := LoadKEK("", "ESEAL_TEST_KEK"); err != nil || k[0] != 0xff {
		t.Fatalf("env: %v", err)
	}
	for _, c := range []struct {
		name, file, env, want string
	}{
		{"nothing configured", "", "", "no key-encryption key configured"},
		{"missing file", filepath.Join(dir, "nope"), "", "nope"},
		{"loose mode", loose, "", "0600"},
		{"not hex", bad, "", "not hex"},
		{"unset env", "", "ESEAL_TEST_KEK_UNSET", "ESEAL_TEST_KEK_UNSET is not set"},
		{"short env", "", "ESEAL_TEST_KEK_SHORT", "32 hex digits"},
		{"directory", dir, "", "not a regular file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadKEK(c.file, c.env)
			if !errors.Is(err, signer.ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrConfig mentioning %q", err, c.want)
			}
			if strings.Contains(err.Error(), "this-is-not-hex") || strings.Contains(err.Error(), "abcd") {
				t.Fatalf("error echoes the secret: %v", err)
			}
		})
	}
	if _, err := New(nil, make([]byte, 16), Options{}); !errors.Is(err, signer.ErrConfig) {
		t.Fatalf("zero KEK: %v", err)
	}
	if _, err := New(nil, make([]byte, 15), Options{}); !errors.Is(err, signer.ErrConfig) {
		t.Fatalf("short KEK: %v", err)
	}
}

// BenchmarkSM2Sign compares software-key signing through the KeyStore's
// crypto.Signer with raw gmsm on the same key and message, in one run.
// Run: go test -run XXX -bench SM2Sign -benchtime 1s -count 3 ./signer/softkey/
func BenchmarkSM2Sign(b *testing.B) {
	s, sg, priv, msg := benchKey(b)
	b.Run("raw-gmsm", func(b *testing.B) {
		for b.Loop() {
			if _, err := sm2.SignASN1(rand.Reader, priv, msg, sm2.DefaultSM2SignerOpts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("softkey", func(b *testing.B) {
		for b.Loop() {
			if _, err := sg.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("softkey-lookup", func(b *testing.B) {
		for b.Loop() {
			k, err := s.Signer(context.Background(), "bench")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := k.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSM2SignInterleaved runs raw gmsm and softkey signing in
// alternating rounds of 64 signatures (same key, same message) so that load
// from other processes hits both alike. Metrics: raw-ns/op, softkey-ns/op,
// softkey/raw-median (median per-round throughput ratio) and -total.
func BenchmarkSM2SignInterleaved(b *testing.B) {
	_, sg, priv, msg := benchKey(b)
	benchratio.Interleave(b, 64,
		benchratio.Side{Name: "raw", Run: func(n int) error {
			for range n {
				if _, err := sm2.SignASN1(rand.Reader, priv, msg, sm2.DefaultSM2SignerOpts); err != nil {
					return err
				}
			}
			return nil
		}},
		benchratio.Side{Name: "softkey", Run: func(n int) error {
			for range n {
				if _, err := sg.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts); err != nil {
					return err
				}
			}
			return nil
		}})
}

// benchKey makes a store with one SM2 key for the benchmarks: the store, the key's signer,
// its private key for raw gmsm, and a message.
func benchKey(b *testing.B) (*Store, crypto.Signer, *sm2.PrivateKey, []byte) {
	ctx := context.Background()
	s, _ := newStore(b)
	if _, err := s.Generate(ctx, "bench", signer.SM2); err != nil {
		b.Fatal(err)
	}
	sg, err := s.Signer(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	return s, sg, sg.(*Key).priv, sm3.New().Sum([]byte("a 32-byte document digest input"))
}
