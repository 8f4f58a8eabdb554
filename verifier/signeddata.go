package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/eseal/eseal/ses"
)

// A GM/T 0010 / GB/T 35275 SignedData, as OFD Type="Sign" signatures carry it:
//
//	ContentInfo ::= SEQUENCE { contentType OID (1.2.156.10197.6.1.4.2.2), content [0] EXPLICIT SignedData }
//	SignedData  ::= SEQUENCE { version INTEGER, digestAlgorithms SET, contentInfo SEQUENCE {type, [0] content OPTIONAL},
//	                           certificates [0] IMPLICIT OPTIONAL, crls [1] IMPLICIT OPTIONAL, signerInfos SET OF SignerInfo }
//	SignerInfo  ::= SEQUENCE { version INTEGER, issuerAndSerialNumber SEQUENCE { Name, INTEGER } | [0] subjectKeyIdentifier,
//	                           digestAlgorithm, authenticatedAttributes [0] IMPLICIT SET OF Attribute OPTIONAL,
//	                           digestEncryptionAlgorithm, encryptedDigest OCTET STRING, [1] unauthenticated OPTIONAL }
//
// The signature is SM2 with SM3 and the default ID over the DER of the authenticated
// attributes with the SET tag 0x31 in place of [0], taken from the original bytes (never
// re-sorted or re-encoded), and the messageDigest attribute is SM3 of the content, which for
// OFD is Signature.xml.
var (
	oidGMSignedData  = asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 2}
	oidPKCS7Signed   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSM2Signing    = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}
)

// Bounds on what one SignedData may hold.
const (
	maxSignedDataCert = 16
	maxSignerInfos    = 8
	maxAttributes     = 64
)

// signedData is a parsed SignedData; byte slices point into the input.
type signedData struct {
	certs   [][]byte // DER of each certificate
	content []byte   // the encapsulated content, nil when detached
	signers []signerInfo
}

type signerInfo struct {
	issuer      []byte // DER of the issuer Name, nil when the signer is named by key identifier
	serial      *big.Int
	skid        []byte
	digestAlg   asn1.ObjectIdentifier
	signedAttrs []byte // the original [0] IMPLICIT element, nil when absent
	digest      []byte // messageDigest attribute, nil when absent
	signingTime time.Time
	sigAlg      asn1.ObjectIdentifier
	sig         []byte
	note        string // what was read leniently
}

// isSignedData tells by its first bytes whether b claims to be a SignedData (a SEQUENCE, of
// definite or indefinite length, opening with the signedData OID), so that a damaged one is
// reported as such and not tried as a bare signature.
func isSignedData(b []byte) bool {
	if len(b) < 2 || b[0] != 0x30 {
		return false
	}
	hdr := 2
	if b[1] > 0x80 {
		hdr += int(b[1] & 0x7f)
	}
	if len(b) < hdr+2 || b[hdr] != 0x06 {
		return false
	}
	s := cryptobyte.String(b[hdr:])
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1ObjectIdentifier(&oid) {
		return false
	}
	return oid.Equal(oidGMSignedData) || oid.Equal(oidPKCS7Signed)
}

// parseSignedData reads a SignedData; the error names the part that is wrong. DER is read as
// it is, so that the signed attributes are their original bytes. BER (indefinite or
// non-minimal lengths, a chunked OCTET STRING), as some CMS libraries write the outer layers,
// is first rewritten in DER and said so in the note; the signature is then checked over the
// rewritten attributes, which can only pass if those are the bytes that were signed.
func parseSignedData(b []byte) (*signedData, string, error) {
	sd, err := parseSignedDER(b)
	if err == nil {
		return sd, "", nil
	}
	der, changed, berr := berToDER(b, 0)
	if berr != nil || !changed {
		return nil, "", err
	}
	sd, err2 := parseSignedDER(der)
	if err2 != nil {
		return nil, "", err
	}
	return sd, "the SignedData is BER (indefinite or non-minimal lengths), read as its DER form", nil
}

