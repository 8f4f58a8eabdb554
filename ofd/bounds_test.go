package ofd

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func openSigs(t *testing.T, data []byte, lim Limits) []*Signature {
	t.Helper()
	p, err := Open(data, lim)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := p.Signatures()
	if err != nil {
		t.Fatal(err)
	}
	return sigs
}

func TestReferenceLimits(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n, m       int
		lim        Limits
		err1, err2 string // "" : no error
	}{
		{"under the limits", 5, 5, Limits{MaxReferences: 5, MaxAllReferences: 10}, "", ""},
		{"one signature over the limit per signature", 6, 5, Limits{MaxReferences: 5}, "limit of 5 per signature", ""},
		{"over the limit in all", 5, 5, Limits{MaxReferences: 5, MaxAllReferences: 9}, "", "more than 9 References in all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sigs := openSigs(t, withRefsT(t, tc.n, tc.m), tc.lim)
			for i, want := range []string{tc.err1, tc.err2} {
				s := sigs[i]
				switch {
				case want == "" && s.Err != nil:
					t.Errorf("signature %s: %v", s.ID, s.Err)
				case want != "" && (s.Err == nil || !errors.Is(s.Err, ErrLimit) || !strings.Contains(s.Err.Error(), want)):
					t.Errorf("signature %s: error %v, want ErrLimit saying %q", s.ID, s.Err, want)
				case want == "" && len(s.References) != []int{tc.n, tc.m}[i]:
					t.Errorf("signature %s: %d references", s.ID, len(s.References))
				}
			}
		})
	}
	pkg := basePackage()
	annots := strings.Repeat(`<ofd:StampAnnot ID="1" PageRef="1" Boundary="1 1 1 1"/>`, 3)
	pkg["Doc_0/Signs/Sign_1/Signature.xml"] = bytes.Replace(pkg["Doc_0/Signs/Sign_1/Signature.xml"], []byte("</ofd:SignedInfo>"), []byte(annots+"</ofd:SignedInfo>"), 1)
	sigs := openSigs(t, zipMap(t, pkg), Limits{MaxStampAnnots: 3})
	if sigs[0].Err != nil || sigs[1].Err == nil || !strings.Contains(sigs[1].Err.Error(), "StampAnnot") {
		t.Errorf("StampAnnot limit: %v, %v", sigs[0].Err, sigs[1].Err)
	}
}

// withRefsT returns the base package with signature "1" listing n References and "2" m.
func withRefsT(t *testing.T, n, m int) []byte {
	pkg := basePackage()
	refs := func(k int) []string {
		r := make([]string, k)
		for i := range r {
			r[i] = "/Doc_0/Document.xml"
		}
		return r
	}
	pkg["Doc_0/Signs/Sign_0/Signature.xml"] = signatureXML(pkg, "SM3", "", "/Doc_0/Signs/Sign_0/SignedValue.dat", refs(n)...)
	pkg["Doc_0/Signs/Sign_1/Signature.xml"] = signatureXML(pkg, "SM3", "", "SignedValue.dat", refs(m)...)
	return zipMap(t, pkg)
}

// Entries naming one Signature.xml share one reading: it is parsed and charged once.
func TestOneReadingPerSignatureXML(t *testing.T) {
	pkg := basePackage()
	var list []string
	for i := 0; i < 500; i++ {
		list = append(list, fmt.Sprint(i+1), "/Doc_0/Signs/Sign_0/Signature.xml")
	}
	pkg["Doc_0/Signs/Signatures.xml"] = signaturesXML(list...)
	// Signature.xml lists 4 References: charged 500 times, they would pass the limit in all.
	sigs := openSigs(t, zipMap(t, pkg), Limits{MaxAllReferences: 10})
	if len(sigs) != 500 {
		t.Fatalf("%d signatures", len(sigs))
	}
	for _, s := range sigs {
		if s.Err != nil {
			t.Fatalf("signature %s: %v", s.ID, s.Err)
		}
		if &s.References[0] != &sigs[0].References[0] || &s.XML[0] != &sigs[0].XML[0] {
			t.Fatalf("signature %s was read again", s.ID)
		}
		if s.Location != "Doc_0/Signs/Sign_0/Signature.xml" || len(s.References) != 4 {
			t.Fatalf("signature %s: %s, %d references", s.ID, s.Location, len(s.References))
		}
	}
	if sigs[7].ID != "8" {
		t.Errorf("an entry lost its own ID: %q", sigs[7].ID)
	}
}

