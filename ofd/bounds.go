package ofd

import (
	"bytes"
	"fmt"
	"strings"
)

// parsedSignature is what reading one Signature.xml gave, shared by every
// entry that names it.
type parsedSignature struct {
	s *Signature
}

// readSignatureOnce fills s the way readSignature does, reading each
// Signature.xml once: an entry naming a Signature.xml already read shares that
// reading (its parts, References and error). Before a Signature.xml is parsed,
// its Reference and StampAnnot elements are counted against the limits, so
// that a hostile file costs a scan of its bytes, not a parse.
func (p *Package) readSignatureOnce(s *Signature) {
	if s.BaseLoc == "" {
		p.readSignature(s)
		return
	}
	loc, _, err := p.resolveExisting(s.ListPath, s.BaseLoc)
	if err != nil || !p.Has(loc) {
		p.readSignature(s)
		return
	}
	p.mu.Lock()
	prev, seen := p.parsed[loc]
	p.mu.Unlock()
	if seen {
		shareReading(s, prev.s)
		return
	}
	if b, err := p.read(loc); err == nil {
		if err := p.chargeSignatureXML(loc, b); err != nil {
			s.Location, s.XML, s.Err = loc, b, err
			p.rememberReading(loc, s)
			return
		}
	}
	p.readSignature(s)
	p.rememberReading(loc, s)
}

func (p *Package) rememberReading(loc string, s *Signature) {
	p.mu.Lock()
	if p.parsed == nil {
		p.parsed = map[string]parsedSignature{}
	}
	p.parsed[loc] = parsedSignature{s}
	p.mu.Unlock()
}

// shareReading copies into s what was read from the Signature.xml that prev
// names too; s keeps its own entry (ID, Type, BaseLoc, Relative, ListPath).
func shareReading(s, prev *Signature) {
	s.Location, s.XML = prev.Location, prev.XML
	s.Provider, s.ProviderVersion, s.Company = prev.Provider, prev.ProviderVersion, prev.Company
	s.SignatureMethod, s.SignatureDateTime = prev.SignatureMethod, prev.SignatureDateTime
	s.CheckMethod, s.References, s.StampAnnots = prev.CheckMethod, prev.References, prev.StampAnnots
	s.SealPath, s.Seal = prev.SealPath, prev.Seal
	s.SignedValuePath, s.SignedValue = prev.SignedValuePath, prev.SignedValue
	s.Err = prev.Err
	s.Warnings = append(s.Warnings, prev.Warnings...)
	s.twoReadings = prev.twoReadings
}

// chargeSignatureXML counts the Reference and StampAnnot elements of a
// Signature.xml against the limits per signature and for the package.
func (p *Package) chargeSignatureXML(loc string, b []byte) error {
	refs := countElements(b, "Reference")
	if refs > p.lim.MaxReferences {
		return newErr(ErrLimit, loc, fmt.Sprintf("the signature lists %d or more References, more than the limit of %d per signature", refs, p.lim.MaxReferences), nil)
	}
	if n := countElements(b, "StampAnnot"); n > p.lim.MaxStampAnnots {
		return newErr(ErrLimit, loc, fmt.Sprintf("the signature has %d or more StampAnnot elements, more than the limit of %d per signature", n, p.lim.MaxStampAnnots), nil)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refs+refs > p.lim.MaxAllReferences {
		return newErr(ErrLimit, loc, fmt.Sprintf("the package's signatures list more than %d References in all (the limit); this signature was not read", p.lim.MaxAllReferences), nil)
	}
	p.refs += refs
	return nil
}

// countElements counts the start tags whose local name is local ("<local",
// "<prefix:local"), a bound on how many such elements a parser finds: tags in
// comments or CDATA are counted too, never fewer.
func countElements(b []byte, local string) int {
	n := 0
	pat := []byte(local)
	for i := 0; ; {
		j := bytes.Index(b[i:], pat)
		if j < 0 {
			return n
		}
		j += i
		end := j + len(pat)
		i = end
		if end < len(b) && !strings.ContainsRune(" \t\r\n/>", rune(b[end])) {
			continue // a longer name, e.g. References
		}
		k := j - 1
		if k >= 0 && b[k] == ':' {
			k--
			for k >= 0 && isNameByte(b[k]) {
				k--
			}
		}
		if k >= 0 && b[k] == '<' {
			n++
		}
	}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c >= 0x80
}

// xmlDepth returns a bound on the element nesting depth of an XML document:
// it follows tags, comments, CDATA sections, processing instructions and
// quoted attribute values the way a parser does, and stops counting once
// max is passed.
func xmlDepth(b []byte, max int) int {
	depth, deepest := 0, 0
	for i := 0; i < len(b); {
		lt := bytes.IndexByte(b[i:], '<')
		if lt < 0 {
			break
		}
		i += lt
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			i = skipPast(b, i+4, "-->")
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			i = skipPast(b, i+9, "]]>")
		case bytes.HasPrefix(rest, []byte("<?")):
			i = skipPast(b, i+2, "?>")
		case bytes.HasPrefix(rest, []byte("<!")):
			i = skipDecl(b, i+2)
		case bytes.HasPrefix(rest, []byte("</")):
			if depth > 0 {
				depth--
			}
			i = skipPast(b, i+2, ">")
		default:
			end, selfClosing := scanTag(b, i+1)
			if depth+1 > deepest {
				deepest = depth + 1 // a parser opens a self-closing element too
				if deepest > max {
					return deepest
				}
			}
			if !selfClosing {
				depth++
			}
			i = end
		}
	}
	return deepest
}

// skipPast returns the index just past the next end marker at or after i, or len(b).
func skipPast(b []byte, i int, end string) int {
	if i > len(b) {
		return len(b)
	}
	j := bytes.Index(b[i:], []byte(end))
	if j < 0 {
		return len(b)
	}
	return i + j + len(end)
}

// skipDecl skips a <!DOCTYPE ...> or other declaration the way encoding/xml reads one, i
// just past "<!": the first byte is taken as it is; then quotes hide brackets, "<" opens a
// nesting level unless it starts a comment (skipped to its "-->"), and ">" at level 0 ends
// the declaration.
func skipDecl(b []byte, i int) int {
	i++
	depth := 0
	var quote byte
	for ; i < len(b); i++ {
		c := b[i]
		if quote == 0 && c == '>' && depth == 0 {
			return i + 1
		}
		switch {
		case c == quote:
			quote = 0
		case quote != 0:
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			depth--
		case c == '<':
			if bytes.HasPrefix(b[i+1:], []byte("!--")) {
				j := bytes.Index(b[i+4:], []byte("-->"))
				if j < 0 {
					return len(b)
				}
				i += 4 + j + 2
				continue
			}
			depth++
		}
	}
	return len(b)
}

// scanTag returns the index just past a start tag whose name begins at i and
// whether it closes itself ("/>"), skipping quoted attribute values.
func scanTag(b []byte, i int) (int, bool) {
	var quote byte
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i + 1, i > 0 && b[i-1] == '/'
		}
	}
	return len(b), false
}
