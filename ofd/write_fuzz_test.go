package ofd_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// FuzzPrepareSignature signs whatever package it is given (at a position, on a keyword,
// or across pages 1-2 when the keyword is "\x00riding"): every refusal is an
// *ofd.Error with a kind, the input is never changed, and a signed package reads
// back with the new signature's references all matching.
func FuzzPrepareSignature(f *testing.F) {
	p := testPKI(f)
	f.Add(rezip(f, licence()), false, "")
	f.Add(rezip(f, licence()), false, "盖章处")
	f.Add(rezip(f, licence(page{"1", textPage("a")}, page{"2", textPage("b")})), false, "\x00riding")
	signed, _ := p.mustSign(f, rezip(f, licence()), 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 100, Y: 100}})
	f.Add(signed, true, "")
	lim := ofd.Limits{MaxEntrySize: 1 << 20, MaxTotalSize: 8 << 20, MaxEntries: 500, MaxSignatures: 50}
	f.Fuzz(func(t *testing.T, data []byte, protect bool, keyword string) {
		before := bytes.Clone(data)
		defer func() {
			if !bytes.Equal(before, data) {
				t.Fatal("the input was changed")
			}
		}()
		kindOK := func(err error) {
			var e *ofd.Error
			if !errors.As(err, &e) || e.Kind == 0 {
				t.Fatalf("error is not an *ofd.Error with a kind: %v", err)
			}
		}
		pkg, err := ofd.Open(data, lim)
		if err != nil {
			kindOK(err)
			return
		}
		pl := ofd.Placement{Page: 1, X: 100, Y: 100}
		switch {
		case keyword == "\x00riding":
			pl = ofd.Placement{RidingFrom: 1, RidingTo: 2}
		case keyword != "":
			pl = ofd.Placement{Keyword: keyword}
		}
		d, err := pkg.PrepareSignature(ofd.SignOptions{Placement: pl, Width: 40, Height: 40,
			Time: p.signingAt, ProtectSignatures: protect})
		if err != nil {
			kindOK(err)
			return
		}
		sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: p.seals[0], SignerCert: p.signers[0].Raw,
			DataHash: d.Digest(), PropertyInfo: d.Path(), Time: p.signingAt}, p.keys[0])
		if err != nil {
			t.Fatal(err)
		}
		out, err := d.Finish(sig)
		if err != nil {
			t.Fatalf("Finish after a successful Prepare: %v", err)
		}
		again, err := ofd.Open(out, lim)
		if err != nil {
			t.Fatalf("the signed package does not open: %v", err)
		}
		sigs, err := again.Signatures()
		if err != nil {
			t.Fatalf("the signed package's signatures do not read: %v", err)
		}
		for _, s := range sigs {
			if "/"+s.Location != d.Path() {
				continue
			}
			if s.Err != nil || !bytes.Equal(s.XML, d.SignatureXML()) || !bytes.Equal(s.SignedValue, sig) {
				t.Fatalf("the new signature reads back wrong: %v", s.Err)
			}
			for _, r := range s.References {
				if !r.OK {
					t.Fatalf("the new signature's reference to %s fails: %s", r.FileRef, r.Problem)
				}
			}
			return
		}
		t.Fatalf("the signed package does not list the new signature %s", d.Path())
	})
}
