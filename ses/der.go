package ses

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Tags met in the structures. Strings are accepted under any string tag when parsing
// (producers disagree); they are emitted with exactly the tag of the standard.
const (
	tagBoolean         = cbasn1.BOOLEAN
	tagInteger         = cbasn1.INTEGER
	tagBitString       = cbasn1.BIT_STRING
	tagOctetString     = cbasn1.OCTET_STRING
	tagOID             = cbasn1.OBJECT_IDENTIFIER
	tagUTF8String      = cbasn1.UTF8String
	tagPrintableString = cbasn1.PrintableString
	tagIA5String       = cbasn1.IA5String
	tagUTCTime         = cbasn1.UTCTime
	tagGeneralizedTime = cbasn1.GeneralizedTime
	tagSequence        = cbasn1.SEQUENCE
	tagContext0        = cbasn1.Tag(0xa0)
	tagContext0Prim    = cbasn1.Tag(0x80)
)

// element is one TLV with its full encoding and its content.
type element struct {
	tag     cbasn1.Tag
	full    []byte
	content []byte
}

// MaxElements bounds the children of one constructed value: the certificates or digests a
// seal lists, its extensions. No seal or signature holds near as many; a list of thousands
// of tiny elements would otherwise take tens of times its size in memory once read.
const MaxElements = 4096

// errTooManyElements is readElements' error for a value with more than MaxElements children.
var errTooManyElements = fmt.Errorf("more than %d elements, more than any seal or signature holds", MaxElements)

// readElements splits the content of a constructed value into its children.
func readElements(content []byte, what string) ([]element, error) {
	// Count first, so that the children take one allocation of the right size: this runs
	// for every constructed value of every signature verified.
	n := 0
	for rest := content; len(rest) > 0; n++ {
		if n == MaxElements {
			return nil, fmt.Errorf("%s: %w", what, errTooManyElements)
		}
		_, r, err := readTLV(rest)
		if err != nil {
			break
		}
		rest = r
	}
	out := make([]element, 0, n)
	for len(content) > 0 {
		e, rest, err := readTLV(content)
		if err != nil {
			return nil, fmt.Errorf("%s: element %d is not valid DER (%v)", what, len(out)+1, err)
		}
		out = append(out, e)
		content = rest
	}
	return out, nil
}

// readOne reads the first TLV of data and returns it with whatever follows.
func readOne(data []byte, what string) (element, []byte, error) {
	if len(data) == 0 {
		return element{}, nil, fmt.Errorf("%s: empty input", what)
	}
	e, rest, err := readTLV(data)
	if err != nil {
		return element{}, nil, fmt.Errorf("%s: not valid DER (%v)", what, err)
	}
	return e, rest, nil
}

