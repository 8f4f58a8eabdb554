package trust_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/trust"
	"github.com/eseal/eseal/verifier"
)

// sample is the committed sample of the quick start: a root, a seal maker, a CRL and a
// seal signature over Signature.xml.
func sample(name string) string { return filepath.Join("..", "testdata", "sample", name) }

// verifyWith verifies the sample signature against a trust set.
func verifyWith(set verifier.TrustSet) (verifier.SignatureReport, error) {
	crlDER, err := os.ReadFile(sample("crl.der"))
	if err != nil {
		return verifier.SignatureReport{}, err
	}
	crl, err := smx509.ParseRevocationList(crlDER)
	if err != nil {
		return verifier.SignatureReport{}, err
	}
	sig, err := os.ReadFile(sample("SignedValue.dat"))
	if err != nil {
		return verifier.SignatureReport{}, err
	}
	data, err := os.ReadFile(sample("Signature.xml"))
	if err != nil {
		return verifier.SignatureReport{}, err
	}
	v := verifier.New(verifier.Options{Roots: set.Roots, Intermediates: set.Intermediates, Makers: set.Makers,
		CRLs: []*smx509.RevocationList{crl}})
	return v.VerifySignature(sig, data), nil
}

// A province's trust set, loaded from the PEM files the configuration names, decides
// whether its seals pass.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "trust-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	sets, err := trust.Open(ctx, store.MustSpace(db, trust.SpaceName), trust.Options{
		OnChange: func(name string) { fmt.Println("changed:", name) },
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		log.Fatal(err)
	}
	gen, err := sets.LoadFiles(ctx, "province-a", sample("root.pem"), "", sample("maker.pem"))
	if err != nil {
		log.Fatal(err)
	}
	set, _, err := sets.TrustSet("province-a")
	if err != nil {
		log.Fatal(err)
	}
	r, err := verifyWith(set)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("generation", gen, r.Indication)
	// Output:
	// changed: province-a
	// generation 1 TOTAL_PASSED
}

// TestMakerListDecides checks that a set with the sample's root but without its maker
// does not let the sample pass: a chain to a root is not enough.
func TestMakerListDecides(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sets, err := trust.Open(ctx, store.MustSpace(db, trust.SpaceName), trust.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sets.LoadFiles(ctx, "roots-only", sample("root.pem"), "", ""); err != nil {
		t.Fatal(err)
	}
	set, _, err := sets.TrustSet("roots-only")
	if err != nil {
		t.Fatal(err)
	}
	r, err := verifyWith(set)
	if err != nil {
		t.Fatal(err)
	}
	if r.Indication == verifier.TotalPassed {
		t.Fatal("the sample passes under a set that accepts no seal maker")
	}
	for _, c := range r.Checks {
		if c.Name == verifier.CheckSealMaker && c.Status == verifier.Passed {
			t.Fatalf("seal_maker passed: %s", c.Detail)
		}
	}
}
