package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ses"
)

// Options configure a Verifier. The zero value verifies with no trust anchors (chain checks
// are then indeterminate, never failed) and the system clock.
type Options struct {
	// Roots are the trust anchors; Intermediates may help build chains.
	Roots, Intermediates []*smx509.Certificate
	// CRLs are revocation lists to consult; each must be signed by the issuer it names.
	CRLs []*smx509.RevocationList
	// Now returns the current time, for bare seals; nil means time.Now.
	Now func() time.Time
}

// Verifier runs the verification procedure of GB/T 38540 §7.3 (SES.md §3.3, §3.4).
// It is safe for concurrent use.
type Verifier struct {
	opts          Options
	roots, inters *smx509.CertPool
	certs         *memo[parsedCert]
	seals         *memo[ses.SigCheck]
}

// parsedCert is the outcome of parseCert.
type parsedCert struct {
	cert *smx509.Certificate
	note string
	err  error
}

// memoSize bounds each memo; a seal is about 20 KB, so seals stay under 100 MB.
const memoSize = 4096

// New returns a Verifier.
func New(opts Options) *Verifier {
	v := &Verifier{opts: opts, certs: newMemo[parsedCert](memoSize), seals: newMemo[ses.SigCheck](memoSize)}
	if len(opts.Roots) > 0 {
		v.roots = smx509.NewCertPool()
		for _, c := range opts.Roots {
			v.roots.AddCert(c)
		}
	}
	v.inters = smx509.NewCertPool()
	for _, c := range opts.Intermediates {
		v.inters.AddCert(c)
	}
	return v
}

func (v *Verifier) now() time.Time {
	if v.opts.Now != nil {
		return v.opts.Now()
	}
	return time.Now()
}

// The checks of a report, in report order.
var signatureChecks = []string{CheckFormat, CheckSignatureValue, CheckSealSignature, CheckSignerInSeal, CheckSealMaker,
	CheckDataHash, CheckSealValidity, CheckSignerCertTime, CheckChain, CheckRevocation, CheckTimeProof, CheckTimestamp}

var ofdSignatureChecks = []string{CheckFormat, CheckSignatureValue, CheckSealSignature, CheckSignerInSeal, CheckSealMaker,
	CheckDataHash, CheckReferences, CheckCoverage, CheckSealValidity, CheckSignerCertTime, CheckChain, CheckRevocation,
	CheckTimeProof, CheckTimestamp}

// VerifySignature verifies a DER SES_Signature. data is the original data (OFD: the bytes of
// Signature.xml); when nil the data_hash check is skipped.
func (v *Verifier) VerifySignature(der, data []byte) SignatureReport {
	r, _, _ := v.verifySignature(der, data, signatureChecks)
	return r
}

