package errs_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"path/filepath"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/revocation"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/trust"
	"github.com/eseal/eseal/verifier"
)

// kindsMatched lists every kind err matches with errors.Is.
func kindsMatched(err error) []errs.Kind {
	var ks []errs.Kind
	for _, k := range errs.Kinds() {
		if errors.Is(err, k) {
			ks = append(ks, k)
		}
	}
	return ks
}

// checkOne fails unless err matches want and no other kind, and KindOf agrees.
func checkOne(t *testing.T, name string, err error, want errs.Kind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", name, want.Code())
		return
	}
	got := kindsMatched(err)
	if len(got) != 1 || got[0] != want {
		codes := []string{}
		for _, k := range got {
			codes = append(codes, k.Code())
		}
		t.Errorf("%s: %q matches %v, want only %s", name, err, codes, want.Code())
	}
	if k := errs.KindOf(err); k != want {
		t.Errorf("%s: KindOf = %s, want %s", name, k.Code(), want.Code())
	}
}

// detailTypes builds, for each package's detail type, an error of kind outer
// wrapping cause.
var detailTypes = map[string]func(outer errs.Kind, cause error) error{
	"signer.Error": func(k errs.Kind, c error) error { return signer.Errorf(k, "op", "label", c, "detail") },
	"pki.Error":    func(k errs.Kind, c error) error { return &pki.Error{Kind: k, Op: "op", Field: "field", Err: c} },
	"registry.Error": func(k errs.Kind, c error) error {
		return &registry.Error{Kind: k, Op: "op", Subject: "460100000001", Err: c}
	},
	"ofd.Error": func(k errs.Kind, c error) error {
		return &ofd.Error{Kind: k, File: "Doc_0/Document.xml", Msg: "m", Err: c}
	},
	"revocation.Error": func(k errs.Kind, c error) error {
		return &revocation.Error{Kind: k, Op: "op", Issuer: "CN=root", URL: "http://ca.example/root.crl", Err: c}
	},
	"verifier.BatchError": func(k errs.Kind, c error) error {
		return &verifier.BatchError{Kind: k, Op: "verify batch", N: 3, Queue: 2, Err: c}
	},
	"trust.Error": func(k errs.Kind, c error) error {
		return &trust.Error{Kind: k, Op: "op", Set: "gd", Cert: "roots[0]", Err: c}
	},
	"sealimg.FieldError": func(k errs.Kind, c error) error {
		if k != errs.InvalidInput {
			return nil // a FieldError is always invalid input
		}
		return &sealimg.FieldError{Field: "name", Problem: "p", Err: c}
	},
}

// TestEveryKindThroughEveryDetailType wraps each kind in each package's
// detail type, over a cause of every other kind (itself in a detail type or
// bare, directly or through fmt.Errorf), and checks that only the outer kind
// matches.
func TestEveryKindThroughEveryDetailType(t *testing.T) {
	for outerName, outerMake := range detailTypes {
		for _, outer := range errs.Kinds() {
			if outerMake(outer, nil) == nil {
				continue
			}
			checkOne(t, outerName+" "+outer.Code(), outerMake(outer, nil), outer)
			checkOne(t, outerName+" "+outer.Code()+" over a plain cause", outerMake(outer, io.ErrUnexpectedEOF), outer)
			if !errors.Is(outerMake(outer, io.ErrUnexpectedEOF), io.ErrUnexpectedEOF) {
				t.Errorf("%s %s: a plain cause is no longer reachable with errors.Is", outerName, outer.Code())
			}
			for _, inner := range errs.Kinds() {
				checkOne(t, fmt.Sprintf("%s %s over bare %s", outerName, outer.Code(), inner.Code()), outerMake(outer, inner), outer)
				for innerName, innerMake := range detailTypes {
					in := innerMake(inner, context.Canceled)
					if in == nil {
						continue
					}
					name := fmt.Sprintf("%s %s over %s %s", outerName, outer.Code(), innerName, inner.Code())
					err := outerMake(outer, fmt.Errorf("context: %w", in))
					checkOne(t, name, err, outer)
					if !errors.Is(err, context.Canceled) {
						t.Errorf("%s: the innermost plain cause is no longer reachable", name)
					}
					checkOne(t, "wrapped "+name, fmt.Errorf("request: %w", outerMake(outer, in)), outer)
				}
			}
		}
	}
}

