package ofd

import (
	"strings"
	"testing"
	"time"
)

// Signature.xml is written byte for byte as it always was: escaped attributes and text,
// base64 digests, boundaries to a thousandth without "-0", the Clip, the seal.
func TestSignatureXMLBytesExact(t *testing.T) {
	got := signatureXMLBytes(Provider{Name: `e<s>"a'l&`, Version: "1\t2", Company: "公司\n"}, time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
		[]xmlRef{{"/Doc_0/Document.xml", []byte{1, 2, 3, 250, 251, 252}}, {"/Doc_0/图 &.png", []byte{0xff}}},
		[]annot{{pageID: "1", box: [4]float64{-0.0001, 12.3456, 40, 40}}, {pageID: `p"2`, box: [4]float64{1e-9, 2.5, 3, 4}, clip: "0 0 10 40"}},
		"Doc_0/Signs/Sign_0/Seal.esl", "Doc_0/Signs/Sign_0/SignedValue.dat")
	want := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Signature xmlns:ofd=\"http://www.ofdspec.org/2016\"><ofd:SignedInfo><ofd:Provider ProviderName=\"e&lt;s&gt;&quot;a&apos;l&amp;\" Version=\"1&#9;2\" Company=\"公司&#10;\"/><ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod><ofd:SignatureDateTime>2026-03-01T08:00:00Z</ofd:SignatureDateTime><ofd:References CheckMethod=\"1.2.156.10197.1.401\"><ofd:Reference FileRef=\"/Doc_0/Document.xml\"><ofd:CheckValue>AQID+vv8</ofd:CheckValue></ofd:Reference><ofd:Reference FileRef=\"/Doc_0/图 &amp;.png\"><ofd:CheckValue>/w==</ofd:CheckValue></ofd:Reference></ofd:References><ofd:StampAnnot ID=\"1\" PageRef=\"1\" Boundary=\"0 12.346 40 40\"/><ofd:StampAnnot ID=\"2\" PageRef=\"p&quot;2\" Boundary=\"0 2.5 3 4\" Clip=\"0 0 10 40\"/><ofd:Seal><ofd:BaseLoc>/Doc_0/Signs/Sign_0/Seal.esl</ofd:BaseLoc></ofd:Seal></ofd:SignedInfo><ofd:SignedValue>/Doc_0/Signs/Sign_0/SignedValue.dat</ofd:SignedValue></ofd:Signature>"
	if string(got) != want {
		t.Errorf("Signature.xml:\n got %q\nwant %q", got, want)
	}
	var b strings.Builder
	escapeTo(&b, "plain/path.xml")
	escapeTo(&b, "\r<&>")
	escapeTo(&b, "图\xff")
	if b.String() != "plain/path.xml&#13;&lt;&amp;&gt;图\uFFFD" {
		t.Errorf("escapeTo: %q", b.String())
	}
}
