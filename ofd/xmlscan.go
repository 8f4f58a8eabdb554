package ofd

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"unicode/utf8"
)

// The files the signer reads (OFD.xml, Document.xml, a page's Area, Signatures.xml,
// Signature.xml) are small and plain. scanner reads that plain XML without copying
// names or building tokens, for the few elements and attributes the readers take. It
// takes a strict subset of what encoding/xml reads: UTF-8, ASCII names with at most one
// prefix, the five predefined entities and character references, comments, an XML
// declaration of version 1.0 in UTF-8 at the start, and nothing but white space and
// comments outside the root element. Whatever else it meets (a DOCTYPE, CDATA, another
// encoding, a processing instruction, a malformed or mismatched tag, an illegal
// character) makes it give up with errFallback, before any result is used: the reader
// then reads the file with encoding/xml as before, which decides every refusal. So a
// file the scanner reads, encoding/xml reads the same way (FuzzScannerMatchesDecoder).

// errFallback says the scanner does not take the file: read it with encoding/xml.
var errFallback = errors.New("ofd: the XML is read by the general decoder")

// Token kinds.
const (
	scanStart = iota + 1
	scanEnd
	scanText
	scanEOF
)

// scanAttr is an attribute as written: raw name parts and the raw value between the
// quotes (entities not replaced; plain is true when there are none, nor a "\r").
type scanAttr struct {
	prefix, local, raw []byte
	plain              bool
}

// nsBinding is a namespace declaration in force.
type nsBinding struct {
	prefix string // "" for the default namespace
	uri    string
	depth  int // of the element that declares it
}

// scanner walks plain XML (see above). After next, the fields describe the token.
type scanner struct {
	b   []byte // the input after its BOM
	pos int

	kind          int
	prefix, local []byte     // of a start or end tag
	attrs         []scanAttr // of a start tag
	text          []byte     // raw text of a text token
	textPlain     bool       // text has no entity and no "\r"
	start, end    int        // the token's offsets in b

	open    [][2][]byte // raw names of the open elements
	ns      []nsBinding
	depth   int  // open elements
	closing bool // the last start tag was "<x/>": its end comes next
	rooted  bool // the root element was opened
	buf     []byte
}

// newScanner returns a scanner over b (with or without a BOM, as newDecoder takes it),
// or errFallback when its declaration is not one it takes.
// The scanner given back by release keeps its slices for the next file.
func newScanner(b []byte) (*scanner, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	s := scanners.Get().(*scanner)
	*s = scanner{b: b, open: s.open[:0], attrs: s.attrs[:0], ns: s.ns[:0], buf: s.buf[:0]}
	if bytes.HasPrefix(b, []byte("<?xml")) {
		end := bytes.Index(b, []byte("?>"))
		if end < 0 || !plainDeclaration(b[5:end]) {
			s.release()
			return nil, errFallback
		}
		s.pos = end + 2
	}
	return s, nil
}

// scanners holds released scanners.
var scanners = sync.Pool{New: func() any { return new(scanner) }}

// release gives s back for another file, dropping what refers to this one; s must not
// be used afterwards, nor the slices of the input it handed out kept beyond the input's life.
func (s *scanner) release() {
	clear(s.open[:cap(s.open)])
	clear(s.attrs[:cap(s.attrs)])
	clear(s.ns[:cap(s.ns)])
	*s = scanner{open: s.open[:0], attrs: s.attrs[:0], ns: s.ns[:0], buf: s.buf[:0]}
	scanners.Put(s)
}

