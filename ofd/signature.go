package ofd

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// OIDSM3 is the object identifier of the SM3 hash algorithm.
const OIDSM3 = "1.2.156.10197.1.401"

// Signature is one <Signature> entry of a Signatures.xml file, with the parts
// of its Signature.xml and the files they name.
//
// All resolved paths are package paths without a leading slash.
type Signature struct {
	ID       string // the ID attribute in Signatures.xml
	Type     string // "Seal" (default when absent) or "Sign", as written otherwise
	BaseLoc  string // as written in Signatures.xml
	Relative string // OFD 2.0 Relative attribute (ID of the signature this one builds on), as written
	ListPath string // resolved path of the Signatures.xml that lists this signature
	Location string // resolved path of Signature.xml, e.g. "Doc_0/Signs/Sign_0/Signature.xml"
	XML      []byte // raw bytes of Signature.xml exactly as stored (the signed data; never re-serialise)
	// XML, Seal and SignedValue may be shared with other signatures and the
	// package's cache: treat them as read-only.

	Provider, ProviderVersion, Company string
	SignatureMethod, SignatureDateTime string

	CheckMethod string // of the (first) <References> element, as written
	References  []Reference
	StampAnnots []StampAnnot

	SealPath        string // resolved path of Seal.esl, "" when Signature.xml names none
	Seal            []byte // its bytes, nil when absent or unreadable (see Warnings)
	SignedValuePath string // resolved path of SignedValue.dat, "" when not named
	SignedValue     []byte // its bytes, nil when missing

	// Err says why this signature cannot be checked at all (Signature.xml or
	// SignedValue.dat missing or unreadable, malformed XML ...), nil otherwise.
	// The fields above are filled as far as they could be read.
	Err error
	// Warnings lists problems that do not stop checking: a missing Seal.esl,
	// an unparsable Boundary, a path written without its leading slash ...
	Warnings []string
	// Notes names the producers' habits that were read leniently (SES.md §5 item 17): no
	// Type attribute, a value file not called SignedValue.dat, a CheckMethod "sm3" in lower
	// case, <SignedValue> before <SignedInfo>.
	Notes []string

	// twoReadings says, for each relative path of this signature's parts that names a file
	// both from its folder (the file read) and from the package root, which two files a
	// reader may take (see Coverage); entryReading says it of this entry's BaseLoc.
	twoReadings  []string
	entryReading string
}

// rootAlternative returns the file that a reader taking the relative path ref from the
// package root opens, when it exists and is not resolved, the file read; "" otherwise.
func (p *Package) rootAlternative(resolved, ref string) string {
	ref = strings.TrimSpace(ref)
	if resolved == "" || strings.HasPrefix(ref, "/") {
		return ""
	}
	if alt, ok := cleanPath(ref); ok && alt != "" && alt != resolved && p.Has(alt) {
		return alt
	}
	return ""
}

// twoReadings says that what names the file resolved, and a reader taking ref from the
// root opens another file, when it does; "" otherwise.
func (p *Package) twoReadings(what, resolved, ref string) string {
	if alt := p.rootAlternative(resolved, ref); alt != "" {
		return fmt.Sprintf("%s %q names %s from its folder and %s from the package root: readers may take either", what, strings.TrimSpace(ref), resolved, alt)
	}
	return ""
}

// noteTwoReadings records twoReadings of one of the signature's parts.
func (p *Package) noteTwoReadings(s *Signature, what, resolved, ref string) {
	if m := p.twoReadings(what, resolved, ref); m != "" {
		s.twoReadings = append(s.twoReadings, m)
	}
}

// Reference is one <Reference> of a Signature.xml.
type Reference struct {
	FileRef  string // as written
	Path     string // resolved package path, "" when FileRef is unusable
	Expected []byte // decoded CheckValue, nil when not valid base64
	Actual   []byte // digest of the stored file, nil if it could not be computed
	OK       bool
	Problem  string // "" when OK; otherwise a sentence saying what is wrong
}

// StampAnnot is one <StampAnnot> of a Signature.xml: where the seal appears.
type StampAnnot struct {
	ID, PageRef string
	Boundary    [4]float64 // x, y, width, height in mm
	BoundaryRaw string     // as written
	Clip        string     // as written
	Problem     string     // "" when Boundary parsed; else what is wrong with it
}

