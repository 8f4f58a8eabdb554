package verifier

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/internal/crlrules"
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

// completeCRL tells whether a CRL can answer for every certificate of its issuer
// (crlrules.Partial, as the CRL source judges it).
func completeCRL(l *smx509.RevocationList) bool {
	_, partial := crlrules.Partial(l)
	return !partial
}

// newer orders CRLs of one issuer as the CRL source does (crlrules.Newer).
var newer = crlrules.Newer

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
