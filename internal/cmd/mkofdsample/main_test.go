package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/eseal/eseal/ofd"
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

// The committed licence.ofd is what the command lays out, byte for byte, and holds the
// keyword on its one page.
func TestLicenceCommitted(t *testing.T) {
	got, _, _, err := licence(issuedAt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, readSample(t, "licence.ofd")) {
		t.Error("testdata/ofd/licence.ofd differs from what mkofdsample lays out: run go run ./internal/cmd/mkofdsample testdata/ofd")
	}
	p, err := ofd.Open(got, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
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