// Signatures finds every Signatures.xml through OFD.xml (each DocBody) and
// returns one entry per <Signature>, in document order.
//
// It returns an error when OFD.xml is missing or unreadable, when the
// package holds more signatures than Limits.MaxSignatures, or when a limit
// stops a Signatures.xml from being read (all wrap ErrNotExist, ErrFormat or
// ErrLimit). A package without
// signatures gives (nil, nil). A problem with one signature goes into that
// Signature's Err and never affects the others. When a Signatures.xml named
// by OFD.xml is itself missing or malformed, a Signature with empty ID and
// that file's path in ListPath and Location carries the error, so that a
// document claiming signatures is never mistaken for an unsigned one.
func (p *Package) Signatures() ([]*Signature, error) {
	doc, err := p.ofdXMLOnce()
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			return nil, newErr(ErrNotExist, "OFD.xml", "the file is missing, so this is not an OFD package", nil)
		}
		return nil, err
	}

	var out []*Signature
	seen := map[string]bool{}
	for _, body := range doc.bodies {
		docRoot := "" // the last DocRoot, as Signatures has always taken it
		if len(body.docRoots) > 0 {
			docRoot = body.docRoots[len(body.docRoots)-1]
		}
		for _, ref := range body.signatures {
			ref = strings.TrimSpace(ref)
			if ref == "" {
				continue
			}
			list, warn, err := p.resolveExisting("OFD.xml", ref)
			if err == nil && !p.Has(list) && docRoot != "" {
				// Tolerate a path written relative to the document folder.
				if dr, err2 := resolve("OFD.xml", docRoot); err2 == nil {
					if alt, err3 := resolve(dr, ref); err3 == nil && p.Has(alt) {
						list, warn = alt, fmt.Sprintf("OFD.xml names %q relative to the document folder; it was found at %s", ref, alt)
					}
				}
			}
			if err != nil {
				out = append(out, &Signature{ListPath: "OFD.xml", Err: err})
				continue
			}
			if seen[list] {
				continue
			}
			seen[list] = true
			sigs, err := p.readList(list, p.lim.MaxSignatures-len(out))
			if err != nil {
				if errors.Is(err, ErrLimit) {
					return nil, err
				}
				s := &Signature{ListPath: list, Location: list, Err: err}
				if warn != "" {
					s.Warnings = append(s.Warnings, warn)
				}
				out = append(out, s)
				continue
			}
			for _, s := range sigs {
				if warn != "" {
					s.Warnings = append(s.Warnings, warn)
				}
			}
			out = append(out, sigs...)
		}
	}
	if len(out) > p.lim.MaxSignatures {
		return nil, newErr(ErrLimit, "", fmt.Sprintf("the package has more than %d signatures (the limit)", p.lim.MaxSignatures), nil)
	}
	return out, nil
}

// resolveExisting resolves ref against base; when that file does not exist
// but ref, taken from the package root, does, that path is used instead and a
// warning is returned (producers often forget the leading slash).
func (p *Package) resolveExisting(base, ref string) (string, string, error) {
	n, err := resolve(base, ref)
	if err == nil && p.Has(n) {
		return n, "", nil
	}
	ref = strings.TrimSpace(ref)
	if !strings.HasPrefix(ref, "/") {
		if alt, ok := cleanPath(ref); ok && alt != "" && p.Has(alt) {
			return alt, fmt.Sprintf("%s names %q without a leading slash; it was taken from the package root (%s)", base, ref, alt), nil
		}
	}
	return n, "", err
}

