package verifier

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ses"
)

// Options configure a Verifier. The zero value verifies with no trust anchors and no
// accepted seal makers (chain and maker checks are then indeterminate, never failed) and the
// system clock.
type Options struct {
	// Roots are the trust anchors; Intermediates may help build chains.
	Roots, Intermediates []*smx509.Certificate
	// Makers are the accepted seal makers: a seal maker certificate listed here, or one
	// issued through a CA certificate listed here, may make seals (the seal_maker check).
	// Listed certificates also help build chains; they are not trust anchors.
	Makers []*smx509.Certificate
	// CRLs are revocation lists to consult; each must be signed by the issuer it names. Of
	// several from one issuer the newest (the higher CRL number when both carry one, else the
	// later thisUpdate) is used. A delta CRL, one limited by an issuing distribution point
	// (critical or not) or one with another critical extension besides its number is not
	// used: it does not answer for every certificate.
	CRLs []*smx509.RevocationList
	// CRLGrace is how long past its nextUpdate a CRL is still relied on, reported as stale;
	// zero means DefaultCRLGrace, a negative value no grace at all.
	CRLGrace time.Duration
	// ClockSkew is how far after the current time a signing time may lie before it fails
	// as a time in the future; zero means DefaultClockSkew, a negative value none.
	ClockSkew time.Duration
	// TimeProof proves when signatures existed (the time_proof check); nil means nothing
	// does, so a signature whose certificate or seal is revoked or expired now is
	// INDETERMINATE.
	TimeProof ProofOfExistence
	// Now returns the current time, for bare seals, time_proof, CRL freshness and the
	// future-time check; nil means time.Now.
	Now func() time.Time

	// TrustSets, when set, holds the named trust sets; Roots, Intermediates and Makers are
	// then not used. A Verifier verifies under the set named TrustSet (DefaultTrustSet when
	// empty); Using gives one for another set.
	TrustSets TrustSource
	TrustSet  string
	// CRLSource finds CRLs beyond those of CRLs (fetched from the distribution points the
	// certificates name); the newer of the two answers.
	CRLSource CRLSource
	// Status is authoritative for the seals and certificates our own platform made (the
	// registry): its word is taken at once, before any CRL.
	Status StatusSource
	// Caches bound what the verifier remembers between verifications; see Caches.
	Caches Caches
}

// DefaultClockSkew is the clock skew allowed a signing time when Options.ClockSkew is zero.
const DefaultClockSkew = 5 * time.Minute

// Verifier runs the verification procedure of GB/T 38540 §7.3 (SES.md §3.3, §3.4).
// It is safe for concurrent use.
type Verifier struct {
	opts    Options
	static  *trustView // Roots, Intermediates and Makers of the Options
	setName string     // the trust set used, with Options.TrustSets
	views   *views
	crls    *crlSet
	caches  Caches
	keys    keyer
	crlIdx  *crlIndexes
	front   *front
}

// parsedCert is the outcome of parseCert.
type parsedCert struct {
	cert    *smx509.Certificate
	note    string
	lenient bool // read leniently: good for its key, never for a chain
	err     error
	raw     []byte // the DER it was parsed from
}

// New returns a Verifier.
func New(opts Options) *Verifier {
	v := &Verifier{opts: opts, views: &views{}, crls: newCRLSet(opts.CRLs), caches: opts.Caches, keys: newKeyer(), crlIdx: newCRLIndexes(), front: &front{}}
	v.static = newTrustView(TrustSet{Roots: opts.Roots, Intermediates: opts.Intermediates, Makers: opts.Makers}, 0)
	v.setName = opts.TrustSet
	if v.setName == "" {
		v.setName = DefaultTrustSet
	}
	return v
}

// newChecks starts a verification: its checks, and the trust set it is made under.
func (v *Verifier) newChecks(names ...string) *checks {
	c := newChecks(names...)
	c.tv, c.tvErr = v.trust()
	return c
}

func (v *Verifier) now() time.Time {
	if v.opts.Now != nil {
		return v.opts.Now()
	}
	return time.Now()
}

