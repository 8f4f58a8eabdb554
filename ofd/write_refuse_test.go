package ofd_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"math"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ofd"
)

// zipRaw writes entries in order, with names as given (duplicates and ".." allowed).
func zipRaw(t testing.TB, names []string, data [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	w.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) { return flate.NewWriter(out, flate.BestSpeed) })
	for i, n := range names {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(data[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withExtra returns licence() as ZIP entries plus the extra ones, in order.
func withExtra(t testing.TB, extra map[string][]byte, extraNames ...string) []byte {
	t.Helper()
	files := licence()
	var names []string
	var data [][]byte
	for n, b := range files {
		names = append(names, n)
		data = append(data, b)
	}
	for _, n := range extraNames {
		names = append(names, n)
		data = append(data, extra[n])
	}
	return zipRaw(t, names, data)
}

func TestPrepareRefuses(t *testing.T) {
	p := testPKI(t)
	page1 := ofd.Placement{Page: 1, X: 100, Y: 100}
	noPages := licence()
	noPages["Doc_0/Document.xml"] = []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Document ` + ns + `><ofd:CommonData/><ofd:Pages/></ofd:Document>`)
	noID := licence()
	noID["Doc_0/Document.xml"] = bytes.Replace(noID["Doc_0/Document.xml"], []byte(`ID="1" `), nil, 1)
	missingList := licence()
	missingList["OFD.xml"] = bytes.Replace(missingList["OFD.xml"], []byte(`</ofd:DocBody>`), []byte(`<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody>`), 1)
	for _, tc := range []struct {
		name  string
		data  []byte
		o     ofd.SignOptions
		kind  errs.Kind
		words []string
	}{
		{"no pages", rezip(t, noPages), ofd.SignOptions{Placement: page1}, errs.Malformed, []string{"Doc_0/Document.xml", "no pages"}},
		{"page without ID", rezip(t, noID), ofd.SignOptions{Placement: page1}, errs.Malformed, []string{"page 1 has no ID"}},
		{"page out of range", rezip(t, licence()), ofd.SignOptions{Placement: ofd.Placement{Page: 2, X: 10, Y: 10}}, errs.InvalidInput, []string{"page 2", "1 page"}},
		{"no page", rezip(t, licence()), ofd.SignOptions{Placement: ofd.Placement{X: 10, Y: 10}}, errs.InvalidInput, []string{"no page"}},
		{"negative position", rezip(t, licence()), ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: -1, Y: 10}}, errs.InvalidInput, []string{"position"}},
		{"NaN position", rezip(t, licence()), ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: math.NaN(), Y: 10}}, errs.InvalidInput, []string{"position"}},
		{"keyword and range", rezip(t, licence()), ofd.SignOptions{Placement: ofd.Placement{Keyword: "盖章处", RidingFrom: 1, RidingTo: 2}}, errs.InvalidInput, []string{"keyword", "cross-page"}},
		{"keyword and position", rezip(t, licence()), ofd.SignOptions{Placement: ofd.Placement{Keyword: "盖章处", X: 10, Y: 10}}, errs.InvalidInput, []string{"keyword"}},
		{"range and page", rezip(t, licence()), ofd.SignOptions{Placement: ofd.Placement{Page: 1, RidingFrom: 1, RidingTo: 2}}, errs.InvalidInput, []string{"cross-page"}},
		{"range backwards", rezip(t, licence()), ofd.SignOptions{Placement: ofd.Placement{RidingFrom: 2, RidingTo: 1}}, errs.InvalidInput, []string{"2-1"}},
		{"no size", rezip(t, licence()), ofd.SignOptions{Placement: page1, Width: -1, Height: 40}, errs.InvalidInput, []string{"size"}},
		{"document out of range", rezip(t, licence()), ofd.SignOptions{Placement: page1, Doc: 1}, errs.InvalidInput, []string{"document 1"}},
		{"provider without name", rezip(t, licence()), ofd.SignOptions{Placement: page1, Provider: ofd.Provider{Version: "2"}}, errs.InvalidInput, []string{"ProviderName"}},
		{"missing Signatures.xml", rezip(t, missingList), ofd.SignOptions{Placement: page1}, errs.FileMissing, []string{"Doc_0/Signs/Signatures.xml"}},
		{"dot-dot name", withExtra(t, map[string][]byte{"../../etc/evil": []byte("x")}, "../../etc/evil"), ofd.SignOptions{Placement: page1}, errs.Malformed, []string{"../../etc/evil", `".."`}},
		{"backslash name", withExtra(t, map[string][]byte{`Doc_0\x.xml`: []byte("x")}, `Doc_0\x.xml`), ofd.SignOptions{Placement: page1}, errs.Malformed, []string{"backslash"}},
		{"zip bomb", withExtra(t, map[string][]byte{"Doc_0/Res/bomb.bin": make([]byte, ofd.DefaultMaxEntrySize+1)}, "Doc_0/Res/bomb.bin"), ofd.SignOptions{Placement: page1}, errs.LimitExceeded, []string{"Doc_0/Res/bomb.bin", "zip bomb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := bytes.Clone(tc.data)
			o := tc.o
			if o.Width == 0 {
				o.Width, o.Height = 40, 40
			}
			_, _, err := p.sign(t, tc.data, 0, o)
			wantErr(t, err, tc.kind, tc.words...)
			if !bytes.Equal(before, tc.data) {
				t.Fatal("the input was changed")
			}
		})
	}
}

func TestOpenRefusesDuplicateNames(t *testing.T) {
	p := testPKI(t)
	data := withExtra(t, map[string][]byte{"Doc_0/Document.xml": []byte("<other/>")}, "Doc_0/Document.xml")
	_, _, err := p.sign(t, data, 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 10, Y: 10}})
	wantErr(t, err, errs.Malformed, "twice")
}
