package ofd

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// compareFastReaders compares, for each fast reader that takes b, its result with that
// of the encoding/xml reading it stands for; it counts in taken (when not nil) the
// readers that took b.
func compareFastReaders(t *testing.T, b []byte, taken map[string]int) {
	t.Helper()
	check := func(what, got, want string) {
		t.Helper()
		if taken != nil {
			taken[strings.Fields(what)[0]+" "+strings.Fields(what)[len(strings.Fields(what))-1]]++
		}
		if got != want {
			t.Errorf("%s of %q:\n fast %s\n slow %s", what, b, got, want)
		}
	}
	if x, err := scanOFDXML(b); err == nil {
		check("OFD.xml", describeOFDXML(x, nil), describeOFDXML(refParseOFDXML(b)))
	}
	if x, err := scanDocument(b); err == nil {
		y, err := decodeDocument(b, "Doc_0/Document.xml")
		check("Document.xml", fmt.Sprintf("%#v <nil>", x), fmt.Sprintf("%#v %v", y, err))
	}
	for _, root := range []string{"Page", "Document"} {
		box, ok, err := scanPhysicalBox(b, "f.xml", root)
		if err != errFallback {
			box2, ok2, err2 := decodePhysicalBox(b, "f.xml", root)
			check("the PhysicalBox of a "+root, fmt.Sprint(box, ok, err), fmt.Sprint(box2, ok2, err2))
		}
	}
	if x, err := scanOFDXML(b); err == nil {
		for doc, e := range x.edits {
			got := insertInto(b, e.name, e.startEnd, e.endStart, signaturesRef(e.name, "/s.xml"))
			want, err := decodeAddSignaturesRef(b, doc, "/s.xml")
			check(fmt.Sprint("the edit OFD.xml's reading found for DocBody ", doc), fmt.Sprintf("%q <nil>", got), fmt.Sprintf("%q %v", want, err))
		}
	}
	for doc := range 2 {
		if _, _, _, err := scanDocBody(b, doc); err == nil {
			got, err := addSignaturesRef(b, doc, "/Doc_0/Signs/Signatures.xml")
			want, err2 := decodeAddSignaturesRef(b, doc, "/Doc_0/Signs/Signatures.xml")
			check(fmt.Sprint("adding the Signatures of DocBody ", doc), fmt.Sprintf("%q %v", got, err), fmt.Sprintf("%q %v", want, err2))
		}
	}
	if _, err := scanSignatureListLayout(b); err == nil {
		got, err := addSignatureEntry(b, "Signatures.xml", "/Doc_0/Signs/Sign_9/Signature.xml")
		want, err2 := decodeAddSignatureEntry(b, "Signatures.xml", "/Doc_0/Signs/Sign_9/Signature.xml")
		check("adding an entry to Signatures.xml", fmt.Sprintf("%q %v", got, err), fmt.Sprintf("%q %v", want, err2))
	}
	if x, order, err := scanSignatureXML(b); err == nil {
		check("Signature.xml", fmt.Sprintf("%#v %q", x, order), slowSignatureXML(b))
	}
	if e, err := scanSignatureList(b, 10); err == nil {
		p := &Package{lim: Limits{}.withDefaults()}
		e2, err2 := p.decodeSignatureList(b, "Signatures.xml", 10)
		check("Signatures.xml", fmt.Sprintf("%#v <nil>", e), fmt.Sprintf("%#v %v", e2, err2))
	}
}

// slowSignatureXML is readSignature's reading of Signature.xml with encoding/xml.
func slowSignatureXML(b []byte) string {
	d := newDecoder(b)
	if _, err := rootElement(d, "Signature.xml", "Signature"); err != nil {
		return err.Error()
	}
	x := &xmlSignature{}
	order, err := decodeSignatureXML(d, x)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%#v %q", x, order)
}

