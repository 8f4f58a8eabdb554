package ofd_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
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

	for n, e := range rout {
		if _, old := rin[n]; !old && e.method != zip.Deflate {
			t.Errorf("%s is written with method %d, not deflated", n, e.method)
		}
	}
	if e := rout["OFD.xml"]; e.method != zip.Deflate || bytes.Equal(e.stored, rin["OFD.xml"].stored) {
		t.Error("the rewritten OFD.xml is not deflated anew")
	}

	r := p.report(t, out)
	mustPass(t, r, d.Path())
	if len(r.UnsignedFiles) != 0 {
		t.Errorf("unsigned files: %v", r.UnsignedFiles)
	}
	opensslVerifyValue(t, files["Doc_0/Signs/Sign_0/SignedValue.dat"])
}

func TestSecondSignatureKeepsFirst(t *testing.T) {
	p := testPKI(t)
	first, d1 := p.mustSign(t, rezip(t, licence()), 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 150, Y: 200}, Seal: p.seals[0].Raw})
	second, d2 := p.mustSign(t, first, 1, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 60, Y: 200}, Width: 20, Height: 20})
	if d2.Path() != "/Doc_0/Signs/Sign_1/Signature.xml" {
		t.Fatalf("second signature at %s", d2.Path())
	}
	r := p.report(t, second)
	if len(r.Signatures) != 2 {
		t.Fatalf("%d signatures", len(r.Signatures))
	}
	mustPass(t, r, d1.Path())
	mustPass(t, r, d2.Path())
	files := entries(t, second)
	list := string(files["Doc_0/Signs/Signatures.xml"])
	if !strings.Contains(list, `<ofd:MaxSignId>2</ofd:MaxSignId>`) ||
		!strings.Contains(list, `<ofd:Signature ID="2" Type="Seal" BaseLoc="/Doc_0/Signs/Sign_1/Signature.xml"/></ofd:Signatures>`) {
		t.Fatalf("Signatures.xml: %s", list)
	}
	// The second protects the first's files; OFD.xml is left as the first wrote it.
	if !bytes.Equal(files["OFD.xml"], entries(t, first)["OFD.xml"]) {
		t.Fatal("the second signature rewrote OFD.xml")
	}
	if !strings.Contains(string(d2.SignatureXML()), `FileRef="/Doc_0/Signs/Sign_0/Signature.xml"`) ||
		!strings.Contains(string(d2.SignatureXML()), `FileRef="/Doc_0/Signs/Sign_0/SignedValue.dat"`) {
		t.Fatal("the second signature does not protect the first")
	}
	opensslVerifyValue(t, files["Doc_0/Signs/Sign_1/SignedValue.dat"])
}

func TestChangedFileFailsReferences(t *testing.T) {
	p := testPKI(t)
	signed, d := p.mustSign(t, rezip(t, licence()), 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 150, Y: 200}, Seal: p.seals[0].Raw})
	for _, name := range []string{"Doc_0/Pages/Page_0/Content.xml", "Doc_0/Document.xml", "OFD.xml", "Doc_0/PublicRes.xml", "Doc_0/Signs/Sign_0/Seal.esl"} {
		t.Run(name, func(t *testing.T) {
			files := entries(t, signed)
			files[name] = append(bytes.Clone(files[name]), ' ')
			s := signatureAt(t, p.report(t, rezip(t, files)), d.Path())
			c := checkOf(s, "references")
			if s.Indication == "TOTAL_PASSED" || c.Status != "failed" || !strings.Contains(c.Detail, name) {
				t.Fatalf("%s: references %s: %s", s.Indication, c.Status, c.Detail)
			}
		})
	}
}

func TestProtectedSignaturesRefuseMore(t *testing.T) {
	p := testPKI(t)
	signed, d := p.mustSign(t, rezip(t, licence()), 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 150, Y: 200}, ProtectSignatures: true})
	mustPass(t, p.report(t, signed), d.Path())
	if !strings.Contains(string(d.SignatureXML()), `FileRef="/Doc_0/Signs/Signatures.xml"`) {
		t.Fatal("Signatures.xml is not protected")
	}
	before := bytes.Clone(signed)
	for _, force := range []bool{false, true} {
		_, _, err := p.sign(t, signed, 1, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 50, Y: 50}, Force: force})
		wantErr(t, err, errs.WrongState, "Doc_0/Signs/Signatures.xml", "protects", "no further signatures")
	}
	if !bytes.Equal(before, signed) {
		t.Fatal("the input was changed")
	}
}

