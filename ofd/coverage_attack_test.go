package ofd

import (
	"strings"
	"testing"
)

// TestCoverageAttackElementInsideDocRoot: OFD.xml is not signed (real producers never protect
// it), so its DocRoot can be rewritten as "Doc_<x>1</x>0/Document.xml". Its own text (what
// encoding/xml unmarshals into a string, and what coverage took) names the signed
// Doc_0/Document.xml; a reader taking all the text inside the element (a DOM's textContent)
// opens Doc_10/Document.xml, an unsigned document the attacker added, and the signature was
// said to cover what is displayed. An element inside a DocRoot or a Signatures element now
// leaves the document displayed unknown, for the scanner and for encoding/xml (the CDATA
// section makes the scanner hand the file over), and such a package is not signed.
func TestCoverageAttackElementInsideDocRoot(t *testing.T) {
	for _, tc := range []struct{ name, docRoot, signatures string }{
		{"DocRoot", "Doc_<ofd:x>1</ofd:x>0/Document.xml", "/Doc_0/Signs/Signatures.xml"},
		{"DocRoot read by encoding/xml", "Doc_<ofd:x>1</ofd:x>0/Document.xml<![CDATA[]]>", "/Doc_0/Signs/Signatures.xml"},
		{"Signatures", "Doc_0/Document.xml", "/Doc_<ofd:x>1</ofd:x>0/Signs/Signatures.xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := basePackage()
			m["Doc_0/Document.xml"] = docWithPages("Pages/Page_0/Content.xml")
			m["Doc_0/Signs/Sign_0/Signature.xml"] = signatureXML(m, "SM3", "", "SignedValue.dat",
				"/Doc_0/Document.xml", "/Doc_0/Pages/Page_0/Content.xml")
			m["Doc_10/Document.xml"] = docWithPages("Pages/Page_0/Content.xml")
			m["Doc_10/Pages/Page_0/Content.xml"] = []byte(strings.Replace(testPage, "<ofd:Content/>", "<ofd:Content><!-- unsigned --></ofd:Content>", 1))
			ofdXML := strings.Replace(string(m["OFD.xml"]), "Doc_0/Document.xml", tc.docRoot, 1)
			m["OFD.xml"] = []byte(strings.Replace(ofdXML, "/Doc_0/Signs/Signatures.xml", tc.signatures, 1))
			p, err := Open(zipMap(t, m), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			sigs, err := p.Signatures()
			if err != nil {
				t.Fatal(err)
			}
			if len(sigs) > 0 {
				s := sigByID(t, sigs, "1")
				for _, r := range s.References {
					if !r.OK {
						t.Fatalf("reference %s: %s", r.FileRef, r.Problem)
					}
				}
				if c := p.Coverage(s); c.OK() || !strings.Contains(c.Problem, "inside") {
					t.Fatalf("coverage problem %q, want one naming the element inside", c.Problem)
				}
			}
			if _, err := p.PrepareSignature(SignOptions{Placement: Placement{Page: 1, X: 10, Y: 10}, Width: 40, Height: 40}); err == nil || !strings.Contains(err.Error(), "inside") {
				t.Fatalf("signing: %v", err)
			}
		})
	}
}

// TestCoverageAttackRelativePartPaths: Signature.xml names its seal file and signed value,
// and Signatures.xml names Signature.xml, by relative paths; readers that take such a path
// from the package root (the habit the leading-slash tolerance is for) open a file the
// attacker adds there: another seal's picture, another signed value (whose embedded seal a
// reader draws), another Signature.xml. The signature's own files verified and coverage
// passed. When a relative path names a file both from its folder and from the root, coverage
// now fails naming both.
func TestCoverageAttackRelativePartPaths(t *testing.T) {
	for _, tc := range []struct{ name, planted string }{
		{"seal file", "Seal.esl"},
		{"signed value", "SignedValue.dat"},
		{"Signature.xml", "Sign_0/Signature.xml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := basePackage()
			m["Doc_0/Document.xml"] = docWithPages("Pages/Page_0/Content.xml")
			m["Doc_0/Signs/Sign_0/Signature.xml"] = signatureXML(m, "SM3", "Seal.esl", "SignedValue.dat",
				"/Doc_0/Document.xml", "/Doc_0/Pages/Page_0/Content.xml", "/Doc_0/Signs/Sign_0/Seal.esl")
			m["Doc_0/Signs/Signatures.xml"] = signaturesXML("1", "Sign_0/Signature.xml")
			p, err := Open(zipMap(t, m), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			sigs, err := p.Signatures()
			if err != nil {
				t.Fatal(err)
			}
			if c := p.Coverage(sigByID(t, sigs, "1")); !c.OK() {
				t.Fatalf("the plain package: %s", c.Problem)
			}

			m[tc.planted] = []byte("planted by the attacker")
			p, err = Open(zipMap(t, m), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if sigs, err = p.Signatures(); err != nil {
				t.Fatal(err)
			}
			s := sigByID(t, sigs, "1")
			if s.Err != nil {
				t.Fatal(s.Err)
			}
			for _, r := range s.References {
				if !r.OK {
					t.Fatalf("reference %s: %s", r.FileRef, r.Problem)
				}
			}
			if c := p.Coverage(s); c.OK() || !strings.Contains(c.Problem, tc.planted) || !strings.Contains(c.Problem, "Doc_0/Signs/") {
				t.Fatalf("coverage problem %q, want one naming %s and the signature's own file", c.Problem, tc.planted)
			}
		})
	}
}