// readTLV reads one tag-length-value. It accepts what BER producers write and DER forbids
// in lengths (the long form for short lengths, leading zero bytes): the signed bytes are
// always the original ones, so reading them leniently changes nothing that is verified.
// Indefinite lengths and high tag numbers are refused.
func readTLV(b []byte) (element, []byte, error) {
	if len(b) < 2 {
		return element{}, nil, errors.New("truncated")
	}
	tag := cbasn1.Tag(b[0])
	if b[0]&0x1f == 0x1f {
		return element{}, nil, errors.New("high tag numbers are not used in these structures")
	}
	n, hdr := int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		switch {
		case k == 0:
			return element{}, nil, errors.New("indefinite length")
		case k > 4:
			return element{}, nil, errors.New("length larger than the input")
		case len(b) < 2+k:
			return element{}, nil, errors.New("truncated")
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	if n > len(b)-hdr {
		return element{}, nil, errors.New("truncated, or a length larger than the input")
	}
	return element{tag: tag, full: b[:hdr+n], content: b[hdr : hdr+n]}, b[hdr+n:], nil
}

// sequence returns the children of e, which must be a SEQUENCE.
func (e element) sequence(what string) ([]element, error) {
	if e.tag != tagSequence {
		return nil, fmt.Errorf("%s: expected a SEQUENCE, found %s", what, tagName(e.tag))
	}
	return readElements(e.content, what)
}

func tagName(t cbasn1.Tag) string {
	switch t {
	case tagBoolean:
		return "a BOOLEAN"
	case tagInteger:
		return "an INTEGER"
	case tagBitString:
		return "a BIT STRING"
	case tagOctetString:
		return "an OCTET STRING"
	case tagOID:
		return "an OBJECT IDENTIFIER"
	case tagUTF8String:
		return "a UTF8String"
	case tagPrintableString:
		return "a PrintableString"
	case tagIA5String:
		return "an IA5String"
	case tagUTCTime:
		return "a UTCTime"
	case tagGeneralizedTime:
		return "a GeneralizedTime"
	case tagSequence:
		return "a SEQUENCE"
	case cbasn1.SET:
		return "a SET"
	}
	return fmt.Sprintf("tag 0x%02x", uint8(t))
}

func isStringTag(t cbasn1.Tag) bool {
	switch t {
	case tagUTF8String, tagPrintableString, tagIA5String, cbasn1.T61String,
		cbasn1.Tag(26) /* VisibleString */, cbasn1.Tag(30) /* BMPString */, cbasn1.Tag(28), tagOctetString:
		return true
	}
	return false
}

// str decodes a string of any string type. BMPString is UTF-16BE.
func (e element) str(what string) (string, error) {
	if !isStringTag(e.tag) {
		return "", fmt.Errorf("%s: expected a string, found %s", what, tagName(e.tag))
	}
	if e.tag == cbasn1.Tag(30) {
		if len(e.content)%2 != 0 {
			return "", fmt.Errorf("%s: BMPString of odd length", what)
		}
		var b strings.Builder
		for i := 0; i+1 < len(e.content); i += 2 {
			b.WriteRune(rune(e.content[i])<<8 | rune(e.content[i+1]))
		}
		return b.String(), nil
	}
	if !utf8.Valid(e.content) {
		return "", fmt.Errorf("%s: not valid UTF-8 text", what)
	}
	return string(e.content), nil
}

// integer decodes a small non-negative INTEGER leniently: leading zero bytes that DER forbids
// are accepted (some producers write them).
func (e element) integer(what string) (int, error) {
	if e.tag != tagInteger {
		return 0, fmt.Errorf("%s: expected an INTEGER, found %s", what, tagName(e.tag))
	}
	b := e.content
	if len(b) == 0 {
		return 0, fmt.Errorf("%s: empty INTEGER", what)
	}
	if b[0]&0x80 != 0 {
		return 0, fmt.Errorf("%s: negative INTEGER", what)
	}
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) > 4 {
		return 0, fmt.Errorf("%s: INTEGER too large (%d bytes)", what, len(b))
	}
	v := 0
	for _, c := range b {
		v = v<<8 | int(c)
	}
	return v, nil
}

// bits returns the content of a BIT STRING without its unused-bits byte, and that byte.
// Every field read as a BIT STRING here holds whole bytes (a digest, a signature, a token),
// yet one producer writes 1 to 3 "unused bits": all content bytes are taken, as the
// checkers of those producers do, and the caller notes the count (see unusedNote). Whatever
// is taken is still verified: a signature or digest covers every content byte.
func (e element) bits(what string) ([]byte, int, error) {
	if e.tag != tagBitString {
		return nil, 0, fmt.Errorf("%s: expected a BIT STRING, found %s", what, tagName(e.tag))
	}
	if len(e.content) == 0 {
		return nil, 0, fmt.Errorf("%s: empty BIT STRING", what)
	}
	u := int(e.content[0])
	switch {
	case u > 7:
		return nil, 0, fmt.Errorf("%s: BIT STRING claims %d unused bits, at most 7 are possible", what, u)
	case u != 0 && len(e.content) == 1:
		return nil, 0, fmt.Errorf("%s: BIT STRING without content claims %d unused bits", what, u)
	}
	return e.content[1:], u, nil
}

// unusedNote words the leniency of bits for a report; "" when there are no unused bits.
func unusedNote(what string, unused int) string {
	if unused == 0 {
		return ""
	}
	return fmt.Sprintf("%s: BIT STRING says %d unused bits although it holds whole bytes; all its bytes were taken (non-standard, never written by this software)", what, unused)
}

// bytesLenient accepts a BIT STRING or an OCTET STRING (non-standard v1 producers use either).
func (e element) bytesLenient(what string) (b []byte, octet bool, unused int, err error) {
	if e.tag == tagOctetString {
		return e.content, true, 0, nil
	}
	b, unused, err = e.bits(what)
	return b, false, unused, err
}