// readList parses one Signatures.xml and reads every signature it lists.
// It fails with ErrLimit when more than max entries are listed.
func (p *Package) readList(list string, max int) ([]*Signature, error) {
	b, err := p.read(list)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			return nil, newErr(ErrNotExist, list, "this Signatures.xml, named in OFD.xml, is missing from the package", nil)
		}
		return nil, err
	}
	entries, err := scanSignatureList(b, max)
	if err == errFallback {
		entries, err = p.decodeSignatureList(b, list, max)
	}
	if err != nil {
		return nil, err
	}
	sigs := make([]*Signature, 0, len(entries))
	ids := map[string]bool{}
	for _, e := range entries {
		s := &Signature{
			ID:       firstNonEmpty(e.ID, e.IDEl),
			Type:     firstNonEmpty(e.Type, e.TypeEl),
			BaseLoc:  firstNonEmpty(e.BaseLoc, e.BaseLocEl),
			Relative: firstNonEmpty(e.Relative, e.RelativeEl),
			ListPath: list,
		}
		if s.Type == "" {
			s.Type = "Seal"
			s.Notes = append(s.Notes, fmt.Sprintf("%s gives signature %s no Type; read as Seal, the default", list, s.name()))
		}
		if s.ID == "" {
			s.Warnings = append(s.Warnings, "the signature entry in "+list+" has no ID")
		} else if ids[s.ID] {
			s.Warnings = append(s.Warnings, fmt.Sprintf("%s lists the signature ID %q more than once", list, s.ID))
		}
		ids[s.ID] = true
		p.readSignatureOnce(s)
		s.entryReading = p.twoReadings("the BaseLoc in "+list, s.Location, s.BaseLoc)
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// decodeSignatureList reads the entries of Signatures.xml with encoding/xml; more
// than max entries fail with ErrLimit.
func (p *Package) decodeSignatureList(b []byte, list string, max int) ([]xmlSigEntry, error) {
	d := newDecoder(b)
	if _, err := rootElement(d, list, "Signatures"); err != nil {
		return nil, err
	}
	var entries []xmlSigEntry
	for depth := 1; depth > 0; {
		tok, err := d.Token()
		if err != nil {
			return nil, xmlErr(list, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 1 && t.Name.Local == "Signature" {
				if len(entries) >= max {
					return nil, newErr(ErrLimit, list, fmt.Sprintf("the package has more than %d signatures (the limit)", p.lim.MaxSignatures), nil)
				}
				var e xmlSigEntry
				if err := d.DecodeElement(&e, &t); err != nil {
					return nil, xmlErr(list, err)
				}
				entries = append(entries, e)
				continue
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return entries, nil
}

func (s *Signature) name() string {
	if s.ID == "" {
		return "without ID"
	}
	return strconv.Quote(s.ID)
}

// readSignature fills s from its Signature.xml.
func (p *Package) readSignature(s *Signature) {
	if s.BaseLoc == "" {
		s.Err = newErr(ErrFormat, s.ListPath, fmt.Sprintf("signature %s has no BaseLoc, so its Signature.xml cannot be found", s.name()), nil)
		return
	}
	loc, warn, err := p.resolveExisting(s.ListPath, s.BaseLoc)
	if warn != "" {
		s.Warnings = append(s.Warnings, warn)
	}
	if err != nil {
		s.Err = newErr(ErrPath, s.ListPath, fmt.Sprintf("signature %s: its BaseLoc: %s", s.name(), errMsg(err)), nil)
		return
	}
	s.Location = loc
	b, err := p.read(loc)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			s.Err = newErr(ErrNotExist, loc, fmt.Sprintf("the Signature.xml of signature %s (listed in %s) is missing from the package", s.name(), s.ListPath), nil)
		} else {
			s.Err = err
		}
		return
	}
	s.XML = b

	x, order, err := scanSignatureXML(b)
	if err == errFallback {
		x = &xmlSignature{}
		d := newDecoder(b)
		if _, err := rootElement(d, loc, "Signature"); err != nil {
			s.Err = err
			return
		}
		if order, err = decodeSignatureXML(d, x); err != nil {
			s.Err = xmlErr(loc, err)
			return
		}
	}
	si := &x.SignedInfo
	s.Provider = firstNonEmpty(si.Provider.Name, si.Provider.NameEl)
	s.ProviderVersion = firstNonEmpty(si.Provider.Version, si.Provider.VersionEl)
	s.Company = firstNonEmpty(si.Provider.Company, si.Provider.CompanyEl)
	s.SignatureMethod = strings.TrimSpace(si.SignatureMethod)
	s.SignatureDateTime = strings.TrimSpace(si.SignatureDateTime)

	if len(si.References) > 0 {
		s.CheckMethod = strings.TrimSpace(si.References[0].CheckMethod)
	}
	for _, refs := range si.References {
		if m := strings.TrimSpace(refs.CheckMethod); sm3Method(m) && m != "SM3" && m != OIDSM3 {
			s.Notes = append(s.Notes, fmt.Sprintf("CheckMethod %q read as SM3", m))
			break
		}
	}
	if indexOf(order, "SignedValue") >= 0 && indexOf(order, "SignedValue") < indexOf(order, "SignedInfo") {
		s.Notes = append(s.Notes, loc+" writes <SignedValue> before <SignedInfo>; read in any order")
	}
	// The seal is read before the References are checked: a Reference to it
	// then hashes the bytes read instead of inflating the file a second time.
	if bl := strings.TrimSpace(si.Seal.BaseLoc); bl != "" {
		sp, warn, err := p.resolveExisting(loc, bl)
		if warn != "" {
			s.Warnings = append(s.Warnings, warn)
		}
		if err != nil {
			s.Warnings = append(s.Warnings, fmt.Sprintf("the seal file named in %s: %s", loc, errMsg(err)))
		} else {
			s.SealPath = sp
			p.noteTwoReadings(s, "the seal file named in "+loc, sp, bl)
			if sb, err := p.read(sp); err != nil {
				if errors.Is(err, ErrNotExist) {
					s.Warnings = append(s.Warnings, fmt.Sprintf("the seal file %s named in %s is missing from the package", sp, loc))
				} else {
					s.Warnings = append(s.Warnings, err.Error())
				}
			} else {
				s.Seal = sb
			}
		}
	}

	for _, refs := range si.References {
		method := strings.TrimSpace(refs.CheckMethod)
		for _, r := range refs.Reference {
			s.References = append(s.References, p.checkReference(method, firstNonEmpty(r.FileRef, r.FileRefEl), r.CheckValue))
		}
	}
	if len(s.References) == 0 {
		s.Warnings = append(s.Warnings, loc+" protects no files (it has no Reference)")
	}

	for _, a := range si.StampAnnot {
		sa := StampAnnot{ID: strings.TrimSpace(a.ID), PageRef: strings.TrimSpace(a.PageRef),
			BoundaryRaw: a.Boundary, Clip: strings.TrimSpace(a.Clip)}
		sa.Boundary, sa.Problem = parseBox(a.Boundary)
		if sa.Problem != "" {
			s.Warnings = append(s.Warnings, fmt.Sprintf("StampAnnot %q in %s: %s", sa.ID, loc, sa.Problem))
		}
		s.StampAnnots = append(s.StampAnnots, sa)
	}

	sv := firstNonEmpty(x.SignedValue, si.SignedValue)
	if sv == "" {
		s.Err = newErr(ErrFormat, loc, fmt.Sprintf("signature %s names no SignedValue file, so it cannot be checked", s.name()), nil)
		return
	}
	svp, warn, err := p.resolveExisting(loc, sv)
	if warn != "" {
		s.Warnings = append(s.Warnings, warn)
	}
	if err != nil {
		s.Err = newErr(ErrPath, loc, fmt.Sprintf("signature %s: its SignedValue: %s", s.name(), errMsg(err)), nil)
		return
	}
	s.SignedValuePath = svp
	p.noteTwoReadings(s, "the SignedValue named in "+loc, svp, sv)
	if name := svp[strings.LastIndexByte(svp, '/')+1:]; name != "SignedValue.dat" {
		s.Notes = append(s.Notes, fmt.Sprintf("the signature value file is %s, as <SignedValue> names it (commonly SignedValue.dat)", name))
	}
	svb, err := p.read(svp)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			s.Err = newErr(ErrNotExist, svp, fmt.Sprintf("the SignedValue file of signature %s is missing from the package", s.name()), nil)
		} else {
			s.Err = err
		}
		return
	}
	s.SignedValue = svb
}

// cst is China Standard Time (UTC+8), in which OFD producers write their times.
var cst = time.FixedZone("CST", 8*3600)

// ParseDateTime reads a SignatureDateTime, which producers write in several forms:
// "2022-10-17 09:45:19", "2022-10-17T09:45:19Z", "20200817111329Z", "20201004072855.302Z",
// "20201010151120". A time written without a zone is read as China Standard Time (UTC+8),
// and zoned is then false so that the reader can be told. The result is in UTC.
func ParseDateTime(s string) (t time.Time, zoned bool, err error) {
	s = strings.TrimSpace(s)
	for _, l := range []struct {
		layout string
		zoned  bool
	}{{time.RFC3339Nano, true}, {"2006-01-02 15:04:05.999999999Z07:00", true}, {"2006-01-02 15:04:05.999999999", false},
		{"2006-01-02T15:04:05.999999999", false}, {"20060102150405.999999999Z0700", true}, {"20060102150405.999999999", false},
		{"2006/01/02 15:04:05", false}, {"2006-01-02", false}} {
		if p, err := time.ParseInLocation(l.layout, s, cst); err == nil {
			return p.UTC(), l.zoned, nil
		}
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return time.Time{}, false, fmt.Errorf("SignatureDateTime %q is in no known form", s)
}

// sm3Method reports whether a CheckMethod names SM3.
func sm3Method(m string) bool {
	m = strings.TrimSpace(m)
	return strings.EqualFold(m, "SM3") || m == OIDSM3 || strings.EqualFold(m, "urn:oid:"+OIDSM3)
}

// checkReference resolves and checks one Reference.
func (p *Package) checkReference(method, fileRef, checkValue string) Reference {
	r := Reference{FileRef: fileRef}
	if fileRef == "" {
		r.Problem = "a Reference has no FileRef"
		return r
	}
	n, ok := cleanPath(fileRef)
	switch {
	case !ok:
		r.Problem = fmt.Sprintf("the FileRef %q leaves the package root", fileRef)
		return r
	case n == "":
		r.Problem = fmt.Sprintf("the FileRef %q names the package root, not a file", fileRef)
		return r
	}
	r.Path = n
	cv := strings.Join(strings.Fields(checkValue), "")
	if cv == "" {
		r.Problem = fmt.Sprintf("the Reference to %s has no CheckValue", fileRef)
		return r
	}
	exp, err := base64.StdEncoding.DecodeString(cv)
	if err != nil {
		if exp2, err2 := base64.RawStdEncoding.DecodeString(strings.TrimRight(cv, "=")); err2 == nil {
			exp, err = exp2, nil
		}
	}
	if err != nil {
		r.Problem = fmt.Sprintf("the CheckValue of the Reference to %s is not valid base64", fileRef)
		return r
	}
	r.Expected = exp
	if !sm3Method(method) {
		if method == "" {
			r.Problem = fmt.Sprintf("the References element gives no CheckMethod, so the digest of %s cannot be checked (only SM3 is supported)", fileRef)
		} else {
			r.Problem = fmt.Sprintf("unsupported CheckMethod %q: the digest of %s cannot be checked (only SM3, \"SM3\" or %s, is supported)", method, fileRef, OIDSM3)
		}
		return r
	}
	if !p.Has(n) {
		r.Problem = fmt.Sprintf("the file %s is missing from the package", fileRef)
		return r
	}
	sum, err := p.sm3Of(n)
	if err != nil {
		r.Problem = fmt.Sprintf("the digest of %s could not be computed: %v", fileRef, err)
		return r
	}
	r.Actual = sum
	if !bytes.Equal(sum, exp) {
		if len(exp) != len(sum) {
			r.Problem = fmt.Sprintf("the CheckValue of %s is %d bytes long, but an SM3 digest is %d bytes", fileRef, len(exp), len(sum))
		} else {
			r.Problem = fmt.Sprintf("the SM3 digest of %s does not match its CheckValue: the file was changed after signing", fileRef)
		}
		return r
	}
	r.OK = true
	return r
}

// parseBox parses "x y w h" (millimetres).
func parseBox(s string) ([4]float64, string) {
	var box [4]float64
	f := strings.Fields(strings.ReplaceAll(s, ",", " "))
	if len(f) == 0 {
		return box, "it has no Boundary"
	}
	if len(f) != 4 {
		return box, fmt.Sprintf("its Boundary %q does not have four numbers (x y width height)", s)
	}
	for i, v := range f {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return [4]float64{}, fmt.Sprintf("its Boundary %q contains %q, which is not a number", s, v)
		}
		box[i] = x
	}
	if box[2] < 0 || box[3] < 0 {
		return box, fmt.Sprintf("its Boundary %q has a negative width or height", s)
	}
	return box, ""
}

// errMsg returns the message of an *Error without its "ofd: file:" prefix.
func errMsg(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}