// maxBERDepth bounds the nesting berToDER follows.
const maxBERDepth = 32

// berToDER rewrites one BER element, and what follows it at the same level, with minimal
// definite lengths and chunked OCTET STRINGs joined; changed says whether anything differed.
func berToDER(b []byte, depth int) (out []byte, changed bool, err error) {
	if depth > maxBERDepth {
		return nil, false, errors.New("BER nested too deeply")
	}
	for len(b) > 0 {
		if depth == 0 && len(out) > 0 {
			return nil, false, errors.New("data after the SignedData")
		}
		if len(b) < 2 || b[0]&0x1f == 0x1f {
			return nil, false, errors.New("malformed BER element")
		}
		tag, l, hdr := b[0], int(b[1]), 2
		var content []byte
		switch {
		case l == 0x80: // indefinite: constructed only, ends with 00 00 at this level
			if tag&0x20 == 0 {
				return nil, false, errors.New("indefinite length on a primitive element")
			}
			end, err := indefiniteEnd(b[2:], depth+1)
			if err != nil {
				return nil, false, err
			}
			content, b = b[2:2+end], b[2+end+2:]
			changed = true
		default:
			if l&0x80 != 0 {
				k := l & 0x7f
				if k > 4 || len(b) < 2+k {
					return nil, false, errors.New("malformed BER length")
				}
				l = 0
				for _, c := range b[2 : 2+k] {
					l = l<<8 | int(c)
				}
				hdr += k
				if l < 0x80 || b[2] == 0 {
					changed = true // non-minimal
				}
			}
			if l > len(b)-hdr {
				return nil, false, errors.New("BER length larger than the input")
			}
			content, b = b[hdr:hdr+l], b[hdr+l:]
		}
		if tag&0x20 != 0 {
			inner, ch, err := berToDER(content, depth+1)
			if err != nil {
				return nil, false, err
			}
			content, changed = inner, changed || ch
			if tag == 0x24 { // constructed OCTET STRING: join its chunks
				joined, err := joinOctets(content)
				if err != nil {
					return nil, false, err
				}
				tag, content, changed = 0x04, joined, true
			}
		}
		out = append(out, tag)
		out = ses.AppendLength(out, len(content))
		out = append(out, content...)
	}
	return out, changed, nil
}

// indefiniteEnd returns the length of an indefinite-length content: the offset of its 00 00.
func indefiniteEnd(b []byte, depth int) (int, error) {
	if depth > maxBERDepth {
		return 0, errors.New("BER nested too deeply")
	}
	off := 0
	for {
		if len(b)-off < 2 {
			return 0, errors.New("indefinite length without its end")
		}
		if b[off] == 0 && b[off+1] == 0 {
			return off, nil
		}
		if b[off]&0x1f == 0x1f {
			return 0, errors.New("malformed BER element")
		}
		l, hdr := int(b[off+1]), 2
		switch {
		case l == 0x80:
			n, err := indefiniteEnd(b[off+2:], depth+1)
			if err != nil {
				return 0, err
			}
			off += 2 + n + 2
			continue
		case l&0x80 != 0:
			k := l & 0x7f
			if k > 4 || len(b)-off < 2+k {
				return 0, errors.New("malformed BER length")
			}
			l = 0
			for _, c := range b[off+2 : off+2+k] {
				l = l<<8 | int(c)
			}
			hdr += k
		}
		if l > len(b)-off-hdr {
			return 0, errors.New("BER length larger than the input")
		}
		off += hdr + l
	}
}

// joinOctets concatenates the primitive OCTET STRING chunks of a constructed one (in DER).
func joinOctets(b []byte) ([]byte, error) {
	s := cryptobyte.String(b)
	var out []byte
	for !s.Empty() {
		var chunk cryptobyte.String
		if !s.ReadASN1(&chunk, cbasn1.OCTET_STRING) {
			return nil, errors.New("a chunked OCTET STRING holds something else")
		}
		out = append(out, chunk...)
	}
	return out, nil
}

