package verifier

import (
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// DefaultCRLGrace is how long after its nextUpdate a CRL is still used when Options.CRLGrace
// is zero: long enough to ride out a CRL server's outage over a long weekend, short enough
// that a revocation cannot stay hidden for long.
const DefaultCRLGrace = 7 * 24 * time.Hour

// crlSet holds the configured CRLs by issuer name, newest first, and remembers which
// CRL verifies under which issuer certificate.
type crlSet struct {
	byIssuer map[string][]*smx509.RevocationList
	sigs     sync.Map // crlSigKey -> bool
}

type crlSigKey struct {
	crl    *smx509.RevocationList
	issuer string // the issuer certificate's DER
}

func newCRLSet(crls []*smx509.RevocationList) *crlSet {
	s := &crlSet{byIssuer: map[string][]*smx509.RevocationList{}}
	for _, l := range crls {
		if l == nil || !completeCRL(l) {
			continue
		}
		k := string(l.RawIssuer)
		s.byIssuer[k] = append(s.byIssuer[k], l)
	}
	for _, ls := range s.byIssuer {
		slices.SortStableFunc(ls, func(a, b *smx509.RevocationList) int { return -newer(a, b) })
	}
	return s
}

// completeCRL tells whether a CRL can answer for every certificate of its issuer: it carries
// no critical extension besides the CRL number and authority key identifier. A delta CRL
// (deltaCRLIndicator) lists only what changed since its base, and one with an issuing
// distribution point covers only part of the issuer's certificates; both are critical, and
// RFC 5280 §5 forbids using a CRL with a critical extension that is not processed. Taken as
// the newest CRL, either would hide a revocation its complete CRL lists.
func completeCRL(l *smx509.RevocationList) bool {
	for _, e := range l.Extensions {
		if e.Critical && !e.Id.Equal(oidCRLNumber) && !e.Id.Equal(oidAuthorityKeyID) {
			return false
		}
	}
	return true
}

var (
	oidCRLNumber      = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidAuthorityKeyID = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// newer orders CRLs of one issuer: the later thisUpdate is newer, and of two with the same
// thisUpdate the higher CRL number.
func newer(a, b *smx509.RevocationList) int {
	if c := a.ThisUpdate.Compare(b.ThisUpdate); c != 0 {
		return c
	}
	if a.Number == nil || b.Number == nil {
		return 0
	}
	return a.Number.Cmp(b.Number)
}

// newest returns the newest CRL that issuer signed, or nil. A CRL that names the issuer but
// does not verify under its key is passed over, never used.
func (s *crlSet) newest(issuer *smx509.Certificate) *smx509.RevocationList {
	for _, l := range s.byIssuer[string(issuer.RawSubject)] {
		k := crlSigKey{l, string(issuer.Raw)}
		ok, seen := s.sigs.Load(k)
		if !seen {
			ok = l.CheckSignatureFrom(issuer) == nil
			s.sigs.Store(k, ok)
		}
		if ok.(bool) {
			return l
		}
	}
	return nil
}

func (v *Verifier) crlGrace() time.Duration {
	switch {
	case v.opts.CRLGrace < 0:
		return 0
	case v.opts.CRLGrace == 0:
		return DefaultCRLGrace
	}
	return v.opts.CRLGrace
}

// crlFresh tells whether crl can be relied on at now. A CRL past its nextUpdate is used
// within the grace period, with a note saying it is stale; past the grace it is not. A CRL
// without nextUpdate (which RFC 5280 requires) counts as running out at its thisUpdate.
func (v *Verifier) crlFresh(crl *smx509.RevocationList, issuer *smx509.Certificate, now time.Time) (bool, string) {
	next := crl.NextUpdate
	if next.IsZero() {
		next = crl.ThisUpdate
	}
	if !now.After(next) {
		return true, ""
	}
	grace := v.crlGrace()
	if now.After(next.Add(grace)) {
		return false, fmt.Sprintf("the newest CRL of %s (thisUpdate %s) ran out at %s, more than the grace period of %s before %s: it cannot be relied on; fetch a newer CRL",
			issuer.Subject, fmtTime(crl.ThisUpdate), fmtTime(next), fmtDuration(grace), fmtTime(now))
	}
	return true, fmt.Sprintf("the CRL of %s is stale: its nextUpdate %s has passed, and it is used within the grace period of %s",
		issuer.Subject, fmtTime(next), fmtDuration(grace))
}

// revokedEntry returns the CRL entry of cert, or nil.
func revokedEntry(crl *smx509.RevocationList, cert *smx509.Certificate) *smx509.RevocationListEntry {
	for i := range crl.RevokedCertificateEntries {
		e := &crl.RevokedCertificateEntries[i]
		if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return e
		}
	}
	return nil
}

// checkRevocation checks every certificate of the chains against the newest CRL of its
// issuer, as of the signing time t: a certificate revoked at or before t fails; a CRL issued
// before a past t cannot show the certificate was good at t (current: t is the current
// time, which the current CRL answers for); a CRL past its grace cannot be relied on at all.
func (v *Verifier) checkRevocation(c *checks, chains []chainResult, t, now time.Time, current bool) {
	if len(v.opts.CRLs) == 0 {
		c.indet(CheckRevocation, TryLater, "no revocation source is configured (--crl): whether the certificates were revoked is unknown")
		return
	}
	var good, notes []string
	for _, r := range chains {
		path := r.paths[0]
		for i := 0; i+1 < len(path); i++ {
			cert, issuer := path[i], path[i+1]
			crl := v.crls.newest(issuer)
			if crl == nil {
				c.indet(CheckRevocation, TryLater, fmt.Sprintf("no CRL from %s is available to check the %s chain", issuer.Subject, r.role))
				return
			}
			if e := revokedEntry(crl, cert); e != nil && !e.RevocationTime.After(t) {
				c.fail(CheckRevocation, Revoked, fmt.Sprintf("certificate %s (%s) was revoked at %s (%s), before %s", cert.Subject, serialHex(cert), fmtTime(e.RevocationTime), reasonText(e.ReasonCode), fmtTime(t)))
				return
			}
			fresh, note := v.crlFresh(crl, issuer, now)
			if !fresh {
				c.indet(CheckRevocation, TryLater, note)
				return
			}
			if !current && crl.ThisUpdate.Before(t) {
				c.indet(CheckRevocation, TryLater, fmt.Sprintf("the newest CRL of %s was issued at %s, before %s: it cannot show that %s was not revoked by then", issuer.Subject, fmtTime(crl.ThisUpdate), fmtTime(t), cert.Subject))
				return
			}
			good = append(good, fmt.Sprintf("%s is not on the CRL of %s (thisUpdate %s)", cert.Subject, issuer.Subject, fmtTime(crl.ThisUpdate)))
			if note != "" && !slices.Contains(notes, note) {
				notes = append(notes, note)
			}
		}
	}
	c.pass(CheckRevocation, join(strings.Join(good, "; ")+" at "+fmtTime(t), notes...))
}

// revocationNow is what the CRLs say about the chains' certificates at the current time.
type revocationNow struct {
	revoked []string // one line per revoked certificate
	first   time.Time
	unknown []string // why the status of a certificate is not known
}

// revokedNow consults the newest CRL of each issuer at now. Any listing counts, stale CRL or
// not: revocation is final.
func (v *Verifier) revokedNow(chains []chainResult, now time.Time) revocationNow {
	var r revocationNow
	if len(v.opts.CRLs) == 0 {
		r.unknown = append(r.unknown, "no revocation source is configured (--crl)")
		return r
	}
	for _, ch := range chains {
		path := ch.paths[0]
		for i := 0; i+1 < len(path); i++ {
			cert, issuer := path[i], path[i+1]
			crl := v.crls.newest(issuer)
			if crl == nil {
				r.unknown = append(r.unknown, "no CRL from "+issuer.Subject.String())
				continue
			}
			if e := revokedEntry(crl, cert); e != nil && !e.RevocationTime.After(now) {
				r.revoked = append(r.revoked, fmt.Sprintf("certificate %s (%s) was revoked at %s (%s)", cert.Subject, serialHex(cert), fmtTime(e.RevocationTime), reasonText(e.ReasonCode)))
				if r.first.IsZero() || e.RevocationTime.Before(r.first) {
					r.first = e.RevocationTime
				}
				continue
			}
			if ok, note := v.crlFresh(crl, issuer, now); !ok {
				r.unknown = append(r.unknown, note)
			}
		}
	}
	return r
}

func serialHex(c *smx509.Certificate) string {
	return strings.ToUpper(c.SerialNumber.Text(16))
}

// reasonText names an RFC 5280 CRL reason code.
func reasonText(code int) string {
	names := []string{"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
		"cessationOfOperation", "certificateHold", "", "removeFromCRL", "privilegeWithdrawn", "aACompromise"}
	if code >= 0 && code < len(names) && names[code] != "" {
		return "reason " + names[code]
	}
	return fmt.Sprintf("reason code %d", code)
}

// fmtDuration writes whole days as days, anything else as Go does.
func fmtDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