func TestXMLDepthLimit(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("<a>", n) + strings.Repeat("</a>", n) }
	for _, tc := range []struct {
		name string
		file string
		edit func([]byte, string) []byte
	}{
		{"Signatures.xml", "Doc_0/Signs/Signatures.xml", func(b []byte, d string) []byte {
			return bytes.Replace(b, []byte("<ofd:MaxSignId>"), []byte(d+"<ofd:MaxSignId>"), 1)
		}},
		{"OFD.xml", "OFD.xml", func(b []byte, d string) []byte {
			return bytes.Replace(b, []byte("<ofd:DocBody>"), []byte(d+"<ofd:DocBody>"), 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, n := range []int{DefaultMaxXMLDepth - 5, DefaultMaxXMLDepth + 1} {
				pkg := basePackage()
				pkg[tc.file] = tc.edit(pkg[tc.file], deep(n))
				p, err := Open(zipMap(t, pkg), Limits{})
				if err != nil {
					t.Fatal(err)
				}
				_, err = p.Signatures()
				if n < DefaultMaxXMLDepth && err != nil {
					t.Fatalf("depth %d: %v", n, err)
				}
				if n > DefaultMaxXMLDepth && (!errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), tc.file) || !strings.Contains(err.Error(), "deeper")) {
					t.Fatalf("depth %d: %v", n, err)
				}
			}
		})
	}
}

func TestXMLDepth(t *testing.T) {
	for _, tc := range []struct {
		xml  string
		want int
	}{
		{`<a/>`, 1},
		{`<a><b/><c></c></a>`, 2},
		{`<?xml version="1.0"?><!DOCTYPE a [<!ELEMENT a ANY>]><a x='>' y="/>"><!-- <b><b><b> --><![CDATA[<c><c>]]><d></d></a>`, 2},
		{`<a x="/>"><b>`, 2},
		{`<a><b><c>`, 3},
	} {
		if got := xmlDepth([]byte(tc.xml), 100); got != tc.want {
			t.Errorf("xmlDepth(%q) = %d, want %d", tc.xml, got, tc.want)
		}
	}
	if got := countElements([]byte(`<Reference/><ofd:Reference>x</ofd:Reference><References><ofd:ReferenceX/><x:Reference	a="1"/>`), "Reference"); got != 3 {
		t.Errorf("countElements = %d, want 3", got)
	}
}

// xmlTruth returns the deepest nesting and the number of Reference start elements that
// encoding/xml reads from b before any error.
func xmlTruth(b []byte) (depth, refs int) {
	d := newDecoder(b)
	cur := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return depth, refs
		}
		switch t := tok.(type) {
		case xml.StartElement:
			cur++
			depth = max(depth, cur)
			if t.Name.Local == "Reference" {
				refs++
			}
		case xml.EndElement:
			cur--
		}
	}
}

// FuzzXMLBounds: the byte scans that guard the parser never count less than the parser
// finds, so a limit they enforce holds for the parse too.
func FuzzXMLBounds(f *testing.F) {
	f.Add([]byte(`<a><b x='>' y="/>"><Reference/><ofd:Reference></ofd:Reference></b></a>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "<b>">]><a><!-- <c> --><![CDATA[<d>]]><e/></a>`))
	f.Add([]byte(`<a:Reference xmlns:a="x"><Reference	/></a:Reference>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		depth, refs := xmlTruth(b)
		if got := xmlDepth(b, 1<<30); got < depth {
			t.Fatalf("xmlDepth = %d, the parser reached %d", got, depth)
		}
		if got := countElements(b, "Reference"); got < refs {
			t.Fatalf("countElements = %d, the parser found %d", got, refs)
		}
	})
}
