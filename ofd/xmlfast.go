package ofd

import (
	"bytes"
	"encoding/xml"
)

// The readers below take the files the signer reads with scanner; each gives
// errFallback when the scanner does not take the file, and its caller then reads it with
// encoding/xml as before. Each gives what the encoding/xml reading gives
// (TestFastReadersMatchDecoder, FuzzFastReaders).

// scanRoot reads up to the root element and checks its local name.
func scanRoot(b []byte, want string) (*scanner, error) {
	s, err := newScanner(b)
	if err != nil {
		return nil, err
	}
	if k, err := s.next(); err != nil || k != scanStart || string(s.local) != want {
		s.release()
		return nil, errFallback
	}
	return s, nil
}

// localNames returns path as strings.
func localNames(path [][]byte) []string {
	out := make([]string, len(path))
	for i, p := range path {
		out[i] = string(p)
	}
	return out
}

// scanOFDXML is parseOFDXML with the scanner.
func scanOFDXML(b []byte) (*ofdXML, error) {
	s, err := scanRoot(b, "OFD")
	if err != nil {
		return nil, err
	}
	defer s.release()
	x := &ofdXML{root: xml.StartElement{Name: xml.Name{Space: s.space(s.prefix, s.local, true), Local: "OFD"}}}
	bom := len(b) - len(s.b)
	path := [][]byte{s.local}
	var text []byte
	var field *[]string // the DocRoot or Signatures list whose element is open
	for len(path) > 0 {
		k, err := s.next()
		if err != nil {
			return nil, err
		}
		switch k {
		case scanStart:
			local := string(s.local) // not allocated: compared only
			if x.stray == "" && (local == "DocBody" || local == "DocRoot" || field != nil) {
				x.stray = strayMessage(localNames(path), local, field != nil)
			}
			switch {
			case len(path) == 1 && local == "DocBody":
				x.bodies = append(x.bodies, ofdBody{name: xml.Name{Space: s.space(s.prefix, s.local, true), Local: "DocBody"}})
				x.edits = append(x.edits, bodyEdit{name: xml.Name{Space: string(s.prefix), Local: "DocBody"}, startEnd: bom + s.end})
			case len(path) == 2 && field == nil && string(path[1]) == "DocBody" && local == "DocRoot":
				field, text = &x.bodies[len(x.bodies)-1].docRoots, text[:0]
			case len(path) == 2 && field == nil && string(path[1]) == "DocBody" && local == "Signatures":
				field, text = &x.bodies[len(x.bodies)-1].signatures, text[:0]
			}
			path = append(path, s.local)
		case scanText:
			if field != nil && len(path) == 3 {
				text = s.appendText(text)
			}
		case scanEnd:
			if field != nil && len(path) == 3 {
				*field = append(*field, string(text))
				field = nil
			}
			if len(path) == 2 && string(path[1]) == "DocBody" {
				x.edits[len(x.edits)-1].endStart = bom + s.start
			}
			path = path[:len(path)-1]
		}
	}
	// After the root, the scanner takes only white space and comments: no stray element.
	if k, err := s.next(); err != nil || k != scanEOF {
		return nil, errFallback
	}
	return x, nil
}

// scanDocument is readDocument's decoding with the scanner: the Page children of each
// Pages child of the root, with the ID (the last attribute so named, in any namespace)
// and the other attributes; the rest is skipped, as DecodeElement skips it. Like
// DecodeElement it reads up to the end of the root element only.
func scanDocument(b []byte) (*xmlDocument, error) {
	s, err := scanRoot(b, "Document")
	if err != nil {
		return nil, err
	}
	defer s.release()
	x := &xmlDocument{}
	for depth := 1; depth > 0; {
		k, err := s.next()
		if err != nil {
			return nil, err
		}
		switch k {
		case scanStart:
			depth++
			switch {
			case depth == 2 && string(s.local) == "Pages":
				x.Pages = append(x.Pages, xmlPages{})
			case depth == 3 && len(x.Pages) > 0 && string(s.open[1][1]) == "Pages" && string(s.local) == "Page":
				var pg xmlPage
				for i := range s.attrs {
					a := &s.attrs[i]
					if string(a.local) == "ID" {
						pg.ID = s.value(a)
						continue
					}
					pg.Attrs = append(pg.Attrs, xml.Attr{Name: xml.Name{Space: s.space(a.prefix, a.local, false), Local: string(a.local)}, Value: s.value(a)})
				}
				ps := &x.Pages[len(x.Pages)-1]
				ps.Page = append(ps.Page, pg)
			}
		case scanEnd:
			depth--
		}
	}
	return x, nil
}