// parseSignedDER reads a DER SignedData.
func parseSignedDER(der []byte) (*signedData, error) {
	in := cryptobyte.String(der)
	var ci, sd cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) {
		return nil, errors.New("SignedData: not a DER SEQUENCE")
	}
	if len(in) != 0 {
		return nil, fmt.Errorf("SignedData: %d bytes after the ContentInfo", len(in))
	}
	if !ci.ReadASN1ObjectIdentifier(&oid) || !(oid.Equal(oidGMSignedData) || oid.Equal(oidPKCS7Signed)) {
		return nil, fmt.Errorf("SignedData: content type is not signedData (%s)", oidGMSignedData)
	}
	var explicit cryptobyte.String
	if !ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, errors.New("SignedData: the [0] content does not hold a SEQUENCE")
	}
	out := &signedData{}
	var version int64
	var digestAlgs, encap cryptobyte.String
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&digestAlgs, cbasn1.SET) || !sd.ReadASN1(&encap, cbasn1.SEQUENCE) {
		return nil, errors.New("SignedData: version, digestAlgorithms or contentInfo is malformed")
	}
	var eType asn1.ObjectIdentifier
	if !encap.ReadASN1ObjectIdentifier(&eType) {
		return nil, errors.New("SignedData: contentInfo has no content type")
	}
	if !encap.Empty() {
		var e, octets cryptobyte.String
		if !encap.ReadASN1(&e, cbasn1.Tag(0).Constructed().ContextSpecific()) || !e.ReadASN1(&octets, cbasn1.OCTET_STRING) {
			return nil, errors.New("SignedData: the encapsulated content is not [0] OCTET STRING")
		}
		out.content = octets
	}
	var present bool
	var certs cryptobyte.String
	if !sd.ReadOptionalASN1(&certs, &present, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, errors.New("SignedData: certificates are malformed")
	}
	for !certs.Empty() {
		var c cryptobyte.String
		if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
			return nil, errors.New("SignedData: a certificate is not a SEQUENCE")
		}
		if len(out.certs) == maxSignedDataCert {
			return nil, fmt.Errorf("SignedData: more than %d certificates", maxSignedDataCert)
		}
		out.certs = append(out.certs, c)
	}
	if !sd.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		return nil, errors.New("SignedData: crls are malformed")
	}
	var infos cryptobyte.String
	if !sd.ReadASN1(&infos, cbasn1.SET) || !sd.Empty() {
		return nil, errors.New("SignedData: signerInfos is not the last element, a SET")
	}
	for !infos.Empty() {
		if len(out.signers) == maxSignerInfos {
			return nil, fmt.Errorf("SignedData: more than %d signerInfos", maxSignerInfos)
		}
		si, err := parseSignerInfo(&infos)
		if err != nil {
			return nil, fmt.Errorf("SignedData: signerInfo %d: %w", len(out.signers)+1, err)
		}
		out.signers = append(out.signers, si)
	}
	if len(out.signers) == 0 {
		return nil, errors.New("SignedData: no signerInfo")
	}
	return out, nil
}

