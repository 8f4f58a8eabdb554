package ses

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"strings"
	"time"
)

// Signature is a parsed SES_Signature (an electronic seal signature, OFD SignedValue.dat),
// v1, v4 or v5. The signer's signature is checked over TBS.Raw, the original bytes.
type Signature struct {
	Version   int // 1, 4 or 5
	Raw       []byte
	TBS       TBSSign
	Cert      []byte // the signer's certificate, DER (v4: outside TBS_Sign, v1: inside)
	SignAlg   asn1.ObjectIdentifier
	Value     []byte   // the signer's signature, as stored in the BIT STRING
	TimeStamp []byte   // v4 [0] timeStamp token, nil when absent
	Notes     []string // every deviation from the standard that was read leniently, in words

	reuse func(sealDER []byte) *Seal // while parsing: see ParseSignatureReusing
}

// TBSSign is TBS_Sign.
type TBSSign struct {
	Raw          []byte
	Version      int
	Seal         *Seal
	Time         time.Time // the signer's claimed signing time; zero when it could not be read
	TimeKind     TimeKind
	TimeRaw      []byte // v1: the content of the timeInfo BIT STRING
	DataHash     []byte
	PropertyInfo string
	Extensions   []Extension
	// UnknownCritical lists the TBS_Sign extensions marked critical. The standard defines
	// none, so none is understood: as in X.509, a verifier must not accept the signature.
	UnknownCritical []asn1.ObjectIdentifier

	// sealAt is where Seal.Raw's bytes lie in Raw (they were parsed from there, or equal
	// them); -1 when unknown.
	sealAt int
}

// ParseSignature parses a DER SES_Signature, v1 or v4/v5, told apart by shape.
// Bytes after the signature are reported in Notes, not rejected.
func ParseSignature(data []byte) (*Signature, error) {
	return ParseSignatureReusing(data, nil)
}

// ParseSignatureReusing parses like ParseSignature, but asks reuse (when not nil) for the
// seal embedded in TBS_Sign, with the bytes of its SESeal element: a verifier that sees
// thousands of signatures under one seal hands back the seal it parsed before instead of
// parsing tens of kilobytes again. The seal handed back is used only when its Raw equals
// those bytes exactly (else the bytes are parsed as usual), so a wrong answer costs a parse,
// never a different seal. A reused seal is shared: nobody may change it.
func ParseSignatureReusing(data []byte, reuse func(sealDER []byte) *Seal) (*Signature, error) {
	e, rest, err := readOne(data, "signature")
	if err != nil {
		return nil, &FormatError{Msg: err.Error()}
	}
	kids, err := e.sequence("signature")
	if err != nil {
		return nil, &FormatError{Msg: err.Error()}
	}
	s := &Signature{Raw: e.full, reuse: reuse}
	defer func() { s.reuse = nil }()
	switch len(kids) {
	case 2:
		err = s.parseV1(kids)
	case 4, 5:
		err = s.parseV4(kids)
	default:
		err = formatErr("signature: %d elements, expected 2 (GM/T 0031 v1) or 4 to 5 (GB/T 38540 v4)", len(kids))
	}
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d bytes after the signature were ignored", len(rest)))
	}
	if s.TBS.Seal.Version != 1 && s.TBS.Version != s.TBS.Seal.Info.Header.Version {
		s.Notes = append(s.Notes, fmt.Sprintf("TBS_Sign version %d differs from the seal header version %d",
			s.TBS.Version, s.TBS.Seal.Info.Header.Version))
	}
	return s, nil
}

