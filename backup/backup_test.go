package backup

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/verifier"
)

func useRecord(id int) audit.Record {
	v := sm3.Sum(fmt.Appendf(nil, "signature %d", id))
	return audit.Record{Actor: "oa-system", Action: audit.ActionSign, SealCode: "460100000001",
		SignatureSM3: v[:], Outcome: audit.OutcomeOK, Details: map[string]string{"request": fmt.Sprint(id)}}
}

// TestBackupUnderLoad writes audit records continuously while a backup is made, restores the
// backup elsewhere, and checks that every record acknowledged before the backup began is
// there and that the chain verifies.
func TestBackupUnderLoad(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	db, err := store.Open(filepath.Join(tmp, "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, _ := sm2.GenerateKey(rand.Reader)
	lg, err := audit.Open(ctx, db, audit.Options{HeadSigner: key, HeadEvery: 25})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()

	var mu sync.Mutex
	acked := map[audit.Seq]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := g*1_000_000 + i
				s, err := lg.Append(ctx, useRecord(id))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked[s] = id
				mu.Unlock()
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	before := make(map[audit.Seq]int, len(acked))
	for s, id := range acked {
		before[s] = id
	}
	mu.Unlock()
	bdir := filepath.Join(tmp, "backup")
	if err := Backup(ctx, db, bdir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	checkModes(t, bdir)

	restored := filepath.Join(tmp, "restored")
	rep, err := Restore(ctx, bdir, restored, RestoreOptions{AuditKeys: []crypto.PublicKey{key.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Records < uint64(len(before)) || rep.KeysFromLog {
		t.Fatalf("report of the restored log: %+v", rep)
	}
	checkModes(t, restored)
	rdb, err := store.Open(restored, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	for s, id := range before {
		r, err := audit.ReadRecord(ctx, rdb, s)
		if err != nil {
			t.Fatalf("record %d, acknowledged before the backup: %v", s, err)
		}
		if r.Details["request"] != fmt.Sprint(id) {
			t.Fatalf("record %d holds request %s, acknowledged for %d", s, r.Details["request"], id)
		}
	}
	// The restored log opens and goes on.
	rlg, err := audit.Open(ctx, rdb, audit.Options{HeadSigner: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rlg.Append(ctx, useRecord(-1)); err != nil {
		t.Fatal(err)
	}
	if err := rlg.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records acknowledged before the backup, %d in it", len(before), rep.Records)
}

func checkModes(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			return fmt.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// smallBackup makes a backup of a store with a short audit log and returns its directory.
func smallBackup(t *testing.T, key *sm2.PrivateKey) string {
	ctx := context.Background()
	tmp := t.TempDir()
	db, err := store.Open(filepath.Join(tmp, "data"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lg, err := audit.Open(ctx, db, audit.Options{HeadSigner: key, HeadEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := lg.Append(ctx, useRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tmp, "backup")
	if err := Backup(ctx, db, dir); err != nil {
		t.Fatal(err)
	}
	if err := Backup(ctx, db, dir); err == nil {
		t.Fatal("a second backup into the same directory succeeded")
	}
	return dir
}

func TestBackupRestoreRefusals(t *testing.T) {
	ctx := context.Background()
	key, _ := sm2.GenerateKey(rand.Reader)
	bdir := smallBackup(t, key)
	keys := RestoreOptions{AuditKeys: []crypto.PublicKey{key.Public()}}

	t.Run("non-empty target", func(t *testing.T) {
		target := t.TempDir()
		if err := os.WriteFile(filepath.Join(target, "x"), []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Restore(ctx, bdir, target, keys); !errors.Is(err, ErrTargetNotEmpty) {
			t.Fatalf("err %v, want ErrTargetNotEmpty", err)
		}
		if b, _ := os.ReadFile(filepath.Join(target, "x")); string(b) != "keep" {
			t.Fatal("the target was touched")
		}
	})
	t.Run("empty target directory", func(t *testing.T) {
		target := t.TempDir()
		if rep, err := Restore(ctx, bdir, target, keys); err != nil || rep.Records != 10 {
			t.Fatalf("%+v %v", rep, err)
		}
	})
	t.Run("other head key", func(t *testing.T) {
		other, _ := sm2.GenerateKey(rand.Reader)
		target := filepath.Join(t.TempDir(), "data")
		_, err := Restore(ctx, bdir, target, RestoreOptions{AuditKeys: []crypto.PublicKey{other.Public()}})
		if !errors.Is(err, ErrAuditBroken) {
			t.Fatalf("err %v, want ErrAuditBroken", err)
		}
		if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a refused restore left %s: %v", target, err)
		}
	})
	t.Run("broken chain", func(t *testing.T) {
		// Tamper with a restored copy, back it up again and restore that.
		tampered := filepath.Join(t.TempDir(), "data")
		if _, err := Restore(ctx, bdir, tampered, keys); err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(tampered, &store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Delete(ctx, []byte("audit/r/\x00\x00\x00\x00\x00\x00\x00\x06")); err != nil {
			t.Fatal(err)
		}
		b2 := filepath.Join(t.TempDir(), "backup")
		if err := Backup(ctx, db, b2); err != nil {
			t.Fatal(err)
		}
		db.Close()
		target := filepath.Join(t.TempDir(), "data")
		_, err = Restore(ctx, b2, target, keys)
		if !errors.Is(err, ErrAuditBroken) || !strings.Contains(err.Error(), "record 6 removed") {
			t.Fatalf("err %v, want ErrAuditBroken naming record 6", err)
		}
		if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a refused restore left %s", target)
		}
	})
	t.Run("no backup", func(t *testing.T) {
		if _, err := Restore(ctx, filepath.Join(t.TempDir(), "none"), filepath.Join(t.TempDir(), "d"), keys); err == nil {
			t.Fatal("restored from nothing")
		}
	})
}

// lifecycleEnv is a registry over db with its key store, CA, PIN guard and audit log.
type lifecycleEnv struct {
	keys *softkey.Store
	ca   *pki.CA
	lg   *audit.Log
	reg  *registry.Registry
}

func openLifecycle(t *testing.T, db store.KV, kek []byte, head *sm2.PrivateKey) *lifecycleEnv {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &lifecycleEnv{}
	var err error
	if e.keys, err = softkey.New(store.MustSpace(db, "softkey"), kek, softkey.Options{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if e.ca, err = pki.Open(ctx, pki.Options{Store: db, Keys: e.keys, Logger: quiet, CRLURL: "http://eseal.example/v1/pki/crl",
		Organisation: "海南省电子印章平台", OrgCode: "91350100M000100Y43", CRLRefresh: time.Minute}); err != nil {
		t.Fatal(err)
	}
	guard, err := signer.NewGuard(store.MustSpace(db, "pin"), signer.GuardOptions{Iterations: signer.MinPINIterations, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	pics, err := sealimg.New(sealimg.Options{DPI: 96})
	if err != nil {
		t.Fatal(err)
	}
	if e.lg, err = audit.Open(ctx, db, audit.Options{HeadSigner: head, HeadEvery: 25, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if e.reg, err = registry.New(registry.Config{State: registry.NewState(db, e.lg), Keys: e.keys, CA: e.ca, Guard: guard,
		Pictures: pics, Division: "460100", IDKey: []byte("0123456789abcdef"), Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *lifecycleEnv) close() {
	e.lg.Close()
	e.ca.Close()
	e.keys.Close()
}

// TestBackupUnderLifecycleLoad runs lifecycle steps (apply, approve, make, issue, suspend,
// resume) and signings continuously while a backup is made, restores the backup elsewhere,
// and checks that every operation acknowledged before the backup began is there, every .esl
// verifies with the restored CA, every signature acknowledged before has its provable use
// record, and the audit chain verifies.
func TestBackupUnderLifecycleLoad(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	db, err := store.Open(filepath.Join(tmp, "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kek := make([]byte, 16)
	rand.Read(kek)
	head, _ := sm2.GenerateKey(rand.Reader)
	e := openLifecycle(t, db, kek, head)
	defer e.close()

	const holderID = "11010519491231002X"
	applicant := registry.Actor{Name: "applicant-1", Roles: []registry.Role{registry.RoleApplicant}}
	staff := registry.Actor{Name: "staff-1", Roles: []registry.Role{registry.RoleReviewer, registry.RoleMaker, registry.RoleAdmin}}
	holder := registry.Actor{Name: "holder-1", Roles: []registry.Role{registry.RoleSigner}, PersonID: holderID}
	pin := []byte("246810")
	app := registry.Application{Kind: registry.Personal, Unit: registry.Unit{Name: "海南示例科技有限公司", CreditCode: "91110000802100433B"},
		Holder: &registry.Person{Name: "张三", ID: holderID}, Handler: registry.Person{Name: "王经办", ID: holderID},
		ValidTo: time.Now().AddDate(2, 0, 0), Materials: []registry.Material{{Name: "licence", Data: []byte("licence")}}}
	newSeal := func() (*registry.SealRecord, string, error) {
		id, err := e.reg.Apply(ctx, applicant, app)
		if err != nil {
			return nil, "", err
		}
		if err := e.reg.Approve(ctx, staff, id); err != nil {
			return nil, id, err
		}
		s, err := e.reg.Make(ctx, staff, id, registry.MakeRequest{PIN: pin})
		if err != nil {
			return nil, id, err
		}
		return s, id, e.reg.Issue(ctx, staff, s.Code)
	}
	first, _, err := newSeal()
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	acked := map[string]string{} // "app ID" / "seal CODE STATUS" / "sig SM3" -> ""
	ack := func(k string) { mu.Lock(); acked[k] = ""; mu.Unlock() }
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for !stopped() {
			s, id, err := newSeal()
			if err != nil {
				t.Error(err)
				return
			}
			ack("app " + id)
			ack("seal " + s.Code + " " + registry.StatusActive)
			if err := e.reg.Suspend(ctx, staff, s.Code, registry.StatusRequest{Reason: "check"}); err != nil {
				t.Error(err)
				return
			}
			ack("seal " + s.Code + " " + registry.StatusSuspended)
			if err := e.reg.Resume(ctx, staff, s.Code, registry.StatusRequest{Reason: "checked"}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for g := range 2 {
		go func() {
			defer wg.Done()
			for i := 0; !stopped(); i++ {
				d := sm3.Sum(fmt.Appendf(nil, "document %d %d", g, i))
				u, err := e.reg.Authorize(ctx, holder, registry.UseRequest{SealCode: first.Code, Digests: [][]byte{d[:]}, PIN: pin})
				if err != nil {
					t.Error(err)
					return
				}
				sig, err := u.Sign(ctx, registry.SignItem{Digest: d[:]})
				if err != nil {
					t.Error(err)
					return
				}
				p, _ := ses.ParseSignature(sig)
				v := sm3.Sum(p.Value)
				ack(fmt.Sprintf("sig %x", v[:]))
			}
		}()
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 60 || t.Failed() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	before := maps.Clone(acked)
	mu.Unlock()
	bdir := filepath.Join(tmp, "backup")
	if err := Backup(ctx, db, bdir); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()

	restored := filepath.Join(tmp, "restored")
	rep, err := Restore(ctx, bdir, restored, RestoreOptions{AuditKeys: []crypto.PublicKey{head.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("report of the restored log: %+v", rep)
	}
	rdb, err := store.Open(restored, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	r := openLifecycle(t, rdb, kek, head)
	defer r.close()
	crlDER, err := r.ca.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.ParseRevocationList(crlDER)
	if err != nil {
		t.Fatal(err)
	}
	v := verifier.New(verifier.Options{Roots: []*smx509.Certificate{r.ca.Root()}, Makers: []*smx509.Certificate{r.ca.Maker()},
		CRLs: []*smx509.RevocationList{crl}})
	counts := map[string]int{}
	for k := range before {
		f := strings.Fields(k)
		counts[f[0]]++
		switch f[0] {
		case "app":
			if _, err := r.reg.Application(ctx, f[1]); err != nil {
				t.Fatalf("application %s, acknowledged before the backup: %v", f[1], err)
			}
		case "seal":
			s, err := r.reg.Seal(ctx, f[1])
			if err != nil {
				t.Fatalf("seal %s, acknowledged before the backup: %v", f[1], err)
			}
			if !slices.ContainsFunc(s.History, func(h registry.StatusChange) bool { return h.Status == f[2] }) {
				t.Fatalf("seal %s was acknowledged %s before the backup; its history %+v", f[1], f[2], s.History)
			}
			if srep, ind := v.VerifySeal(s.ESL); ind != verifier.TotalPassed {
				t.Fatalf("seal %s: %s %+v", f[1], ind, srep.Checks)
			}
		case "sig":
			b, _ := hex.DecodeString(f[1])
			if _, _, ok, err := r.lg.ProveExistence([32]byte(b)); !ok || err != nil {
				t.Fatalf("signature %s, acknowledged before the backup, has no provable use record (%v)", f[1], err)
			}
		}
	}
	if counts["seal"] == 0 || counts["sig"] == 0 {
		t.Fatalf("too little acknowledged before the backup: %v", counts)
	}
	t.Logf("acknowledged before the backup: %v; %d audit records in it", counts, rep.Records)
}
