package appliance

import (
	"bytes"
	"net/http"
	"path"
	"testing"

	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/registry"
)

// sameButSigning fails the test unless every file of in is in out with the same bytes (but
// OFD.xml and the lists of signatures, which signing rewrites), and every file out adds is a
// list of signatures or a new signature's Signature.xml, SignedValue.dat or Seal.esl.
func sameButSigning(t *testing.T, in, out []byte) {
	t.Helper()
	a, err := ofd.Open(in, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ofd.Open(out, ofd.Limits{})
	if err != nil {
		t.Fatalf("the signed package: %v", err)
	}
	for _, n := range a.Files() {
		if n == "OFD.xml" || path.Base(n) == "Signatures.xml" {
			continue
		}
		x, err := a.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		y, err := b.ReadFile(n)
		if err != nil || !bytes.Equal(x, y) {
			t.Fatalf("the input's %s is not in the signed package with its bytes (%v)", n, err)
		}
	}
	for _, n := range b.Files() {
		if a.Has(n) {
			continue
		}
		switch path.Base(n) {
		case "Signatures.xml", "Signature.xml", "SignedValue.dat", "Seal.esl":
		default:
			t.Fatalf("the signed package adds %s", n)
		}
	}
}

// TestSignOFDAttackFoldedNames sends documents holding stray files whose names fold (in
// case) onto the files a new signature adds: the appliance either refuses the document, or
// answers a package that verifies TOTAL_PASSED and holds the input's files byte for byte;
// so does a document signed already, signed again with force.
func TestSignOFDAttackFoldedNames(t *testing.T) {
	e := startE2E(t, testConfig(t))
	personal := e.makeSeal(regApplication(registry.Personal, ""))
	signerKey := e.key("licence-system", registry.RoleSigner)
	doc := testvectors.Read(t, ofdHelloWorld)
	same := func(_ string, b []byte) []byte { return b }
	for _, c := range []struct {
		name  string
		extra map[string][]byte
	}{
		{"a lower-case signature folder", map[string][]byte{"Doc_0/Signs/sign_0/Signature.xml": []byte("<x/>")}},
		{"an upper-case signed value", map[string][]byte{"DOC_0/SIGNS/SIGN_0/SIGNEDVALUE.DAT": []byte("x")}},
		{"a lower-case list", map[string][]byte{"doc_0/signatures.xml": []byte("<x/>")}},
		{"a stray list", map[string][]byte{"Doc_0/Signatures.xml": []byte("<x/>")}},
		{"a stray signature folder", map[string][]byte{"Doc_0/Signs/Sign_0/Signature.xml": []byte("<x/>")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := rezip(t, doc, same, c.extra)
			a := e.signOFD(signerKey, ofdPlace(personal, 1, 150, 200), regPIN, regIDHolder, in)
			if a.status != http.StatusOK {
				if a.status >= 500 {
					t.Fatalf("%d %s", a.status, a.body)
				}
				t.Logf("refused: %d %.200s", a.status, a.body)
				return
			}
			e.checkSignedOFD(t, a.body, 1)
			sameButSigning(t, in, a.body)
		})
	}
	// A document signed already (by a seal the server does not trust, so force): the earlier
	// signature's files, and every other file, come back byte for byte.
	earlier := testvectors.Read(t, ofdSigned)
	q := ofdPlace(personal, 1, 20, 20)
	q.Set("force", "true")
	a := e.signOFD(signerKey, q, regPIN, regIDHolder, earlier)
	out := signedOFD(t, "a document signed already", a)
	sameButSigning(t, earlier, out)
	p, err := ofd.Open(out, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := p.Signatures()
	if err != nil || len(sigs) != 2 {
		t.Fatalf("%d signatures (%v), want the earlier one and the new one", len(sigs), err)
	}
}
