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
// no delta CRL indicator or issuing distribution point, critical or not, and no other
// critical extension besides the CRL number and authority key identifier. A delta CRL lists
// only what changed since its base, and one with an issuing distribution point covers only
// part of the issuer's certificates; RFC 5280 §5 marks both critical and forbids using a CRL
// with a critical extension that is not processed, and a CA that marks them non-critical by
// mistake still limits the CRL. Taken as the newest CRL, either would hide a revocation its
// complete CRL lists.
func completeCRL(l *smx509.RevocationList) bool {
	for _, e := range l.Extensions {
		if e.Id.Equal(oidDeltaIndicator) || e.Id.Equal(oidIssuingDP) {
			return false
		}
		if e.Critical && !e.Id.Equal(oidCRLNumber) && !e.Id.Equal(oidAuthorityKeyID) {
			return false
		}
	}
	return true
}

var (
	oidCRLNumber      = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidAuthorityKeyID = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidDeltaIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidIssuingDP      = asn1.ObjectIdentifier{2, 5, 29, 28}
)

// newer orders CRLs of one issuer: when both carry a CRL number the higher number is newer,
// whatever their thisUpdate (RFC 5280 §5.2.3: numbers increase monotonically, while a CA
// whose clock went back dates a later CRL earlier, and ranking by date would hide the
// revocations it adds); otherwise, or for equal numbers, the later thisUpdate.
func newer(a, b *smx509.RevocationList) int {
	if a.Number != nil && b.Number != nil {
		if c := a.Number.Cmp(b.Number); c != 0 {
			return c
		}
	}
	return a.ThisUpdate.Compare(b.ThisUpdate)
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
			subjectOf(issuer), fmtTime(crl.ThisUpdate), fmtTime(next), fmtDuration(grace), fmtTime(now))
	}
	return true, fmt.Sprintf("the CRL of %s is stale: its nextUpdate %s has passed, and it is used within the grace period of %s",
		subjectOf(issuer), fmtTime(next), fmtDuration(grace))
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
