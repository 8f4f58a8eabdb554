package ofd

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
)

// mustContain fails unless s contains every part.
func mustContain(t *testing.T, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s %q does not mention %q", what, s, p)
		}
	}
}

func sigByID(t *testing.T, sigs []*Signature, id string) *Signature {
	t.Helper()
	for _, s := range sigs {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no signature %q among %d", id, len(sigs))
	return nil
}

func okRefs(s *Signature) (ok int, bad []string) {
	for _, r := range s.References {
		if r.OK {
			ok++
		} else {
			bad = append(bad, r.FileRef)
		}
	}
	return
}

// expectClean checks that signature id has no Err and all references pass.
func expectClean(t *testing.T, sigs []*Signature, id string, refs int) {
	t.Helper()
	s := sigByID(t, sigs, id)
	if s.Err != nil {
		t.Errorf("signature %s: Err = %v", id, s.Err)
	}
	if ok, bad := okRefs(s); ok != refs || bad != nil {
		t.Errorf("signature %s: %d refs OK (want %d), bad %q", id, ok, refs, bad)
		for _, r := range s.References {
			t.Logf("  %s: %s", r.FileRef, r.Problem)
		}
	}
}

// deflate compresses b with a raw DEFLATE stream.
func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// rawZip writes one entry whose directory claims size declared while the
// deflated data expands to actual bytes.
func rawZip(t *testing.T, name string, actual []byte, declared uint64) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	comp := deflate(actual)
	fw, err := w.CreateRaw(&zip.FileHeader{
		Name: name, Method: zip.Deflate,
		CRC32:              crc32.ChecksumIEEE(actual),
		CompressedSize64:   uint64(len(comp)),
		UncompressedSize64: declared,
	})
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(comp)
	w.Close()
	return buf.Bytes()
}