// verifySignature runs the procedure; the parsed signature is nil when it could not be read.
func (v *Verifier) verifySignature(der, data []byte, names []string) (SignatureReport, *checks, *ses.Signature) {
	c := newChecks(names...)
	r := SignatureReport{Type: "Seal"}
	sig, err := ses.ParseSignature(der)
	if err != nil {
		c.fail(CheckFormat, FormatFailure, "not a readable seal signature: "+err.Error())
		for _, n := range names[1:] {
			c.skip(n, "not checked: the signature could not be read")
		}
		r.Checks = c.list
		r.Indication, r.SubIndication = c.indication()
		return r, c, nil
	}
	// The version the signature declares (TBS_Sign); the layout it was read by, which can
	// differ (a v1 layout saying 4), is named in the format detail.
	r.Version = sig.TBS.Version
	seal := sig.TBS.Seal
	notes := append(append([]string{}, sig.Notes...), seal.Notes...)
	c.pass(CheckFormat, join(fmt.Sprintf("%s v%d seal signature", standard(sig.Version), sig.Version), notes...))

	when := sig.TBS.Time
	r.SigningTime = fmtTime(when)

	pc := v.cert(sig.Cert)
	signer, signerNote, signerErr := pc.cert, pc.note, pc.err
	if signerErr == nil {
		r.Signer = certInfo(signer)
	}
	mc := v.cert(seal.MakerCert)
	r.Seal = sealReport(seal, mc.cert)

	// Signature value, over the original bytes of TBS_Sign.
	switch {
	case signerErr != nil:
		c.fail(CheckSignatureValue, FormatFailure, "the signer certificate does not parse: "+signerErr.Error())
	case !isSM2(signer):
		c.fail(CheckSignatureValue, SigCryptoFailure, "the signer certificate does not hold an SM2 public key")
	default:
		if k := sig.CheckValue(signer.PublicKey.(*ecdsa.PublicKey)); k.OK {
			c.pass(CheckSignatureValue, join(k.Detail, signerNote))
		} else {
			c.fail(CheckSignatureValue, SigCryptoFailure, join(k.Detail, signerNote))
		}
	}

	v.checkSealSignature(c, seal, mc)

	if ok, detail := sig.SignerInSeal(); ok {
		c.pass(CheckSignerInSeal, detail)
	} else {
		c.fail(CheckSignerInSeal, SigConstraintsFailure, detail)
	}

	switch {
	case data == nil:
		c.skip(CheckDataHash, "the original data was not given")
	case sig.DataHashMatches(data):
		c.pass(CheckDataHash, fmt.Sprintf("dataHash equals SM3 of the %d bytes of original data", len(data)))
	default:
		c.fail(CheckDataHash, HashFailure, fmt.Sprintf("dataHash differs from SM3 of the %d bytes of original data: the data was changed after signing", len(data)))
	}

	if when.IsZero() {
		c.indet(CheckSealValidity, SigningTimeUnknown, "the signing time could not be read")
		c.indet(CheckSignerCertTime, SigningTimeUnknown, "the signing time could not be read")
	} else {
		checkSealWindow(c, seal, when, "signing time")
		if signer != nil {
			checkCertTime(c, CheckSignerCertTime, "signer", signer, when)
			if signer.KeyUsage != 0 && signer.KeyUsage&(smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment) == 0 {
				c.fail(CheckSignerCertTime, SigConstraintsFailure, "the signer certificate allows neither digitalSignature nor nonRepudiation")
			}
		} else {
			c.skip(CheckSignerCertTime, "the signer certificate does not parse")
		}
	}

	checkCritical(c, sig, seal)
	chainTime := when
	if chainTime.IsZero() {
		chainTime = v.now()
	}
	v.checkChains(c, append(pc.named("signer"), mc.named("seal maker")...), chainTime)
	checkTimestamp(c, sig.TimeStamp, "timeInfo is the signing time")
	r.Checks = c.list
	r.Indication, r.SubIndication = c.indication()
	return r, c, sig
}

type namedCert struct {
	role    string
	cert    *smx509.Certificate
	lenient bool // read leniently: good for its key, never for a chain
}

// named lists the certificate under its role for checkChains, or nothing when it did not parse.
func (p parsedCert) named(role string) []namedCert {
	if p.cert == nil {
		return nil
	}
	return []namedCert{{role, p.cert, p.note != ""}}
}

// checkTimestamp reports a timestamp token: present ones cannot be verified yet.
func checkTimestamp(c *checks, token []byte, signingTime string) {
	if len(token) == 0 {
		c.skip(CheckTimestamp, "no timestamp; "+signingTime)
		return
	}
	c.indet(CheckTimestamp, TimestampNotVerified, fmt.Sprintf("a %d-byte timestamp token is present but timestamp tokens are not verified; %s", len(token), signingTime))
}

// cert parses a certificate once per distinct DER.
func (v *Verifier) cert(der []byte) parsedCert {
	return v.certs.get(der, func() parsedCert {
		c, note, err := parseCert(der)
		return parsedCert{c, note, err}
	})
}