// cert returns a certificate field: an OCTET STRING holding the DER (the standard), or the
// certificate SEQUENCE written bare (non-standard, noted).
func (e element) cert(what string) (der []byte, bare bool, err error) {
	if e.tag == tagSequence {
		return e.full, true, nil
	}
	der, err = e.octets(what)
	return der, false, err
}

func (e element) octets(what string) ([]byte, error) {
	if e.tag != tagOctetString {
		return nil, fmt.Errorf("%s: expected an OCTET STRING, found %s", what, tagName(e.tag))
	}
	return e.content, nil
}

func (e element) oid(what string) (asn1.ObjectIdentifier, error) {
	if e.tag != tagOID {
		return nil, fmt.Errorf("%s: expected an OBJECT IDENTIFIER, found %s", what, tagName(e.tag))
	}
	var oid asn1.ObjectIdentifier
	if len(e.content) > 127 {
		return nil, fmt.Errorf("%s: OBJECT IDENTIFIER too long", what)
	}
	s := cryptobyte.String(append([]byte{byte(tagOID), byte(len(e.content))}, e.content...))
	if !s.ReadASN1ObjectIdentifier(&oid) {
		return nil, fmt.Errorf("%s: malformed OBJECT IDENTIFIER", what)
	}
	return oid, nil
}

// TimeKind says how a time was encoded.
type TimeKind string

// Time encodings met in seals and signatures.
const (
	KindGeneralizedTime TimeKind = "GeneralizedTime"
	KindUTCTime         TimeKind = "UTCTime"
	KindText            TimeKind = "text"
)

// cst is China Standard Time (UTC+8, no daylight saving), in which every producer of
// these formats works: a time written without a zone is read in it, and the reader is told.
var cst = time.FixedZone("CST", 8*3600)

const cstNote = "read as China Standard Time (UTC+8)"

// time decodes a UTCTime or GeneralizedTime. What DER requires is read silently; each
// deviation met in the wild is read and named in the returned note: no seconds, a fraction
// or a zone offset where DER wants Z, a missing zone (read as China Standard Time), and a
// GeneralizedTime tag holding 12-digit UTCTime text (read with the RFC 5280 window).
func (e element) time(what string) (time.Time, TimeKind, string, error) {
	s := string(e.content)
	switch e.tag {
	case tagUTCTime:
		t, zoned, ok := parseUTCTime(s)
		if !ok {
			return time.Time{}, "", "", fmt.Errorf("%s: malformed UTCTime %q", what, clip(s))
		}
		if !zoned {
			return t, KindUTCTime, fmt.Sprintf("%s: UTCTime %q has no zone; %s", what, s, cstNote), nil
		}
		return t, KindUTCTime, "", nil
	case tagGeneralizedTime:
		// Twelve digits are read first as UTCTime text, which producers are seen to write
		// under this tag; YYYYMMDDhhmm (no seconds) only when that reading fails.
		if len(s) == 12 || (len(s) == 13 && s[12] == 'Z') {
			if t, zoned, ok := parseUTCTime(s); ok {
				note := fmt.Sprintf("%s: GeneralizedTime %q holds 12-digit UTCTime text; read as YYMMDDhhmmss with the RFC 5280 century window (50-99 is 19xx)", what, s)
				if !zoned {
					note += "; it has no zone, " + cstNote
				}
				return t, KindUTCTime, note, nil
			}
		}
		if t, zoned, ok := parseGeneralizedTime(s); ok {
			note := ""
			switch {
			case !zoned:
				note = fmt.Sprintf("%s: GeneralizedTime %q has no zone; %s", what, s, cstNote)
			case len(s) != len("20060102150405Z") || s[len(s)-1] != 'Z':
				note = fmt.Sprintf("%s: GeneralizedTime %q is not in the DER form YYYYMMDDHHMMSSZ; read as written", what, s)
			}
			return t, KindGeneralizedTime, note, nil
		}
		if t, zoned, ok := parseTextTime(s); ok && strings.ContainsAny(s, "-:") {
			note := fmt.Sprintf("%s: GeneralizedTime holds the text %q, not YYYYMMDDHHMMSSZ; read as written", what, s)
			if !zoned {
				note += ", with no zone, " + cstNote
			}
			return t, KindText, note, nil
		}
		return time.Time{}, "", "", fmt.Errorf("%s: malformed GeneralizedTime %q", what, clip(s))
	}
	return time.Time{}, "", "", fmt.Errorf("%s: expected a UTCTime or GeneralizedTime, found %s", what, tagName(e.tag))
}

