package ses

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// Seal is a parsed SESeal (an electronic seal, a .esl file), v1, v4 or v5.
// Raw holds the exact bytes it was parsed from; the maker's signature is always checked
// over slices of the original bytes, never over a re-encoding.
type Seal struct {
	Version   int    // 1 (GM/T 0031-2014), 4 (GB/T 38540-2020) or 5, told by shape and header
	Raw       []byte // the complete SESeal as stored
	Info      SealInfo
	MakerCert []byte // DER of the seal maker's certificate
	SignAlg   asn1.ObjectIdentifier
	SignValue []byte   // the maker's signature, as stored in the BIT STRING
	TimeStamp []byte   // v5 [0] timeStamp, nil when absent
	Notes     []string // every deviation from the standard that was read leniently, in words

	// UnknownCritical lists the extensions of SES_SealInfo marked critical. The standard
	// defines no seal extension, so none is understood: as in X.509, a verifier must not
	// accept a seal carrying one.
	UnknownCritical []asn1.ObjectIdentifier

	// certTLV and algTLV are the original encodings of the maker certificate and the
	// algorithm, from which the v1 message is assembled (see messages).
	certTLV, algTLV []byte

	// digests are the SM3 states of signatures made under the seal, after the seal's bytes
	// (see sealDigest); shared by every signature that reuses the parsed seal.
	digests *digestMemo
	// strict keeps StrictEncodings once made: a cached seal is asked about on every
	// verification.
	strict *strictMemo
}

// strictMemo holds a parsed seal's StrictEncodings.
type strictMemo struct {
	once sync.Once
	out  [][]byte
}

// SealInfo is SES_SealInfo.
type SealInfo struct {
	Raw        []byte
	Header     Header
	ESID       string
	Property   Property
	Picture    Picture
	Extensions []Extension
}

// Header is SES_Header.
type Header struct {
	ID      string // "ES"
	Version int
	VID     string // vendor id
}

// Property is SES_ESPropertyInfo of v1 or v4.
type Property struct {
	Type         int
	Name         string
	CertListType int // 1 certificates, 2 digests; 0 in v1, which has no such field
	Certs        [][]byte
	CertDigests  []CertDigest
	CreateDate   time.Time
	ValidStart   time.Time
	ValidEnd     time.Time
	TimeKind     TimeKind // how the three dates were encoded
}

// CertDigest is CertDigestObj.
type CertDigest struct {
	Type  string // free text naming the hash, e.g. "sm3"
	Value []byte
}

// Picture is SES_ESPictrueInfo.
type Picture struct {
	Type   string // "PNG", "GIF", "JPG", "BMP", "SVG", "ofd" ... case varies
	Data   []byte
	Width  int // millimetres
	Height int
}

// Extension is ExtData.
type Extension struct {
	ID       asn1.ObjectIdentifier
	Critical bool
	Value    []byte
}

// Seal type values of v4 (GB/T 38540 leaves them to the business); v1 uses 1 and 2.
const (
	V1TypeOrganisation = 1
	V1TypePersonal     = 2
)

// FormatError says what is wrong with a structure, in words for a user.
type FormatError struct {
	Msg string
}

func (e *FormatError) Error() string { return e.Msg }

func formatErr(format string, args ...any) error {
	return &FormatError{Msg: fmt.Sprintf(format, args...)}
}

// ParseSeal parses a DER SESeal. Bytes after the seal are reported in Notes, not rejected.
func ParseSeal(data []byte) (*Seal, error) {
	e, rest, err := readOne(data, "seal")
	if err != nil {
		return nil, &FormatError{Msg: err.Error()}
	}
	s, err := parseSealElement(e)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("%d bytes after the seal were ignored", len(rest)))
	}
	return s, nil
}

func parseSealElement(e element) (*Seal, error) {
	s := &Seal{digests: new(digestMemo), strict: new(strictMemo)}
	if e.tag == tagOctetString { // non-standard v1: SESeal wrapped in an OCTET STRING
		inner, rest, err := readOne(e.content, "seal")
		if err != nil || len(rest) != 0 {
			return nil, formatErr("seal: an OCTET STRING that does not hold one SESeal")
		}
		e = inner
		s.Notes = append(s.Notes, "seal is wrapped in an OCTET STRING (non-standard), unwrapped")
	}
	s.Raw = e.full
	kids, err := e.sequence("seal")
	if err != nil {
		return nil, &FormatError{Msg: err.Error()}
	}
	switch {
	case len(kids) == 2:
		err = s.parseV1(kids)
	case len(kids) == 4 || len(kids) == 5:
		err = s.parseV4(kids)
	default:
		err = formatErr("seal: %d elements, expected 2 (GM/T 0031 v1) or 4 to 5 (GB/T 38540 v4)", len(kids))
	}
	if err != nil {
		return nil, err
	}
	if err := s.checkHeader(); err != nil {
		return nil, err
	}
	s.UnknownCritical = critical(s.Info.Extensions)
	return s, nil
}

