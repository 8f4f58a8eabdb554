package ofd

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The writer edits OFD.xml and Signatures.xml in place, as text: every byte
// outside the inserted parts stays as the producer wrote it.

// rawDecoder returns a decoder whose offsets are byte offsets into b (after a
// BOM, whose length is returned): no character set conversion. XML in another
// encoding than UTF-8 reads only when it is ASCII where it is read.
func rawDecoder(b []byte) (*xml.Decoder, int) {
	bom := 0
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		bom = 3
	}
	d := xml.NewDecoder(bytes.NewReader(b[bom:]))
	d.Strict = true
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	return d, bom
}

// qname writes a raw name with its prefix.
func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// prefixed returns local with the prefix of n.
func prefixed(n xml.Name, local string) string {
	return qname(xml.Name{Space: n.Space, Local: local})
}

// insertInto returns b with text inserted as the last content of the element
// whose start tag ends at startEnd and whose end tag starts at endStart
// (equal to startEnd for an empty element tag "<x/>").
func insertInto(b []byte, name xml.Name, startEnd, endStart int, text string) []byte {
	out := make([]byte, 0, len(b)+len(text)+len(qname(name))+3)
	if startEnd == endStart && startEnd >= 2 && string(b[startEnd-2:startEnd]) == "/>" {
		out = append(out, b[:startEnd-2]...)
		out = append(out, '>')
		out = append(out, text...)
		out = append(out, "</"+qname(name)+">"...)
		return append(out, b[startEnd:]...)
	}
	out = append(out, b[:endStart]...)
	out = append(out, text...)
	return append(out, b[endStart:]...)
}

// addSignaturesRef adds <ofd:Signatures>ref</ofd:Signatures> as the last
// child of DocBody number doc (0-based) of OFD.xml.
func addSignaturesRef(b []byte, doc int, ref string) ([]byte, error) {
	if body, startEnd, endStart, err := scanDocBody(b, doc); err == nil {
		return insertInto(b, body, startEnd, endStart, signaturesRef(body, ref)), nil
	}
	return decodeAddSignaturesRef(b, doc, ref)
}

