package ofd

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

// zipFile is one entry for makeZip.
type zipFile struct {
	Name string
	Data []byte
}

// makeZip writes the entries, deflated, in the given order.
func makeZip(tb testing.TB, files []zipFile) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := fw.Write(f.Data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// zipMap writes a map of entries sorted by name.
func zipMap(tb testing.TB, m map[string][]byte) []byte {
	tb.Helper()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	files := make([]zipFile, 0, len(names))
	for _, n := range names {
		files = append(files, zipFile{n, m[n]})
	}
	return makeZip(tb, files)
}

func b64sm3(b []byte) string {
	s := sm3.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

const (
	nsOFD     = `xmlns:ofd="http://www.ofdspec.org/2016"`
	testDoc   = `<?xml version="1.0" encoding="UTF-8"?><ofd:Document ` + nsOFD + `><ofd:CommonData/></ofd:Document>`
	testPage  = `<?xml version="1.0" encoding="UTF-8"?><ofd:Page ` + nsOFD + `><ofd:Content/></ofd:Page>`
	testOFD   = `<?xml version="1.0" encoding="UTF-8"?><ofd:OFD ` + nsOFD + ` Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>%s</ofd:Signatures></ofd:DocBody></ofd:OFD>`
	testSeal  = "seal bytes"
	testValue = "signed value bytes"
)

// signatureXML builds a Signature.xml protecting the given files.
func signatureXML(m map[string][]byte, method string, sealLoc, valueLoc string, refs ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signature ` + nsOFD + `><ofd:SignedInfo>`)
	b.WriteString(`<ofd:Provider ProviderName="test" Version="1.0" Company="eseal"/>`)
	b.WriteString(`<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod><ofd:SignatureDateTime>20240101000000Z</ofd:SignatureDateTime>`)
	fmt.Fprintf(&b, `<ofd:References CheckMethod="%s">`, method)
	for _, r := range refs {
		fmt.Fprintf(&b, `<ofd:Reference FileRef="%s"><ofd:CheckValue>%s</ofd:CheckValue></ofd:Reference>`, r, b64sm3(m[strings.TrimPrefix(r, "/")]))
	}
	b.WriteString(`</ofd:References><ofd:StampAnnot ID="1" PageRef="1" Boundary="10 20 40 40"/>`)
	if sealLoc != "" {
		fmt.Fprintf(&b, `<ofd:Seal><ofd:BaseLoc>%s</ofd:BaseLoc></ofd:Seal>`, sealLoc)
	}
	b.WriteString(`</ofd:SignedInfo>`)
	if valueLoc != "" {
		fmt.Fprintf(&b, `<ofd:SignedValue>%s</ofd:SignedValue>`, valueLoc)
	}
	b.WriteString(`</ofd:Signature>`)
	return []byte(b.String())
}

// signaturesXML builds a Signatures.xml from (ID, BaseLoc) pairs.
func signaturesXML(idLoc ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures ` + nsOFD + `><ofd:MaxSignId>9</ofd:MaxSignId>`)
	for i := 0; i+1 < len(idLoc); i += 2 {
		fmt.Fprintf(&b, `<ofd:Signature ID="%s" Type="Seal" BaseLoc="%s"/>`, idLoc[i], idLoc[i+1])
	}
	b.WriteString(`</ofd:Signatures>`)
	return []byte(b.String())
}

// basePackage returns the files of a valid package with two signatures:
// "1" (absolute paths) and "2" (relative paths).
func basePackage() map[string][]byte {
	m := map[string][]byte{
		"OFD.xml":                            []byte(fmt.Sprintf(testOFD, "/Doc_0/Signs/Signatures.xml")),
		"Doc_0/Document.xml":                 []byte(testDoc),
		"Doc_0/Pages/Page_0/Content.xml":     []byte(testPage),
		"Doc_0/Signs/Sign_0/Seal.esl":        []byte(testSeal),
		"Doc_0/Signs/Sign_0/SignedValue.dat": []byte(testValue),
		"Doc_0/Signs/Sign_1/SignedValue.dat": []byte(testValue + "1"),
	}
	m["Doc_0/Signs/Sign_0/Signature.xml"] = signatureXML(m, "SM3", "/Doc_0/Signs/Sign_0/Seal.esl", "/Doc_0/Signs/Sign_0/SignedValue.dat",
		"/OFD.xml", "/Doc_0/Document.xml", "/Doc_0/Pages/Page_0/Content.xml", "/Doc_0/Signs/Sign_0/Seal.esl")
	m["Doc_0/Signs/Sign_1/Signature.xml"] = signatureXML(m, OIDSM3, "../Sign_0/Seal.esl", "SignedValue.dat",
		"/OFD.xml", "Doc_0/Document.xml", "/Doc_0/Signs/Sign_0/Signature.xml")
	m["Doc_0/Signs/Signatures.xml"] = signaturesXML("1", "/Doc_0/Signs/Sign_0/Signature.xml", "2", "Sign_1/Signature.xml")
	return m
}
