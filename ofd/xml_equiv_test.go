package ofd

import (
	"encoding/xml"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The one-pass readings of OFD.xml and Signature.xml must give what encoding/xml's
// DecodeElement (and the separate passes they replace) give. The references below are
// those passes, kept here to compare against.

// refOFDBodies is OFD.xml as DecodeElement reads it.
type refOFDBodies struct {
	DocBody []struct {
		XMLName    xml.Name
		DocRoot    []string `xml:"DocRoot"`
		Signatures []string `xml:"Signatures"`
	} `xml:"DocBody"`
}

// refStray is the separate pass over the whole file that parseOFDXML folds in.
func refStray(b []byte) string {
	d := newDecoder(b)
	var path []string
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			nested := len(path) >= 3 && path[1] == "DocBody" && (path[2] == "DocRoot" || path[2] == "Signatures")
			if m := strayMessage(path, t.Name.Local, nested); m != "" {
				return m
			}
			path = append(path, t.Name.Local)
		case xml.EndElement:
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		}
	}
}

// refParseOFDXML reads OFD.xml with DecodeElement and refStray.
func refParseOFDXML(b []byte) (*ofdXML, error) {
	d := newDecoder(b)
	root, err := rootElement(d, "OFD.xml", "OFD")
	if err != nil {
		return nil, err
	}
	var x refOFDBodies
	if err := d.DecodeElement(&x, &root); err != nil {
		return nil, xmlErr("OFD.xml", err)
	}
	out := &ofdXML{root: root, stray: refStray(b)}
	for _, body := range x.DocBody {
		out.bodies = append(out.bodies, ofdBody{name: body.XMLName, docRoots: body.DocRoot, signatures: body.Signatures})
	}
	return out, nil
}

// refChildOrder is the separate pass that decodeSignatureXML folds in.
func refChildOrder(b []byte, max int) []string {
	d := newDecoder(b)
	var out []string
	depth := 0
	for len(out) < max {
		tok, err := d.Token()
		if err != nil {
			return out
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 1 {
				out = append(out, t.Name.Local)
			}
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				return out
			}
		}
	}
	return out
}

func describeOFDXML(x *ofdXML, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("root %v stray %q bodies %#v", x.root.Name, x.stray, x.bodies)
}

func checkOFDXMLEquivalent(t *testing.T, b []byte) {
	t.Helper()
	got, want := describeOFDXML(parseOFDXML(b)), describeOFDXML(refParseOFDXML(b))
	if got != want {
		t.Errorf("OFD.xml %q:\n got %s\nwant %s", b, got, want)
	}
}

