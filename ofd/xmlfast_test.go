package ofd

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// compareFastReaders compares, for each fast reader that takes b, its result with that
// of the encoding/xml reading it stands for; it returns how many took b.
func compareFastReaders(t *testing.T, b []byte) int {
	t.Helper()
	taken := 0
	check := func(what, got, want string) {
		t.Helper()
		taken++
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
	for doc := range 2 {
		if _, _, _, err := scanDocBody(b, doc); err == nil {
			got, err := addSignaturesRef(b, doc, "/Doc_0/Signs/Signatures.xml")
			want, err2 := decodeAddSignaturesRef(b, doc, "/Doc_0/Signs/Signatures.xml")
			check(fmt.Sprint("adding the Signatures of DocBody ", doc), fmt.Sprintf("%q %v", got, err), fmt.Sprintf("%q %v", want, err2))
		}
	}
	return taken
}

var fastReaderSeeds = []string{
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
	taken := 0
	for _, s := range append(fastReaderSeeds, ofdXMLSeeds...) {
		taken += compareFastReaders(t, []byte(s))
	}
	if taken < 12 {
		t.Errorf("the fast readers take only %d of the seeds", taken)
	}
	n := 0
	forVectorFiles(t, func(name string, b []byte) {
		if strings.HasSuffix(name, ".xml") {
			n += compareFastReaders(t, b)
		}
	})
	if n < 20 {
		t.Errorf("the fast readers take only %d of the vectors' files", n)
	}
}

// FuzzFastReaders: a fast reader that takes a file reads it as encoding/xml does.
func FuzzFastReaders(f *testing.F) {
	for _, s := range append(fastReaderSeeds, ofdXMLSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if xmlDepth(b, 256) > 256 || bytes.Count(b, []byte("<")) > 1000 {
			return
		}
		compareFastReaders(t, b)
	})
}
