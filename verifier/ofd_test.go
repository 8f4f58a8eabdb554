package verifier

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ofd"
)

// ofdSig describes one signature of a package built for a test.
type ofdSig struct {
	typ         string
	signedValue func(signatureXML []byte) []byte // nil: SignedValue.dat is left out
}

// buildOFD writes an OFD package with a page and the given signatures, each protecting the
// page, Document.xml and OFD.xml, with SignedValue.dat made from the final Signature.xml.
func buildOFD(t testing.TB, sigs []ofdSig) []byte {
	t.Helper()
	files := map[string][]byte{
		"OFD.xml": []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody>` +
			`<ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>`),
		"Doc_0/Document.xml":               []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>`),
		"Doc_0/Pages/Page_0/Content.xml":   []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"/>`),
		"Doc_0/Signs/Signatures.xml":       nil,
		"Doc_0/Pages/Page_0/Res/image.png": bytes.Repeat([]byte{7}, 300),
	}
	var list strings.Builder
	list.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016">`)
	for i, s := range sigs {
		dir := fmt.Sprintf("Doc_0/Signs/Sign_%d/", i)
		fmt.Fprintf(&list, `<ofd:Signature ID="%d" Type="%s" BaseLoc="Sign_%d/Signature.xml"/>`, i+1, s.typ, i)
		var refs strings.Builder
		for _, f := range []string{"Doc_0/Document.xml", "Doc_0/Pages/Page_0/Content.xml", "OFD.xml"} {
			sum := sm3.Sum(files[f])
			fmt.Fprintf(&refs, `<ofd:Reference FileRef="/%s"><ofd:CheckValue>%s</ofd:CheckValue></ofd:Reference>`, f, base64.StdEncoding.EncodeToString(sum[:]))
		}
		xml := []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"><ofd:SignedInfo>` +
			`<ofd:Provider ProviderName="eseal" Version="1" Company="eseal"/><ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>` +
			`<ofd:References CheckMethod="1.2.156.10197.1.401">` + refs.String() + `</ofd:References>` +
			`<ofd:StampAnnot ID="1" PageRef="1" Boundary="10 10 40 40"/></ofd:SignedInfo>` +
			`<ofd:SignedValue>/` + dir + `SignedValue.dat</ofd:SignedValue></ofd:Signature>`)
		files[dir+"Signature.xml"] = xml
		if s.signedValue != nil {
			files[dir+"SignedValue.dat"] = s.signedValue(xml)
		}
	}
	list.WriteString(`</ofd:Signatures>`)
	files["Doc_0/Signs/Signatures.xml"] = []byte(list.String())
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOFDEndToEnd(t *testing.T) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, start.AddDate(2, 0, 0))
	at := start.AddDate(0, 3, 0)
	sesSig := func(xml []byte) []byte { return p.sign(t, seal, xml, at) }
	// Signed at the same time as the seal signatures (a SignedData from a library is signed
	// now, which is in the future of this test's clock: see TestSignedDataFromLibrary).
	signedData := func(xml []byte) []byte {
		return makeSignedData(t, nil, false, []*smx509.Certificate{p.signer}, []sdSigner{{cert: p.signer, key: p.signerKey,
			attrs: [][]byte{typeAttr(t), digestAttr(t, xml), timeAttr(t, at)}}})
	}
	pkg := buildOFD(t, []ofdSig{
		{"Seal", sesSig},
		{"Seal", nil},        // SignedValue.dat missing: fails alone
		{"Sign", signedData}, // GB/T 35275 SignedData
		{"Seal", func([]byte) []byte { return []byte("garbage") }},
		{"Seal", func(xml []byte) []byte { return sesSig(append(xml, ' ')) }}, // signed other data
	})
	v := New(Options{Roots: []*smx509.Certificate{p.root}, Makers: []*smx509.Certificate{p.maker},
		CRLs: []*smx509.RevocationList{p.emptyCRL(at)}, Now: func() time.Time { return at }})
	r, err := v.VerifyOFD(pkg, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ ind, sub, check, status string }{
		{TotalPassed, "", CheckReferences, Passed},
		{TotalFailed, FormatFailure, CheckFormat, Failed},
		{TotalPassed, "", CheckSignatureValue, Passed},
		{TotalFailed, FormatFailure, CheckFormat, Failed},
		{TotalFailed, HashFailure, CheckDataHash, Failed},
	}
	if len(r.Signatures) != len(want) || r.Indication != TotalFailed {
		t.Fatalf("%s with %d signatures", r.Indication, len(r.Signatures))
	}
	for i, w := range want {
		s := r.Signatures[i]
		if s.Indication != w.ind || s.SubIndication != w.sub || status(s.Checks, w.check) != w.status {
			t.Errorf("signature %d: %s / %s, %s %s: %v", i+1, s.Indication, s.SubIndication, w.check, status(s.Checks, w.check), s.Checks)
		}
		if len(s.Checks) != len(ofdSignatureChecks) {
			t.Errorf("signature %d has %d checks", i+1, len(s.Checks))
		}
	}
	if d := detail(r.Signatures[1].Checks, CheckFormat); !strings.Contains(d, "SignedValue.dat") {
		t.Errorf("missing part not named: %q", d)
	}

}

// VerifyOFDSignatureAt answers for one signature exactly what VerifyOFD reports of it, and
// nothing for a location the package does not list.
func TestVerifyOFDSignatureAt(t *testing.T) {
	readFile := func(t *testing.T, name string) []byte {
		t.Helper()
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pemBlock := func(t *testing.T, name string) []byte {
		t.Helper()
		b, _ := pem.Decode(readFile(t, name))
		if b == nil {
			t.Fatalf("%s: no PEM block", name)
		}
		return b.Bytes
	}
	root, err := smx509.ParseCertificate(pemBlock(t, "../testdata/ofd/root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	maker, err := smx509.ParseCertificate(pemBlock(t, "../testdata/ofd/maker.pem"))
	if err != nil {
		t.Fatal(err)
	}
	crl := readFile(t, "../testdata/ofd/crl.der")
	list, err := smx509.ParseRevocationList(crl)
	if err != nil {
		t.Fatal(err)
	}
	v := New(Options{Roots: []*smx509.Certificate{root}, Makers: []*smx509.Certificate{maker}, CRLs: []*smx509.RevocationList{list}})
	data := readFile(t, "../testdata/ofd/licence-signed.ofd")
	all, err := v.VerifyOFD(data, ofd.Limits{})
	if err != nil || len(all.Signatures) != 2 {
		t.Fatalf("%v, %+v", err, all)
	}
	pkg, err := ofd.Open(data, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range all.Signatures {
		got, found, err := v.VerifyOFDSignatureAt(pkg, want.Location)
		if err != nil || !found || got.Indication != TotalPassed || got.Indication != want.Indication || len(got.Checks) != len(want.Checks) {
			t.Fatalf("%s: %v %v %s (VerifyOFD: %s)", want.Location, err, found, got.Indication, want.Indication)
		}
	}
	if _, found, err := v.VerifyOFDSignatureAt(pkg, "Doc_0/Signs/Sign_9/Signature.xml"); found || err != nil {
		t.Fatalf("an absent location: %v %v", found, err)
	}
}
