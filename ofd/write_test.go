package ofd_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"github.com/eseal/eseal/ofd"
)

func TestSignPageRoundTrip(t *testing.T) {
	p := testPKI(t)
	in := rezip(t, licence())
	before := bytes.Clone(in)
	out, d := p.mustSign(t, in, 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 150, Y: 200}, Seal: p.seals[0].Raw})
	if !bytes.Equal(in, before) {
		t.Fatal("signing changed the input bytes")
	}
	if d.Path() != "/Doc_0/Signs/Sign_0/Signature.xml" {
		t.Fatalf("Path() = %q", d.Path())
	}
	files := entries(t, out)
	sx := files["Doc_0/Signs/Sign_0/Signature.xml"]
	if !bytes.Equal(sx, d.SignatureXML()) {
		t.Fatal("the stored Signature.xml is not SignatureXML()")
	}
	if sum := sm3.Sum(sx); !bytes.Equal(sum[:], d.Digest()) {
		t.Fatal("Digest() is not the SM3 of Signature.xml")
	}
	if !bytes.Equal(files["Doc_0/Signs/Sign_0/Seal.esl"], p.seals[0].Raw) {
		t.Fatal("Seal.esl is not the seal")
	}
	if !strings.Contains(string(files["OFD.xml"]), `<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody>`) {
		t.Fatalf("OFD.xml did not gain its Signatures reference: %s", files["OFD.xml"])
	}
	if want := string(licence()["OFD.xml"]); strings.Replace(string(files["OFD.xml"]), `<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>`, "", 1) != want {
		t.Fatal("OFD.xml was changed beyond the inserted reference")
	}

	// What Signature.xml says, read back by the read side.
	pkg, err := ofd.Open(out, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := pkg.Signatures()
	if err != nil || len(sigs) != 1 {
		t.Fatalf("%d signatures, %v", len(sigs), err)
	}
	s := sigs[0]
	if s.Err != nil || s.SignatureMethod != ofd.OIDSM2Sign || s.CheckMethod != ofd.OIDSM3 || s.Provider != "eseal" ||
		s.SignatureDateTime != "2026-03-01T08:00:00Z" || s.SealPath != "Doc_0/Signs/Sign_0/Seal.esl" || s.ID != "1" || s.Type != "Seal" {
		t.Fatalf("signature reads back as %+v", s)
	}
	if len(s.StampAnnots) != 1 || s.StampAnnots[0].PageRef != "1" || s.StampAnnots[0].Boundary != [4]float64{130, 180, 40, 40} {
		t.Fatalf("stamp: %+v", s.StampAnnots)
	}
	protected := map[string]bool{}
	for _, r := range s.References {
		if !r.OK {
			t.Errorf("reference %s: %s", r.FileRef, r.Problem)
		}
		protected[r.Path] = true
	}
	for name := range files {
		want := name != "Doc_0/Signs/Signatures.xml" && name != "Doc_0/Signs/Sign_0/SignedValue.dat" && name != "Doc_0/Signs/Sign_0/Signature.xml"
		if protected[name] != want {
			t.Errorf("%s protected: %v, want %v", name, protected[name], want)
		}
	}

	// Unchanged entries are the same stored bytes.
	rin, rout := rawEntries(t, in), rawEntries(t, out)
	for _, n := range []string{"Doc_0/Document.xml", "Doc_0/PublicRes.xml", "Doc_0/Pages/Page_0/Content.xml"} {
		if rin[n].crc != rout[n].crc || !bytes.Equal(rin[n].stored, rout[n].stored) {
			t.Errorf("%s was not copied as stored", n)
		}
	}

	r := p.report(t, out)
	mustPass(t, r, d.Path())
	if len(r.UnsignedFiles) != 0 {
		t.Errorf("unsigned files: %v", r.UnsignedFiles)
	}
	opensslVerifyValue(t, files["Doc_0/Signs/Sign_0/SignedValue.dat"])
}
