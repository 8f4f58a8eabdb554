package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// VerifyOFD verifies every signature of an OFD package. A broken part of one signature fails
// that signature and never the others. A package that cannot be read as one unambiguous OFD
// package gives a report whose only entry, for the package as a whole, fails format. An
// error is returned only when a limit stops the package from being checked.
func (v *Verifier) VerifyOFD(data []byte, lim ofd.Limits) (*Report, error) {
	pkg, err := ofd.Open(data, lim)
	if err != nil {
		return openFailure(err)
	}
	return v.VerifyOFDPackage(pkg)
}

// VerifyOFDSignatureAt verifies the one signature of pkg whose Signature.xml is at location
// (a package path, as SignatureReport.Location gives it), as VerifyOFD would report it, and
// not the others: a signer checking the signature it has just added. found is false when
// the package lists no signature there.
func (v *Verifier) VerifyOFDSignatureAt(pkg *ofd.Package, location string) (r SignatureReport, found bool, err error) {
	sigs, err := pkg.Signatures()
	if err != nil {
		return SignatureReport{}, false, err
	}
	for _, s := range sigs {
		if s.Location == location {
			return v.verifyOFDSignature(pkg, s), true, nil
		}
	}
	return SignatureReport{}, false, nil
}

// VerifyOFDPackage is VerifyOFD over a package already opened (by a caller that goes on to
// use it: the package keeps the digests computed here).
func (v *Verifier) VerifyOFDPackage(pkg *ofd.Package) (*Report, error) {
	sigs, err := pkg.Signatures()
	if err != nil {
		return openFailure(err)
	}
	r := &Report{Kind: "ofd", Signatures: []SignatureReport{}, UnsignedFiles: pkg.UnsignedFiles(sigs), Warnings: packageWarnings(pkg)}
	if len(sigs) == 0 {
		r.Indication = NoSignature
		return limitReport(r), nil
	}
	sigs, folded := uniqueSignatures(sigs)
	r.Warnings = append(r.Warnings, folded...)
	for _, s := range sigs {
		sr := v.verifyOFDSignature(pkg, s)
		r.Signatures = append(r.Signatures, sr)
		r.Indication = worst(r.Indication, sr.Indication)
	}
	return limitReport(r), nil
}

func (v *Verifier) verifyOFDSignature(pkg *ofd.Package, s *ofd.Signature) SignatureReport {
	var sig *ses.Signature // the seal signature, when it reads
	typ := s.Type
	if typ == "" {
		typ = "Seal"
	}
	if s.Err != nil {
		c := v.newChecks(ofdSignatureChecks...)
		c.fail(CheckFormat, FormatFailure, s.Err.Error())
		for _, n := range ofdSignatureChecks[1:] {
			c.skip(n, "not checked: the signature's parts could not be read")
		}
		r := SignatureReport{ID: s.ID, Location: s.Location, Type: typ, Checks: c.list}
		r.Indication, r.SubIndication = c.indication()
		return r
	}
	var r SignatureReport
	var c *checks
	if strings.EqualFold(typ, "Sign") && ses.Sniff(s.SignedValue) != "signature" {
		r, c = v.verifyPlainSignature(s)
	} else {
		r, c, sig = v.verifySignature(s.SignedValue, s.XML, ofdSignatureChecks)
		if sig != nil {
			ofdSealExtras(c, s, sig)
		}
	}
	r.ID, r.Location, r.Type = s.ID, s.Location, typ
	noteCarriage(c, s)
	checkReferences(c, s)
	checkCoverage(c, pkg, s, sig)
	r.Checks = c.list
	r.Indication, r.SubIndication = c.indication()
	return r
}

// ofdSealExtras adds what only an OFD carriage can tell: propertyInfo names this
// Signature.xml, and a separate Seal.esl equals the seal embedded in the signature.
func ofdSealExtras(c *checks, s *ofd.Signature, sig *ses.Signature) {
	var notes []string
	if want := "/" + s.Location; sig.TBS.PropertyInfo != want && strings.TrimPrefix(sig.TBS.PropertyInfo, "/") != s.Location {
		notes = append(notes, fmt.Sprintf("propertyInfo is %q, not this signature's path %q", clip(sig.TBS.PropertyInfo), want))
	}
	if s.Seal != nil && !bytes.Equal(s.Seal, sig.TBS.Seal.Raw) {
		notes = append(notes, s.SealPath+" differs from the seal embedded in the signature")
	}
	notes = append(notes, s.Warnings...)
	if len(notes) > 0 {
		for i := range c.list {
			if c.list[i].Name == CheckFormat {
				c.list[i].Detail = join(c.list[i].Detail, notes...)
			}
		}
	}
	explainDataHash(c, s, sig)
}

