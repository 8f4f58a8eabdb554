package ofd

import (
	"strings"
	"testing"
)

// A DocBody or DocRoot nested deeper in OFD.xml than the standard places it: a reader that
// searches the whole tree for them (getElementsByTagName) shows its document, which no
// signature covers, so coverage cannot say what is displayed.
func TestCoverageNestedDocBody(t *testing.T) {
	for _, tc := range []struct {
		name, insert, at string
	}{
		{"a DocBody inside another element, first", `<ofd:Extension><ofd:DocBody><ofd:DocRoot>Doc_1/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:Extension>`, "<ofd:DocBody>"},
		{"a DocRoot inside DocInfo", `<ofd:DocRoot>Doc_1/Document.xml</ofd:DocRoot>`, "<ofd:DocID>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := basePackage()
			m["Doc_0/Document.xml"] = docWithPages("Pages/Page_0/Content.xml")
			m["Doc_1/Document.xml"] = docWithPages("Pages/Page_0/Content.xml")
			m["Doc_1/Pages/Page_0/Content.xml"] = []byte(strings.Replace(testPage, "</ofd:Page>", "<!-- the attacker's page --></ofd:Page>", 1))
			m["OFD.xml"] = []byte(strings.Replace(string(m["OFD.xml"]), tc.at, tc.insert+tc.at, 1))
			m["Doc_0/Signs/Sign_0/Signature.xml"] = signatureXML(m, "SM3", "", "SignedValue.dat", "/Doc_0/Document.xml", "/Doc_0/Pages/Page_0/Content.xml")
			p, err := Open(zipMap(t, m), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			sigs, err := p.Signatures()
			if err != nil {
				t.Fatal(err)
			}
			if c := p.Coverage(sigByID(t, sigs, "1")); c.OK() || !strings.Contains(c.Problem, "OFD.xml") {
				t.Fatalf("coverage with a nested document: problem %q", c.Problem)
			}
		})
	}
}
