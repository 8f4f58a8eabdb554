package backup

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/store"
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