var fastReaderSeeds = []string{
	"\xef\xbb\xbf<p:Signatures xmlns:p=\"u\"><p:MaxSignId> 7 </p:MaxSignId><p:Signature ID=\"9\"/><p:Signature ID=\"x\"/></p:Signatures>",
	`<Signatures><MaxSignId/><MaxSignId>12</MaxSignId><Signature ID="2"/></Signatures>`,
	`<Signatures><MaxSignId>1<x>2</x></MaxSignId></Signatures>`,
	`<Signatures><MaxSignId>2000000000</MaxSignId></Signatures>`,
	`<Signatures/>`,
	`<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="u"><ofd:MaxSignId>2</ofd:MaxSignId><ofd:Signature ID="1" Type="Seal" BaseLoc="/Doc_0/Signs/Sign_0/Signature.xml"/><ofd:Signature ID="2" BaseLoc="Sign_1/Signature.xml" Relative="1"/></ofd:Signatures>`,
	`<Signatures><Signature ID="1" ID="3" p:Type="Sign" xmlns:p="v"><BaseLoc>d</BaseLoc><BaseLoc>a<x>b</x>c</BaseLoc><Type/><ID>2</ID><Relative>r</Relative><Other/></Signature><X><Signature ID="9"/></X><Signature/><Signature/><Signature/></Signatures>`,
	`<Signature><SignedInfo><Provider ProviderName="a" Version="1" Company="c"><ProviderName>b</ProviderName><Version/><Company>d<x>y</x>e</Company></Provider><Provider Version="2"/><SignatureMethod>1.2.156.10197.1.501</SignatureMethod><SignatureDateTime>20200101</SignatureDateTime>` +
		`<References CheckMethod="SM3"><Reference FileRef="/a"><CheckValue>AA==</CheckValue><FileRef>/b</FileRef></Reference><Reference><X/></Reference></References><References/>` +
		`<StampAnnot ID="1" PageRef="2" Boundary="0 0 1 1" Clip="c"><ID>9</ID></StampAnnot><Seal><BaseLoc>/s.esl</BaseLoc><BaseLoc>/t.esl</BaseLoc></Seal><SignedValue>/v</SignedValue></SignedInfo>` +
		`<SignedInfo><References CheckMethod="x"><Reference FileRef="/c"/></References><SignatureMethod/></SignedInfo><SignedValue>/v.dat</SignedValue></Signature>`,
	`<Page><Area><PhysicalBox>0 0 210 297</PhysicalBox></Area><Content/></Page>`,
	`<ofd:Page xmlns:ofd="u"><ofd:Area><ofd:PhysicalBox> 0 0 &#49;00 <!-- c -->200</ofd:PhysicalBox></ofd:Area></ofd:Page>`,
	`<Page><Area><PhysicalBox>0 0 -1 2</PhysicalBox></Area></Page>`,
	`<Page><Content><Area><PhysicalBox>0 0 1 2</PhysicalBox></Area></Content></Page>`,
	`<Page><Area><X><PhysicalBox>0 0 1 2</PhysicalBox></X></Area></Page>`,
	`<Document><CommonData><PageArea><PhysicalBox>0 0 210 297</PhysicalBox></PageArea></CommonData><Pages><Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></Pages></Document>`,
	`<ofd:Document xmlns:ofd="u" xmlns:q="v"><ofd:Pages><ofd:Page ID="1" q:BaseLoc="a" BaseLoc="b" xmlns:BaseLoc="c" ID="2"><ofd:Page ID="9"/></ofd:Page><x><ofd:Page ID="8"/></x></ofd:Pages><Pages/><Pages><Page xmlns:ID="z"/></Pages></ofd:Document>trailing<`,
	`<Document><Pages><Page ID="1"></Pages></Document>`,
	`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody><ofd:DocBody/></ofd:OFD>`,
	"\xef\xbb\xbf<OFD><DocBody>\r\n<DocRoot>a</DocRoot></DocBody><p:DocBody xmlns:p=\"u\"></p:DocBody></OFD>",
}

func TestFastReadersMatchDecoder(t *testing.T) {
	for _, s := range slices.Concat(fastReaderSeeds, ofdXMLSeeds, signatureXMLSeeds) {
		compareFastReaders(t, []byte(s), nil)
	}
	taken := map[string]int{}
	forVectorFiles(t, func(name string, b []byte) {
		if strings.HasSuffix(name, ".xml") {
			compareFastReaders(t, b, taken)
		}
	})
	for _, k := range []string{"OFD.xml OFD.xml", "Document.xml Document.xml", "the Page", "the Document", "adding 0", "Signature.xml Signature.xml", "Signatures.xml Signatures.xml", "adding Signatures.xml", "the 0"} {
		if taken[k] == 0 {
			t.Errorf("no file of the vectors is read by the fast reader of %s (%v)", k, taken)
		}
	}
}

// FuzzFastReaders: a fast reader that takes a file reads it as encoding/xml does.
func FuzzFastReaders(f *testing.F) {
	for _, s := range slices.Concat(fastReaderSeeds, ofdXMLSeeds, signatureXMLSeeds) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if xmlDepth(b, 256) > 256 || bytes.Count(b, []byte("<")) > 1000 {
			return
		}
		compareFastReaders(t, b, nil)
	})
}
