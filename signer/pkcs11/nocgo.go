//go:build !cgo

package pkcs11

import (
	"context"

	"github.com/eseal/eseal/signer"
)

// Store is unavailable without cgo.
type Store struct{ signer.KeyStore }

// Open always fails in a build without cgo: miekg/pkcs11 needs cgo.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return nil, signer.Errorf(signer.ErrUnsupported, "pkcs11.Open", "", nil,
		"this binary was built without cgo, so PKCS#11 module %s cannot be used; rebuild with CGO_ENABLED=1", cfg.Module)
}

// Ready implements signer.Readier; a Store never exists without cgo.
func (s *Store) Ready() error {
	return signer.Errorf(signer.ErrUnsupported, "pkcs11.Ready", "", nil, "built without cgo")
}

// Relogin is unsupported without cgo.
func (s *Store) Relogin(context.Context) error {
	return signer.Errorf(signer.ErrUnsupported, "pkcs11.Relogin", "", nil, "built without cgo")
}
