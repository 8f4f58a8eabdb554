package pki

import (
	"context"
	"crypto"
	"errors"
	"testing"
	"time"

	"github.com/eseal/eseal/signer"
)

// aliasKeys is a key store in which further labels name the CA's own keys, as two objects
// of one key, or a copy of it, can in a hardware module.
type aliasKeys struct {
	signer.KeyStore
	alias map[string]string
}

func (a aliasKeys) label(l string) string {
	if to, ok := a.alias[l]; ok {
		return to
	}
	return l
}

func (a aliasKeys) PublicKey(ctx context.Context, label string) (crypto.PublicKey, error) {
	return a.KeyStore.PublicKey(ctx, a.label(label))
}

func (a aliasKeys) Signer(ctx context.Context, label string) (crypto.Signer, error) {
	return a.KeyStore.Signer(ctx, a.label(label))
}

// TestIssueAttackCAKeyUnderAnotherLabel: the reserved labels kept a signer certificate, a
// CSR or an import off the CA's keys only by name. Under another label the root's key got
// a signer certificate (an end-entity certificate for the key that signs every certificate
// and CRL), and the maker's key a CSR for an outside CA.
func TestIssueAttackCAKeyUnderAnotherLabel(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	opts := e.options()
	opts.Keys = aliasKeys{e.keys, map[string]string{"root-copy": RootKeyLabel, "maker-copy": MakerKeyLabel}}
	ca, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	for _, label := range []string{"root-copy", "maker-copy"} {
		is, err := ca.IssueSigner(ctx, SignerRequest{KeyLabel: label, Holder: Holder{Person: "张三", PersonID: idPerson}, NotAfter: e.clock.Now().Add(time.Hour)})
		if !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("%s: a signer certificate for a CA key: %+v %v", label, is, err)
		}
		if _, err := ca.CreateCSR(ctx, CSRRequest{KeyLabel: label, Holder: Holder{Person: "张三", PersonID: idPerson}}); !errors.Is(err, ErrInvalidInput) {
			t.Fatalf("%s: a CSR for a CA key: %v", label, err)
		}
	}
	// Another key is still served.
	e.newKey(t, "s1")
	if _, err := ca.IssueSigner(ctx, SignerRequest{KeyLabel: "s1", Holder: Holder{Person: "张三", PersonID: idPerson}, NotAfter: e.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}