func TestBrokenEarlierSignatureNeedsForce(t *testing.T) {
	p := testPKI(t)
	signed, d1 := p.mustSign(t, rezip(t, licence()), 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 150, Y: 200}})
	files := entries(t, signed)
	files["Doc_0/PublicRes.xml"] = append(files["Doc_0/PublicRes.xml"], ' ')
	broken := rezip(t, files)
	_, _, err := p.sign(t, broken, 1, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 50, Y: 50}})
	wantErr(t, err, errs.WrongState, "Doc_0/PublicRes.xml", "Force")
	out, d2 := p.mustSign(t, broken, 1, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 50, Y: 50}, Force: true})
	r := p.report(t, out)
	mustPass(t, r, d2.Path())
	if s := signatureAt(t, r, d1.Path()); checkOf(s, "references").Status != "failed" {
		t.Fatalf("the broken signature now reads %s", s.Indication)
	}
}

func TestFinishChecksSignedValue(t *testing.T) {
	p := testPKI(t)
	pkg, err := ofd.Open(rezip(t, licence()), ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := pkg.PrepareSignature(ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 100, Y: 100}, Width: 40, Height: 40, Time: p.signingAt})
	if err != nil {
		t.Fatal(err)
	}
	other := sm3.Sum([]byte("another document"))
	for _, tc := range []struct {
		name, path string
		hash       []byte
		words      []string
	}{
		{"other data", d.Path(), other[:], []string{"dataHash"}},
		{"other path", "/Doc_0/Signs/Sign_9/Signature.xml", d.Digest(), []string{"propertyInfo", "Sign_9"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: p.seals[0], SignerCert: p.signers[0].Raw,
				DataHash: tc.hash, PropertyInfo: tc.path, Time: p.signingAt}, p.keys[0])
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.Finish(sig)
			wantErr(t, err, errs.InvalidInput, tc.words...)
		})
	}
	_, err = d.Finish([]byte("not DER"))
	wantErr(t, err, errs.InvalidInput, "SES_Signature")
}

func TestConcurrentSigning(t *testing.T) {
	// One Package prepares several drafts at once, and each draft is finished twice at once.
	p := testPKI(t)
	pkg, err := ofd.Open(rezip(t, licence()), ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	outs := make([][]byte, 8)
	errc := make(chan error, len(outs))
	for i := range outs {
		wg.Go(func() {
			d, err := pkg.PrepareSignature(ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: float64(20 + 10*i), Y: 100}, Width: 40, Height: 40, Time: p.signingAt})
			if err != nil {
				errc <- err
				return
			}
			sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: p.seals[0], SignerCert: p.signers[0].Raw,
				DataHash: d.Digest(), PropertyInfo: d.Path(), Time: p.signingAt}, p.keys[0])
			if err != nil {
				errc <- err
				return
			}
			var inner sync.WaitGroup
			var a, b []byte
			inner.Go(func() { a, _ = d.Finish(sig) })
			inner.Go(func() { b, _ = d.Finish(sig) })
			inner.Wait()
			if a == nil || !bytes.Equal(a, b) {
				errc <- fmt.Errorf("draft %d finished twice gives different packages", i)
				return
			}
			outs[i] = a
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for i, out := range outs {
		r := p.report(t, out)
		if len(r.Signatures) != 1 {
			t.Fatalf("package %d has %d signatures", i, len(r.Signatures))
		}
		mustPass(t, r, r.Signatures[0].Location)
	}
}