// scanPhysicalBox is physicalBox with the scanner: errFallback, or what physicalBox
// returns.
func scanPhysicalBox(b []byte, file, root string) (box [4]float64, ok bool, err error) {
	want, stop := [3]string{"Area", "PhysicalBox"}, "Content"
	n := 2
	if root == "Document" {
		want, stop, n = [3]string{"CommonData", "PageArea", "PhysicalBox"}, "Pages", 3
	}
	s, err := scanRoot(b, root)
	if err != nil {
		return box, false, errFallback
	}
	defer s.release()
	var path [][]byte
	var text []byte
	for {
		k, err := s.next()
		if err != nil {
			return box, false, errFallback
		}
		switch k {
		case scanStart:
			if len(path) == 0 && string(s.local) == stop {
				return box, false, nil
			}
			path = append(path, s.local)
			text = text[:0]
		case scanText:
			if len(path) == n && len(text) < 1024 {
				text = s.appendText(text)
			}
		case scanEnd:
			if len(path) == 0 {
				return box, false, nil // the root closed
			}
			if len(path) == n && equalPath(path, want[:n]) {
				return pageBox(file, string(text))
			}
			path = path[:len(path)-1]
		}
	}
}

func equalPath(path [][]byte, want []string) bool {
	for i, p := range path {
		if string(p) != want[i] {
			return false
		}
	}
	return true
}

// scanDocBody finds DocBody number doc (0-based) among the children of OFD.xml's root,
// as addSignaturesRef does: its raw name and the offsets, in b, of the end of its start
// tag and of the start of its end tag (both the end of "<x/>").
func scanDocBody(b []byte, doc int) (name xml.Name, startEnd, endStart int, err error) {
	bom := 0
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		bom = 3
	}
	s, err := newScanner(b)
	if err != nil {
		return name, 0, 0, err
	}
	defer s.release()
	depth, seen := 0, -1
	for {
		k, err := s.next()
		if err != nil || k == scanEOF {
			return name, 0, 0, errFallback
		}
		switch k {
		case scanStart:
			depth++
			if depth == 2 && string(s.local) == "DocBody" {
				seen++
				if seen == doc {
					name = xml.Name{Space: string(s.prefix), Local: "DocBody"}
					startEnd = s.end
				}
			}
		case scanEnd:
			if depth == 2 && seen == doc && string(s.local) == "DocBody" {
				return name, startEnd + bom, s.start + bom, nil
			}
			depth--
		}
	}
}

// elementText reads the rest of the element just opened and returns its own
// character data, as encoding/xml unmarshals an element into a string: the text of
// nested elements is left out.
func (s *scanner) elementText() (string, error) {
	var text []byte
	for depth := 1; ; {
		k, err := s.next()
		if err != nil {
			return "", err
		}
		switch k {
		case scanStart:
			depth++
		case scanEnd:
			if depth--; depth == 0 {
				return string(text), nil
			}
		case scanText:
			if depth == 1 {
				text = s.appendText(text)
			}
		}
	}
}

// skip reads the rest of the element just opened.
func (s *scanner) skip() error {
	for depth := 1; depth > 0; {
		k, err := s.next()
		if err != nil {
			return err
		}
		switch k {
		case scanStart:
			depth++
		case scanEnd:
			depth--
		}
	}
	return nil
}

// children calls f with the local name of each child element of the element just
// opened, up to its end; f reads the child to its end.
func (s *scanner) children(f func(local string) error) error {
	for {
		k, err := s.next()
		if err != nil {
			return err
		}
		switch k {
		case scanStart:
			if err := f(string(s.local)); err != nil {
				return err
			}
		case scanEnd:
			return nil
		}
	}
}

// eachAttr calls f with the local name and value of each attribute of the start tag
// just read, in order.
func (s *scanner) eachAttr(f func(local, value string)) {
	for i := range s.attrs {
		a := &s.attrs[i]
		f(string(a.local), s.value(a))
	}
}

// textInto reads the element just opened into *dst, as encoding/xml unmarshals it into a
// string field: what it held before is replaced.
func (s *scanner) textInto(dst *string) error {
	t, err := s.elementText()
	if err == nil {
		*dst = t
	}
	return err
}

// scanSignatureList is the reading of Signatures.xml's entries (decodeSignatureList)
// with the scanner. More than max entries give errFallback, so that the general reading
// reports the limit.
func scanSignatureList(b []byte, max int) ([]xmlSigEntry, error) {
	s, err := scanRoot(b, "Signatures")
	if err != nil {
		return nil, err
	}
	defer s.release()
	var entries []xmlSigEntry
	for depth := 1; depth > 0; {
		k, err := s.next()
		if err != nil {
			return nil, err
		}
		switch k {
		case scanStart:
			if depth == 1 && string(s.local) == "Signature" {
				if len(entries) >= max {
					return nil, errFallback
				}
				var e xmlSigEntry
				s.eachAttr(func(local, v string) {
					switch local {
					case "ID":
						e.ID = v
					case "Type":
						e.Type = v
					case "BaseLoc":
						e.BaseLoc = v
					case "Relative":
						e.Relative = v
					}
				})
				err := s.children(func(local string) error {
					switch local {
					case "BaseLoc":
						return s.textInto(&e.BaseLocEl)
					case "Type":
						return s.textInto(&e.TypeEl)
					case "ID":
						return s.textInto(&e.IDEl)
					case "Relative":
						return s.textInto(&e.RelativeEl)
					}
					return s.skip()
				})
				if err != nil {
					return nil, err
				}
				entries = append(entries, e)
				continue
			}
			depth++
		case scanEnd:
			depth--
		}
	}
	return entries, nil
}