func (v *Verifier) clockSkew() time.Duration {
	switch {
	case v.opts.ClockSkew < 0:
		return 0
	case v.opts.ClockSkew == 0:
		return DefaultClockSkew
	}
	return v.opts.ClockSkew
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
	c := v.newChecks(names...)
	r := SignatureReport{Type: "Seal"}
	sig, err := ses.ParseSignatureReusing(der, v.parsedSeal)
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
		c.indet(CheckDataHash, SignedDataNotFound, "the original data was not given (--data), so the signature proves nothing about any document")
	case sig.DataHashMatches(data):
		c.pass(CheckDataHash, fmt.Sprintf("dataHash equals SM3 of the %d bytes of original data", len(data)))
	default:
		c.fail(CheckDataHash, HashFailure, fmt.Sprintf("dataHash differs from SM3 of the %d bytes of original data: the data was changed after signing", len(data)))
	}

	now := v.now()
	if when.IsZero() {
		c.indet(CheckSealValidity, SigningTimeUnknown, "the signing time could not be read")
		c.indet(CheckSignerCertTime, SigningTimeUnknown, "the signing time could not be read")
	} else if when.After(now.Add(v.clockSkew())) {
		// No check can be made at a time that has not come: both fail for it.
		future := fmt.Sprintf("the signing time %s is after the current time %s by more than the allowed clock skew of %s: a signature cannot have been made in the future",
			fmtTime(when), fmtTime(now), fmtDuration(v.clockSkew()))
		c.fail(CheckSealValidity, SigningTimeInFuture, future)
		c.fail(CheckSignerCertTime, SigningTimeInFuture, future)
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
		chainTime = now
	}
	chains := v.checkChains(c, append(pc.named("signer"), mc.named(roleMaker)...), chainTime)
	v.checkSealStatus(c, seal, when)
	v.checkSealMaker(c, seal, mc, sig.Cert, signer, chainOf(chains, roleMaker))
	v.checkTimeProof(c, sig, signer, mc.cert, built(chains), now)
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
	return []namedCert{{role, p.cert, p.lenient}}
}

// checkTimestamp reports a timestamp token: present ones cannot be verified yet.
func checkTimestamp(c *checks, token []byte, signingTime string) {
	if len(token) == 0 {
		c.skip(CheckTimestamp, "no timestamp; "+signingTime)
		return
	}
	c.indet(CheckTimestamp, TimestampNotVerified, fmt.Sprintf("a %d-byte timestamp token is present but timestamp tokens are not verified; %s", len(token), signingTime))
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
		if k := v.sealSignature(seal, maker.cert); k.OK {
			c.pass(CheckSealSignature, join(k.Detail, maker.note))
		} else {
			c.fail(CheckSealSignature, SigCryptoFailure, join(k.Detail, maker.note))
		}
	}
}

