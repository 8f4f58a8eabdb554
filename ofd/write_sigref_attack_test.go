package ofd_test

import (
	"bytes"
	"testing"

	"github.com/eseal/eseal/ofd"
)

// TestSignAttackUnusableSignaturesElement: OFD.xml's DocBody already holds a <Signatures>
// element naming no usable list (blank, or a path above the root). The signer took the
// document for unsigned and added a second <Signatures> element after it, so that readers
// taking the first such element (dom4j's element("Signatures"), ofdrw) find no list, or a
// broken one, and never see the new signature. Such a package is now refused.
func TestSignAttackUnusableSignaturesElement(t *testing.T) {
	p := testPKI(t)
	for _, ref := range []string{" ", "../../Signatures.xml"} {
		files := licence()
		files["OFD.xml"] = bytes.Replace(files["OFD.xml"], []byte("</ofd:DocRoot>"), []byte("</ofd:DocRoot><ofd:Signatures>"+ref+"</ofd:Signatures>"), 1)
		out, _, err := p.sign(t, rezip(t, files), 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 100, Y: 100}})
		if err == nil {
			t.Fatalf("Signatures %q: signed, OFD.xml now reads\n%s", ref, entries(t, out)["OFD.xml"])
		}
		wantErr(t, err, ofd.ErrFormat, "Signatures")
	}
}
