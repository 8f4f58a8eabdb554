//go:build !cgo

package appliance

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/eseal/eseal/errs"
)

// TestOpenPKCS11WithoutCgo: a binary built without cgo refuses the pkcs11 backend with an
// error saying why, after reading (and unsetting) the PIN, and releases the store.
func TestOpenPKCS11WithoutCgo(t *testing.T) {
	cfg := testConfig(t)
	cfg.Keys = hsmKeys()
	t.Setenv(EnvPIN, "123456")
	_, err := OpenWith(context.Background(), cfg, OpenOptions{Logger: quietLog})
	if err == nil || !strings.Contains(err.Error(), "cgo") || !errors.Is(err, errs.Unsupported) {
		t.Fatalf("pkcs11 without cgo: %v", err)
	}
	if strings.Contains(err.Error(), "123456") {
		t.Fatal("the error shows the PIN")
	}
	soft := testConfig(t)
	soft.Data.Dir = cfg.Data.Dir
	openTest(t, soft)
}