// plainDeclaration reports whether the XML declaration's content (after "<?xml") is
// ` version="1.0"`, then maybe ` encoding="UTF-8"` (any case) and ` standalone="yes"`
// or "no", with either quote, then maybe white space.
func plainDeclaration(d []byte) bool {
	for i, want := range []string{"version", "encoding", "standalone"} {
		t := bytes.TrimLeft(d, " \t\r\n")
		if !bytes.HasPrefix(t, []byte(want+"=")) {
			if i == 0 {
				return false
			}
			continue
		}
		if len(t) == len(d) {
			return false // no white space before the pseudo-attribute
		}
		d = t[len(want)+1:]
		if len(d) == 0 || (d[0] != '"' && d[0] != '\'') {
			return false
		}
		q := d[0]
		j := bytes.IndexByte(d[1:], q)
		if j < 0 {
			return false
		}
		v := string(d[1 : 1+j])
		d = d[j+2:]
		switch want {
		case "version":
			if v != "1.0" {
				return false
			}
		case "encoding":
			if !strings.EqualFold(v, "utf-8") {
				return false
			}
		case "standalone":
			if v != "yes" && v != "no" {
				return false
			}
		}
	}
	return len(bytes.TrimLeft(d, " \t\r\n")) == 0
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// next reads the next token. At the end of the input it returns scanEOF, once the root
// element was opened and closed; anything it does not take gives errFallback.
func (s *scanner) next() (int, error) {
	if s.closing {
		s.closing = false
		s.kind, s.start = scanEnd, s.end
		s.pop()
		return s.kind, nil
	}
	for {
		if s.pos >= len(s.b) {
			if s.depth > 0 || !s.rooted {
				return 0, errFallback
			}
			s.kind, s.start, s.end = scanEOF, s.pos, s.pos
			return s.kind, nil
		}
		if s.b[s.pos] != '<' {
			if err := s.scanText(); err != nil {
				return 0, err
			}
			if s.depth == 0 {
				// Outside the root, only white space.
				for _, c := range s.text {
					if !isSpace(c) {
						return 0, errFallback
					}
				}
				continue
			}
			return s.kind, nil
		}
		rest := s.b[s.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			i := bytes.Index(rest[4:], []byte("--"))
			if i < 0 || 4+i+2 >= len(rest) || rest[4+i+2] != '>' {
				return 0, errFallback
			}
			s.pos += 4 + i + 3
			continue
		case len(rest) > 1 && rest[1] == '/':
			return s.scanEndTag()
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			return 0, errFallback
		}
		return s.scanStartTag()
	}
}

// scanText reads character data up to the next "<" or the end.
func (s *scanner) scanText() error {
	start := s.pos
	i := bytes.IndexByte(s.b[start:], '<')
	if i < 0 {
		i = len(s.b) - start
	}
	t := s.b[start : start+i]
	plain, ok := checkChars(t, true)
	if !ok {
		return errFallback
	}
	s.kind, s.text, s.textPlain, s.start, s.end = scanText, t, plain, start, start+i
	s.pos = start + i
	return nil
}

// checkChars checks raw text or an attribute value: characters XML allows, valid UTF-8,
// entities it takes, and for text no "]]>". plain is false when replacing entities or
// "\r" changes it.
func checkChars(t []byte, text bool) (plain, ok bool) {
	plain = true
	for i := 0; i < len(t); {
		c := t[i]
		switch {
		case c == '&':
			plain = false
			n, _, ok := entityAt(t[i:])
			if !ok {
				return false, false
			}
			i += n
			continue
		case c == '\r':
			plain = false
		case c == '>' && text && i >= 2 && t[i-1] == ']' && t[i-2] == ']':
			return false, false
		case c < 0x20 && c != '\t' && c != '\n':
			return false, false
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(t[i:])
			if (r == utf8.RuneError && n == 1) || !inCharRange(r) {
				return false, false
			}
			i += n
			continue
		}
		i++
	}
	return plain, true
}

func inCharRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || (r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// entityAt reads the entity or character reference at the start of t ("&...;"): its
// length and the character it stands for. ok is false for anything else.
func entityAt(t []byte) (n int, r rune, ok bool) {
	end := bytes.IndexByte(t, ';')
	if end < 2 || end > 12 {
		return 0, 0, false
	}
	name := string(t[1:end])
	switch name {
	case "lt":
		return end + 1, '<', true
	case "gt":
		return end + 1, '>', true
	case "amp":
		return end + 1, '&', true
	case "apos":
		return end + 1, '\'', true
	case "quot":
		return end + 1, '"', true
	}
	if name[0] != '#' || len(name) < 2 {
		return 0, 0, false
	}
	digits, base := name[1:], rune(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if digits == "" {
		return 0, 0, false
	}
	for _, c := range []byte(digits) {
		var d rune
		switch {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, 0, false
		}
		r = r*base + d
		if r > utf8.MaxRune {
			return 0, 0, false
		}
	}
	if !inCharRange(r) {
		return 0, 0, false
	}
	return end + 1, r, true
}

// decode returns raw text or an attribute value with its entities replaced and "\r\n"
// and "\r" read as "\n", as encoding/xml reads them. raw must have passed checkChars.
func (s *scanner) decode(raw []byte) string {
	s.buf = s.buf[:0]
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '&':
			n, r, _ := entityAt(raw[i:])
			s.buf = utf8.AppendRune(s.buf, r)
			i += n - 1
		case '\r':
			s.buf = append(s.buf, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		default:
			s.buf = append(s.buf, c)
		}
	}
	return string(s.buf)
}

// textString returns the text of a text token, as encoding/xml's CharData holds it.
func (s *scanner) textString() string {
	if s.textPlain {
		return string(s.text)
	}
	return s.decode(s.text)
}

// appendText appends the text of a text token to dst.
func (s *scanner) appendText(dst []byte) []byte {
	if s.textPlain {
		return append(dst, s.text...)
	}
	return append(dst, s.decode(s.text)...)
}

// value returns an attribute's value, as encoding/xml reads it.
func (s *scanner) value(a *scanAttr) string {
	if a.plain {
		return string(a.raw)
	}
	return s.decode(a.raw)
}

// scanName reads an ASCII name at s.pos: a letter or "_", then letters, digits, "_",
// "-" and ".", with at most one ":" between two such parts. The name must be followed
// by a byte that ends it (white space, "=", ">", "/").
func (s *scanner) scanName() (prefix, local []byte, ok bool) {
	start := s.pos
	colon := -1
	i := s.pos
	for ; i < len(s.b); i++ {
		c := s.b[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case '0' <= c && c <= '9', c == '-', c == '.':
			if i == start || i == colon+1 {
				return nil, nil, false
			}
		case c == ':':
			if colon >= 0 || i == start {
				return nil, nil, false
			}
			colon = i
		default:
			goto done
		}
	}
done:
	if i == start || i == colon+1 || i >= len(s.b) {
		return nil, nil, false
	}
	if c := s.b[i]; !isSpace(c) && c != '=' && c != '>' && c != '/' {
		return nil, nil, false
	}
	s.pos = i
	if colon < 0 {
		return nil, s.b[start:i], true
	}
	return s.b[start:colon], s.b[colon+1 : i], true
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.b) && isSpace(s.b[s.pos]) {
		s.pos++
	}
}

// scanStartTag reads "<name attr="v" ...>" or ".../>".
func (s *scanner) scanStartTag() (int, error) {
	start := s.pos
	if s.depth == 0 && s.rooted {
		return 0, errFallback // a second root element
	}
	s.pos++
	prefix, local, ok := s.scanName()
	if !ok {
		return 0, errFallback
	}
	s.attrs = s.attrs[:0]
	for {
		s.skipSpace()
		if s.pos >= len(s.b) {
			return 0, errFallback
		}
		c := s.b[s.pos]
		if c == '>' || c == '/' {
			if c == '/' {
				if s.pos+1 >= len(s.b) || s.b[s.pos+1] != '>' {
					return 0, errFallback
				}
				s.pos++
				s.closing = true
			}
			s.pos++
			break
		}
		var a scanAttr
		if a.prefix, a.local, ok = s.scanName(); !ok {
			return 0, errFallback
		}
		s.skipSpace()
		if s.pos >= len(s.b) || s.b[s.pos] != '=' {
			return 0, errFallback
		}
		s.pos++
		s.skipSpace()
		if s.pos >= len(s.b) || (s.b[s.pos] != '"' && s.b[s.pos] != '\'') {
			return 0, errFallback
		}
		q := s.b[s.pos]
		j := bytes.IndexByte(s.b[s.pos+1:], q)
		if j < 0 {
			return 0, errFallback
		}
		a.raw = s.b[s.pos+1 : s.pos+1+j]
		if bytes.IndexByte(a.raw, '<') >= 0 {
			return 0, errFallback
		}
		if a.plain, ok = checkChars(a.raw, false); !ok {
			return 0, errFallback
		}
		s.pos += j + 2
		s.attrs = append(s.attrs, a)
	}
	s.depth++
	s.rooted = true
	s.open = append(s.open, [2][]byte{prefix, local})
	for i := range s.attrs {
		a := &s.attrs[i]
		switch {
		case string(a.prefix) == "xmlns":
			s.ns = append(s.ns, nsBinding{string(a.local), s.value(a), s.depth})
		case a.prefix == nil && string(a.local) == "xmlns":
			s.ns = append(s.ns, nsBinding{"", s.value(a), s.depth})
		}
	}
	s.kind, s.prefix, s.local, s.start, s.end = scanStart, prefix, local, start, s.pos
	return s.kind, nil
}

// scanEndTag reads "</name>", which must close the open element.
func (s *scanner) scanEndTag() (int, error) {
	start := s.pos
	s.pos += 2
	prefix, local, ok := s.scanName()
	if !ok || s.depth == 0 {
		return 0, errFallback
	}
	s.skipSpace()
	if s.pos >= len(s.b) || s.b[s.pos] != '>' {
		return 0, errFallback
	}
	s.pos++
	top := s.open[len(s.open)-1]
	if !bytes.Equal(top[0], prefix) || !bytes.Equal(top[1], local) {
		return 0, errFallback
	}
	s.kind, s.prefix, s.local, s.start, s.end = scanEnd, prefix, local, start, s.pos
	s.pop()
	return s.kind, nil
}

// pop closes the innermost open element, dropping its namespace declarations.
func (s *scanner) pop() {
	for len(s.ns) > 0 && s.ns[len(s.ns)-1].depth == s.depth {
		s.ns = s.ns[:len(s.ns)-1]
	}
	top := s.open[len(s.open)-1]
	s.prefix, s.local = top[0], top[1]
	s.open = s.open[:len(s.open)-1]
	s.depth--
}

// space returns the namespace of a name with this prefix in the current element, as
// encoding/xml's Token gives it: the URI its prefix is bound to, the prefix itself when
// it is bound to none, "" for an attribute without prefix.
func (s *scanner) space(prefix, local []byte, element bool) string {
	switch {
	case string(prefix) == "xmlns":
		return "xmlns"
	case prefix == nil && (!element || string(local) == "xmlns"):
		return ""
	case string(prefix) == "xml":
		return "http://www.w3.org/XML/1998/namespace"
	}
	for i := len(s.ns) - 1; i >= 0; i-- {
		if s.ns[i].prefix == string(prefix) {
			return s.ns[i].uri
		}
	}
	return string(prefix)
}
