package ofd

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// newDecoder returns an XML decoder over b that matches elements by local
// name (any namespace or prefix) and copes with a BOM and with the legacy
// Chinese encodings (GB2312, GBK and GB18030, all read as GB18030, their superset).
func newDecoder(b []byte) *xml.Decoder {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(strings.TrimSpace(label)) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil
		case "iso-8859-1", "latin1", "latin-1", "l1":
			return charmap.ISO8859_1.NewDecoder().Reader(in), nil
		case "gbk", "gb2312", "gb18030", "cp936", "x-gbk", "euc-cn":
			return simplifiedchinese.GB18030.NewDecoder().Reader(in), nil
		}
		return nil, fmt.Errorf("the XML declares the character encoding %q, which is not supported (use UTF-8)", label)
	}
	return d
}

// xmlErr turns an encoding/xml error into a sentence naming the file.
func xmlErr(file string, err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return newErr(ErrFormat, file, "the XML is empty or ends too early", nil)
	}
	return newErr(ErrFormat, file, "the XML is malformed", err)
}

// rootElement reads up to the first start element and checks its local name.
func rootElement(d *xml.Decoder, file, want string) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.StartElement{}, xmlErr(file, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != want {
				return se, newErr(ErrFormat, file, fmt.Sprintf("the root element is <%s>, expected <%s>", se.Name.Local, want), nil)
			}
			return se, nil
		}
	}
}

// xmlSigEntry is one <Signature> entry of Signatures.xml.
type xmlSigEntry struct {
	ID         string `xml:"ID,attr"`
	Type       string `xml:"Type,attr"`
	BaseLoc    string `xml:"BaseLoc,attr"`
	Relative   string `xml:"Relative,attr"`
	BaseLocEl  string `xml:"BaseLoc"` // tolerated: BaseLoc written as a child element
	TypeEl     string `xml:"Type"`
	IDEl       string `xml:"ID"`
	RelativeEl string `xml:"Relative"`
}

// xmlSignature is Signature.xml.
type xmlSignature struct {
	SignedInfo  xmlSignedInfo `xml:"SignedInfo"`
	SignedValue string        `xml:"SignedValue"`
}

type xmlSignedInfo struct {
	Provider          xmlProvider     `xml:"Provider"`
	SignatureMethod   string          `xml:"SignatureMethod"`
	SignatureDateTime string          `xml:"SignatureDateTime"`
	References        []xmlReferences `xml:"References"`
	StampAnnot        []xmlStampAnnot `xml:"StampAnnot"`
	Seal              struct {
		BaseLoc string `xml:"BaseLoc"`
	} `xml:"Seal"`
	SignedValue string `xml:"SignedValue"` // tolerated: SignedValue inside SignedInfo
}

type xmlProvider struct {
	Name      string `xml:"ProviderName,attr"`
	Version   string `xml:"Version,attr"`
	Company   string `xml:"Company,attr"`
	NameEl    string `xml:"ProviderName"` // dms360 writes child elements
	VersionEl string `xml:"Version"`
	CompanyEl string `xml:"Company"`
}

type xmlReferences struct {
	CheckMethod string         `xml:"CheckMethod,attr"`
	Reference   []xmlReference `xml:"Reference"`
}

type xmlReference struct {
	FileRef    string `xml:"FileRef,attr"`
	FileRefEl  string `xml:"FileRef"`
	CheckValue string `xml:"CheckValue"`
}

type xmlStampAnnot struct {
	ID       string `xml:"ID,attr"`
	PageRef  string `xml:"PageRef,attr"`
	Boundary string `xml:"Boundary,attr"`
	Clip     string `xml:"Clip,attr"`
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// decodeSignatureXML decodes the children of Signature.xml's root element (already
// read from d) into x, as d.DecodeElement(x, root) does, and returns the local names of
// the first eight children, in document order.
func decodeSignatureXML(d *xml.Decoder, x *xmlSignature) ([]string, error) {
	var order []string
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(order) < 8 {
				order = append(order, t.Name.Local)
			}
			switch t.Name.Local {
			case "SignedInfo":
				err = d.DecodeElement(&x.SignedInfo, &t)
			case "SignedValue":
				err = d.DecodeElement(&x.SignedValue, &t)
			default:
				err = d.Skip()
			}
			if err != nil {
				return nil, err
			}
		case xml.EndElement:
			return order, nil
		}
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
