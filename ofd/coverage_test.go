package ofd

import (
	"fmt"
	"strings"
	"testing"
)

// docWithPages is a Document.xml listing the given page BaseLocs.
func docWithPages(locs ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ofd:Document ` + nsOFD + `><ofd:Pages>`)
	for i, l := range locs {
		fmt.Fprintf(&b, `<ofd:Page ID="%d" BaseLoc="%s"/>`, i+1, l)
	}
	b.WriteString(`</ofd:Pages></ofd:Document>`)
	return []byte(b.String())
}

func TestCoverage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		edit     func(m map[string][]byte)
		sig      string // ID of the signature looked at
		problem  string // "" : covered
		required string
	}{
		{"covered", nil, "1", "", "Doc_0/Document.xml Doc_0/Pages/Page_0/Content.xml"},
		{"absolute page path", func(m map[string][]byte) { m["Doc_0/Document.xml"] = docWithPages("/Doc_0/Pages/Page_0/Content.xml") }, "1", "", ""},
		{"a page the signature does not cover", func(m map[string][]byte) {
			m["Doc_0/Document.xml"] = docWithPages("Pages/Page_0/Content.xml", "Pages/Page_1/Content.xml")
			m["Doc_0/Pages/Page_1/Content.xml"] = []byte(testPage)
		}, "1", "do not cover Doc_0/Pages/Page_1/Content.xml", ""},
		{"signature 2 covers no page", nil, "2", "do not cover Doc_0/Pages/Page_0/Content.xml", ""},
		{"no pages", func(m map[string][]byte) { m["Doc_0/Document.xml"] = []byte(testDoc) }, "1", "lists no pages", ""},
		{"a page leaving the root", func(m map[string][]byte) { m["Doc_0/Document.xml"] = docWithPages("../../x.xml") }, "1", "leaves the package root", ""},
		{"a page without BaseLoc", func(m map[string][]byte) { m["Doc_0/Document.xml"] = docWithPages("") }, "1", "has no BaseLoc", ""},
		{"DocRoot missing", func(m map[string][]byte) {
			m["OFD.xml"] = []byte(strings.Replace(string(m["OFD.xml"]), "Doc_0/Document.xml", "Doc_9/Document.xml", 1))
		}, "1", "is missing from the package", ""},
		{"Document.xml malformed", func(m map[string][]byte) { m["Doc_0/Document.xml"] = []byte("<ofd:Document>") }, "1", "XML", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := basePackage()
			m["Doc_0/Document.xml"] = docWithPages("Pages/Page_0/Content.xml")
			if tc.edit != nil {
				tc.edit(m)
			}
			for _, id := range []string{"0", "1"} {
				loc := "Doc_0/Signs/Sign_" + id + "/Signature.xml"
				refs := []string{"/OFD.xml", "/Doc_0/Document.xml"}
				if id == "0" {
					refs = append(refs, "/Doc_0/Pages/Page_0/Content.xml")
				}
				m[loc] = signatureXML(m, "SM3", "", "SignedValue.dat", refs...)
			}
			p, err := Open(zipMap(t, m), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			sigs, err := p.Signatures()
			if err != nil {
				t.Fatal(err)
			}
			c := p.Coverage(sigByID(t, sigs, tc.sig))
			if tc.problem == "" {
				if !c.OK() {
					t.Fatalf("not covered: %s", c.Problem)
				}
				if tc.required != "" && strings.Join(c.Required, " ") != tc.required {
					t.Errorf("required %v", c.Required)
				}
				return
			}
			if c.OK() || !strings.Contains(c.Problem, tc.problem) {
				t.Fatalf("problem %q, want one saying %q", c.Problem, tc.problem)
			}
		})
	}
}

func TestUnsignedFiles(t *testing.T) {
	m := basePackage()
	m["Doc_0/Res/font.ttf"] = []byte("font")
	p, err := Open(zipMap(t, m), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := p.Signatures()
	if err != nil {
		t.Fatal(err)
	}
	// Signature 1 covers OFD.xml, Document.xml, the page and Seal.esl; signature 2 covers
	// Signature 1's Signature.xml. Left: the font.
	if got := strings.Join(p.UnsignedFiles(sigs), " "); got != "Doc_0/Res/font.ttf" {
		t.Errorf("unsigned files %q", got)
	}
	if got := strings.Join(p.UnsignedFiles(nil), " "); !strings.Contains(got, "Doc_0/Signs/Signatures.xml") || !strings.Contains(got, "OFD.xml") {
		t.Errorf("with no signatures: %q", got)
	}
}

// FuzzCoverage: any OFD.xml and Document.xml give a coverage answer without panic, and a
// signature said to cover the display names every required file, each in the package.
func FuzzCoverage(f *testing.F) {
	f.Add([]byte(fmt.Sprintf(testOFD, "/Doc_0/Signs/Signatures.xml")), docWithPages("Pages/Page_0/Content.xml"))
	f.Add([]byte(`<ofd:OFD `+nsOFD+`><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:DocRoot>x</ofd:DocRoot><ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>`),
		[]byte(`<ofd:Document `+nsOFD+`><ofd:Pages><ofd:Page BaseLoc="Pages/Page_0" x:BaseLoc="/OFD.xml" xmlns:x="y"/></ofd:Pages></ofd:Document>`))
	base := basePackage()
	f.Fuzz(func(t *testing.T, ofdXML, docXML []byte) {
		m := map[string][]byte{}
		for k, v := range base {
			m[k] = v
		}
		m["OFD.xml"], m["Doc_0/Document.xml"] = ofdXML, docXML
		m["Doc_0/Signs/Sign_0/Signature.xml"] = signatureXML(m, "SM3", "", "SignedValue.dat", "/Doc_0/Document.xml", "/Doc_0/Pages/Page_0/Content.xml", "/OFD.xml")
		p, err := Open(zipMap(t, m), Limits{MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20})
		if err != nil {
			t.Fatal(err)
		}
		sigs, err := p.Signatures()
		if err != nil {
			return
		}
		p.UnsignedFiles(sigs)
		for _, s := range sigs {
			c := p.Coverage(s)
			if !c.OK() {
				continue
			}
			named := map[string]bool{}
			for _, r := range s.References {
				named[r.Path] = true
			}
			for _, f := range c.Required {
				if !named[f] || !p.Has(f) {
					t.Fatalf("coverage passed without %s", f)
				}
			}
			if c.Document != c.Displayed || c.Document == "" {
				t.Fatalf("coverage passed for %q while %q is displayed", c.Document, c.Displayed)
			}
		}
	})
}