// parseUTCTime reads YYMMDDhhmm[ss] with Z, an offset or no zone (then China Standard Time).
// The century follows RFC 5280 §4.1.2.5.1: YY of 50 to 99 is 19YY, 00 to 49 is 20YY.
func parseUTCTime(s string) (t time.Time, zoned, ok bool) {
	for _, l := range []struct {
		layout string
		zoned  bool
	}{{"060102150405Z0700", true}, {"0601021504Z0700", true}, {"060102150405", false}, {"0601021504", false}} {
		if p, err := time.ParseInLocation(l.layout, s, cst); err == nil {
			// Go reads 69-99 as 19xx and 00-68 as 20xx; RFC 5280 moves 50-68 to the 1900s.
			if y := p.Year(); y >= 2050 && y < 2069 {
				p = p.AddDate(-100, 0, 0)
			}
			return p.UTC(), l.zoned, true
		}
	}
	return time.Time{}, false, false
}

// parseGeneralizedTime reads YYYYMMDDhhmm[ss[.f]] with Z, an offset or no zone (then China
// Standard Time).
func parseGeneralizedTime(s string) (t time.Time, zoned, ok bool) {
	for _, l := range []struct {
		layout string
		zoned  bool
	}{{"20060102150405Z0700", true}, {"20060102150405.999999999Z0700", true}, {"20060102150405", false},
		{"20060102150405.999999999", false}, {"200601021504Z0700", true}, {"200601021504", false}} {
		if p, err := time.ParseInLocation(l.layout, s, cst); err == nil {
			return p.UTC(), l.zoned, true
		}
	}
	return time.Time{}, false, false
}

// parseTextTime reads the free-form times some v1 producers put in timeInfo; zoned is false
// when the text names no zone (it is then read as China Standard Time).
func parseTextTime(s string) (t time.Time, zoned, ok bool) {
	s = strings.TrimSpace(s)
	for _, l := range []struct {
		layout string
		zoned  bool
	}{{time.RFC3339Nano, true}, {"2006-01-02T15:04:05.999999999", false}, {"2006-01-02 15:04:05.999999999Z07:00", true},
		{"2006-01-02 15:04:05.999999999", false}, {"20060102150405Z0700", true}, {"20060102150405.999999999Z0700", true},
		{"20060102150405", false}, {"2006/01/02 15:04:05", false}} {
		if p, err := time.ParseInLocation(l.layout, s, cst); err == nil {
			return p.UTC(), l.zoned, true
		}
	}
	return time.Time{}, false, false
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Builders for strict DER output.

func addIA5(b *cryptobyte.Builder, s string) {
	b.AddASN1(tagIA5String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func addUTF8(b *cryptobyte.Builder, s string) {
	b.AddASN1(tagUTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func addPrintable(b *cryptobyte.Builder, s string) {
	b.AddASN1(tagPrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(s)) })
}

func addOctets(b *cryptobyte.Builder, v []byte) {
	b.AddASN1OctetString(v)
}

func addBits(b *cryptobyte.Builder, v []byte) {
	b.AddASN1BitString(v)
}

func addGeneralizedTime(b *cryptobyte.Builder, t time.Time) {
	b.AddASN1(tagGeneralizedTime, func(b *cryptobyte.Builder) {
		b.AddBytes([]byte(t.UTC().Format("20060102150405Z")))
	})
}

func addUTCTime(b *cryptobyte.Builder, t time.Time) {
	b.AddASN1(tagUTCTime, func(b *cryptobyte.Builder) {
		b.AddBytes([]byte(t.UTC().Format("060102150405Z")))
	})
}

func isIA5(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// offsetIn returns where inner, a part of outer's backing array, begins in outer; -1 when it
// is not a part of outer.
func offsetIn(outer, inner []byte) int {
	off := cap(outer) - cap(inner)
	if len(inner) == 0 || off < 0 || off+len(inner) > len(outer) || &outer[off] != &inner[0] {
		return -1
	}
	return off
}