func (s *Seal) parseV4(kids []element) error {
	var err error
	if err = s.parseInfo(kids[0]); err != nil {
		return err
	}
	if err := s.setMakerCert(kids[1]); err != nil {
		return err
	}
	if s.SignAlg, err = kids[2].oid("seal signature algorithm"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	var unused int
	if s.SignValue, unused, err = kids[3].bits("seal signature"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	s.note(unusedNote("seal signature", unused))
	s.Version = 4
	if len(kids) == 5 {
		if kids[4].tag != tagContext0 && kids[4].tag != tagContext0Prim {
			return formatErr("seal: fifth element is %s, expected [0] timeStamp", tagName(kids[4].tag))
		}
		s.TimeStamp = explicitBits(kids[4])
		s.Version = 5
	}
	if s.Info.Header.Version == 5 {
		s.Version = 5
	}
	s.certTLV, s.algTLV = kids[1].full, kids[2].full
	return nil
}

func (s *Seal) parseV1(kids []element) error {
	signInfo := kids[1]
	if signInfo.tag == tagBitString { // non-standard: SES_SignInfo wrapped in a BIT STRING
		b, unused, err := signInfo.bits("seal sign info")
		if err != nil {
			return &FormatError{Msg: err.Error()}
		}
		s.note(unusedNote("seal sign info", unused))
		inner, _, err := readOne(b, "seal sign info")
		if err != nil {
			return &FormatError{Msg: err.Error()}
		}
		signInfo = inner
		s.Notes = append(s.Notes, "SES_SignInfo is wrapped in a BIT STRING (non-standard), unwrapped")
	}
	if signInfo.tag != tagSequence {
		return formatErr("seal: 2 elements but the second is %s, expected SES_SignInfo (a SEQUENCE)", tagName(signInfo.tag))
	}
	if err := s.parseInfo(kids[0]); err != nil {
		return err
	}
	si, err := signInfo.sequence("seal sign info")
	if err != nil {
		return &FormatError{Msg: err.Error()}
	}
	if len(si) != 3 {
		return formatErr("seal sign info: %d elements, expected 3 (cert, algorithm, signature)", len(si))
	}
	if err := s.setMakerCert(si[0]); err != nil {
		return err
	}
	if s.SignAlg, err = si[1].oid("seal signature algorithm"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	var unused int
	if s.SignValue, _, unused, err = si[2].bytesLenient("seal signature"); err != nil {
		return &FormatError{Msg: err.Error()}
	}
	s.note(unusedNote("seal signature", unused))
	s.Version = 1
	s.certTLV, s.algTLV = si[0].full, si[1].full
	return nil
}

func (s *Seal) setMakerCert(e element) error {
	der, bare, err := e.cert("seal maker certificate")
	if err != nil {
		return &FormatError{Msg: err.Error()}
	}
	if bare {
		s.Notes = append(s.Notes, "the maker certificate is written bare, not in an OCTET STRING (non-standard)")
	}
	s.MakerCert = der
	return nil
}

// messages returns what the maker signed by this seal's version and, second, what it would
// have signed by the other's: DER(SES_SealInfo) for v4 and v5, DER(SEQUENCE{SES_SealInfo,
// cert, alg}) for v1, assembled from the original bytes. The second is made only when asked.
func (s *Seal) messages() (own []byte, other func() []byte) {
	info := func() []byte { return s.Info.Raw }
	seq := func() []byte { return seqOf(s.Info.Raw, s.certTLV, s.algTLV) }
	if s.Version == 1 {
		return seq(), info
	}
	return info(), seq
}

// explicitBits returns the token inside [0]: EXPLICIT over a BIT STRING (ofdrw), or the
// bare content when the tag is implicit.
func explicitBits(e element) []byte {
	if e.tag == tagContext0 {
		if inner, rest, err := readOne(e.content, "timeStamp"); err == nil && len(rest) == 0 {
			if b, _, err := inner.bits("timeStamp"); err == nil {
				return b
			}
			if inner.tag == tagOctetString {
				return inner.content
			}
		}
	}
	return e.content
}

// seqOf wraps already-encoded elements in a SEQUENCE.
func seqOf(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n+6)
	out = append(out, 0x30)
	out = AppendLength(out, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// AppendLength appends the DER encoding of a definite length n (short form below 128, else
// the long form with the fewest bytes).
func AppendLength(out []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(out, byte(n))
	case n < 0x100:
		return append(out, 0x81, byte(n))
	case n < 0x10000:
		return append(out, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// note records a deviation read leniently; "" is no deviation.
func (s *Seal) note(n string) {
	if n != "" {
		s.Notes = append(s.Notes, n)
	}
}

// knownVersions are the seal header versions this package reads. 1 is GM/T 0031-2014 as
// ofdrw and dms360 write it; 2 is what some GM/T 0031 producers write (ofdrw issue 249) for
// the same layout; 4 is GB/T 38540-2020; 5 is the v5 layout ofdrw labels GM/T 0031-2025.
// The layout is told by shape, never by this number (a v1 layout saying 4 exists in the
// wild and is read as v1, noted), but a number outside this set is a seal of a format
// nobody has described, and reading it as one of these would be a guess.
var knownVersions = map[int]bool{1: true, 2: true, 4: true, 5: true}

// checkHeader applies the header rules of GB/T 38540 §6.3 a: ID "ES" and a known version.
func (s *Seal) checkHeader() error {
	h := &s.Info.Header
	if h.ID != "ES" {
		return formatErr("seal header: ID is %q, expected \"ES\"", clip(h.ID))
	}
	if !knownVersions[h.Version] {
		return formatErr("seal header: version %d is not a known seal version (1, 2, 4 or 5)", h.Version)
	}
	switch {
	case s.Version == 1 && h.Version >= 4:
		s.note(fmt.Sprintf("seal has the GM/T 0031 v1 layout but its header says version %d; read as v1 by its shape, the maker's message being the v1 one (non-standard)", h.Version))
	case s.Version >= 4 && h.Version < 4:
		s.note(fmt.Sprintf("seal has the GB/T 38540 layout but its header says version %d; read by its shape (non-standard)", h.Version))
	}
	return nil
}

// unwrapContext0 returns the ExtensionDatas inside a [0]: EXPLICIT (A0 30 ..., as ofdrw and
// the tongz sample write TBS_Sign's), or IMPLICIT (the ExtData entries directly), noted.
func unwrapContext0(e element, where string) (element, string) {
	inner, rest, err := readOne(e.content, "extDatas")
	if err == nil && len(rest) == 0 && inner.tag == tagSequence && holdsSequences(inner) {
		if where == "TBS_Sign" {
			return inner, ""
		}
		return inner, where + " extDatas are tagged [0], which the standard does not do; read as EXPLICIT"
	}
	return element{tag: tagSequence, content: e.content}, where + " extDatas are tagged [0] IMPLICIT, not EXPLICIT; read as such"
}

// holdsSequences tells whether e is empty or opens with a SEQUENCE, as an ExtensionDatas does.
func holdsSequences(e element) bool {
	if len(e.content) == 0 {
		return true
	}
	first, _, err := readOne(e.content, "")
	return err == nil && first.tag == tagSequence
}

// critical returns the IDs of the extensions marked critical.
func critical(exts []Extension) []asn1.ObjectIdentifier {
	var out []asn1.ObjectIdentifier
	for _, x := range exts {
		if x.Critical {
			out = append(out, x.ID)
		}
	}
	return out
}

func (s *Seal) parseInfo(e element) error {
	var notes []string
	var err error
	s.Info, notes, err = parseSealInfo(e)
	s.Notes = append(s.Notes, notes...)
	return err
}

func parseSealInfo(e element) (SealInfo, []string, error) {
	var si SealInfo
	var notes []string
	si.Raw = e.full
	kids, err := e.sequence("seal info")
	if err != nil {
		return si, notes, &FormatError{Msg: err.Error()}
	}
	if len(kids) != 4 && len(kids) != 5 {
		return si, notes, formatErr("seal info: %d elements, expected 4 or 5 (header, esID, property, picture, extensions)", len(kids))
	}
	h, err := kids[0].sequence("seal header")
	if err != nil {
		return si, notes, &FormatError{Msg: err.Error()}
	}
	if len(h) != 3 {
		return si, notes, formatErr("seal header: %d elements, expected 3 (ID, version, Vid)", len(h))
	}
	if si.Header.ID, err = h[0].str("seal header ID"); err != nil {
		return si, notes, &FormatError{Msg: err.Error()}
	}
	if si.Header.Version, err = h[1].integer("seal header version"); err != nil {
		return si, notes, &FormatError{Msg: err.Error()}
	}
	if si.Header.VID, err = h[2].str("seal header Vid"); err != nil {
		return si, notes, &FormatError{Msg: err.Error()}
	}
	if si.ESID, err = kids[1].str("seal esID"); err != nil {
		return si, notes, &FormatError{Msg: err.Error()}
	}
	if si.Property, notes, err = parseProperty(kids[2]); err != nil {
		return si, notes, err
	}
	if si.Picture, err = parsePicture(kids[3]); err != nil {
		return si, notes, err
	}
	if len(kids) == 5 {
		ext := kids[4]
		switch ext.tag {
		case tagSequence:
		case tagContext0:
			var note string
			ext, note = unwrapContext0(ext, "seal info")
			notes = append(notes, note)
		default:
			return si, notes, formatErr("seal info: fifth element is %s, expected extDatas (a SEQUENCE OF ExtData)", tagName(ext.tag))
		}
		var n []string
		si.Extensions, n = parseExtensions(ext, "seal info")
		notes = append(notes, n...)
	}
	return si, notes, nil
}

func parseProperty(e element) (Property, []string, error) {
	var p Property
	var notes []string
	kids, err := e.sequence("seal property")
	if err != nil {
		return p, nil, &FormatError{Msg: err.Error()}
	}
	var list element
	var times []element
	switch {
	case len(kids) == 7 && kids[2].tag == tagInteger: // v4: type, name, certListType, certList, 3 times
		if p.CertListType, err = kids[2].integer("seal certListType"); err != nil {
			return p, nil, &FormatError{Msg: err.Error()}
		}
		list, times = kids[3], kids[4:7]
	case len(kids) == 6: // v1: type, name, certList, 3 times
		list, times = kids[2], kids[3:6]
	default:
		return p, nil, formatErr("seal property: %d elements, expected 7 (v4) or 6 (v1)", len(kids))
	}
	if p.Type, err = kids[0].integer("seal type"); err != nil {
		return p, nil, &FormatError{Msg: err.Error()}
	}
	if p.Name, err = kids[1].str("seal name"); err != nil {
		return p, nil, &FormatError{Msg: err.Error()}
	}
	entries, err := list.sequence("seal certList")
	if err != nil {
		return p, nil, &FormatError{Msg: err.Error()}
	}
	for i, c := range entries {
		switch {
		case p.CertListType == 2:
			d, err := c.sequence("seal certList digest")
			if err != nil || len(d) != 2 {
				return p, nil, formatErr("seal certList: entry %d is not a CertDigestObj {type, value}", i+1)
			}
			typ, err1 := d[0].str("seal certList digest type")
			val, err2 := d[1].octets("seal certList digest value")
			if err1 != nil || err2 != nil {
				return p, nil, formatErr("seal certList: entry %d is not a CertDigestObj {PrintableString, OCTET STRING}", i+1)
			}
			p.CertDigests = append(p.CertDigests, CertDigest{Type: typ, Value: val})
		case c.tag == tagOctetString || c.tag == tagSequence:
			der, _, _ := c.cert("seal certList")
			p.Certs = append(p.Certs, der)
		default:
			// dms360 writes an IA5String here; keep going, the signer check will fail.
			p.Certs = append(p.Certs, nil)
		}
	}
	names := []string{"seal createDate", "seal validStart", "seal validEnd"}
	dst := []*time.Time{&p.CreateDate, &p.ValidStart, &p.ValidEnd}
	for i, t := range times {
		var k TimeKind
		var note string
		if *dst[i], k, note, err = t.time(names[i]); err != nil {
			return p, nil, &FormatError{Msg: err.Error()}
		}
		if note != "" {
			notes = append(notes, note)
		}
		if p.TimeKind == "" {
			p.TimeKind = k
		}
	}
	return p, notes, nil
}

func parsePicture(e element) (Picture, error) {
	var pic Picture
	kids, err := e.sequence("seal picture")
	if err != nil {
		return pic, &FormatError{Msg: err.Error()}
	}
	if len(kids) != 4 {
		return pic, formatErr("seal picture: %d elements, expected 4 (type, data, width, height)", len(kids))
	}
	if pic.Type, err = kids[0].str("seal picture type"); err != nil {
		return pic, &FormatError{Msg: err.Error()}
	}
	if pic.Data, err = kids[1].octets("seal picture data"); err != nil {
		return pic, &FormatError{Msg: err.Error()}
	}
	if pic.Width, err = kids[2].integer("seal picture width"); err != nil {
		return pic, &FormatError{Msg: err.Error()}
	}
	if pic.Height, err = kids[3].integer("seal picture height"); err != nil {
		return pic, &FormatError{Msg: err.Error()}
	}
	return pic, nil
}

// parseExtensions reads ExtensionDatas; entries that do not parse are skipped, as producers
// in the wild write some that are not ExtData, and noted. An entry that does not parse but
// says critical TRUE in its second place is kept as critical with an empty ID, so that a
// malformed entry can never hide a critical one.
func parseExtensions(e element, where string) ([]Extension, []string) {
	kids, err := e.sequence("extensions")
	if errors.Is(err, errTooManyElements) {
		// Unread, the list could hide a critical extension: it counts as holding one.
		return []Extension{{Critical: true}}, []string{fmt.Sprintf("%s extensions: %v; taken as holding a critical extension", where, err)}
	}
	if err != nil {
		return nil, []string{fmt.Sprintf("%s extensions are %s, not a SEQUENCE OF ExtData; ignored", where, tagName(e.tag))}
	}
	var out []Extension
	var notes []string
	skipped := 0
	for i, k := range kids {
		x, ok := parseExtension(k)
		if !ok {
			if skipped < maxSkippedNotes {
				notes = append(notes, fmt.Sprintf("%s extension %d is not an ExtData {OID, BOOLEAN, OCTET STRING}; skipped", where, i+1))
			}
			skipped++
			if x.Critical {
				out = append(out, x)
			}
			continue
		}
		out = append(out, x)
	}
	if skipped > maxSkippedNotes {
		notes = append(notes, fmt.Sprintf("%s: %d more extensions that are not ExtData were skipped", where, skipped-maxSkippedNotes))
	}
	return out, notes
}

// maxSkippedNotes bounds the notes parseExtensions writes one by one about the entries it
// skips; the rest are counted in one. A note per entry would let a list of many two-byte
// entries make notes dozens of times the size of the input.
const maxSkippedNotes = 4

func parseExtension(k element) (Extension, bool) {
	var x Extension
	f, err := k.sequence("extension")
	if err != nil || len(f) == 0 {
		return x, false
	}
	if len(f) >= 2 && f[1].tag == tagBoolean && len(f[1].content) == 1 {
		x.Critical = f[1].content[0] != 0
	}
	if len(f) < 2 || len(f) > 3 {
		return x, false
	}
	id, err := f[0].oid("extension id")
	if err != nil {
		return x, false
	}
	x.ID = id
	last := f[len(f)-1]
	if last.tag != tagOctetString {
		return x, false
	}
	x.Value = last.content
	if len(f) == 3 && (f[1].tag != tagBoolean || len(f[1].content) != 1) {
		return x, false
	}
	return x, true
}

// StrictEncodings returns this seal as MakeSeal would have written it, in the GB/T 38540 v4
// layout and then in the GM/T 0031 v1 layout: the same SES_SealInfo (its original bytes),
// maker certificate and signature value, with the certificate in an OCTET STRING, the
// algorithm SM3withSM2, the signature value in strict DER, DER lengths and no timeStamp.
//
// The envelope of a seal is not what its maker signed (a v4 maker signs DER(SES_SealInfo)
// alone, and a seal verifies under either version's convention), so one seal can be written
// in many ways that all verify. Whoever knows seals by their bytes (a registry answering
// for the seals it made) must be asked by these too, or a seal in a new envelope would be
// one it never heard of. nil when the signature value does not decode. A parsed seal makes
// them once; the caller must not change them.
func (s *Seal) StrictEncodings() [][]byte {
	if m := s.strict; m != nil {
		m.once.Do(func() { m.out = s.strictEncodings() })
		return m.out
	}
	return s.strictEncodings()
}

func (s *Seal) strictEncodings() [][]byte {
	v, err := DecodeSM2Value(s.SignValue)
	if err != nil || len(s.Info.Raw) == 0 {
		return nil
	}
	sig := v.DER()
	algDER, _ := encodeOID(OIDSM3WithSM2)
	certDER := encodeOctets(s.MakerCert)
	n := len(s.Info.Raw) + len(certDER) + len(algDER) + len(sig) + 32
	out := make([][]byte, 0, 2)
	for _, v1 := range []bool{false, true} {
		b := cryptobyte.NewBuilder(make([]byte, 0, n))
		addSealEnvelope(b, s.Info.Raw, certDER, algDER, sig, v1)
		if der, err := b.Bytes(); err == nil {
			out = append(out, der)
		}
	}
	return out
}