func parseSignerInfo(infos *cryptobyte.String) (signerInfo, error) {
	var si signerInfo
	var s cryptobyte.String
	var version int64
	if !infos.ReadASN1(&s, cbasn1.SEQUENCE) || !s.ReadASN1Integer(&version) {
		return si, errors.New("not a SEQUENCE opening with its version")
	}
	switch {
	case s.PeekASN1Tag(cbasn1.SEQUENCE):
		var ias, name cryptobyte.String
		si.serial = new(big.Int)
		if !s.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&name, cbasn1.SEQUENCE) || !readSerial(&ias, si.serial) || !ias.Empty() {
			return si, errors.New("issuerAndSerialNumber is malformed")
		}
		si.issuer = name
	case s.PeekASN1Tag(cbasn1.Tag(0).ContextSpecific()):
		var skid cryptobyte.String
		if !s.ReadASN1(&skid, cbasn1.Tag(0).ContextSpecific()) {
			return si, errors.New("subjectKeyIdentifier is malformed")
		}
		si.skid = skid
	default:
		return si, errors.New("the signer is named neither by issuer and serial number nor by key identifier")
	}
	var err error
	if si.digestAlg, err = readAlgorithm(&s); err != nil {
		return si, fmt.Errorf("digestAlgorithm: %w", err)
	}
	if s.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var full cryptobyte.String
		if !s.ReadASN1Element(&full, cbasn1.Tag(0).Constructed().ContextSpecific()) {
			return si, errors.New("authenticatedAttributes are malformed")
		}
		si.signedAttrs = full
		if err := si.readAttributes(); err != nil {
			return si, err
		}
	}
	if si.sigAlg, err = readAlgorithm(&s); err != nil {
		return si, fmt.Errorf("digestEncryptionAlgorithm: %w", err)
	}
	var sig cryptobyte.String
	if !s.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return si, errors.New("encryptedDigest is not an OCTET STRING")
	}
	si.sig = sig
	if !s.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) || !s.Empty() {
		return si, errors.New("unexpected data after encryptedDigest")
	}
	return si, nil
}

// readSerial reads an INTEGER of any size and sign (serial numbers are often not minimal).
func readSerial(s *cryptobyte.String, out *big.Int) bool {
	var b cryptobyte.String
	if !s.ReadASN1(&b, cbasn1.INTEGER) || len(b) == 0 || len(b) > 64 {
		return false
	}
	out.SetBytes(b)
	return true
}

func readAlgorithm(s *cryptobyte.String) (asn1.ObjectIdentifier, error) {
	var alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, errors.New("not an AlgorithmIdentifier")
	}
	return oid, nil
}

// readAttributes finds messageDigest and signingTime among the authenticated attributes.
func (si *signerInfo) readAttributes() error {
	s := cryptobyte.String(si.signedAttrs)
	var set cryptobyte.String
	if !s.ReadASN1(&set, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return errors.New("authenticatedAttributes are malformed")
	}
	for n := 0; !set.Empty(); n++ {
		var attr, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if n == maxAttributes {
			return fmt.Errorf("more than %d authenticated attributes", maxAttributes)
		}
		if !set.ReadASN1(&attr, cbasn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&oid) || !attr.ReadASN1(&values, cbasn1.SET) {
			return fmt.Errorf("authenticated attribute %d is malformed", n+1)
		}
		switch {
		case oid.Equal(oidMessageDigest):
			var d cryptobyte.String
			if si.digest != nil || !values.ReadASN1(&d, cbasn1.OCTET_STRING) || !values.Empty() {
				return errors.New("the messageDigest attribute is malformed or repeated")
			}
			si.digest = d
		case oid.Equal(oidSigningTime):
			var t time.Time
			var ok bool
			switch {
			case values.PeekASN1Tag(cbasn1.UTCTime):
				ok = values.ReadASN1UTCTime(&t)
			case values.PeekASN1Tag(cbasn1.GeneralizedTime):
				ok = values.ReadASN1GeneralizedTime(&t)
			}
			if !ok {
				// Under the signature, so no forgery: the time is only not known.
				si.note = "its signingTime attribute is not a DER time and was not read"
				continue
			}
			si.signingTime = t
		}
	}
	return nil
}

// signedMessage is what the signer signed: the attributes' original DER with the SET tag.
func (si *signerInfo) signedMessage() []byte {
	msg := bytes.Clone(si.signedAttrs)
	msg[0] = 0x31
	return msg
}

// findCert returns the certificate the signerInfo names, parsed.
func (v *Verifier) findCert(sd *signedData, si *signerInfo) (parsedCert, bool) {
	for _, der := range sd.certs {
		pc := v.cert(der)
		if pc.err != nil {
			continue
		}
		switch {
		case si.issuer != nil:
			if bytes.Equal(pc.cert.RawIssuer, si.issuer) && pc.cert.SerialNumber != nil && pc.cert.SerialNumber.Cmp(si.serial) == 0 {
				return pc, true
			}
		case len(pc.cert.SubjectKeyId) > 0 && bytes.Equal(pc.cert.SubjectKeyId, si.skid):
			return pc, true
		}
	}
	return parsedCert{}, false
}