// decodeAddSignaturesRef is addSignaturesRef with encoding/xml.
func decodeAddSignaturesRef(b []byte, doc int, ref string) ([]byte, error) {
	d, bom := rawDecoder(b)
	depth, seen := 0, -1
	var body xml.Name
	startEnd := 0
	for {
		before := int(d.InputOffset())
		tok, err := d.RawToken()
		if err != nil {
			if err == io.EOF {
				return nil, newErr(ErrFormat, "OFD.xml", fmt.Sprintf("DocBody %d was not found", doc+1), nil)
			}
			return nil, newErr(ErrUnsupported, "OFD.xml", "the file cannot be edited to add its Signatures reference (it must be well-formed, and UTF-8 or ASCII)", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Local == "DocBody" {
				seen++
				if seen == doc {
					body = t.Name
					startEnd = int(d.InputOffset())
				}
			}
		case xml.EndElement:
			if depth == 2 && seen == doc && t.Name.Local == "DocBody" {
				return insertAt(b, bom, body, startEnd, before, signaturesRef(body, ref)), nil
			}
			depth--
		}
	}
}

// signaturesRef is the element added to the DocBody body: <Signatures>ref</Signatures>
// with body's prefix.
func signaturesRef(body xml.Name, ref string) string {
	var text strings.Builder
	text.WriteString("<" + prefixed(body, "Signatures") + ">")
	escapeTo(&text, ref)
	text.WriteString("</" + prefixed(body, "Signatures") + ">")
	return text.String()
}

// insertAt is insertInto for offsets counted after a BOM of length bom.
func insertAt(b []byte, bom int, name xml.Name, startEnd, endStart int, text string) []byte {
	return insertInto(b, name, startEnd+bom, endStart+bom, text)
}

// newSignaturesXML writes a Signatures.xml listing one signature.
func newSignaturesXML(id int, baseLoc string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<ofd:Signatures xmlns:ofd="` + nsOFDURI + `"><ofd:MaxSignId>` + strconv.Itoa(id) + `</ofd:MaxSignId>`)
	b.WriteString(`<ofd:Signature ID="` + strconv.Itoa(id) + `" Type="Seal" BaseLoc="`)
	escapeTo(&b, baseLoc)
	b.WriteString(`"/></ofd:Signatures>`)
	return []byte(b.String())
}

// addSignatureEntry adds a <Signature> entry for baseLoc at the end of an
// existing Signatures.xml, with the ID after MaxSignId and every ID listed,
// and sets MaxSignId to it.
func addSignatureEntry(b []byte, file, baseLoc string) ([]byte, error) {
	if l, err := scanSignatureListLayout(b); err == nil {
		return l.add(b, file, baseLoc)
	}
	return decodeAddSignatureEntry(b, file, baseLoc)
}

// listLayout is where addSignatureEntry edits a Signatures.xml: offsets in the file
// (after a BOM, of length bom).
type listLayout struct {
	bom               int
	root              xml.Name // raw
	rootEnd, rootStop int      // end of the root's start tag, start of its end tag
	maxID             int      // the largest signature ID
	maxStart, maxEnd  int      // MaxSignId's content, -1 when there is none
	maxText           []byte
}

// add inserts the entry of baseLoc, with the ID after every ID listed, and sets
// MaxSignId to it.
func (l *listLayout) add(b []byte, file, baseLoc string) ([]byte, error) {
	maxID := l.maxID
	if v, err := strconv.Atoi(strings.TrimSpace(string(l.maxText))); err == nil && v > maxID {
		maxID = v
	}
	if maxID >= 1<<30 {
		return nil, newErr(ErrFormat, file, "its MaxSignId or a signature ID is too large to count on from", nil)
	}
	id := strconv.Itoa(maxID + 1)
	var text strings.Builder
	text.WriteString("<" + prefixed(l.root, "Signature") + ` ID="` + id + `" Type="Seal" BaseLoc="`)
	escapeTo(&text, baseLoc)
	text.WriteString(`"/>`)
	bom := l.bom
	out := insertAt(b, bom, l.root, l.rootEnd, l.rootStop, text.String())
	if l.maxStart >= 0 && l.maxEnd >= l.maxStart {
		// The entry was inserted after MaxSignId: its offsets hold.
		s, e := l.maxStart+bom, l.maxEnd+bom
		if l.maxStart == l.maxEnd && string(b[s-2:s]) == "/>" {
			// <MaxSignId/>: leave it, an empty MaxSignId says nothing.
			return out, nil
		}
		out = append(out[:s:s], append([]byte(id), out[e:]...)...)
	}
	return out, nil
}

// noteID takes a Signature's ID attribute into maxID.
func (l *listLayout) noteID(v string) {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > l.maxID {
		l.maxID = n
	}
}

// decodeAddSignatureEntry is addSignatureEntry with encoding/xml.
func decodeAddSignatureEntry(b []byte, file, baseLoc string) ([]byte, error) {
	d, bom := rawDecoder(b)
	l := listLayout{bom: bom, maxStart: -1, maxEnd: -1}
	depth := 0
	inMax := false
	for {
		before := int(d.InputOffset())
		tok, err := d.RawToken()
		if err != nil {
			if err == io.EOF {
				return nil, newErr(ErrFormat, file, "the XML ends before its root element closes", nil)
			}
			return nil, newErr(ErrUnsupported, file, "the file cannot be edited to add a signature (it must be well-formed, and UTF-8 or ASCII)", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1:
				l.root = t.Name
				l.rootEnd = int(d.InputOffset())
			case depth == 2 && t.Name.Local == "MaxSignId" && l.maxStart < 0:
				inMax = true
				l.maxStart = int(d.InputOffset())
			case depth == 2 && t.Name.Local == "Signature":
				for _, a := range t.Attr {
					if a.Name.Local == "ID" {
						l.noteID(a.Value)
					}
				}
			}
		case xml.CharData:
			if inMax {
				l.maxText = append(l.maxText, t...)
			}
		case xml.EndElement:
			if inMax && depth == 2 {
				inMax = false
				l.maxEnd = before
			}
			if depth == 1 {
				l.rootStop = before
				return l.add(b, file, baseLoc)
			}
			depth--
		}
	}
}

// escapeTo writes s escaped for XML text or a double-quoted attribute.
func escapeTo(b *strings.Builder, s string) {
	if !needsEscape(s) {
		b.WriteString(s)
		return
	}
	var buf bytes.Buffer
	escape(&buf, s)
	b.Write(buf.Bytes())
}