// scanSignatureXML is the reading of Signature.xml (rootElement, then
// decodeSignatureXML) with the scanner: the children of the root, SignedInfo and
// SignedValue decoded as DecodeElement decodes them into xmlSignature (a second
// SignedInfo adds to the first), and the local names of the first eight children.
func scanSignatureXML(b []byte) (*xmlSignature, []string, error) {
	s, err := scanRoot(b, "Signature")
	if err != nil {
		return nil, nil, err
	}
	defer s.release()
	x := &xmlSignature{}
	var order []string
	err = s.children(func(local string) error {
		if len(order) < 8 {
			order = append(order, local)
		}
		switch local {
		case "SignedInfo":
			return s.signedInfo(&x.SignedInfo)
		case "SignedValue":
			return s.textInto(&x.SignedValue)
		}
		return s.skip()
	})
	if err != nil {
		return nil, nil, err
	}
	return x, order, nil
}

// signedInfo reads the SignedInfo element just opened into si.
func (s *scanner) signedInfo(si *xmlSignedInfo) error {
	return s.children(func(local string) error {
		switch local {
		case "Provider":
			pr := &si.Provider
			s.eachAttr(func(local, v string) {
				switch local {
				case "ProviderName":
					pr.Name = v
				case "Version":
					pr.Version = v
				case "Company":
					pr.Company = v
				}
			})
			return s.children(func(local string) error {
				switch local {
				case "ProviderName":
					return s.textInto(&pr.NameEl)
				case "Version":
					return s.textInto(&pr.VersionEl)
				case "Company":
					return s.textInto(&pr.CompanyEl)
				}
				return s.skip()
			})
		case "SignatureMethod":
			return s.textInto(&si.SignatureMethod)
		case "SignatureDateTime":
			return s.textInto(&si.SignatureDateTime)
		case "SignedValue":
			return s.textInto(&si.SignedValue)
		case "References":
			si.References = append(si.References, xmlReferences{})
			refs := &si.References[len(si.References)-1]
			s.eachAttr(func(local, v string) {
				if local == "CheckMethod" {
					refs.CheckMethod = v
				}
			})
			return s.children(func(local string) error {
				if local != "Reference" {
					return s.skip()
				}
				refs.Reference = append(refs.Reference, xmlReference{})
				r := &refs.Reference[len(refs.Reference)-1]
				s.eachAttr(func(local, v string) {
					if local == "FileRef" {
						r.FileRef = v
					}
				})
				return s.children(func(local string) error {
					switch local {
					case "FileRef":
						return s.textInto(&r.FileRefEl)
					case "CheckValue":
						return s.textInto(&r.CheckValue)
					}
					return s.skip()
				})
			})
		case "StampAnnot":
			var a xmlStampAnnot
			s.eachAttr(func(local, v string) {
				switch local {
				case "ID":
					a.ID = v
				case "PageRef":
					a.PageRef = v
				case "Boundary":
					a.Boundary = v
				case "Clip":
					a.Clip = v
				}
			})
			si.StampAnnot = append(si.StampAnnot, a)
			return s.skip()
		case "Seal":
			return s.children(func(local string) error {
				if local == "BaseLoc" {
					return s.textInto(&si.Seal.BaseLoc)
				}
				return s.skip()
			})
		}
		return s.skip()
	})
}

// scanSignatureListLayout finds, with the scanner, what addSignatureEntry edits in a
// Signatures.xml (as decodeAddSignatureEntry finds it).
func scanSignatureListLayout(b []byte) (*listLayout, error) {
	l := &listLayout{maxStart: -1, maxEnd: -1}
	if bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		l.bom = 3
	}
	s, err := newScanner(b)
	if err != nil {
		return nil, err
	}
	defer s.release()
	depth := 0
	inMax := false
	for {
		k, err := s.next()
		if err != nil || k == scanEOF {
			return nil, errFallback
		}
		switch k {
		case scanStart:
			depth++
			switch {
			case depth == 1:
				l.root = xml.Name{Space: string(s.prefix), Local: string(s.local)}
				l.rootEnd = s.end
			case depth == 2 && string(s.local) == "MaxSignId" && l.maxStart < 0:
				inMax = true
				l.maxStart = s.end
			case depth == 2 && string(s.local) == "Signature":
				s.eachAttr(func(local, v string) {
					if local == "ID" {
						l.noteID(v)
					}
				})
			}
		case scanText:
			if inMax {
				l.maxText = s.appendText(l.maxText)
			}
		case scanEnd:
			if inMax && depth == 2 {
				inMax = false
				l.maxEnd = s.start
			}
			if depth == 1 {
				l.rootStop = s.start
				return l, nil
			}
			depth--
		}
	}
}