// checkSealSignature checks the maker's signature once per distinct seal: the result depends
// only on the seal's bytes, which hold the maker certificate too.
func (v *Verifier) checkSealSignature(c *checks, seal *ses.Seal, maker parsedCert) {
	switch {
	case maker.err != nil:
		c.fail(CheckSealSignature, FormatFailure, "the seal maker certificate does not parse: "+maker.err.Error())
	case !isSM2(maker.cert):
		c.fail(CheckSealSignature, SigCryptoFailure, "the seal maker certificate does not hold an SM2 public key")
	default:
		k := v.seals.get(seal.Raw, func() ses.SigCheck {
			return seal.CheckSignature(maker.cert.PublicKey.(*ecdsa.PublicKey))
		})
		if k.OK {
			c.pass(CheckSealSignature, join(k.Detail, maker.note))
		} else {
			c.fail(CheckSealSignature, SigCryptoFailure, join(k.Detail, maker.note))
		}
	}
}

// VerifySeal verifies a bare seal (.esl): format, maker signature, validity now, chain.
func (v *Verifier) VerifySeal(der []byte) (*SealReport, string) {
	c := newChecks(CheckFormat, CheckSignatureValue, CheckSealSignature, CheckSignerInSeal, CheckDataHash,
		CheckSealValidity, CheckSignerCertTime, CheckChain, CheckRevocation, CheckTimestamp)
	for _, n := range []string{CheckSignatureValue, CheckSignerInSeal, CheckDataHash, CheckSignerCertTime} {
		c.skip(n, "a bare seal has no signature")
	}
	seal, err := ses.ParseSeal(der)
	if err != nil {
		c.fail(CheckFormat, FormatFailure, "not a readable seal: "+err.Error())
		for _, n := range []string{CheckSealSignature, CheckSealValidity, CheckChain, CheckRevocation, CheckTimestamp} {
			c.skip(n, "not checked: the seal could not be read")
		}
		ind, _ := c.indication()
		return &SealReport{Checks: c.list}, ind
	}
	c.pass(CheckFormat, join(fmt.Sprintf("%s v%d seal", standard(seal.Version), seal.Version), seal.Notes...))
	mc := v.cert(seal.MakerCert)
	v.checkSealSignature(c, seal, mc)
	now := v.now()
	checkSealWindow(c, seal, now, "now")
	checkCritical(c, nil, seal)
	v.checkChains(c, mc.named("seal maker"), now)
	checkTimestamp(c, seal.TimeStamp, "the seal is checked at the current time")
	r := sealReport(seal, mc.cert)
	r.Checks = c.list
	ind, _ := c.indication()
	return r, ind
}

func checkSealWindow(c *checks, seal *ses.Seal, t time.Time, what string) {
	p := &seal.Info.Property
	checkWindow(c, CheckSealValidity, what, t, "the seal", p.ValidStart, p.ValidEnd)
}

func checkCertTime(c *checks, name, role string, cert *smx509.Certificate, t time.Time) {
	checkWindow(c, name, "signing time", t, "the "+role+" certificate", cert.NotBefore, cert.NotAfter)
}

// checkWindow passes name when from <= t <= to, all compared in UTC.
func checkWindow(c *checks, name, what string, t time.Time, whose string, from, to time.Time) {
	switch {
	case t.Before(from):
		c.fail(name, NotYetValid, fmt.Sprintf("%s %s is before %s is valid (from %s)", what, fmtTime(t), whose, fmtTime(from)))
	case t.After(to):
		c.fail(name, Expired, fmt.Sprintf("%s %s is after %s expired (%s)", what, fmtTime(t), whose, fmtTime(to)))
	default:
		c.pass(name, fmt.Sprintf("%s %s is within the validity of %s, %s to %s", what, fmtTime(t), whose, fmtTime(from), fmtTime(to)))
	}
}

