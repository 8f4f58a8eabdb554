package appliance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/eseal/eseal/registry"
)

// BootstrapAdminName is the name of the admin API key made on the first start.
const BootstrapAdminName = "admin"

// adminKeys is what Bootstrap needs of the API keys.
type adminKeys interface {
	Count(ctx context.Context) (int, error)
	Create(ctx context.Context, name string, roles []registry.Role, seals []string) (string, error)
}

// Bootstrap makes the first admin API key when the store holds none, writes its secret to
// DIR/admin.key (mode 0600, DIR being the data directory) and returns that path; the caller
// prints the path, never the key. When keys exist already it makes nothing and returns "".
// The file is created before the key, so that a directory that cannot take it fails before
// a key nobody could learn exists.
func Bootstrap(ctx context.Context, svc *Services, dataDir string) (string, error) {
	if svc == nil || svc.APIKeys == nil {
		return "", fmt.Errorf("appliance: bootstrap: no API keys")
	}
	return bootstrapAdmin(ctx, svc.APIKeys, dataDir)
}

func bootstrapAdmin(ctx context.Context, keys adminKeys, dir string) (string, error) {
	n, err := keys.Count(ctx)
	if err != nil {
		return "", fmt.Errorf("appliance: bootstrap: count the API keys: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	path := filepath.Join(dir, AdminKeyFileName)
	tmp, err := os.CreateTemp(dir, ".admin.key-*")
	if err != nil {
		return "", fmt.Errorf("appliance: bootstrap: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return "", fmt.Errorf("appliance: bootstrap: %w", err)
	}
	secret, err := keys.Create(ctx, BootstrapAdminName, []registry.Role{registry.RoleAdmin}, nil)
	if err != nil {
		return "", fmt.Errorf("appliance: bootstrap: create the admin API key: %w", err)
	}
	// A file left by a start whose key was never stored is stale: replace it.
	if err := finishSecretFile(tmp, path, []byte(secret+"\n"), true); err != nil {
		return "", fmt.Errorf("appliance: bootstrap: the admin API key was made but could not be written to %s: %w", path, err)
	}
	return path, nil
}

// writeSecretFile writes data to path, mode 0600, through a temporary file in the same
// directory so that path never holds part of it. Without overwrite an existing path is an
// error.
func writeSecretFile(path string, data []byte, overwrite bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	return finishSecretFile(tmp, path, data, overwrite)
}

func finishSecretFile(tmp *os.File, path string, data []byte, overwrite bool) error {
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if overwrite {
		if err := os.Rename(tmp.Name(), path); err != nil {
			return err
		}
	} else if err := os.Link(tmp.Name(), path); err != nil { // fails if path exists
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	s := hex.EncodeToString(b)
	clear(b)
	return s
}
