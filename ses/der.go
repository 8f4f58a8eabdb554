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

// readElements splits the content of a constructed value into its children.
func readElements(content []byte, what string) ([]element, error) {
	var out []element
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

// bits returns the content of a BIT STRING without its unused-bits byte.
func (e element) bits(what string) ([]byte, error) {
	if e.tag != tagBitString {
		return nil, fmt.Errorf("%s: expected a BIT STRING, found %s", what, tagName(e.tag))
	}
	if len(e.content) == 0 {
		return nil, fmt.Errorf("%s: empty BIT STRING", what)
	}
	if e.content[0] != 0 {
		return nil, fmt.Errorf("%s: BIT STRING with %d unused bits, expected whole bytes", what, e.content[0])
	}
	return e.content[1:], nil
}

// bytesLenient accepts a BIT STRING or an OCTET STRING (non-standard v1 producers use either).
func (e element) bytesLenient(what string) (b []byte, octet bool, err error) {
	if e.tag == tagOctetString {
		return e.content, true, nil
	}
	b, err = e.bits(what)
	return b, false, err
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

// time decodes a UTCTime or GeneralizedTime leniently (missing seconds, fractions, a missing
// zone, which is taken as UTC). It reports which kind it met.
func (e element) time(what string) (time.Time, TimeKind, error) {
	switch e.tag {
	case tagUTCTime:
		t, err := parseUTCTime(string(e.content))
		if err != nil {
			return time.Time{}, "", fmt.Errorf("%s: %v", what, err)
		}
		return t, KindUTCTime, nil
	case tagGeneralizedTime:
		t, err := parseGeneralizedTime(string(e.content))
		if err != nil {
			return time.Time{}, "", fmt.Errorf("%s: %v", what, err)
		}
		return t, KindGeneralizedTime, nil
	}
	return time.Time{}, "", fmt.Errorf("%s: expected a UTCTime or GeneralizedTime, found %s", what, tagName(e.tag))
}

func parseUTCTime(s string) (time.Time, error) {
	for _, layout := range []string{"060102150405Z0700", "0601021504Z0700", "060102150405", "0601021504"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("malformed UTCTime %q", clip(s))
}

func parseGeneralizedTime(s string) (time.Time, error) {
	for _, layout := range []string{"20060102150405Z0700", "20060102150405.999999999Z0700",
		"20060102150405", "20060102150405.999999999", "200601021504Z0700", "200601021504"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("malformed GeneralizedTime %q", clip(s))
}

// beijing is China Standard Time, used for text times that carry no zone.
var beijing = time.FixedZone("CST", 8*3600)

// parseTextTime reads the free-form times some v1 producers put in timeInfo.
func parseTextTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999",
		"2006-01-02 15:04:05", "20060102150405Z0700", "20060102150405.999999999Z0700", "20060102150405"} {
		if t, err := time.ParseInLocation(layout, s, beijing); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
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