func TestOpenAndSignatures(t *testing.T) {
	type tc struct {
		name    string
		data    func(t *testing.T) []byte
		lim     Limits
		openErr error // sentinel wanted from Open; nil: Open must succeed
		sigErr  error // sentinel wanted from Signatures; nil: must succeed
		check   func(t *testing.T, p *Package, sigs []*Signature, err error)
	}
	pkg := func(mod func(m map[string][]byte)) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			m := basePackage()
			if mod != nil {
				mod(m)
			}
			return zipMap(t, m)
		}
	}
	tests := []tc{
		{name: "valid package, absolute and relative paths", data: pkg(nil),
			check: func(t *testing.T, p *Package, sigs []*Signature, _ error) {
				if len(sigs) != 2 {
					t.Fatalf("%d signatures", len(sigs))
				}
				expectClean(t, sigs, "1", 4)
				expectClean(t, sigs, "2", 3)
				s := sigs[1]
				if s.Location != "Doc_0/Signs/Sign_1/Signature.xml" || s.SignedValuePath != "Doc_0/Signs/Sign_1/SignedValue.dat" ||
					s.SealPath != "Doc_0/Signs/Sign_0/Seal.esl" || string(s.Seal) != testSeal || s.ListPath != "Doc_0/Signs/Signatures.xml" {
					t.Errorf("paths: %+v", s)
				}
				if s.Provider != "test" || s.ProviderVersion != "1.0" || s.Company != "eseal" || s.CheckMethod != OIDSM3 ||
					s.SignatureMethod != "1.2.156.10197.1.501" || s.SignatureDateTime != "20240101000000Z" || s.Type != "Seal" {
					t.Errorf("fields: %+v", s)
				}
				if len(s.StampAnnots) != 1 || s.StampAnnots[0].Boundary != [4]float64{10, 20, 40, 40} {
					t.Errorf("StampAnnots: %+v", s.StampAnnots)
				}
				if len(s.Warnings) != 0 {
					t.Errorf("warnings: %q", s.Warnings)
				}
				if b, a := p.Surrounding(); b != 0 || a != 0 {
					t.Errorf("Surrounding before = %d", b)
				}
			}},
		{name: "bytes before and after the zip", data: func(t *testing.T) []byte {
			z := zipMap(t, basePackage())
			return append(append([]byte(strings.Repeat("KingGrid header\x00", 100)), z...), []byte("trailer PK\x07\x08 junk")...)
		}, check: func(t *testing.T, p *Package, sigs []*Signature, _ error) {
			expectClean(t, sigs, "1", 4)
			expectClean(t, sigs, "2", 3)
			if b, a := p.Surrounding(); b != 1600 || a != 17 {
				t.Errorf("Surrounding = %d, %d; want 1600, 17", b, a)
			}
		}},
		{name: "large trailer after the zip", data: func(t *testing.T) []byte {
			return append(zipMap(t, basePackage()), bytes.Repeat([]byte{0xAB}, 200000)...)
		}, check: func(t *testing.T, p *Package, sigs []*Signature, _ error) { expectClean(t, sigs, "1", 4) }},
		{name: "empty data", data: func(*testing.T) []byte { return nil }, openErr: ErrFormat},
		{name: "not a zip", data: func(*testing.T) []byte { return []byte("%PDF-1.7 this is not an OFD file at all, sorry") }, openErr: ErrFormat,
			check: func(t *testing.T, _ *Package, _ []*Signature, err error) {
				mustContain(t, "error", err.Error(), "not", "ZIP")
			}},
		{name: "truncated zip (end cut off)", data: func(t *testing.T) []byte {
			z := zipMap(t, basePackage())
			return z[:len(z)/2]
		}, openErr: ErrFormat},
		{name: "truncated zip (middle cut out)", data: func(t *testing.T) []byte {
			z := zipMap(t, basePackage())
			return append(append([]byte(nil), z[:100]...), z[len(z)/2:]...)
		}, openErr: ErrFormat},
		{name: "truncated zip holding a stored inner OFD", data: func(t *testing.T) []byte {
			inner := zipMap(t, map[string][]byte{"OFD.xml": []byte("<OFD/>")})
			var buf bytes.Buffer
			w := zip.NewWriter(&buf)
			fw, _ := w.CreateHeader(&zip.FileHeader{Name: "Doc_0/Signs/Sign_0/Seal.esl", Method: zip.Store})
			fw.Write(inner)
			fw, _ = w.CreateHeader(&zip.FileHeader{Name: "OFD.xml", Method: zip.Store})
			fw.Write([]byte("<OFD/>"))
			w.Close()
			return buf.Bytes()[:len(inner)+100]
		}, openErr: ErrFormat, check: func(t *testing.T, _ *Package, _ []*Signature, err error) {
			mustContain(t, "error", err.Error(), "damaged", "nested")
		}},
		{name: "corrupt file data", data: func(t *testing.T) []byte {
			z := zipMap(t, basePackage())
			i := bytes.Index(z, []byte("Doc_0/Pages/Page_0/Content.xml")) + 40
			z[i] ^= 0xff
			return z
		}, check: func(t *testing.T, p *Package, sigs []*Signature, _ error) {
			s := sigByID(t, sigs, "1")
			for _, r := range s.References {
				if r.Path == "Doc_0/Pages/Page_0/Content.xml" {
					if r.OK || r.Actual != nil {
						t.Errorf("corrupt file passed: %+v", r)
					}
					mustContain(t, "problem", r.Problem, "Content.xml")
				} else if !r.OK {
					t.Errorf("%s: %s", r.FileRef, r.Problem)
				}
			}
		}},
		{name: "OFD.xml missing", data: pkg(func(m map[string][]byte) { delete(m, "OFD.xml") }), sigErr: ErrNotExist,
			check: func(t *testing.T, _ *Package, _ []*Signature, err error) {
				mustContain(t, "error", err.Error(), "OFD.xml", "missing")
			}},
		{name: "OFD.xml malformed", data: pkg(func(m map[string][]byte) { m["OFD.xml"] = []byte("<ofd:OFD><ofd:DocBody>") }), sigErr: ErrFormat,
			check: func(t *testing.T, _ *Package, _ []*Signature, err error) {
				mustContain(t, "error", err.Error(), "OFD.xml", "XML")
			}},
		{name: "OFD.xml wrong root", data: pkg(func(m map[string][]byte) { m["OFD.xml"] = []byte("<html/>") }), sigErr: ErrFormat},
		{name: "no signatures", data: pkg(func(m map[string][]byte) {
			m["OFD.xml"] = []byte(`<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>`)
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			if sigs != nil {
				t.Errorf("got %d signatures", len(sigs))
			}
		}},
		{name: "Signatures.xml missing", data: pkg(func(m map[string][]byte) { delete(m, "Doc_0/Signs/Signatures.xml") }),
			check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
				if len(sigs) != 1 || !errors.Is(sigs[0].Err, ErrNotExist) {
					t.Fatalf("want one placeholder with ErrNotExist, got %+v", sigs)
				}
				mustContain(t, "Err", sigs[0].Err.Error(), "Doc_0/Signs/Signatures.xml", "missing")
			}},
		{name: "Signatures.xml malformed", data: pkg(func(m map[string][]byte) {
			m["Doc_0/Signs/Signatures.xml"] = []byte(`<ofd:Signatures><ofd:Signature ID="1"`)
		}),
			check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
				if len(sigs) != 1 || !errors.Is(sigs[0].Err, ErrFormat) {
					t.Fatalf("want one placeholder with ErrFormat, got %+v", sigs)
				}
				mustContain(t, "Err", sigs[0].Err.Error(), "Signatures.xml", "XML")
			}},
		{name: "Signature.xml missing", data: pkg(func(m map[string][]byte) { delete(m, "Doc_0/Signs/Sign_0/Signature.xml") }),
			check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
				s := sigByID(t, sigs, "1")
				if !errors.Is(s.Err, ErrNotExist) || s.Location != "Doc_0/Signs/Sign_0/Signature.xml" {
					t.Errorf("Err = %v, Location %q", s.Err, s.Location)
				}
				mustContain(t, "Err", s.Err.Error(), "Signature.xml", `"1"`, "missing")
				// signature 2 protected Sign_0/Signature.xml, which is gone
				s2 := sigByID(t, sigs, "2")
				if s2.Err != nil {
					t.Errorf("signature 2 Err = %v", s2.Err)
				}
				if _, bad := okRefs(s2); len(bad) != 1 || bad[0] != "/Doc_0/Signs/Sign_0/Signature.xml" {
					t.Errorf("signature 2 bad refs %q", bad)
				} else {
					mustContain(t, "problem", s2.References[2].Problem, "missing")
				}
			}},
		{name: "Signature.xml malformed", data: pkg(func(m map[string][]byte) {
			m["Doc_0/Signs/Sign_0/Signature.xml"] = []byte(`<?xml version="1.0"?><ofd:Signature xmlns:ofd="x"><ofd:SignedInfo></ofd:Signature>`)
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			s := sigByID(t, sigs, "1")
			if !errors.Is(s.Err, ErrFormat) || s.XML == nil {
				t.Errorf("Err = %v, XML %d bytes", s.Err, len(s.XML))
			}
			mustContain(t, "Err", s.Err.Error(), "Doc_0/Signs/Sign_0/Signature.xml", "malformed")
			if sigByID(t, sigs, "2").Err != nil {
				t.Error("signature 2 affected")
			}
		}},
		{name: "SignedValue.dat missing", data: pkg(func(m map[string][]byte) { delete(m, "Doc_0/Signs/Sign_1/SignedValue.dat") }),
			check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
				s := sigByID(t, sigs, "2")
				if !errors.Is(s.Err, ErrNotExist) || s.SignedValue != nil || s.SignedValuePath != "Doc_0/Signs/Sign_1/SignedValue.dat" {
					t.Errorf("Err = %v, path %q", s.Err, s.SignedValuePath)
				}
				mustContain(t, "Err", s.Err.Error(), "SignedValue", `"2"`, "missing")
				if ok, _ := okRefs(s); ok != 3 || s.XML == nil {
					t.Errorf("references not checked although Signature.xml is fine")
				}
				expectClean(t, sigs, "1", 4)
			}},
		{name: "SignedValue element missing", data: pkg(func(m map[string][]byte) {
			m["Doc_0/Signs/Sign_1/Signature.xml"] = signatureXML(m, "SM3", "", "", "/OFD.xml")
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			s := sigByID(t, sigs, "2")
			if !errors.Is(s.Err, ErrFormat) {
				t.Errorf("Err = %v", s.Err)
			}
			mustContain(t, "Err", s.Err.Error(), "SignedValue")
		}},
		{name: "BaseLoc escapes the root", data: pkg(func(m map[string][]byte) {
			m["Doc_0/Signs/Signatures.xml"] = signaturesXML("1", "/Doc_0/Signs/Sign_0/Signature.xml", "2", "../../../etc/passwd", "3", "/../x.xml")
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			expectClean(t, sigs, "1", 4)
			for _, id := range []string{"2", "3"} {
				s := sigByID(t, sigs, id)
				if !errors.Is(s.Err, ErrPath) || s.XML != nil {
					t.Errorf("%s: Err = %v", id, s.Err)
				} else {
					mustContain(t, "Err", s.Err.Error(), "root", fmt.Sprintf("%q", id))
				}
			}
		}},
		{name: "FileRef, Seal and SignedValue escaping the root", data: pkg(func(m map[string][]byte) {
			x := string(signatureXML(m, "SM3", "../../../../Seal.esl", "../../../../../v.dat", "/OFD.xml"))
			x = strings.Replace(x, `FileRef="/OFD.xml"`, `FileRef="/../OFD.xml"`, 1)
			m["Doc_0/Signs/Sign_1/Signature.xml"] = []byte(x)
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			s := sigByID(t, sigs, "2")
			if !errors.Is(s.Err, ErrPath) || len(s.References) != 1 || s.References[0].OK || s.SealPath != "" {
				t.Fatalf("Err = %v, refs %+v, seal %q", s.Err, s.References, s.SealPath)
			}
			mustContain(t, "problem", s.References[0].Problem, "root")
			mustContain(t, "warnings", strings.Join(s.Warnings, "|"), "seal", "root")
		}},
		{name: "Seal.esl missing is a warning, not an error", data: pkg(func(m map[string][]byte) {
			delete(m, "Doc_0/Signs/Sign_0/Seal.esl")
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			s := sigByID(t, sigs, "2")
			if s.Err != nil || s.Seal != nil || s.SealPath != "Doc_0/Signs/Sign_0/Seal.esl" {
				t.Errorf("Err %v, Seal %v, SealPath %q", s.Err, s.Seal, s.SealPath)
			}
			mustContain(t, "warnings", strings.Join(s.Warnings, "|"), "Seal.esl", "missing")
			if _, bad := okRefs(sigByID(t, sigs, "1")); len(bad) != 1 || bad[0] != "/Doc_0/Signs/Sign_0/Seal.esl" {
				t.Errorf("signature 1 bad refs %q", bad)
			}
		}},
		{name: "modified file fails its reference only", data: pkg(func(m map[string][]byte) {
			m["Doc_0/Pages/Page_0/Content.xml"] = []byte(testPage + " ")
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			s := sigByID(t, sigs, "1")
			ok, bad := okRefs(s)
			if ok != 3 || len(bad) != 1 || bad[0] != "/Doc_0/Pages/Page_0/Content.xml" {
				t.Fatalf("ok %d bad %q", ok, bad)
			}
			r := s.References[2]
			if r.Actual == nil || len(r.Expected) != 32 {
				t.Errorf("Actual/Expected not filled: %+v", r)
			}
			mustContain(t, "problem", r.Problem, "/Doc_0/Pages/Page_0/Content.xml", "does not match")
			expectClean(t, sigs, "2", 3)
		}},
		{name: "CheckMethod variants", data: pkg(func(m map[string][]byte) {
			for i, meth := range []string{"sm3", " 1.2.156.10197.1.401 ", "1.2.156.10197.1.401.2", "SHA256", ""} {
				m[fmt.Sprintf("Doc_0/Signs/Sign_%d/Signature.xml", i+2)] = signatureXML(m, meth, "", "/Doc_0/Signs/Sign_0/SignedValue.dat", "/OFD.xml")
			}
			m["Doc_0/Signs/Signatures.xml"] = signaturesXML("a", "Sign_2/Signature.xml", "b", "Sign_3/Signature.xml",
				"c", "Sign_4/Signature.xml", "d", "Sign_5/Signature.xml", "e", "Sign_6/Signature.xml")
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			expectClean(t, sigs, "a", 1)
			expectClean(t, sigs, "b", 1)
			for _, id := range []string{"c", "d", "e"} {
				s := sigByID(t, sigs, id)
				if s.References[0].OK || s.References[0].Actual != nil || s.References[0].Expected == nil {
					t.Errorf("%s passed with method %q", id, s.CheckMethod)
				}
				mustContain(t, "problem", s.References[0].Problem, "CheckMethod")
			}
			mustContain(t, "problem", sigByID(t, sigs, "c").References[0].Problem, "1.2.156.10197.1.401.2", "unsupported")
		}},
		{name: "bad base64 CheckValue and missing files", data: pkg(func(m map[string][]byte) {
			m["Doc_0/Signs/Sign_1/Signature.xml"] = []byte(`<Signature><SignedInfo><References CheckMethod="SM3">` +
				`<Reference FileRef="/OFD.xml"><CheckValue>!!not base64!!</CheckValue></Reference>` +
				`<Reference FileRef="/Doc_0/Nope.xml"><CheckValue>AAAA</CheckValue></Reference>` +
				`<Reference FileRef="/Doc_0/Document.xml"><CheckValue>AAAA</CheckValue></Reference>` +
				`<Reference FileRef=""><CheckValue>AAAA</CheckValue></Reference>` +
				`<Reference FileRef="/OFD.xml"><CheckValue>
				` + b64sm3(m["OFD.xml"])[:20] + "\n  " + b64sm3(m["OFD.xml"])[20:] + `
				</CheckValue></Reference>` +
				`</References></SignedInfo><SignedValue>SignedValue.dat</SignedValue></Signature>`)
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			s := sigByID(t, sigs, "2")
			if s.Err != nil || len(s.References) != 5 {
				t.Fatalf("Err %v, %d refs", s.Err, len(s.References))
			}
			want := [][]string{{"base64"}, {"/Doc_0/Nope.xml", "missing"}, {"bytes"}, {"FileRef"}}
			for i, w := range want {
				if s.References[i].OK {
					t.Errorf("ref %d OK", i)
				}
				mustContain(t, "problem", s.References[i].Problem, w...)
			}
			if !s.References[4].OK {
				t.Errorf("CheckValue with whitespace: %s", s.References[4].Problem)
			}
		}},
		{name: "old namespace, no prefix, Provider as child elements, no leading slashes", data: pkg(func(m map[string][]byte) {
			m["OFD.xml"] = []byte(`<?xml version="1.0" encoding="UTF-8"?><OFD xmlns="http://www.ofdspec.org"><DocBody><DocRoot>Doc_0/Document.xml</DocRoot><Signatures>Doc_0/Signs/Signatures.xml</Signatures></DocBody></OFD>`)
			m["Doc_0/Signs/Signatures.xml"] = []byte(`<?xml version="1.0"?><x:Signatures xmlns:x="http://www.ofdspec.org"><x:Signature ID="7" BaseLoc="Sign_1/Signature.xml"/></x:Signatures>`)
			m["Doc_0/Signs/Sign_1/Signature.xml"] = []byte(`<?xml version="1.0" encoding="UTF-8"?>
<Signature xmlns="http://www.ofdspec.org"><SignedInfo><Provider><ProviderName>iOFD</ProviderName><Version>2.1.1</Version><Company>dms360.cn</Company></Provider>
<References CheckMethod="SM3"><Reference FileRef="OFD.xml"><CheckValue>` + b64sm3(m["OFD.xml"]) + `</CheckValue></Reference></References>
<StampAnnot ID="1" PageRef="1" Boundary="1.5 2 3e1 40" Clip="0 0 1 1"/></SignedInfo><SignedValue>SignedValue.dat</SignedValue></Signature>`)
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			expectClean(t, sigs, "7", 1)
			s := sigs[0]
			if s.Type != "Seal" || s.Provider != "iOFD" || s.ProviderVersion != "2.1.1" || s.Company != "dms360.cn" {
				t.Errorf("%+v", s)
			}
			if a := s.StampAnnots[0]; a.Boundary != [4]float64{1.5, 2, 30, 40} || a.Clip != "0 0 1 1" {
				t.Errorf("%+v", a)
			}
		}},
		{name: "paths written without the leading slash are found from the root", data: pkg(func(m map[string][]byte) {
			m["Doc_0/Signs/Signatures.xml"] = signaturesXML("1", "Doc_0/Signs/Sign_0/Signature.xml")
			m["Doc_0/Signs/Sign_0/Signature.xml"] = signatureXML(m, "SM3", "Doc_0/Signs/Sign_0/Seal.esl", "Doc_0/Signs/Sign_0/SignedValue.dat", "OFD.xml")
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			expectClean(t, sigs, "1", 1)
			s := sigs[0]
			if s.Location != "Doc_0/Signs/Sign_0/Signature.xml" || s.Seal == nil || s.SignedValue == nil || len(s.Warnings) != 3 {
				t.Errorf("Location %q, seal %v, warnings %q", s.Location, s.Seal != nil, s.Warnings)
			}
		}},
		{name: "Signatures path relative to the document folder", data: pkg(func(m map[string][]byte) {
			m["OFD.xml"] = []byte(fmt.Sprintf(testOFD, "Signs/Signatures.xml"))
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			// OFD.xml changed after signing, so only that reference fails
			if ok, bad := okRefs(sigByID(t, sigs, "2")); ok != 2 || len(bad) != 1 || bad[0] != "/OFD.xml" {
				t.Errorf("ok %d, bad %q", ok, bad)
			}
			if sigs[0].Err != nil || len(sigs[0].Warnings) == 0 {
				t.Error("no warning")
			}
		}},
		{name: "two DocBodies sharing a Signatures.xml, BOM, GBK", data: pkg(func(m map[string][]byte) {
			m["OFD.xml"] = []byte("\xef\xbb\xbf" + `<?xml version="1.0" encoding="GBK"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocInfo><ofd:Title>` +
				"\xb5\xe7\xd7\xd3\xd3\xa1\xd5\xc2" + `</ofd:Title></ofd:DocInfo><ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody>` +
				`<ofd:DocBody><ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>`)
			m["Doc_0/Signs/Sign_1/Signature.xml"] = []byte(strings.Replace(strings.Replace(string(signatureXML(m, "SM3", "", "SignedValue.dat", "/OFD.xml")),
				`encoding="UTF-8"`, `encoding="gb2312"`, 1), `Company="eseal"`, "Company=\"\xb8\xf1\xb6\xfb\"", 1))
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			if len(sigs) != 2 {
				t.Fatalf("%d signatures", len(sigs))
			}
			expectClean(t, sigs, "2", 1)
			s := sigByID(t, sigs, "2")
			if s.Company != "格尔" || len(s.Warnings) != 0 {
				t.Errorf("Company %q, warnings %q", s.Company, s.Warnings)
			}
		}},
		{name: "unsupported XML encoding", data: pkg(func(m map[string][]byte) {
			m["Doc_0/Signs/Sign_1/Signature.xml"] = []byte(`<?xml version="1.0" encoding="EBCDIC"?><Signature/>`)
		}), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
			s := sigByID(t, sigs, "2")
			if s.Err == nil {
				t.Fatal("no error")
			}
			mustContain(t, "Err", s.Err.Error(), "EBCDIC", "Sign_1/Signature.xml")
		}},
		{name: "entry names with backslashes", data: func(t *testing.T) []byte {
			m := basePackage()
			out := map[string][]byte{}
			for k, v := range m {
				out[strings.ReplaceAll(k, "/", `\`)] = v
			}
			return zipMap(t, out)
		}, openErr: ErrFormat, check: func(t *testing.T, _ *Package, _ []*Signature, err error) {
			mustContain(t, "error", err.Error(), `Doc_0\`, "backslash")
		}},
		{name: "duplicate entry names", data: func(t *testing.T) []byte {
			return makeZip(t, []zipFile{{"OFD.xml", []byte("a")}, {"Doc_0/a.xml", nil}, {"OFD.xml", []byte("b")}})
		}, openErr: ErrFormat, check: func(t *testing.T, _ *Package, _ []*Signature, err error) {
			mustContain(t, "error", err.Error(), "OFD.xml", "twice")
		}},
		{name: "entry name with a leading slash", data: func(t *testing.T) []byte {
			return makeZip(t, []zipFile{{"OFD.xml", []byte("a")}, {"Doc_0/a.xml", nil}, {"/OFD.xml", []byte("b")}})
		}, openErr: ErrFormat, check: func(t *testing.T, _ *Package, _ []*Signature, err error) {
			mustContain(t, "error", err.Error(), "/OFD.xml", "slash")
		}},
		{name: "too many entries", lim: Limits{MaxEntries: 5}, data: pkg(nil), openErr: ErrLimit,
			check: func(t *testing.T, _ *Package, _ []*Signature, err error) {
				mustContain(t, "error", err.Error(), "limit", "5")
			}},
		{name: "thousands of signatures under the limit", lim: Limits{MaxSignatures: 3000},
			data: manySignatures(2500), check: func(t *testing.T, _ *Package, sigs []*Signature, _ error) {
				if len(sigs) != 2500 {
					t.Fatalf("%d signatures", len(sigs))
				}
				for _, s := range sigs {
					if s.Err != nil {
						t.Fatal(s.Err)
					}
					if ok, _ := okRefs(s); ok != 2 {
						t.Fatalf("signature %s: %d refs ok", s.ID, ok)
					}
				}
			}},
		{name: "thousands of signatures over the default limit", data: manySignatures(2500), sigErr: ErrLimit,
			check: func(t *testing.T, _ *Package, _ []*Signature, err error) {
				mustContain(t, "error", err.Error(), "1000", "signatures")
			}},
		{name: "signature limit counts over all DocBodies", lim: Limits{MaxSignatures: 3}, data: pkg(func(m map[string][]byte) {
			m["OFD.xml"] = []byte(`<OFD><DocBody><Signatures>/Doc_0/Signs/Signatures.xml</Signatures></DocBody><DocBody><Signatures>/Doc_1/Signatures.xml</Signatures></DocBody></OFD>`)
			m["Doc_1/Signatures.xml"] = signaturesXML("3", "/Doc_0/Signs/Sign_0/Signature.xml", "4", "/Doc_0/Signs/Sign_0/Signature.xml")
		}), sigErr: ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Open(tt.data(t), tt.lim)
			if tt.openErr != nil {
				if !errors.Is(err, tt.openErr) {
					t.Fatalf("Open error = %v, want %v", err, tt.openErr)
				}
				if !strings.HasPrefix(err.Error(), "ofd: ") {
					t.Errorf("error %q lacks the ofd: prefix", err)
				}
				if tt.check != nil {
					tt.check(t, nil, nil, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			sigs, err := p.Signatures()
			if tt.sigErr != nil {
				if !errors.Is(err, tt.sigErr) || sigs != nil {
					t.Fatalf("Signatures error = %v (%d sigs), want %v", err, len(sigs), tt.sigErr)
				}
			} else if err != nil {
				t.Fatalf("Signatures: %v", err)
			}
			if tt.check != nil {
				tt.check(t, p, sigs, err)
			}
		})
	}
}

// manySignatures builds a package with n signatures, each with its own
// Signature.xml, sharing one SignedValue.dat.
func manySignatures(n int) func(t *testing.T) []byte {
	return func(t *testing.T) []byte {
		m := basePackage()
		var list []string
		for i := 0; i < n; i++ {
			loc := fmt.Sprintf("Doc_0/Signs/S_%d/Signature.xml", i)
			m[loc] = signatureXML(m, "SM3", "", "/Doc_0/Signs/Sign_0/SignedValue.dat", "/OFD.xml", "/Doc_0/Document.xml")
			list = append(list, fmt.Sprint(i), "/"+loc)
		}
		m["Doc_0/Signs/Signatures.xml"] = signaturesXML(list...)
		return zipMap(t, m)
	}
}

func TestReadFile(t *testing.T) {
	m := basePackage()
	m["Doc_0/Big.bin"] = bytes.Repeat([]byte{0}, 3<<20) // 3 MiB of zeros: a small zip bomb
	p, err := Open(zipMap(t, m), Limits{MaxEntrySize: 1 << 20, MaxTotalSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		want    string
		wantErr error
		msg     []string
	}{
		{name: "absolute", path: "/Doc_0/Document.xml", want: testDoc},
		{name: "relative to root", path: "Doc_0/Document.xml", want: testDoc},
		{name: "dot and double slash", path: "//Doc_0/./Pages/../Document.xml", want: testDoc},
		{name: "missing", path: "/Doc_0/Nope.xml", wantErr: ErrNotExist, msg: []string{"Doc_0/Nope.xml", "missing"}},
		{name: "escapes root", path: "/Doc_0/../../etc/passwd", wantErr: ErrPath, msg: []string{"root"}},
		{name: "root itself", path: "/", wantErr: ErrPath},
		{name: "empty", path: "", wantErr: ErrPath},
		{name: "directory", path: "/Doc_0", wantErr: ErrNotExist},
		{name: "over the entry limit", path: "Doc_0/Big.bin", wantErr: ErrLimit, msg: []string{"Doc_0/Big.bin", "limit", "zip bomb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := p.ReadFile(tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || b != nil {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				mustContain(t, "error", err.Error(), tt.msg...)
				return
			}
			if err != nil || string(b) != tt.want {
				t.Fatalf("got %q, %v", b, err)
			}
		})
	}
	if sum, err := p.SM3("/Doc_0/Document.xml"); err != nil || b64(sum) != b64sm3([]byte(testDoc)) {
		t.Errorf("SM3 = %x, %v", sum, err)
	}
	if _, err := p.SM3("../x"); !errors.Is(err, ErrPath) {
		t.Errorf("SM3(../x) err = %v", err)
	}
	if _, err := p.SM3("Doc_0/Big.bin"); !errors.Is(err, ErrLimit) {
		t.Errorf("SM3(Big.bin) err = %v", err)
	}
	if !p.Has("/OFD.xml") || p.Has("Doc_0") || len(p.Files()) != len(m) {
		t.Errorf("Has/Files: %v", p.Files())
	}
}

func TestZipBomb(t *testing.T) {
	zeros := bytes.Repeat([]byte{0}, 8<<20) // deflates to about 8 KiB
	tests := []struct {
		name     string
		data     []byte
		lim      Limits
		wantErr  error
		msg      []string
		openFail bool
	}{
		{name: "declared size over the entry limit", data: rawZip(t, "OFD.xml", zeros, uint64(len(zeros))),
			lim: Limits{MaxEntrySize: 1 << 20}, wantErr: ErrLimit, msg: []string{"OFD.xml", "limit", "zip bomb"}},
		{name: "declared size lies (small), data expands", data: rawZip(t, "OFD.xml", zeros, 100),
			wantErr: ErrFormat, msg: []string{"OFD.xml", "size"}},
		{name: "declared size over the total limit", data: rawZip(t, "OFD.xml", zeros, uint64(len(zeros))),
			lim: Limits{MaxTotalSize: 4 << 20}, wantErr: ErrLimit, msg: []string{"OFD.xml", "whole package"}},
		{name: "default limit, 65 MiB declared", data: rawZip(t, "OFD.xml", []byte("x"), 65<<20),
			wantErr: ErrLimit, msg: []string{"OFD.xml", "67108864"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Open(tt.data, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			b, err := p.ReadFile("OFD.xml")
			if !errors.Is(err, tt.wantErr) || b != nil {
				t.Fatalf("ReadFile: %d bytes, err %v; want %v", len(b), err, tt.wantErr)
			}
			mustContain(t, "error", err.Error(), tt.msg...)
			if _, err := p.Signatures(); !errors.Is(err, tt.wantErr) {
				t.Errorf("Signatures: %v", err)
			}
		})
	}
}

func TestTotalLimitAcrossFiles(t *testing.T) {
	m := basePackage()
	for i := 0; i < 4; i++ {
		m[fmt.Sprintf("Doc_0/Res/%d.bin", i)] = bytes.Repeat([]byte{byte(i)}, 1<<20)
	}
	p, err := Open(zipMap(t, m), Limits{MaxTotalSize: 3<<20 + 1<<19})
	if err != nil {
		t.Fatal(err)
	}
	var errs int
	for i := 0; i < 4; i++ {
		if _, err := p.ReadFile(fmt.Sprintf("Doc_0/Res/%d.bin", i)); err != nil {
			if !errors.Is(err, ErrLimit) {
				t.Fatal(err)
			}
			errs++
		}
	}
	if errs != 1 {
		t.Errorf("%d reads failed, want 1", errs)
	}
}

func TestCleanPath(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"absolute", "/Doc_0/a.xml", "Doc_0/a.xml", true},
		{"relative", "Doc_0/a.xml", "Doc_0/a.xml", true},
		{"double slash", "//Doc_0//a.xml", "Doc_0/a.xml", true},
		{"dot dot inside", "/Doc_0/x/../a.xml", "Doc_0/a.xml", true},
		{"escape", "/../a.xml", "", false},
		{"escape later", "/Doc_0/../../a.xml", "", false},
		{"root", "/", "", true},
		{"backslashes", `\Doc_0\a.xml`, "Doc_0/a.xml", true},
		{"backslash escape", `Doc_0\..\..\a.xml`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cleanPath(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("cleanPath(%q) = %q, %v", tt.in, got, ok)
			}
		})
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