func TestSignSecondDocument(t *testing.T) {
	p := testPKI(t)
	files := licence()
	for name, b := range licence() {
		if strings.HasPrefix(name, "Doc_0/") {
			files["Doc_1/"+strings.TrimPrefix(name, "Doc_0/")] = b
		}
	}
	files["OFD.xml"] = bytes.Replace(files["OFD.xml"], []byte(`</ofd:OFD>`),
		[]byte(`<ofd:DocBody><ofd:DocInfo><ofd:DocID>2</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_1/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>`), 1)
	out, d := p.mustSign(t, rezip(t, files), 1, ofd.SignOptions{Doc: 1, Placement: ofd.Placement{Page: 1, X: 100, Y: 100}})
	if d.Path() != "/Doc_1/Signs/Sign_0/Signature.xml" {
		t.Fatalf("path %s", d.Path())
	}
	ofdXML := string(entries(t, out)["OFD.xml"])
	if want := strings.Replace(string(files["OFD.xml"]), `<ofd:DocRoot>Doc_1/Document.xml</ofd:DocRoot>`,
		`<ofd:DocRoot>Doc_1/Document.xml</ofd:DocRoot><ofd:Signatures>/Doc_1/Signs/Signatures.xml</ofd:Signatures>`, 1); ofdXML != want {
		t.Fatalf("OFD.xml: %s", ofdXML)
	}
	pkg, err := ofd.Open(out, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := pkg.Signatures()
	if err != nil || len(sigs) != 1 || sigs[0].Err != nil || sigs[0].ListPath != "Doc_1/Signs/Signatures.xml" {
		t.Fatalf("signatures %v, %v", sigs, err)
	}
	for _, r := range sigs[0].References {
		if !r.OK {
			t.Errorf("%s: %s", r.FileRef, r.Problem)
		}
	}
	// Signing the first document now would give OFD.xml its Signatures reference, and
	// break the signature that protects OFD.xml: refused, even when forced.
	_, _, err = p.sign(t, out, 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 100, Y: 100}, Force: true})
	wantErr(t, err, errs.WrongState, "OFD.xml", "Doc_1/Signs/Sign_0/Signature.xml")
}

// New and changed files are deflate entries: XML under 16 KiB and the DER files as stored
// blocks (their exact size), larger XML compressed; unchanged entries keep their bytes.
// With 20 extra files the new Signature.xml is a few KB, stored; with 200 it passes 16 KiB
// and is compressed.
func TestNewEntriesDeflated(t *testing.T) {
	for _, c := range []struct{ extra, compressed int }{{20, 0}, {200, 1}} {
		t.Run(fmt.Sprint(c.extra), func(t *testing.T) {
			files := licence()
			for i := range c.extra {
				files[fmt.Sprintf("Doc_0/Res/image_%d.png", i)] = []byte{byte(i)}
			}
			if got := checkNewEntries(t, rezip(t, files)); got != c.compressed {
				t.Errorf("%d new XML files compressed, want %d (only a Signature.xml of 16 KiB or more is)", got, c.compressed)
			}
		})
	}
}

// checkNewEntries signs in and checks how its new entries are stored; it returns how
// many were compressed.
func checkNewEntries(t *testing.T, in []byte) int {
	p := testPKI(t)
	out, d := p.mustSign(t, in, 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 150, Y: 200}, Seal: p.seals[0].Raw})
	if len(d.SignatureXML()) < 2048 {
		t.Fatalf("the new Signature.xml has only %d bytes: too small to tell stored from compressed by size", len(d.SignatureXML()))
	}
	zin, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]*zip.File{}
	for _, f := range zin.File {
		old[f.Name] = f
	}
	zout, err := zip.NewReader(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	stored := func(n uint64) uint64 { return n + 5*((n+65534)/65535) + 5 }
	seen := map[string]bool{}
	compressed := 0
	for _, f := range zout.File {
		if o, ok := old[f.Name]; ok && f.Name != "OFD.xml" {
			if f.CRC32 != o.CRC32 || f.CompressedSize64 != o.CompressedSize64 || f.Method != o.Method {
				t.Errorf("%s was not copied as it was", f.Name)
			}
			continue
		}
		seen[f.Name] = true
		if f.Method != zip.Deflate {
			t.Errorf("%s: method %d, want deflate", f.Name, f.Method)
		}
		small := strings.HasSuffix(f.Name, ".xml") && f.UncompressedSize64 < 16<<10
		der := strings.HasSuffix(f.Name, ".dat") || strings.HasSuffix(f.Name, ".esl")
		switch {
		case small || der:
			if f.CompressedSize64 != stored(f.UncompressedSize64) {
				t.Errorf("%s: %d bytes compressed from %d, not in stored blocks", f.Name, f.CompressedSize64, f.UncompressedSize64)
			}
		case f.CompressedSize64 >= f.UncompressedSize64:
			t.Errorf("%s: %d bytes compressed from %d, not compressed", f.Name, f.CompressedSize64, f.UncompressedSize64)
		default:
			compressed++
		}
	}
	for _, n := range []string{"OFD.xml", "Doc_0/Signs/Signatures.xml", "Doc_0/Signs/Sign_0/Signature.xml", "Doc_0/Signs/Sign_0/SignedValue.dat", "Doc_0/Signs/Sign_0/Seal.esl"} {
		if !seen[n] {
			t.Errorf("%s is not among the new or changed entries", n)
		}
	}
	return compressed
}
