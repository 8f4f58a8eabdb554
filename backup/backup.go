// Package backup makes consistent copies of the store (art. 23 of the measures) and brings
// them back.
//
// Backup writes a store checkpoint: a consistent copy of every keyspace at one moment,
// taken while the store serves. Restore refuses a target that holds anything, copies the
// backup beside the target, opens the copy and checks its audit chain (audit.Verify), and
// only then moves it into place, so that a restore never leaves a half-copied store or an
// audit log with a broken chain where the platform starts.
//
// Directories are written with mode 0700 and files with 0600: a backup holds wrapped keys,
// PIN records and the audit log.
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
	"os"
	"path/filepath"

	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/store"
)

// ErrAuditBroken is returned by Restore when the backup's audit chain does not verify.
var ErrAuditBroken = errors.New("backup: the audit chain of the backup is broken")

// ErrTargetNotEmpty is returned by Restore when the target holds anything.
var ErrTargetNotEmpty = errors.New("backup: the restore target is not empty")

// Backup writes a consistent copy of db into dir, which must not exist yet; its parent must.
func Backup(ctx context.Context, db store.DB, dir string) error {
	if dir == "" {
		return errors.New("backup: no target directory")
	}
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("backup: %s already exists", dir)
	}
	if err := db.Checkpoint(ctx, dir); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := restrict(dir); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return syncDir(filepath.Dir(dir))
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// AuditKeys are the trusted audit head keys. Empty means the keys kept in the backup's
	// own log, which shows the chain is consistent, not who signed its heads.
	AuditKeys []crypto.PublicKey
}

// Restore brings the backup in from back as the store in data. data must not exist or be an
// empty directory. It returns the backup's audit report; when the chain is broken it
// returns ErrAuditBroken naming the first bad record, and data is left as it was.
func Restore(ctx context.Context, from, data string, opts RestoreOptions) (audit.Report, error) {
	var rep audit.Report
	if from == "" || data == "" {
		return rep, errors.New("backup: restore needs a backup and a target directory")
	}
	fi, err := os.Stat(from)
	if err != nil {
		return rep, fmt.Errorf("backup: restore from: %w", err)
	}
	if !fi.IsDir() {
		return rep, fmt.Errorf("backup: restore from %s: not a directory", from)
	}
	if empty, err := emptyDir(from); err != nil {
		return rep, fmt.Errorf("backup: restore from: %w", err)
	} else if empty {
		return rep, fmt.Errorf("backup: restore from %s: the directory is empty", from)
	}
	targetExists := false
	if fi, err := os.Lstat(data); err == nil {
		if !fi.IsDir() {
			return rep, fmt.Errorf("%w: %s is not a directory", ErrTargetNotEmpty, data)
		}
		empty, err := emptyDir(data)
		if err != nil {
			return rep, fmt.Errorf("backup: restore to: %w", err)
		}
		if !empty {
			return rep, fmt.Errorf("%w: %s", ErrTargetNotEmpty, data)
		}
		targetExists = true
	} else if !errors.Is(err, fs.ErrNotExist) {
		return rep, fmt.Errorf("backup: restore to: %w", err)
	}

	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return rep, fmt.Errorf("backup: restore: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(data), "."+filepath.Base(data)+".restore-"+hex.EncodeToString(rnd[:]))
	if err := copyTree(from, tmp); err != nil {
		os.RemoveAll(tmp)
		return rep, fmt.Errorf("backup: restore: copy %s: %w", from, err)
	}
	rep, err = check(ctx, tmp, opts)
	if err == nil {
		err = restrict(tmp)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return rep, err
	}
	if targetExists {
		if err := os.Remove(data); err != nil {
			os.RemoveAll(tmp)
			return rep, fmt.Errorf("backup: restore: %w", err)
		}
	}
	if err := os.Rename(tmp, data); err != nil {
		os.RemoveAll(tmp)
		return rep, fmt.Errorf("backup: restore: %w", err)
	}
	return rep, syncDir(filepath.Dir(data))
}

// check opens the copied store and verifies its audit chain.
func check(ctx context.Context, dir string, opts RestoreOptions) (audit.Report, error) {
	db, err := store.Open(dir, nil)
	if err != nil {
		return audit.Report{}, fmt.Errorf("backup: restore: the backup does not open as a store: %w", err)
	}
	rep, err := audit.Verify(ctx, db, audit.VerifyOptions{Keys: opts.AuditKeys})
	if cerr := db.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return rep, fmt.Errorf("backup: restore: %w", err)
	}
	if f := rep.First(); f != nil {
		return rep, fmt.Errorf("%w: %s", ErrAuditBroken, f)
	}
	return rep, nil
}

func emptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// copyTree copies the regular files and directories under from into to (which must not
// exist), directories 0700 and files 0600, each file synced. Anything else (a link, a
// device) is refused.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.Mkdir(dst, 0o700)
		case d.Type().IsRegular():
			return copyFile(p, dst)
		}
		return fmt.Errorf("%s is not a regular file or directory", p)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// restrict sets directories under dir to 0700 and files to 0600.
func restrict(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Chmod(p, 0o700)
		case d.Type().IsRegular():
			return os.Chmod(p, 0o600)
		}
		return nil
	})
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: sync %s: %w", dir, err)
	}
	return nil
}