func describeSignatureXML(b []byte, one bool) string {
	d := newDecoder(b)
	root, err := rootElement(d, "Signature.xml", "Signature")
	if err != nil {
		return "root: " + err.Error()
	}
	var x xmlSignature
	var order []string
	if one {
		order, err = decodeSignatureXML(d, &x)
	} else if err = d.DecodeElement(&x, &root); err == nil {
		order = refChildOrder(b, 8)
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%#v %q", x, order)
}

func checkSignatureXMLEquivalent(t *testing.T, b []byte) {
	t.Helper()
	if got, want := describeSignatureXML(b, true), describeSignatureXML(b, false); got != want {
		t.Errorf("Signature.xml %q:\n got %s\nwant %s", b, got, want)
	}
}

var ofdXMLSeeds = []string{
	`<OFD><DocBody><DocRoot>Doc_0/Document.xml</DocRoot></DocBody></OFD>`,
	`<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0"><ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot> Doc_0/Document.xml </ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>`,
	`<OFD><DocBody><DocRoot>a<x>q</x>b<![CDATA[c]]>&amp;<!-- no --></DocRoot><DocRoot>c</DocRoot><Signatures>s</Signatures><Signatures/></DocBody><DocBody/></OFD>`,
	`<OFD xmlns="u"><DocBody xmlns="v"><DocRoot>a</DocRoot></DocBody><x:DocBody xmlns:x="u"><DocRoot>b</DocRoot></x:DocBody></OFD>`,
	`<OFD><DocBody><DocRoot>a</DocRoot><Extra><DocRoot>b</DocRoot></Extra></DocBody></OFD>`,
	`<OFD><Wrap><DocBody><DocRoot>b</DocRoot></DocBody></Wrap><DocBody><DocRoot>a</DocRoot></DocBody></OFD>`,
	`<OFD><DocBody><DocRoot>a</DocRoot><DocRoot><DocRoot>b</DocRoot></DocRoot></DocBody></OFD>`,
	`<OFD><DocBody><DocRoot>a</DocRoot></DocBody></OFD><DocBody><DocRoot>b</DocRoot></DocBody>`,
	`<OFD><DocBody><DocRoot>a</DocRoot></DocBody></OFD><x></y><DocBody/>`,
	`<OFD><DocBody><DocRoot>a</DocRoot></DocBody>`,
	`<OFD><DocBody><DocRoot>a</Docroot></DocBody></OFD>`,
	`<Other><DocBody/></Other>`,
	``,
	"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"GBK\"?><OFD><DocBody><DocRoot>\xd6\xd0.xml</DocRoot></DocBody></OFD>",
}

var signatureXMLSeeds = []string{
	`<Signature><SignedInfo><Provider ProviderName="p"/><References CheckMethod="SM3"><Reference FileRef="/a"><CheckValue>AA==</CheckValue></Reference></References><StampAnnot ID="1" PageRef="1" Boundary="0 0 1 1"/></SignedInfo><SignedValue>/v.dat</SignedValue></Signature>`,
	`<Signature><SignedValue>/v.dat</SignedValue><SignedInfo><References><Reference FileRef="/a"/></References></SignedInfo><SignedInfo><References><Reference FileRef="/b"/></References></SignedInfo><SignedValue>/w.dat</SignedValue></Signature>`,
	`<Signature><a/><b/><c/><d/><e/><f/><g/><h/><SignedValue>x</SignedValue><SignedInfo/></Signature>`,
	`<Signature><SignedInfo><x></y></SignedInfo></Signature>`,
	`<Signature>text<SignedValue>a<b>c</b>d</SignedValue><!-- c --><?pi x?></Signature>trailing`,
	`<Signature><SignedInfo>`,
}

func TestParseOFDXMLMatchesDecodeElement(t *testing.T) {
	for _, s := range ofdXMLSeeds {
		checkOFDXMLEquivalent(t, []byte(s))
	}
	forVectorFiles(t, func(name string, b []byte) {
		switch {
		case strings.HasSuffix(name, "OFD.xml"):
			checkOFDXMLEquivalent(t, b)
		case strings.HasSuffix(name, ".xml") && strings.Contains(name, "Sign"):
			checkSignatureXMLEquivalent(t, b)
		}
	})
}

func TestDecodeSignatureXMLMatchesDecodeElement(t *testing.T) {
	for _, s := range signatureXMLSeeds {
		checkSignatureXMLEquivalent(t, []byte(s))
	}
}

// forVectorPackages calls f with every vector package that Open takes (the data, and
// another package of it for f's own use), by the vector's path.
func forVectorPackages(t *testing.T, f func(path string, data []byte, p *Package)) {
	t.Helper()
	err := filepath.WalkDir(vectorsDir(t), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".ofd") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if p, err := Open(data, Limits{}); err == nil {
			f(path, data, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// forVectorFiles calls f with every file of every vector package that opens.
func forVectorFiles(t *testing.T, f func(name string, b []byte)) {
	t.Helper()
	n := 0
	forVectorPackages(t, func(_ string, _ []byte, p *Package) {
		for _, name := range p.Files() {
			if b, err := p.ReadFile(name); err == nil {
				f(name, b)
				n++
			}
		}
	})
	if n == 0 {
		t.Fatal("no vector file was read")
	}
}

func FuzzParseOFDXMLMatchesDecodeElement(f *testing.F) {
	for _, s := range ofdXMLSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if xmlDepth(b, 256) > 256 {
			return // read refuses it before parsing
		}
		checkOFDXMLEquivalent(t, b)
	})
}

func FuzzDecodeSignatureXMLMatchesDecodeElement(f *testing.F) {
	for _, s := range signatureXMLSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if xmlDepth(b, 256) > 256 {
			return
		}
		checkSignatureXMLEquivalent(t, b)
	})
}