// TestPackageErrors makes real errors in each package and checks that each
// has exactly the expected kind.
func TestPackageErrors(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// store
	dir := filepath.Join(t.TempDir(), "db")
	db, err := store.Open(dir, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Get(ctx, []byte("absent"))
	checkOne(t, "store Get absent", err, errs.NotFound)

	// signer: softkey and PIN guard
	_, err = softkey.New(store.MustSpace(db, "softkey"), []byte("short"), softkey.Options{Logger: quiet})
	checkOne(t, "softkey.New short KEK", err, errs.Config)
	kek := make([]byte, softkey.KEKSize)
	if _, err := rand.Read(kek); err != nil {
		t.Fatal(err)
	}
	keys, err := softkey.New(store.MustSpace(db, "softkey"), kek, softkey.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	_, err = keys.Signer(ctx, "absent")
	checkOne(t, "softkey Signer absent", err, errs.KeyNotFound)
	_, err = keys.Generate(ctx, "bad label/with slash", signer.SM2)
	checkOne(t, "softkey Generate bad label", err, errs.InvalidInput)
	if _, err := keys.Generate(ctx, "seal-1", signer.SM2); err != nil {
		t.Fatal(err)
	}
	_, err = keys.Generate(ctx, "seal-1", signer.SM2)
	checkOne(t, "softkey Generate twice", err, errs.KeyExists)

	guard, err := signer.NewGuard(store.MustSpace(db, "pin"), signer.GuardOptions{Iterations: signer.MinPINIterations, MaxTries: 2, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	checkOne(t, "Guard Verify without a PIN set", guard.Verify(ctx, "seal-1", []byte("123456")), errs.NoPIN)
	if err := guard.SetPIN(ctx, "seal-1", []byte("right-pin")); err != nil {
		t.Fatal(err)
	}
	checkOne(t, "Guard Verify wrong PIN", guard.Verify(ctx, "seal-1", []byte("wrong-pin")), errs.WrongPIN)
	_ = guard.Verify(ctx, "seal-1", []byte("wrong-pin"))
	checkOne(t, "Guard Verify locked", guard.Verify(ctx, "seal-1", []byte("right-pin")), errs.Locked)

	// pki
	opts := pki.Options{Store: store.MustSpace(db, pki.SpaceName), Keys: keys, Logger: quiet,
		Organisation: "测试平台", OrgCode: "91350100M000100Y43"}
	_, err = pki.Open(ctx, opts)
	checkOne(t, "pki.Open without CRLURL", err, errs.Config)
	opts.CRLURL = "https://ca.example/crl"
	ca, err := pki.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ca.Lookup(ctx, big.NewInt(987654321))
	checkOne(t, "pki Lookup unknown serial", err, errs.CertNotFound)
	checkOne(t, "pki Revoke no serial", ca.Revoke(ctx, nil, 0, ca.Root().NotBefore), errs.InvalidInput)
	checkOne(t, "pki Revoke unknown serial", ca.Revoke(ctx, big.NewInt(987654321), 0, ca.Root().NotBefore), errs.CertNotFound)

	// Causes with kinds of their own: the key store and the store closed
	// under the CA. Only pki's kind (or the key store's, passed on) shows.
	if err := keys.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = keys.Signer(ctx, "seal-1")
	checkOne(t, "softkey Signer after Close", err, errs.Closed)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = db.Get(ctx, []byte("x"))
	checkOne(t, "store Get after Close", err, errs.Closed)
	_, err = ca.Lookup(ctx, big.NewInt(987654321))
	if err == nil || !errors.Is(err, errs.Unavailable) {
		t.Fatalf("pki Lookup over a closed store: %v, want UNAVAILABLE", err)
	}
	checkOne(t, "pki Lookup over a closed store", err, errs.Unavailable)
	var pe *pki.Error
	if !errors.As(err, &pe) || pe.Err == nil || pe.Err.Error() != store.ErrClosed.Error() {
		t.Errorf("pki Lookup over a closed store: cause %v, want the store's", pe)
	}

	// ofd
	_, err = ofd.Open([]byte("not a zip at all"), ofd.Limits{})
	checkOne(t, "ofd.Open garbage", err, errs.Malformed)
	pkg, err := ofd.Open(zipOf(t, map[string]string{"Doc_0/Document.xml": "<x/>", "a.xml": "<a/>", "b.xml": "<b/>"}), ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = pkg.Signatures()
	checkOne(t, "ofd Signatures without OFD.xml", err, errs.FileMissing)
	_, err = pkg.ReadFile("../../etc/passwd")
	checkOne(t, "ofd ReadFile outside the root", err, errs.BadPath)
	_, err = ofd.Open(zipOf(t, map[string]string{"a": "1", "b": "2", "c": "3"}), ofd.Limits{MaxEntries: 2})
	checkOne(t, "ofd.Open over MaxEntries", err, errs.LimitExceeded)

	// ses
	_, err = ses.ParseSeal([]byte{0x30, 0x03, 0x02, 0x01})
	checkOne(t, "ses.ParseSeal truncated", err, errs.Malformed)
	_, err = ses.ParseSignature([]byte("not DER"))
	checkOne(t, "ses.ParseSignature garbage", err, errs.Malformed)

	// sealimg
	_, err = sealimg.New(sealimg.Options{DPI: 1})
	checkOne(t, "sealimg.New bad DPI", err, errs.InvalidInput)
	_, err = sealimg.CheckImpression([]byte("not a picture"))
	checkOne(t, "sealimg.CheckImpression garbage", err, errs.InvalidInput)
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, data := range files {
		fw, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(fw, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
