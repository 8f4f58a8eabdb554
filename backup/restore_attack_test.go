package backup

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/emmansun/gmsm/sm2"
)

// copyDir copies a backup so that a test can add to it; files 0644, directories 0755.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBackupRestoreAttackLinksAndModes: a backup directory that holds a symbolic link (to a
// file outside it, or a directory), or a target that is a link to an empty directory, is
// refused and leaves nothing behind; a restore from loosely permissioned files gives files
// 0600 and directories 0700.
func TestBackupRestoreAttackLinksAndModes(t *testing.T) {
	ctx := context.Background()
	key, _ := sm2.GenerateKey(rand.Reader)
	bdir := smallBackup(t, key)
	keys := RestoreOptions{AuditKeys: []crypto.PublicKey{key.Public()}}
	secret := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(secret, []byte("not part of the backup"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, link := range []string{secret, filepath.Dir(secret)} {
		b := filepath.Join(t.TempDir(), "backup")
		copyDir(t, bdir, b)
		if err := os.Symlink(link, filepath.Join(b, "extra")); err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(t.TempDir(), "data")
		if _, err := Restore(ctx, b, target, keys); err == nil {
			t.Fatalf("restored a backup holding a link to %s", link)
		}
		if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a refused restore left %s: %v", target, err)
		}
		left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".data.restore-*"))
		if len(left) != 0 {
			t.Fatalf("a refused restore left %v", left)
		}
	}

	empty := t.TempDir()
	linked := filepath.Join(t.TempDir(), "data")
	if err := os.Symlink(empty, linked); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, bdir, linked, keys); !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("restore through a link to an empty directory: %v", err)
	}
	if names, _ := os.ReadDir(empty); len(names) != 0 {
		t.Fatalf("the link's directory was written: %d entries", len(names))
	}

	loose := filepath.Join(t.TempDir(), "backup")
	copyDir(t, bdir, loose)
	target := filepath.Join(t.TempDir(), "data")
	if _, err := Restore(ctx, loose, target, keys); err != nil {
		t.Fatal(err)
	}
	files := 0
	err := filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
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
		} else {
			files++
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk %s: %v (%d files)", target, err, files)
	}
}
