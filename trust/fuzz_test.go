package trust

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/store"
)

// bundleSeeds are bundles good and bad: PEM, DER, a key block, broken blocks.
func bundleSeeds(f *testing.F) [][]byte {
	p := newPKI(f, "Fuzz")
	good := pemOf(p.root, p.inter, p.maker)
	return [][]byte{
		good,
		append(bytes.Clone(p.root.cert.Raw), p.maker.cert.Raw...),
		p.root.cert.Raw[:len(p.root.cert.Raw)-1],
		[]byte("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n" + string(good)),
		[]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		[]byte("-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\nMAA=\n-----END CERTIFICATE-----\n"),
		append(bytes.Clone(good), "junk"...),
		{0x30, 0x80, 0x00, 0x00},
		{0x30, 0x84, 0xff, 0xff, 0xff, 0xff},
		[]byte(" \n\t"),
		nil,
	}
}

// checkErr fails unless err is nil or an *Error of exactly one kind.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) || errs.KindOf(err) == 0 {
		t.Fatalf("error without a kind: %v", err)
	}
}

// FuzzParseBundle feeds arbitrary bundles to ParseBundle and what it finds to the checks
// of Put, as roots and as makers.
func FuzzParseBundle(f *testing.F) {
	for _, s := range bundleSeeds(f) {
		f.Add(s)
	}
	lim := Limits{MaxCerts: 64, MaxBundleBytes: 1 << 20}.withDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		ders, err := ParseBundle(data, lim)
		checkErr(t, err)
		if err != nil {
			if ders != nil {
				t.Fatal("certificates returned with an error")
			}
			return
		}
		if len(ders) > lim.MaxCerts {
			t.Fatalf("%d certificates past the limit of %d", len(ders), lim.MaxCerts)
		}
		for _, d := range ders {
			if len(d) == 0 {
				t.Fatal("an empty certificate")
			}
		}
		set, err := lim.check("fuzz", "fuzz", TrustSetInput{Roots: ders, Makers: ders}, nil)
		checkErr(t, err)
		if err == nil && (len(set.Roots) == 0 || len(set.Roots) > len(ders) || len(set.Makers) > len(ders)) {
			t.Fatalf("%d roots and %d makers from %d certificates", len(set.Roots), len(set.Makers), len(ders))
		}
	})
}

// FuzzPutPEM runs PutPEM over a real store with arbitrary bundles: it never panics,
// refuses with an error of one kind, and what it accepts TrustSet hands out at once.
func FuzzPutPEM(f *testing.F) {
	seeds := bundleSeeds(f)
	for _, s := range seeds {
		f.Add(s, seeds[0])
	}
	db, err := store.Open(filepath.Join(f.TempDir(), "db"), &store.Options{NoSync: true, Logger: quietLog})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	s, err := Open(ctx, store.MustSpace(db, SpaceName), Options{Logger: quietLog, Limits: Limits{MaxCerts: 64, MaxBundleBytes: 1 << 20}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, roots, makers []byte) {
		gen, err := s.PutPEM(ctx, "fuzz", roots, nil, makers)
		checkErr(t, err)
		if err != nil {
			return
		}
		set, g, err := s.TrustSet("fuzz")
		if err != nil || g != gen || len(set.Roots) == 0 {
			t.Fatalf("after PutPEM: generation %d (Put said %d), %d roots, %v", g, gen, len(set.Roots), err)
		}
	})
}