// checkSignedData verifies a GB/T 35275 SignedData over Signature.xml: every signerInfo's
// SM2 signature over its authenticated attributes, and their messageDigest against SM3 of
// Signature.xml (or, without attributes, the signature over Signature.xml itself). The first
// failure of each check is reported; every signer must pass.
func (v *Verifier) checkSignedData(c *checks, r *SignatureReport, sd *signedData, xml []byte) {
	sum := sm3.Sum(xml)
	var okSig, okHash []string
	var sigFail, hashFail string
	sigSub := SigCryptoFailure
	var signers []namedCert
	var when, latest time.Time // the earliest and the latest signingTime
	content := xml
	if sd.content != nil && !bytes.Equal(sd.content, xml) {
		if !bytes.Equal(sd.content, sum[:]) {
			c.fail(CheckDataHash, HashFailure, "the SignedData encapsulates content other than this Signature.xml nor its SM3 digest")
			c.skip(CheckSignatureValue, "not checked: the SignedData is over other content")
			return
		}
		content = sd.content
	}
	for i := range sd.signers {
		si := &sd.signers[i]
		who := fmt.Sprintf("signerInfo %d", i+1)
		if sigFail != "" {
			break
		}
		pc, found := v.findCert(sd, si)
		algNote, algOK := signedDataAlgorithms(si)
		switch {
		case !algOK:
			sigFail = fmt.Sprintf("%s: digest algorithm %s and signature algorithm %s are not SM3 and SM2", who, si.digestAlg, si.sigAlg)
		case !found:
			sigFail, sigSub = fmt.Sprintf("%s: no certificate in the SignedData is the one it names", who), FormatFailure
		case !isSM2(pc.cert):
			sigFail = who + ": the signer certificate does not hold an SM2 public key"
		}
		if sigFail != "" {
			break
		}
		if r.Signer == nil {
			r.Signer = certInfo(pc.cert)
		}
		signers = append(signers, pc.named(fmt.Sprintf("signer %d", i+1))...)
		pub := pc.cert.PublicKey.(*ecdsa.PublicKey)
		if si.signedAttrs == nil {
			val, ok, err := ses.VerifySM2(pub, content, si.sig)
			what := "the content directly"
			if err == nil && !ok && sd.content == nil {
				// Detached, the content may have been SM3 of Signature.xml.
				if _, ok, _ = ses.VerifySM2(pub, sum[:], si.sig); ok {
					what = "SM3 of Signature.xml"
				}
			}
			if err != nil || !ok {
				sigFail = fmt.Sprintf("%s: the signature does not verify over Signature.xml with the signer certificate%s", who, errSuffix(err))
				break
			}
			okSig = append(okSig, join(who+" verifies over the signed content (no authenticated attributes)", val.Note(), pc.note, algNote))
			okHash = append(okHash, who+" signs "+what)
		} else {
			val, ok, err := ses.VerifySM2(pub, si.signedMessage(), si.sig)
			if err != nil || !ok {
				sigFail = fmt.Sprintf("%s: the signature does not verify over the DER of its authenticated attributes with the signer certificate%s", who, errSuffix(err))
				break
			}
			okSig = append(okSig, join(who+" verifies over the DER of its authenticated attributes (SM2, default ID)", val.Note(), pc.note, si.note, algNote))
			cs := sm3.Sum(content)
			ofSum := sm3.Sum(sum[:])
			switch {
			case hashFail != "":
			case si.digest == nil:
				hashFail = who + ": the authenticated attributes carry no messageDigest"
			case sd.content == nil && bytes.Equal(si.digest, ofSum[:]):
				// Detached over SM3(Signature.xml) as its content, as some producers sign.
				okHash = append(okHash, who+"'s messageDigest is SM3 of the SM3 digest of Signature.xml (the digest was the signed content)")
			case !bytes.Equal(si.digest, cs[:]):
				hashFail = fmt.Sprintf("%s: messageDigest differs from SM3 of the %d bytes of Signature.xml: the data was changed after signing", who, len(xml))
			default:
				okHash = append(okHash, who+"'s messageDigest equals SM3 of Signature.xml")
			}
		}
		if !si.signingTime.IsZero() && (when.IsZero() || si.signingTime.Before(when)) {
			when = si.signingTime
		}
		if si.signingTime.After(latest) {
			latest = si.signingTime
		}
	}
	if sigFail != "" {
		c.fail(CheckSignatureValue, sigSub, sigFail)
		c.skip(CheckDataHash, "not checked: the signature does not verify")
		return
	}
	c.pass(CheckSignatureValue, strings.Join(okSig, "; "))
	if hashFail != "" {
		c.fail(CheckDataHash, HashFailure, hashFail)
	} else {
		if !bytes.Equal(content, xml) {
			okHash = append(okHash, "the encapsulated content is SM3 of Signature.xml")
		}
		c.pass(CheckDataHash, strings.Join(okHash, "; "))
	}
	r.SigningTime = fmtTime(when)
	now := v.now()
	switch {
	case when.IsZero():
		c.skip(CheckSignerCertTime, "the SignedData carries no signing time")
	case latest.After(now.Add(v.clockSkew())):
		c.fail(CheckSignerCertTime, SigningTimeInFuture, fmt.Sprintf("the signing time %s is after the current time %s by more than the allowed clock skew of %s: a signature cannot have been made in the future",
			fmtTime(latest), fmtTime(now), fmtDuration(v.clockSkew())))
	default:
		for _, n := range signers {
			checkCertTime(c, CheckSignerCertTime, n.role, n.cert, when)
			if c.status(CheckSignerCertTime) != Passed {
				break
			}
		}
	}
	for _, n := range signers {
		if c.status(CheckSignerCertTime) == Failed {
			break
		}
		if ku := n.cert.KeyUsage; ku != 0 && ku&(smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment) == 0 {
			c.fail(CheckSignerCertTime, SigConstraintsFailure, fmt.Sprintf("the %s certificate (%s) allows neither digitalSignature nor nonRepudiation", n.role, subjectOf(n.cert)))
		}
	}
	chainTime := when
	if chainTime.IsZero() {
		chainTime = now
	}
	chains := v.checkChains(c, signers, chainTime)
	// The signing time in the signed attributes is the signer's own claim, as in TBS_Sign: a
	// signer revoked or expired now must have the time proven.
	var windows []window
	for _, n := range signers {
		windows = append(windows, window{"the " + n.role + " certificate", n.cert.NotBefore, n.cert.NotAfter})
	}
	values := make([][]byte, len(sd.signers))
	for i := range sd.signers {
		values[i] = sd.signers[i].sig
	}
	v.proveTime(c, windows, when, values, built(chains), nil, now)
}

var (
	oidSM3NoKey    = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401, 1}
	oidSM2Curve2   = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

// signedDataAlgorithms accepts SM3 as the digest and SM2 as the signature algorithm, under
// the names producers give them: the verification computes SM3 with SM2 whatever the names
// say, so a name can only make a signature fail, never pass. Aliases are noted.
func signedDataAlgorithms(si *signerInfo) (string, bool) {
	var notes []string
	switch {
	case si.digestAlg.Equal(ses.OIDSM3):
	case si.digestAlg.Equal(oidSM3NoKey):
		notes = append(notes, "digest algorithm written as "+oidSM3NoKey.String()+", read as SM3")
	default:
		return "", false
	}
	switch {
	case si.sigAlg.Equal(oidSM2Signing), si.sigAlg.Equal(ses.OIDSM3WithSM2):
	case si.sigAlg.Equal(oidSM2Curve2), si.sigAlg.Equal(oidECPublicKey):
		notes = append(notes, "signature algorithm written as "+si.sigAlg.String()+" (a key type), read as SM2")
	default:
		return "", false
	}
	return strings.Join(notes, "; "), true
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}
