package main

import (
	"bytes"
	"encoding/pem"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/internal/ofdrender"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/verifier"
)

// sampleDir is testdata/ofd at the root of the module.
func sampleDir(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "ofd")
}

func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sampleDir(t), name))
	if err != nil {
		t.Fatalf("the committed sample: %v", err)
	}
	return b
}

// The committed licence.ofd holds what the command lays out, file by file, and holds the
// keyword on its one page.
func TestLicenceCommitted(t *testing.T) {
	got, _, _, err := licence(issuedAt)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ofd.Open(got, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	committed, err := ofd.Open(readSample(t, "licence.ofd"), ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// The files, not the ZIP's bytes: a compressor may change between Go releases.
	if a, b := strings.Join(p.Files(), " "), strings.Join(committed.Files(), " "); a != b {
		t.Fatalf("testdata/ofd/licence.ofd holds %s, mkofdsample lays out %s", b, a)
	}
	for _, f := range p.Files() {
		a, err1 := p.ReadFile(f)
		b, err2 := committed.ReadFile(f)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("testdata/ofd/licence.ofd: %s differs from what mkofdsample lays out (%v, %v): run go run ./internal/cmd/mkofdsample testdata/ofd", f, err1, err2)
		}
	}
	content, err := p.ReadFile("Doc_0/Pages/Page_0/Content.xml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{keyword, "营业执照", companyName, companyCode, legalRep, "<ofd:PathObject"} {
		if !strings.Contains(string(content), want) {
			t.Errorf("the page does not hold %q", want)
		}
	}
}

// licence.png decodes as an A4 page at 96 dpi.
func TestLicencePNG(t *testing.T) {
	img, err := png.Decode(bytes.NewReader(readSample(t, "licence.png")))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 794 || b.Dy() != 1123 {
		t.Errorf("licence.png is %v, want 794 × 1123 (A4 at 96 dpi)", b.Size())
	}
}

// loadCerts reads the certificates of a committed PEM file.
func loadCerts(t *testing.T, name string) []*smx509.Certificate {
	t.Helper()
	var out []*smx509.Certificate
	rest := readSample(t, name)
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := smx509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no certificate", name)
	}
	return out
}

// The committed licence-signed.ofd verifies TOTAL_PASSED, both signatures, under the
// committed root, maker and CRL; without the maker it does not.
func TestSignedLicenceVerifies(t *testing.T) {
	crl, err := smx509.ParseRevocationList(readSample(t, "crl.der"))
	if err != nil {
		t.Fatal(err)
	}
	opts := verifier.Options{Roots: loadCerts(t, "root.pem"), Makers: loadCerts(t, "maker.pem"), CRLs: []*smx509.RevocationList{crl}}
	data := readSample(t, "licence-signed.ofd")
	rep, err := verifier.New(opts).VerifyOFD(data, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indication != verifier.TotalPassed || len(rep.Signatures) != 2 {
		t.Fatalf("report %s with %d signatures, want TOTAL_PASSED with 2", rep.Indication, len(rep.Signatures))
	}
	for i, s := range rep.Signatures {
		if s.Indication != verifier.TotalPassed {
			t.Errorf("signature %d: %s / %s", i+1, s.Indication, s.SubIndication)
		}
	}
	// What is signed is the licence: its document and page unchanged.
	signed, err := ofd.Open(data, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := ofd.Open(readSample(t, "licence.ofd"), ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Doc_0/Document.xml", "Doc_0/PublicRes.xml", "Doc_0/Pages/Page_0/Content.xml"} {
		a, err1 := signed.ReadFile(f)
		b, err2 := unsigned.ReadFile(f)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between licence-signed.ofd and licence.ofd (%v, %v)", f, err1, err2)
		}
	}
	opts.Makers = nil
	rep, err = verifier.New(opts).VerifyOFD(data, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indication == verifier.TotalPassed {
		t.Error("TOTAL_PASSED without an accepted seal maker")
	}
}

// The stamps are where they should be: the authority's centred on 盖章处, the legal
// representative's right of the name; licence.png shows red inside both and nowhere else but
// in the title, and
// is what ofdrender draws of licence-signed.ofd.
func TestSignedLicenceStamps(t *testing.T) {
	p, err := ofd.Open(readSample(t, "licence-signed.ofd"), ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := p.Signatures()
	if err != nil || len(sigs) != 2 {
		t.Fatalf("%d signatures, %v", len(sigs), err)
	}
	_, repX, repY, err := licence(issuedAt)
	if err != nil {
		t.Fatal(err)
	}
	// The keyword's line: x 122, y 234, 5 mm characters 2 mm apart.
	kx, ky := 122+width(keyword, 5, 2)/2, 234+5*0.5
	want := [][2]float64{{kx, ky}, {repX, repY}}
	img, err := png.Decode(bytes.NewReader(readSample(t, "licence.png")))
	if err != nil {
		t.Fatal(err)
	}
	const k = 96 / 25.4
	red := func(r image.Rectangle) int {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
				if c.R > 180 && c.G < 100 && c.B < 100 {
					n++
				}
			}
		}
		return n
	}
	inStamps := 0
	for i, s := range sigs {
		if len(s.StampAnnots) != 1 || s.StampAnnots[0].PageRef != "1" {
			t.Fatalf("signature %d: stamps %+v", i+1, s.StampAnnots)
		}
		b := s.StampAnnots[0].Boundary
		cx, cy := b[0]+b[2]/2, b[1]+b[3]/2
		if math.Abs(cx-want[i][0]) > 1.5 || math.Abs(cy-want[i][1]) > 1.5 {
			t.Errorf("signature %d: the stamp's centre is %.1f, %.1f mm, want about %.1f, %.1f", i+1, cx, cy, want[i][0], want[i][1])
		}
		r := image.Rect(int(b[0]*k)-1, int(b[1]*k)-1, int((b[0]+b[2])*k)+2, int((b[1]+b[3])*k)+2)
		n := red(r)
		if n < r.Dx()*r.Dy()/20 {
			t.Errorf("signature %d: %d red pixels in its stamp, want at least a twentieth of %v", i+1, n, r)
		}
		inStamps += n
	}
	below := img.Bounds()
	below.Min.Y = 227 // 60 mm: under the red title
	if n := red(below) - inStamps; n != 0 {
		t.Errorf("%d red pixels under the title outside the stamps", n)
	}

	r, err := ofdrender.New(ofdrender.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := r.RenderPage(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	if pg.Image.Bounds() != img.Bounds() {
		t.Fatalf("rendered %v, licence.png %v", pg.Image.Bounds(), img.Bounds())
	}
	differ := 0
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			a, b := pg.Image.RGBAAt(x, y), color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if absDiff(a.R, b.R) > 8 || absDiff(a.G, b.G) > 8 || absDiff(a.B, b.B) > 8 {
				differ++
			}
		}
	}
	if differ > img.Bounds().Dx()*img.Bounds().Dy()/1000 {
		t.Errorf("%d pixels of licence.png differ from what ofdrender draws of licence-signed.ofd: regenerate the sample", differ)
	}
}

func absDiff(a, b uint8) int { return max(int(a)-int(b), int(b)-int(a)) }
