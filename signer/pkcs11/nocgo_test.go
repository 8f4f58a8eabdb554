//go:build !cgo

package pkcs11

import (
	"errors"
	"strings"
	"testing"

	"github.com/eseal/eseal/signer"
)

func TestNoCgo(t *testing.T) {
	_, err := Open(Config{Module: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "t", Profile: "sansec"})
	if !errors.Is(err, signer.ErrUnsupported) || !strings.Contains(err.Error(), "cgo") {
		t.Fatalf("Open without cgo: %v", err)
	}
	if _, err := Open(Config{}); !errors.Is(err, signer.ErrConfig) {
		t.Fatalf("empty config: %v", err)
	}
}