// VerifySeal verifies a bare seal (.esl): format, maker signature, seal maker, validity
// now, chain.
func (v *Verifier) VerifySeal(der []byte) (*SealReport, string) {
	c := v.newChecks(CheckFormat, CheckSignatureValue, CheckSealSignature, CheckSignerInSeal, CheckSealMaker, CheckDataHash,
		CheckSealValidity, CheckSignerCertTime, CheckChain, CheckRevocation, CheckTimestamp)
	for _, n := range []string{CheckSignatureValue, CheckSignerInSeal, CheckDataHash, CheckSignerCertTime} {
		c.skip(n, "a bare seal has no signature")
	}
	seal, err := ses.ParseSeal(der)
	if err != nil {
		c.fail(CheckFormat, FormatFailure, "not a readable seal: "+err.Error())
		for _, n := range []string{CheckSealSignature, CheckSealMaker, CheckSealValidity, CheckChain, CheckRevocation, CheckTimestamp} {
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
	chains := v.checkChainsAt(c, mc.named(roleMaker), now, true)
	v.checkSealStatus(c, seal, now)
	v.checkSealMaker(c, seal, mc, nil, nil, chainOf(chains, roleMaker))
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

// chainResult is the path building of one certificate.
type chainResult struct {
	namedCert
	paths [][]*smx509.Certificate // every valid path, leaf first; nil when none
}

// chainOf returns the result for role, or nil.
func chainOf(chains []chainResult, role string) *chainResult {
	for i := range chains {
		if chains[i].role == role {
			return &chains[i]
		}
	}
	return nil
}

// built returns the results that found a path.
func built(chains []chainResult) []chainResult {
	var out []chainResult
	for _, ch := range chains {
		if ch.paths != nil {
			out = append(out, ch)
		}
	}
	return out
}

// checkChains builds paths to a trust anchor for each certificate at the signing time t,
// then consults the configured CRLs (their freshness judged at the current time). It returns
// every certificate's outcome, including those whose chain failed.
func (v *Verifier) checkChains(c *checks, certs []namedCert, t time.Time) []chainResult {
	return v.checkChainsAt(c, certs, t, false)
}

// checkChainsAt is checkChains; current says t is the current time (a bare seal), for which
// the current CRL answers, instead of a past signing time, for which only a CRL issued after
// it can.
func (v *Verifier) checkChainsAt(c *checks, certs []namedCert, t time.Time, current bool) []chainResult {
	if len(certs) == 0 {
		c.skip(CheckChain, "no certificate to check")
		c.skip(CheckRevocation, "no certificate to check")
		return nil
	}
	results := make([]chainResult, len(certs))
	if c.tvErr != nil {
		for i, nc := range certs {
			results[i].namedCert = nc
		}
		c.indet(CheckChain, NoCertificateChainFound, "no trust anchors can be used: "+c.tvErr.Error())
		c.skip(CheckRevocation, "not checked: no certificate chain")
		return results
	}
	if c.tv.roots == nil {
		for i, nc := range certs {
			results[i].namedCert = nc
		}
		c.indet(CheckChain, NoCertificateChainFound, "no trust anchors are configured (--trust), so no certificate chain can be built")
		c.skip(CheckRevocation, "not checked: no certificate chain")
		return results
	}
	var ok []string
	failed := false
	for i, nc := range certs {
		results[i].namedCert = nc
		if nc.lenient {
			if !failed {
				c.indet(CheckChain, NoCertificateChainFound, fmt.Sprintf("the %s certificate does not parse strictly, so no chain can be built for it", nc.role))
			}
			failed = true
			continue
		}
		paths, err := v.buildChains(c.tv, nc.cert, t)
		if err != nil {
			if !failed {
				var ua smx509.UnknownAuthorityError
				if errors.As(err, &ua) {
					c.indet(CheckChain, NoCertificateChainFound, fmt.Sprintf("the %s certificate (%s) does not chain to a trust anchor: %v", nc.role, subjectOf(nc.cert), err))
				} else {
					c.fail(CheckChain, ChainConstraintsFailure, fmt.Sprintf("the %s certificate's chain is not valid at %s: %v", nc.role, fmtTime(t), err))
				}
			}
			failed = true
			continue
		}
		if nc.role == roleMaker {
			paths = makerPathFirst(c.tv, paths)
		}
		results[i].paths = paths
		ok = append(ok, fmt.Sprintf("the %s certificate chains to %s", nc.role, subjectOf(anchorOf(paths[0]))))
	}
	if failed {
		c.skip(CheckRevocation, "not checked: no valid certificate chain")
		return results
	}
	c.pass(CheckChain, strings.Join(ok, "; ")+" at "+fmtTime(t))
	v.checkRevocation(c, results, t, v.now(), current)
	return results
}

func isSM2(c *smx509.Certificate) bool {
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	return ok && pub.Curve != nil && pub.Curve.Params().Name == "sm2p256v1"
}

// join appends the non-empty notes to head.
func join(head string, notes ...string) string {
	n := len(head)
	for _, s := range notes {
		if s != "" {
			n += 2 + len(s)
		}
	}
	if n == len(head) {
		return head
	}
	// One buffer: adding to a string note by note copies it each time, which for the notes of
	// a large malformed input costs their number times their size.
	var b strings.Builder
	b.Grow(n)
	b.WriteString(head)
	for _, s := range notes {
		if s != "" {
			b.WriteString("; ")
			b.WriteString(s)
		}
	}
	return b.String()
}

func standard(version int) string {
	if version == 1 {
		return "GM/T 0031"
	}
	return "GB/T 38540"
}
