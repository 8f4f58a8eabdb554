package ofd

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// newDecoder returns an XML decoder over b that matches elements by local
// name (any namespace or prefix) and copes with a BOM and with legacy Chinese
// encodings. *lossy is set when non-ASCII text had to be replaced because the
// declared encoding cannot be decoded without extra tables.
func newDecoder(b []byte, lossy *bool) *xml.Decoder {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(strings.TrimSpace(label)) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil
		case "iso-8859-1", "latin1", "latin-1", "l1":
			all, err := io.ReadAll(in)
			if err != nil {
				return nil, err
			}
			out := make([]byte, 0, len(all))
			for _, c := range all {
				out = utf8.AppendRune(out, rune(c))
			}
			return bytes.NewReader(out), nil
		case "gbk", "gb2312", "gb18030", "cp936", "x-gbk", "euc-cn":
			all, err := io.ReadAll(in)
			if err != nil {
				return nil, err
			}
			out, changed := replaceGB(all)
			if changed {
				*lossy = true
			}
			return bytes.NewReader(out), nil
		}
		return nil, fmt.Errorf("the XML declares the character encoding %q, which is not supported (use UTF-8)", label)
	}
	return d
}

// replaceGB keeps the ASCII of a GBK/GB18030 text and replaces every
// multi-byte character with U+FFFD. All XML syntax is ASCII and no GBK trail
// byte is an XML delimiter, so the structure (paths, digests, OIDs) survives.
func replaceGB(b []byte) ([]byte, bool) {
	out := make([]byte, 0, len(b))
	changed := false
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			out = append(out, c)
			i++
			continue
		}
		changed = true
		out = utf8.AppendRune(out, utf8.RuneError)
		switch {
		case c >= 0x81 && c <= 0xfe && i+3 < len(b) && b[i+1] >= 0x30 && b[i+1] <= 0x39:
			i += 4 // GB18030 four-byte sequence
		case c >= 0x81 && c <= 0xfe && i+1 < len(b) && b[i+1] >= 0x40 && b[i+1] != 0x7f && b[i+1] != 0xff:
			i += 2
		default:
			i++
		}
	}
	return out, changed
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

// xmlOFD is OFD.xml (only what is needed).
type xmlOFD struct {
	DocBody []struct {
		DocRoot    string   `xml:"DocRoot"`
		Signatures []string `xml:"Signatures"`
	} `xml:"DocBody"`
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
	Provider struct {
		Name      string `xml:"ProviderName,attr"`
		Version   string `xml:"Version,attr"`
		Company   string `xml:"Company,attr"`
		NameEl    string `xml:"ProviderName"` // dms360 writes child elements
		VersionEl string `xml:"Version"`
		CompanyEl string `xml:"Company"`
	} `xml:"Provider"`
	SignatureMethod   string `xml:"SignatureMethod"`
	SignatureDateTime string `xml:"SignatureDateTime"`
	References        []struct {
		CheckMethod string `xml:"CheckMethod,attr"`
		Reference   []struct {
			FileRef    string `xml:"FileRef,attr"`
			FileRefEl  string `xml:"FileRef"`
			CheckValue string `xml:"CheckValue"`
		} `xml:"Reference"`
	} `xml:"References"`
	StampAnnot []struct {
		ID       string `xml:"ID,attr"`
		PageRef  string `xml:"PageRef,attr"`
		Boundary string `xml:"Boundary,attr"`
		Clip     string `xml:"Clip,attr"`
	} `xml:"StampAnnot"`
	Seal struct {
		BaseLoc string `xml:"BaseLoc"`
	} `xml:"Seal"`
	SignedValue string `xml:"SignedValue"` // tolerated: SignedValue inside SignedInfo
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
