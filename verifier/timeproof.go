package verifier

import (
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ses"
)

// ProofOfExistence proves that a signature existed at some time, whatever its own signing
// time claims: our audit log, which records every signature the appliance makes, and later
// verified timestamps. It is asked only when a certificate or the seal is revoked or expired
// now, so the claimed time alone cannot be trusted.
type ProofOfExistence interface {
	// ProveExistence looks up the signature whose signature value (the content of the
	// signature BIT STRING) has the given SM3 digest. ok is false when nothing proves that
	// signature existed; err is set only when the source could not be asked.
	ProveExistence(valueSM3 [sm3.Size]byte) (p Proof, ok bool, err error)
}

// Proof is a proof of existence.
type Proof struct {
	// Time is the earliest time at which the signature is proven to have existed.
	Time time.Time
	// Source names the proof in words, for the report ("audit log record 1234").
	Source string
}

// window is a validity period the signature must fall in.
type window struct {
	whose    string
	from, to time.Time
}

// checkTimeProof decides whether the signing time must be proven, and whether it is. The
// signing time is the signer's own claim: a signer whose certificate was revoked, or has
// expired, can claim an earlier time. So when any certificate of the chains or the seal is
// revoked or out of its validity now, only a proof of existence at a time when all of them
// were valid and unrevoked lets the signature pass.
func (v *Verifier) checkTimeProof(c *checks, sig *ses.Signature, signer, maker *smx509.Certificate, chains []chainResult, now time.Time) {
	p := &sig.TBS.Seal.Info.Property
	windows := []window{{"the seal", p.ValidStart, p.ValidEnd}}
	if signer != nil {
		windows = append(windows, window{"the signer certificate", signer.NotBefore, signer.NotAfter})
	}
	if maker != nil {
		windows = append(windows, window{"the seal maker certificate", maker.NotBefore, maker.NotAfter})
	}
	v.proveTime(c, windows, sig.TBS.Time, [][]byte{sig.Value}, chains, sig.TBS.Seal, now)
}

// proveTime is checkTimeProof for any signature: windows are the validity periods of what it
// relies on besides the CAs of its chains, claimed its own signing time, values its signature
// values (the proof of existence is looked up by their SM3), seal the seal the registry is
// asked about (nil for none). Every value must be proven: a
// proof of one signer's signature says nothing of when another's was made. The latest of the
// proofs is the time checked.
func (v *Verifier) proveTime(c *checks, windows []window, claimed time.Time, values [][]byte, chains []chainResult, seal *ses.Seal, now time.Time) {
	for _, ch := range chains {
		path := ch.paths[0]
		if len(path) < 3 {
			continue // no CA between the certificate and its anchor
		}
		for _, ca := range path[1 : len(path)-1] {
			windows = append(windows, window{"the CA certificate " + subjectOf(ca), ca.NotBefore, ca.NotAfter})
		}
	}
	var out []string
	for _, w := range windows {
		switch {
		case now.Before(w.from):
			out = append(out, fmt.Sprintf("%s is not valid until %s", w.whose, fmtTime(w.from)))
		case now.After(w.to):
			out = append(out, fmt.Sprintf("%s expired at %s", w.whose, fmtTime(w.to)))
		}
	}
	rev := v.revokedNow(c, chains, seal, claimed, now)
	if len(out) == 0 && len(rev.revoked) == 0 {
		whose := make([]string, len(windows))
		for i, w := range windows {
			whose[i] = w.whose
		}
		detail := fmt.Sprintf("no proof of the signing time is needed: at %s %s are within their validity", fmtTime(now), strings.Join(whose, ", "))
		switch {
		case len(chains) == 0:
			detail += "; revocation now is not known: no certificate chain"
		case len(rev.unknown) > 0:
			detail += "; revocation now is not known: " + strings.Join(rev.unknown, "; ")
		default:
			detail += " and not revoked"
		}
		c.skip(CheckTimeProof, detail)
		return
	}
	sub, why := OutOfBoundsNoPOE, strings.Join(out, "; ")
	if len(rev.revoked) > 0 {
		sub, why = RevokedNoPOE, strings.Join(append(rev.revoked, out...), "; ")
	}
	why = fmt.Sprintf("at %s %s", fmtTime(now), why)
	if v.opts.TimeProof == nil {
		claim := "its signing time could not be read"
		if !claimed.IsZero() {
			claim = "its claimed signing time " + fmtTime(claimed) + " is the signer's own claim"
		}
		c.indet(CheckTimeProof, sub, why+"; nothing proves when the signature was made: "+claim)
		return
	}
	var proof Proof
	for i, value := range values {
		p, ok, err := v.opts.TimeProof.ProveExistence(sm3.Sum(value))
		what := "this signature"
		if len(values) > 1 {
			what = fmt.Sprintf("signerInfo %d", i+1)
		}
		switch {
		case err != nil:
			c.indet(CheckTimeProof, TryLater, why+"; the proof of existence could not be looked up: "+err.Error())
			return
		case !ok:
			c.indet(CheckTimeProof, sub, why+"; no proof of existence is known for "+what)
			return
		}
		if i == 0 || p.Time.After(proof.Time) {
			proof = p
		}
	}
	if len(values) == 0 {
		c.indet(CheckTimeProof, sub, why+"; no signature value to look up")
		return
	}
	if !rev.first.IsZero() && !proof.Time.Before(rev.first) {
		c.indet(CheckTimeProof, RevokedNoPOE, fmt.Sprintf("%s; %s proves the signature existed at %s, not before the revocation", why, proof.Source, fmtTime(proof.Time)))
		return
	}
	for _, w := range windows {
		if proof.Time.Before(w.from) || proof.Time.After(w.to) {
			c.indet(CheckTimeProof, OutOfBoundsNoPOE, fmt.Sprintf("%s; %s proves the signature existed at %s, outside the validity of %s (%s to %s)", why, proof.Source, fmtTime(proof.Time), w.whose, fmtTime(w.from), fmtTime(w.to)))
			return
		}
	}
	c.pass(CheckTimeProof, fmt.Sprintf("%s; %s proves the signature existed at %s, when every certificate and the seal were valid and unrevoked", why, proof.Source, fmtTime(proof.Time)))
}
