package ofd

import (
	"strings"
	"testing"
)

// A BaseLoc that names both a file and a folder holding Content.xml: a reader that takes the
// folder shows its Content.xml, so the signature must cover that too, not only the file.
func TestCoverageBaseLocFileAndFolder(t *testing.T) {
	m := basePackage()
	m["Doc_0/Document.xml"] = docWithPages("Pages/Page_0")
	m["Doc_0/Pages/Page_0"] = []byte(testPage) // signed, shown by a reader that takes the file
	m["Doc_0/Pages/Page_0/Content.xml"] = []byte(strings.Replace(testPage, "</ofd:Page>", "<!-- the attacker's page --></ofd:Page>", 1))
	m["Doc_0/Signs/Sign_0/Signature.xml"] = signatureXML(m, "SM3", "", "SignedValue.dat", "/Doc_0/Document.xml", "/Doc_0/Pages/Page_0")
	m["Doc_0/Signs/Sign_1/Signature.xml"] = signatureXML(m, "SM3", "", "SignedValue.dat", "/Doc_0/Document.xml", "/Doc_0/Pages/Page_0", "/Doc_0/Pages/Page_0/Content.xml")
	p, err := Open(zipMap(t, m), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := p.Signatures()
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Coverage(sigByID(t, sigs, "1")); c.OK() || !strings.Contains(c.Problem, "Doc_0/Pages/Page_0/Content.xml") {
		t.Fatalf("the folder's unsigned Content.xml: problem %q, required %v", c.Problem, c.Required)
	}
	if c := p.Coverage(sigByID(t, sigs, "2")); !c.OK() {
		t.Fatalf("both covered: %s", c.Problem)
	}
}
