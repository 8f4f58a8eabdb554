package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/store"
)

// TestAttackVoidedKeyStaysInKeyStore: a seal revoked, or voided by a change, kept its
// private key in the key store for good; anyone or anything that reaches the key store by
// the label (a restore, a tool, a bug in a caller) could still sign with the key of a seal
// that no longer exists. The key of a seal that can never sign again must be destroyed
// once the step is durable.
func TestAttackVoidedKeyStaysInKeyStore(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	revoked := e.made(t, Personal, "")
	changed := e.made(t, Personal, "")
	suspended := e.made(t, Personal, "")
	if err := e.reg.Revoke(ctx, admin, revoked.Code, StatusRequest{Reason: "dissolved"}); err != nil {
		t.Fatal(err)
	}
	next, err := e.reg.Change(ctx, admin, changed.Code, Change{Reason: ChangeName, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Suspend(ctx, admin, suspended.Code, StatusRequest{Reason: "check"}); err != nil {
		t.Fatal(err)
	}
	for what, label := range map[string]string{"revoked": revoked.KeyLabel, "voided by a change": changed.KeyLabel} {
		if _, err := e.keys.Signer(ctx, label); !errors.Is(err, signer.ErrKeyNotFound) {
			t.Errorf("key of the seal %s: Signer = %v, want the key destroyed", what, err)
		}
	}
	// A suspended seal and the new version keep theirs.
	for what, label := range map[string]string{"suspended": suspended.KeyLabel, "new version": next.KeyLabel} {
		if _, err := e.keys.Find(ctx, label); err != nil {
			t.Errorf("key of the %s seal: %v", what, err)
		}
	}
}

// TestAttackRestoredBackupResurrectsRevokedSeal: keys held by a store that outlives the
// data directory (a token) survive the restore of a backup taken before a revocation; in
// the restored state the seal is active again, and with its key still on the token it
// signed again. With the key destroyed at the revocation the restored seal cannot sign.
func TestAttackRestoredBackupResurrectsRevokedSeal(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	token, err := store.Open(filepath.Join(tmp, "token"), &store.Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer token.Close()
	pics, err := sealimg.New(sealimg.Options{DPI: 96})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{dir: filepath.Join(tmp, "data"), clock: &clock{t: start}, imps: &fakeImpressions{pic: map[string][]byte{}},
		events: &fakeEvents{}, kek: make([]byte, 16), pics: pics, token: token}
	rand.Read(e.kek)
	if e.head, err = sm2.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	e.open(t, true)
	s := e.made(t, Personal, "")
	backup := filepath.Join(tmp, "backup")
	if err := e.db.Checkpoint(ctx, backup); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "key compromise"}); err != nil {
		t.Fatal(err)
	}
	e.close()

	r := &env{dir: backup, clock: e.clock, imps: e.imps, events: &fakeEvents{}, kek: e.kek, head: e.head, pics: pics, token: token}
	r.open(t, true)
	defer r.close()
	d := sm3.Sum([]byte("signed after the revocation"))
	u, err := r.reg.Authorize(ctx, holderAct, UseRequest{SealCode: s.Code, Digests: [][]byte{d[:]}, PIN: pin})
	if err == nil {
		if _, err := u.Sign(ctx, SignItem{Digest: d[:]}); err == nil {
			t.Fatal("the restored state signed with the key of a seal revoked after the backup")
		}
	}
	if !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("authorize in the restored state: %v, want the key not found", err)
	}
}

// deleteFails is a key store whose Delete fails (a token away for a moment).
type deleteFails struct {
	signer.KeyStore
}

func (deleteFails) Delete(context.Context, string) error {
	return signer.Errorf(signer.ErrUnavailable, "test.Delete", "", nil, "token away")
}

// TestAttackKeyLeftByFailedDestruction: when the key store fails to destroy the key of a
// seal just revoked, the revocation stands (it is durable), and the key is destroyed at the
// seal's next refused use instead of staying for good.
func TestAttackKeyLeftByFailedDestruction(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	flaky, err := New(Config{State: NewState(e.db, e.log), Keys: deleteFails{e.keys}, CA: e.ca, Guard: e.guard, Pictures: e.pics,
		Impressions: e.imps, Events: e.events, Division: "460100", IDKey: []byte("0123456789abcdef"),
		Clock: e.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := flaky.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "dissolved"}); err != nil {
		t.Fatalf("revoke with the key store failing to destroy the key: %v", err)
	}
	if got, err := e.reg.Seal(ctx, s.Code); err != nil || got.Status != StatusRevoked {
		t.Fatalf("seal after the revocation: %v", err)
	}
	if _, err := e.keys.Find(ctx, s.KeyLabel); err != nil {
		t.Fatalf("the failing key store lost the key anyway: %v", err)
	}
	d := sm3.Sum([]byte("x"))
	_, err = e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: s.Code, Digests: [][]byte{d[:]}, PIN: pin})
	if err == nil {
		t.Fatal("a revoked seal was authorised")
	}
	if _, err := e.keys.Find(ctx, s.KeyLabel); !errors.Is(err, signer.ErrKeyNotFound) {
		t.Fatalf("key of the revoked seal after a refused use: %v, want destroyed", err)
	}
}

// TestAttackRevokeNeverDestroysOtherKeys: a seal record naming another key than one made for
// it (the CA's or the seal maker's, damaged or tampered with) must not make a revocation
// destroy that key.
func TestAttackRevokeNeverDestroysOtherKeys(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	for _, label := range []string{pki.RootKeyLabel, pki.MakerKeyLabel} {
		s := e.made(t, Personal, "")
		s.KeyLabel = label
		if err := e.db.Set(ctx, []byte(sealKey(s.Code)), jsonWrite(sealKey(s.Code), s).Value); err != nil {
			t.Fatal(err)
		}
		e.reg.inUse.Bump()
		if err := e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "dissolved"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.keys.Find(ctx, label); err != nil {
			t.Fatalf("key %s after revoking a seal whose record names it: %v", label, err)
		}
	}
}

// deleteCounts is a key store that counts the calls of Delete.
type deleteCounts struct {
	signer.KeyStore
	n *atomic.Int32
}

func (d deleteCounts) Delete(ctx context.Context, label string) error {
	d.n.Add(1)
	return d.KeyStore.Delete(ctx, label)
}

// TestRefusedUsesDoNotAskToDestroyAgain: once a revoked seal's key is destroyed, refused uses
// of the seal do not call the key store's Delete again (a caller repeating them would
// otherwise make one token call each).
func TestRefusedUsesDoNotAskToDestroyAgain(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	var n atomic.Int32
	reg, err := New(Config{State: NewState(e.db, e.log), Keys: deleteCounts{e.keys, &n}, CA: e.ca, Guard: e.guard, Pictures: e.pics,
		Impressions: e.imps, Events: e.events, Division: "460100", IDKey: []byte("0123456789abcdef"),
		Clock: e.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "dissolved"}); err != nil {
		t.Fatal(err)
	}
	d := sm3.Sum([]byte("x"))
	for range 5 {
		if _, err := reg.Authorize(ctx, holderAct, UseRequest{SealCode: s.Code, Digests: [][]byte{d[:]}, PIN: pin}); err == nil {
			t.Fatal("a revoked seal was authorised")
		}
	}
	if got := n.Load(); got != 1 {
		t.Fatalf("Delete called %d times, want once (at the revocation)", got)
	}
}