func checkReferences(c *checks, s *ofd.Signature) {
	if len(s.References) == 0 {
		c.fail(CheckReferences, HashFailure, "Signature.xml lists no references: it protects no document file")
		return
	}
	var bad []string
	n := 0
	for _, ref := range s.References {
		if !ref.OK {
			if n++; n <= 10 {
				bad = append(bad, clip(ref.FileRef)+": "+ref.Problem)
			}
		}
	}
	if n > 0 {
		if n > len(bad) {
			bad = append(bad, fmt.Sprintf("and %d more", n-len(bad)))
		}
		c.fail(CheckReferences, HashFailure, fmt.Sprintf("%d of %d references fail: %s", n, len(s.References), strings.Join(bad, "; ")))
		return
	}
	c.pass(CheckReferences, fmt.Sprintf("all %d references match (%s)", len(s.References), s.CheckMethod))
}

// verifyPlainSignature checks a Type="Sign" signature: a GB/T 35275 SignedData, or a bare SM2
// signature of Signature.xml, which carries no certificate and is tried against the
// configured certificates.
func (v *Verifier) verifyPlainSignature(s *ofd.Signature) (SignatureReport, *checks) {
	c := v.newChecks(ofdSignatureChecks...)
	r := SignatureReport{}
	for _, n := range []string{CheckSealSignature, CheckSignerInSeal, CheckSealMaker, CheckSealValidity} {
		c.skip(n, "a Type=\"Sign\" signature has no seal")
	}
	c.skip(CheckTimeProof, "not checked: no certificate was shown to have made the signature")
	c.skip(CheckTimestamp, "no timestamp")
	c.skip(CheckRevocation, "not checked")
	if isSignedData(s.SignedValue) {
		sd, note, err := parseSignedData(s.SignedValue)
		if err != nil {
			c.fail(CheckFormat, FormatFailure, s.SignedValuePath+": "+err.Error())
			return r, c
		}
		c.pass(CheckFormat, join(fmt.Sprintf("GB/T 35275 SM2 SignedData with %d signer(s)", len(sd.signers)), note))
		v.checkSignedData(c, &r, sd, s.XML)
		return r, c
	}
	val, err := ses.DecodeSM2Value(s.SignedValue)
	if err != nil {
		c.fail(CheckFormat, FormatFailure, fmt.Sprintf("%s is neither a GB/T 35275 SignedData nor an SM2 signature: %v", s.SignedValuePath, err))
		return r, c
	}
	c.pass(CheckFormat, join(fmt.Sprintf("bare SM2 signature (%d bytes) over Signature.xml", len(s.SignedValue)), val.Note()))
	c.skip(CheckDataHash, "a bare signature is made over Signature.xml itself; see signature_value")
	c.skip(CheckSignerCertTime, "a bare signature carries no certificate")
	var configured []*smx509.Certificate
	if c.tv != nil {
		configured = append(append(configured, c.tv.interList...), c.tv.rootList...)
	}
	for _, cert := range configured {
		if !isSM2(cert) {
			continue
		}
		if _, ok, _ := ses.VerifySM2(cert.PublicKey.(*ecdsa.PublicKey), s.XML, s.SignedValue); ok {
			r.Signer = certInfo(cert)
			c.pass(CheckSignatureValue, "the signature verifies over Signature.xml with the configured certificate "+subjectOf(cert))
			c.indet(CheckChain, NoCertificateChainFound, "the signature names no certificate; it matched a configured one")
			return r, c
		}
	}
	c.indet(CheckSignatureValue, NoCertificateChainFound, "a bare SM2 signature carries no certificate, and none of the configured certificates verifies it")
	c.indet(CheckChain, NoCertificateChainFound, "the signature names no certificate")
	return r, c
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
