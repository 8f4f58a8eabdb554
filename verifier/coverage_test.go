package verifier

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// realOFDs returns every OFD package among the conformance vectors, by path.
func realOFDs(t *testing.T) map[string][]byte {
	t.Helper()
	dir := testvectors.Dir(t)
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".ofd") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("only %d OFD vectors", len(out))
	}
	return out
}

// Every real OFD signature covers its Document.xml and every page: coverage passes for all.
func TestRealOFDsPassCoverage(t *testing.T) {
	v := New(Options{})
	covered := 0
	for name, data := range realOFDs(t) {
		r, err := v.VerifyOFD(data, ofd.Limits{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if r.UnsignedFiles == nil || r.Warnings == nil {
			t.Errorf("%s: unsigned_files %v, warnings %v: want lists", name, r.UnsignedFiles, r.Warnings)
		}
		for _, s := range r.Signatures {
			if st := status(s.Checks, CheckFormat); s.Location == "" && st == Failed {
				t.Errorf("%s: the package fails format: %s", name, detail(s.Checks, CheckFormat))
				continue
			}
			if st := status(s.Checks, CheckCoverage); st != Passed {
				t.Errorf("%s: signature %s: coverage %s: %s", name, s.ID, st, detail(s.Checks, CheckCoverage))
				continue
			}
			covered++
		}
	}
	t.Logf("coverage passed for %d real signatures", covered)
	if covered < 11 {
		t.Errorf("coverage passed for %d real signatures, want at least 11", covered)
	}
}

// rezip rewrites a package: every entry in its original order, with change applied to each
// name and content (nil drops it), then the added entries.
func rezip(t *testing.T, data []byte, change func(name string, b []byte) []byte, add map[string][]byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name string, b []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if change != nil {
			b = change(f.Name, b)
		}
		if b != nil {
			put(f.Name, b)
		}
	}
	names := make([]string, 0, len(add))
	for n := range add {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		put(n, add[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readEntry(t *testing.T, data []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An attacker copies Doc_0 to Doc_1, changes a page there and points OFD.xml's DocRoot at the
// copy. Nothing signed changes, so every other check still holds; coverage must fail.
func TestCoverageRepointedDocRoot(t *testing.T) {
	dir := testvectors.Dir(t)
	for _, name := range []string{"OfdSharp/src/UnitTests/Files/test.ofd", "esl-demo/test.ofd", "ofd.js/public/h.ofd"} {
		t.Run(name, func(t *testing.T) {
			orig, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			v := New(Options{})
			before, err := v.VerifyOFD(orig, ofd.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			copies := map[string][]byte{}
			zr, _ := zip.NewReader(bytes.NewReader(orig), int64(len(orig)))
			for _, f := range zr.File {
				if strings.HasPrefix(f.Name, "Doc_0/") && !strings.Contains(f.Name, "/Signs/") && !strings.HasSuffix(f.Name, "/") {
					b := readEntry(t, orig, f.Name)
					if strings.HasSuffix(f.Name, "Page_0/Content.xml") {
						b = bytes.Replace(b, []byte("<"), []byte("<!-- altered --><"), 1)
						b = append(b, []byte("<!-- the attacker's text -->")...)
					}
					copies["Doc_1/"+strings.TrimPrefix(f.Name, "Doc_0/")] = b
				}
			}
			for _, tc := range []struct {
				how    string
				change func(string, []byte) []byte
				want   string
			}{
				{"DocRoot re-pointed", func(n string, b []byte) []byte {
					if n != "OFD.xml" {
						return b
					}
					return bytes.Replace(b, []byte("Doc_0/Document.xml</"), []byte("Doc_1/Document.xml</"), 1)
				}, "Doc_1"},
				{"a DocBody put first", func(n string, b []byte) []byte {
					if n != "OFD.xml" {
						return b
					}
					i := bytes.Index(b, []byte("<ofd:DocBody"))
					body := []byte("<ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_1/Document.xml</ofd:DocRoot></ofd:DocBody>")
					return append(append(append([]byte{}, b[:i]...), body...), b[i:]...)
				}, "Doc_1"},
				{"two DocRoots in the first DocBody", func(n string, b []byte) []byte {
					if n != "OFD.xml" {
						return b
					}
					i := bytes.Index(b, []byte("<ofd:DocRoot>"))
					return append(append(append([]byte{}, b[:i]...), []byte("<ofd:DocRoot>Doc_1/Document.xml</ofd:DocRoot>")...), b[i:]...)
				}, "Doc_1"},
				{"the signed document first in another namespace", func(n string, b []byte) []byte {
					if n != "OFD.xml" {
						return b
					}
					b = bytes.Replace(b, []byte("Doc_0/Document.xml</"), []byte("Doc_1/Document.xml</"), 1)
					i := bytes.Index(b, []byte("<ofd:DocBody"))
					body := []byte(`<x:DocBody xmlns:x="urn:x"><x:DocRoot>Doc_0/Document.xml</x:DocRoot><x:Signatures>/Doc_0/Signs/Signatures.xml</x:Signatures></x:DocBody>`)
					return append(append(append([]byte{}, b[:i]...), body...), b[i:]...)
				}, "namespace"},
			} {
				t.Run(tc.how, func(t *testing.T) {
					forged := rezip(t, orig, tc.change, copies)
					if bytes.Equal(readEntry(t, forged, "OFD.xml"), readEntry(t, orig, "OFD.xml")) {
						t.Fatal("OFD.xml was not changed")
					}
					r, err := v.VerifyOFD(forged, ofd.Limits{})
					if err != nil {
						t.Fatal(err)
					}
					if r.Indication != TotalFailed || len(r.Signatures) != len(before.Signatures) {
						t.Fatalf("%s with %d signatures", r.Indication, len(r.Signatures))
					}
					for i, s := range r.Signatures {
						if st := status(s.Checks, CheckCoverage); st != Failed || s.Indication != TotalFailed {
							t.Errorf("signature %s: %s / %s, coverage %s", s.ID, s.Indication, s.SubIndication, st)
						}
						if d := detail(s.Checks, CheckCoverage); !strings.Contains(d, tc.want) {
							t.Errorf("coverage detail lacks %q: %q", tc.want, d)
						}
						// Nothing else was touched but OFD.xml, which some signatures protect:
						// the other checks keep their status.
						for _, c := range before.Signatures[i].Checks {
							if c.Name != CheckCoverage && c.Name != CheckReferences && status(s.Checks, c.Name) != c.Status {
								t.Errorf("signature %s: %s is %s, was %s", s.ID, c.Name, status(s.Checks, c.Name), c.Status)
							}
						}
					}
					for _, f := range []string{"Doc_1/Document.xml", "Doc_1/Pages/Page_0/Content.xml"} {
						if !contains(r.UnsignedFiles, f) {
							t.Errorf("unsigned_files lacks %s: %v", f, r.UnsignedFiles)
						}
					}
				})
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// signedPkg builds a package whose one seal signature, made with the test PKI, references
// refs (paths of files) and carries extra inside SignedInfo.
type signedPkg struct {
	files map[string][]byte
	refs  []string
	extra string
}

const (
	testOFDXML = `<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody>` +
		`<ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>`
	testPage = `<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content/></ofd:Page>`
)

func testDocument(pages ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Pages>`)
	for i, p := range pages {
		fmt.Fprintf(&b, `<ofd:Page ID="%d" BaseLoc="%s"/>`, i+1, p)
	}
	b.WriteString(`</ofd:Pages></ofd:Document>`)
	return []byte(b.String())
}

func baseSignedPkg() signedPkg {
	return signedPkg{
		files: map[string][]byte{
			"OFD.xml":                        []byte(testOFDXML),
			"Doc_0/Document.xml":             testDocument("Pages/Page_0/Content.xml"),
			"Doc_0/Pages/Page_0/Content.xml": []byte(testPage),
		},
		refs: []string{"Doc_0/Document.xml", "Doc_0/Pages/Page_0/Content.xml"},
	}
}

func (sp signedPkg) build(t testing.TB, p *pki, seal *ses.Seal, at time.Time) []byte {
	t.Helper()
	files := map[string][]byte{}
	for k, v := range sp.files {
		files[k] = v
	}
	var refs strings.Builder
	for _, f := range sp.refs {
		sum := sm3.Sum(files[f])
		fmt.Fprintf(&refs, `<ofd:Reference FileRef="/%s"><ofd:CheckValue>%s</ofd:CheckValue></ofd:Reference>`, f, base64.StdEncoding.EncodeToString(sum[:]))
	}
	xml := []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"><ofd:SignedInfo>` +
		`<ofd:Provider ProviderName="eseal" Version="1" Company="eseal"/><ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>` +
		`<ofd:References CheckMethod="1.2.156.10197.1.401">` + refs.String() + `</ofd:References>` +
		`<ofd:StampAnnot ID="1" PageRef="1" Boundary="10 10 40 40"/>` + sp.extra + `</ofd:SignedInfo>` +
		`<ofd:SignedValue>/Doc_0/Signs/Sign_0/SignedValue.dat</ofd:SignedValue></ofd:Signature>`)
	files["Doc_0/Signs/Signatures.xml"] = []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016">` +
		`<ofd:Signature ID="1" Type="Seal" BaseLoc="Sign_0/Signature.xml"/></ofd:Signatures>`)
	files["Doc_0/Signs/Sign_0/Signature.xml"] = xml
	files["Doc_0/Signs/Sign_0/SignedValue.dat"] = p.sign(t, seal, xml, at)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Packages signed for the test, each with a hole a reader would show: coverage names it, and
// the verdict is TOTAL_FAILED.
func TestCoverageHoles(t *testing.T) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, start.AddDate(2, 0, 0))
	other := p.seal(t, start, start.AddDate(3, 0, 0))
	at := start.AddDate(0, 3, 0)
	v := New(Options{Roots: []*smx509.Certificate{p.root}, Now: func() time.Time { return at }})
	for _, tc := range []struct {
		name   string
		edit   func(*signedPkg)
		check  string // "" : no check fails
		sub    string
		detail []string
	}{
		{"clean", func(*signedPkg) {}, "", "", nil},
		{"a page left out of the references", func(sp *signedPkg) {
			sp.files["Doc_0/Document.xml"] = testDocument("Pages/Page_0/Content.xml", "Pages/Page_1/Content.xml")
			sp.files["Doc_0/Pages/Page_1/Content.xml"] = []byte(testPage)
		}, CheckCoverage, SigConstraintsFailure, []string{"Doc_0/Pages/Page_1/Content.xml"}},
		{"Document.xml left out", func(sp *signedPkg) { sp.refs = sp.refs[1:] }, CheckCoverage, SigConstraintsFailure, []string{"Doc_0/Document.xml"}},
		{"a page whose BaseLoc a reader may take from the root", func(sp *signedPkg) {
			sp.files["Pages/Page_0/Content.xml"] = []byte(testPage + "<!-- other -->")
		}, CheckCoverage, SigConstraintsFailure, []string{"Pages/Page_0/Content.xml"}},
		{"a page given as a folder", func(sp *signedPkg) {
			sp.files["Doc_0/Document.xml"] = testDocument("Pages/Page_0/Content.xml", "Pages/Page_1")
			sp.files["Doc_0/Pages/Page_1/Content.xml"] = []byte(testPage)
		}, CheckCoverage, SigConstraintsFailure, []string{"Doc_0/Pages/Page_1/Content.xml"}},
		{"a page with a second BaseLoc in another namespace", func(sp *signedPkg) {
			sp.files["Doc_0/Document.xml"] = bytes.Replace(testDocument("Pages/Page_0/Content.xml"), []byte(`BaseLoc=`),
				[]byte(`xmlns:x="urn:x" x:BaseLoc="Pages/Page_1/Content.xml" BaseLoc=`), 1)
			sp.files["Doc_0/Pages/Page_1/Content.xml"] = []byte(testPage)
		}, CheckCoverage, SigConstraintsFailure, []string{"Doc_0/Pages/Page_1/Content.xml"}},
		{"a page with no file", func(sp *signedPkg) {
			sp.files["Doc_0/Document.xml"] = testDocument("Pages/Page_0/Content.xml", "Pages/Page_9/Content.xml")
		}, CheckCoverage, SigConstraintsFailure, []string{"Pages/Page_9/Content.xml"}},
		{"a Seal.esl that is another seal", func(sp *signedPkg) {
			sp.files["Doc_0/Signs/Sign_0/Seal.esl"] = other.Raw
			sp.extra = `<ofd:Seal><ofd:BaseLoc>Seal.esl</ofd:BaseLoc></ofd:Seal>`
		}, CheckCoverage, SigConstraintsFailure, []string{"Doc_0/Signs/Sign_0/Seal.esl", "not the seal embedded"}},
		{"an unnamed Seal.esl beside the signature", func(sp *signedPkg) {
			sp.files["Doc_0/Signs/Sign_0/Seal.esl"] = other.Raw
		}, CheckCoverage, SigConstraintsFailure, []string{"Doc_0/Signs/Sign_0/Seal.esl", "not the seal embedded"}},
		{"a Seal.esl too big to read", func(sp *signedPkg) {
			sp.files["Doc_0/Signs/Sign_0/Seal.esl"] = make([]byte, ofd.DefaultMaxEntrySize+1)
			sp.extra = `<ofd:Seal><ofd:BaseLoc>Seal.esl</ofd:BaseLoc></ofd:Seal>`
		}, CheckCoverage, SigConstraintsFailure, []string{"Doc_0/Signs/Sign_0/Seal.esl", "cannot be read"}},
		{"a Seal.esl that is the embedded seal", func(sp *signedPkg) {
			sp.files["Doc_0/Signs/Sign_0/Seal.esl"] = seal.Raw
			sp.extra = `<ofd:Seal><ofd:BaseLoc>Seal.esl</ofd:BaseLoc></ofd:Seal>`
		}, "", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := baseSignedPkg()
			tc.edit(&sp)
			r, err := v.VerifyOFD(sp.build(t, p, seal, at), ofd.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Signatures) != 1 {
				t.Fatalf("%d signatures", len(r.Signatures))
			}
			s := r.Signatures[0]
			if tc.check == "" {
				for _, c := range s.Checks {
					if c.Status == Failed {
						t.Fatalf("%s failed: %s", c.Name, c.Detail)
					}
				}
				if status(s.Checks, CheckCoverage) != Passed {
					t.Fatalf("coverage %s: %s", status(s.Checks, CheckCoverage), detail(s.Checks, CheckCoverage))
				}
				return
			}
			if r.Indication != TotalFailed || s.SubIndication != tc.sub || status(s.Checks, tc.check) != Failed {
				t.Fatalf("%s / %s, %s %s: %v", r.Indication, s.SubIndication, tc.check, status(s.Checks, tc.check), s.Checks)
			}
			for _, want := range tc.detail {
				if d := detail(s.Checks, tc.check); !strings.Contains(d, want) {
					t.Errorf("%s detail lacks %q: %s", tc.check, want, d)
				}
			}
		})
	}
}

// unsigned_files lists what no signature covers, never the signature files; warnings name
// bytes around the ZIP. Both are lists in the JSON of every report.
func TestUnsignedFilesAndWarnings(t *testing.T) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, start.AddDate(2, 0, 0))
	at := start.AddDate(0, 3, 0)
	sp := baseSignedPkg()
	sp.files["Doc_0/Res/font.ttf"] = []byte("font")
	sp.files["Doc_0/Signs/Sign_0/Seal.esl"] = seal.Raw
	sp.extra = `<ofd:Seal><ofd:BaseLoc>Seal.esl</ofd:BaseLoc></ofd:Seal>`
	pkg := sp.build(t, p, seal, at)
	v := New(Options{Roots: []*smx509.Certificate{p.root}, Now: func() time.Time { return at }})

	r, err := v.VerifyOFD(pkg, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.UnsignedFiles, " "); got != "Doc_0/Res/font.ttf OFD.xml" {
		t.Errorf("unsigned_files %q", got)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings %q", r.Warnings)
	}
	b, _ := json.Marshal(r)
	if !bytes.Contains(b, []byte(`"unsigned_files":["Doc_0/Res/font.ttf","OFD.xml"],"warnings":[]`)) {
		t.Errorf("JSON %s", b)
	}

	wrapped := append(append([]byte("%PDF-1.7\n% a PDF that is also an OFD\n"), pkg...), []byte("\n%%EOF\n")...)
	r, err = v.VerifyOFD(wrapped, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 2 || !strings.Contains(r.Warnings[0], "precede") || !strings.Contains(r.Warnings[1], "follow") {
		t.Errorf("warnings %q", r.Warnings)
	}

	// Unsigned package: every file is unsigned.
	r, err = v.VerifyOFD(rezip(t, pkg, func(n string, b []byte) []byte {
		if strings.Contains(n, "/Signs/") {
			return nil
		}
		if n == "OFD.xml" {
			return bytes.Replace(b, []byte("<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>"), nil, 1)
		}
		return b
	}, nil), ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Indication != NoSignature || len(r.UnsignedFiles) != 4 {
		t.Errorf("%s, unsigned %v", r.Indication, r.UnsignedFiles)
	}
}

// A package readers may read in two ways is reported, not refused: its one entry, for the
// package as a whole, fails format and names the entry.
func TestAmbiguousPackageFailsFormat(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(testvectors.Dir(t), "esl-demo/test.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	page := readEntry(t, orig, "Doc_0/Pages/Page_0/Content.xml")
	forged := rezip(t, orig, nil, map[string][]byte{"doc_0/pages/page_0/content.xml": append(page, "<!-- other -->"...)})
	r, err := New(Options{}).VerifyFile("forged.ofd", forged, nil, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "ofd" || r.Indication != TotalFailed || len(r.Signatures) != 1 {
		t.Fatalf("%s %s with %d entries", r.Kind, r.Indication, len(r.Signatures))
	}
	s := r.Signatures[0]
	if s.SubIndication != FormatFailure || status(s.Checks, CheckFormat) != Failed || s.ID != "" || s.Location != "" {
		t.Fatalf("%+v", s)
	}
	if d := detail(s.Checks, CheckFormat); !strings.Contains(d, "doc_0/pages/page_0/content.xml") || !strings.Contains(d, "case") {
		t.Errorf("format detail %q", d)
	}
	b, _ := json.Marshal(r)
	if !bytes.Contains(b, []byte(`"unsigned_files":[],"warnings":[]`)) {
		t.Errorf("JSON %s", b)
	}
}
