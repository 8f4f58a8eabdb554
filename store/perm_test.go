//go:build unix

package store

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// checkModes fails unless dir is 0700 and every file under it 0600.
func checkModes(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := FileMode
		if d.IsDir() {
			want = DirMode
		} else {
			n++
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %#o, want %#o", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no files under %s", dir)
	}
}

func TestModes(t *testing.T) {
	old := syscall.Umask(0o022) // a usual umask, under which Pebble would make 0755 and 0644
	defer syscall.Umask(old)
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	db, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		_ = db.Set(ctx, []byte{byte(i)}, []byte("v"))
	}
	if err := db.db.Flush(); err != nil { // new table files, made after Open
		t.Fatal(err)
	}
	checkModes(t, dir)
	cp := filepath.Join(parent, "backup")
	if err := db.Checkpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}
	checkModes(t, cp)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	checkModes(t, dir)

	// A directory others may read or write is refused, with the fix.
	for _, mode := range []os.FileMode{0o755, 0o750, 0o707, 0o770} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir, nil)
		if err == nil || !strings.Contains(err.Error(), "chmod 700 "+dir) {
			t.Fatalf("Open of a %#o directory: %v", mode, err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Files loosened by hand are tightened again on open.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		_ = os.Chmod(filepath.Join(dir, e.Name()), 0o644)
	}
	db, err = Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkModes(t, dir)
	db.Close()
	// Not a directory.
	f := filepath.Join(parent, "file")
	_ = os.WriteFile(f, nil, 0o600)
	if _, err := Open(f, nil); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Open of a file: %v", err)
	}
}