func (s *Signature) parseV4(kids []element) error {
	tbs, err := kids[0].sequence("TBS_Sign")
	if err != nil {
		return &FormatError{Msg: err.Error()}
	}
	if len(tbs) != 5 && len(tbs) != 6 {
		return formatErr("TBS_Sign: %d elements, expected 5 or 6 (version, seal, timeInfo, dataHash, propertyInfo, extensions)", len(tbs))
	}
	s.TBS.Raw = kids[0].full
	if err := s.parseTBSCommon(tbs); err != nil {
		return err
	}
	var note string
	if tbs[2].tag == tagBitString || tbs[2].tag == tagOctetString {
		// The v1 convention in a v4 layout: a time inside a string.
		raw, _, unused, err := tbs[2].bytesLenient("TBS_Sign timeInfo")
		if err != nil {
			return &FormatError{Msg: err.Error()}
		}
		s.note(unusedNote("TBS_Sign timeInfo", unused))
		s.note(fmt.Sprintf("TBS_Sign timeInfo is %s as in GM/T 0031, not a GeneralizedTime (non-standard)", tagName(tbs[2].tag)))
		s.TBS.TimeRaw = raw
		s.TBS.Time, s.TBS.TimeKind, note = decodeV1Time(raw)
		if s.TBS.Time.IsZero() {
			s.note(fmt.Sprintf("timeInfo (%d bytes) holds no time this verifier can read", len(raw)))
		}
	} else if s.TBS.Time, s.TBS.TimeKind, note, err = tbs[2].time("TBS_Sign timeInfo"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	s.note(note)
	if len(tbs) == 6 {
		if tbs[5].tag != tagContext0 {
			return formatErr("TBS_Sign: sixth element is %s, expected [0] extDatas", tagName(tbs[5].tag))
		}
		inner, note := unwrapContext0(tbs[5], "TBS_Sign")
		s.note(note)
		var notes []string
		s.TBS.Extensions, notes = parseExtensions(inner, "TBS_Sign")
		s.Notes = append(s.Notes, notes...)
		s.TBS.UnknownCritical = critical(s.TBS.Extensions)
	}
	if err := s.setCert(kids[1]); err != nil {
		return err
	}
	if s.SignAlg, err = kids[2].oid("signature algorithm"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	var unused int
	if s.Value, unused, err = kids[3].bits("signature value"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	s.note(unusedNote("signature value", unused))
	if len(kids) == 5 {
		if kids[4].tag != tagContext0 && kids[4].tag != tagContext0Prim {
			return formatErr("signature: fifth element is %s, expected [0] timeStamp", tagName(kids[4].tag))
		}
		s.TimeStamp = explicitBits(kids[4])
	}
	s.Version = 4
	if s.TBS.Version == 5 || s.TBS.Seal.Version == 5 {
		s.Version = 5
	}
	return nil
}

func (s *Signature) parseV1(kids []element) error {
	tbs, err := kids[0].sequence("TBS_Sign")
	if err != nil {
		return &FormatError{Msg: err.Error()}
	}
	if len(tbs) != 7 {
		return formatErr("TBS_Sign: %d elements, expected 7 in GM/T 0031 v1", len(tbs))
	}
	s.TBS.Raw = kids[0].full
	if err := s.parseTBSCommon(tbs); err != nil {
		return err
	}
	if s.TBS.Version >= 4 {
		s.note(fmt.Sprintf("TBS_Sign has the GM/T 0031 v1 layout but says version %d; read as v1 by its shape (non-standard)", s.TBS.Version))
	}
	raw, octet, unused, err := tbs[2].bytesLenient("TBS_Sign timeInfo")
	if err != nil {
		return &FormatError{Msg: err.Error()}
	}
	if octet {
		s.Notes = append(s.Notes, "timeInfo is an OCTET STRING, not a BIT STRING (non-standard)")
	}
	s.note(unusedNote("TBS_Sign timeInfo", unused))
	s.TBS.TimeRaw = raw
	var note string
	s.TBS.Time, s.TBS.TimeKind, note = decodeV1Time(raw)
	s.note(note)
	if s.TBS.Time.IsZero() {
		s.Notes = append(s.Notes, fmt.Sprintf("timeInfo (%d bytes) holds no time this verifier can read", len(raw)))
	}
	if err := s.setCert(tbs[5]); err != nil {
		return err
	}
	if s.SignAlg, err = tbs[6].oid("signature algorithm"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	var unused2 int
	if s.Value, unused2, err = kids[1].bits("signature value"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	s.note(unusedNote("signature value", unused2))
	s.Version = 1
	return nil
}

func (s *Signature) setCert(e element) error {
	der, bare, err := e.cert("signer certificate")
	if err != nil {
		return &FormatError{Msg: err.Error()}
	}
	if bare {
		s.Notes = append(s.Notes, "the signer certificate is written bare, not in an OCTET STRING (non-standard)")
	}
	s.Cert = der
	return nil
}

// parseTBSCommon reads version, seal, dataHash and propertyInfo, shared by v1 and v4.
func (s *Signature) parseTBSCommon(tbs []element) error {
	var err error
	if s.TBS.Version, err = tbs[0].integer("TBS_Sign version"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	if s.reuse != nil && tbs[1].tag == tagSequence {
		if seal := s.reuse(tbs[1].full); seal != nil && bytes.Equal(seal.Raw, tbs[1].full) {
			s.TBS.Seal = seal
		}
	}
	if s.TBS.Seal == nil {
		if s.TBS.Seal, err = parseSealElement(tbs[1]); err != nil {
			return formatErr("embedded seal: %v", err)
		}
	}
	s.TBS.sealAt = offsetIn(s.TBS.Raw, tbs[1].full)
	if s.TBS.sealAt >= 0 && tbs[1].tag == tagOctetString { // the seal inside its wrapper
		s.TBS.sealAt += len(tbs[1].full) - len(tbs[1].content)
	}
	if at := s.TBS.sealAt; at < 0 || at+len(s.TBS.Seal.Raw) > len(s.TBS.Raw) {
		s.TBS.sealAt = -1
	}
	var octet bool
	var unused int
	if s.TBS.DataHash, octet, unused, err = tbs[3].bytesLenient("TBS_Sign dataHash"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	if octet {
		s.Notes = append(s.Notes, "dataHash is an OCTET STRING, not a BIT STRING (non-standard)")
	}
	s.note(unusedNote("TBS_Sign dataHash", unused))
	if s.TBS.PropertyInfo, err = tbs[4].str("TBS_Sign propertyInfo"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	if strings.TrimSpace(s.TBS.PropertyInfo) == "" {
		s.note(fmt.Sprintf("TBS_Sign propertyInfo is %q: it names nothing that was signed (non-standard)", s.TBS.PropertyInfo))
	}
	return nil
}

// note records a deviation read leniently; "" is no deviation.
func (s *Signature) note(n string) {
	if n != "" {
		s.Notes = append(s.Notes, n)
	}
}

// decodeV1Time reads the producer-specific content of a v1 timeInfo: a DER UTCTime or
// GeneralizedTime, or text such as "2020-01-25T07:31:56.377Z" or "2022-03-24 08:54:12"
// (text without a zone is read as China Standard Time). The note names what was read.
func decodeV1Time(raw []byte) (time.Time, TimeKind, string) {
	if e, rest, err := readOne(raw, "timeInfo"); err == nil && len(rest) == 0 {
		if t, k, note, err := e.time("TBS_Sign timeInfo"); err == nil {
			return t, k, note
		}
	}
	s := string(raw)
	if !isIA5(s) {
		return time.Time{}, "", ""
	}
	text := strings.TrimRight(s, "\x00")
	if t, zoned, ok := parseTextTime(text); ok {
		note := fmt.Sprintf("TBS_Sign timeInfo is the text %q in a BIT STRING (producer-specific)", clip(text))
		if !zoned {
			note += "; it has no zone, " + cstNote
		}
		return t, KindText, note
	}
	return time.Time{}, "", ""
}

// Sniff tells by shape alone, without parsing, whether data looks like a seal signature
// ("signature": TBS_Sign opens with its version INTEGER) or a seal ("seal": SES_SealInfo opens
// with its header SEQUENCE); "" when it is neither.
func Sniff(data []byte) string {
	e, _, err := readOne(data, "")
	if err != nil || e.tag != tagSequence {
		return ""
	}
	first, _, err := readOne(e.content, "")
	if err != nil {
		return ""
	}
	if first.tag == tagOctetString { // a v1 seal wrapped in an OCTET STRING
		return "seal"
	}
	if first.tag != tagSequence {
		return ""
	}
	inner, _, err := readOne(first.content, "")
	switch {
	case err != nil:
		return ""
	case inner.tag == tagInteger:
		return "signature"
	case inner.tag == tagSequence:
		return "seal"
	}
	return ""
}