// checkChains builds a path to a trust anchor for each certificate at time t, then consults
// the configured CRLs.
func (v *Verifier) checkChains(c *checks, certs []namedCert, t time.Time) {
	if len(certs) == 0 {
		c.skip(CheckChain, "no certificate to check")
		c.skip(CheckRevocation, "no certificate to check")
		return
	}
	if v.roots == nil {
		c.indet(CheckChain, NoCertificateChainFound, "no trust anchors are configured (--trust), so no certificate chain can be built")
		c.skip(CheckRevocation, "not checked: no certificate chain")
		return
	}
	var ok []string
	chains := map[*smx509.Certificate][]*smx509.Certificate{}
	for _, nc := range certs {
		if nc.lenient {
			c.indet(CheckChain, NoCertificateChainFound, fmt.Sprintf("the %s certificate does not parse strictly, so no chain can be built for it", nc.role))
			c.skip(CheckRevocation, "not checked: no certificate chain")
			return
		}
		paths, err := nc.cert.Verify(smx509.VerifyOptions{
			Roots: v.roots, Intermediates: v.inters, CurrentTime: t,
			KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny},
		})
		if err != nil {
			var ua smx509.UnknownAuthorityError
			if errors.As(err, &ua) {
				c.indet(CheckChain, NoCertificateChainFound, fmt.Sprintf("the %s certificate (%s) does not chain to a trust anchor: %v", nc.role, nc.cert.Subject, err))
			} else {
				c.fail(CheckChain, ChainConstraintsFailure, fmt.Sprintf("the %s certificate's chain is not valid at %s: %v", nc.role, fmtTime(t), err))
			}
			c.skip(CheckRevocation, "not checked: no valid certificate chain")
			return
		}
		chains[nc.cert] = paths[0]
		ok = append(ok, fmt.Sprintf("the %s certificate chains to %s", nc.role, paths[0][len(paths[0])-1].Subject))
	}
	c.pass(CheckChain, strings.Join(ok, "; ")+" at "+fmtTime(t))
	v.checkRevocation(c, certs, chains, t)
}

func (v *Verifier) checkRevocation(c *checks, certs []namedCert, chains map[*smx509.Certificate][]*smx509.Certificate, t time.Time) {
	if len(v.opts.CRLs) == 0 {
		c.skip(CheckRevocation, "no revocation source is configured (--crl)")
		return
	}
	var good []string
	for _, nc := range certs {
		path := chains[nc.cert]
		for i := 0; i+1 < len(path); i++ {
			cert, issuer := path[i], path[i+1]
			crl := v.findCRL(issuer)
			if crl == nil {
				c.indet(CheckRevocation, TryLater, fmt.Sprintf("no CRL from %s is available to check the %s chain", issuer.Subject, nc.role))
				return
			}
			for _, e := range crl.RevokedCertificateEntries {
				if e.SerialNumber.Cmp(cert.SerialNumber) == 0 && !e.RevocationTime.After(t) {
					c.fail(CheckRevocation, Revoked, fmt.Sprintf("certificate %s (%s) was revoked at %s, before %s", cert.Subject, strings.ToUpper(cert.SerialNumber.Text(16)), fmtTime(e.RevocationTime), fmtTime(t)))
					return
				}
			}
			if crl.ThisUpdate.Before(t) {
				c.indet(CheckRevocation, TryLater, fmt.Sprintf("the CRL of %s was issued at %s, before %s: it cannot show that %s was not revoked by then", issuer.Subject, fmtTime(crl.ThisUpdate), fmtTime(t), cert.Subject))
				return
			}
			good = append(good, fmt.Sprintf("%s is not on the CRL of %s", cert.Subject, issuer.Subject))
		}
	}
	c.pass(CheckRevocation, strings.Join(good, "; "))
}

func (v *Verifier) findCRL(issuer *smx509.Certificate) *smx509.RevocationList {
	for _, crl := range v.opts.CRLs {
		if bytes.Equal(crl.RawIssuer, issuer.RawSubject) && crl.CheckSignatureFrom(issuer) == nil {
			return crl
		}
	}
	return nil
}

func isSM2(c *smx509.Certificate) bool {
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	return ok && pub.Curve != nil && pub.Curve.Params().Name == "sm2p256v1"
}

// join appends the non-empty notes to head.
func join(head string, notes ...string) string {
	for _, n := range notes {
		if n != "" {
			head += "; " + n
		}
	}
	return head
}

func standard(version int) string {
	if version == 1 {
		return "GM/T 0031"
	}
	return "GB/T 38540"
}
