// Package crlrules holds the two rules on CRLs that the CRL source (revocation/) and the
// verifier must apply alike: which CRL of an issuer is the newest, and which CRLs cannot
// answer for every certificate of their issuer.
package crlrules

import (
	"encoding/asn1"

	"github.com/emmansun/gmsm/smx509"
)

var (
	oidCRLNumber      = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidAuthorityKeyID = asn1.ObjectIdentifier{2, 5, 29, 35}
	// OIDDeltaIndicator marks a delta CRL; OIDIssuingDP an issuing distribution point.
	OIDDeltaIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	OIDIssuingDP      = asn1.ObjectIdentifier{2, 5, 29, 28}
)

// Newer orders CRLs of one issuer: when both carry a CRL number the higher number is newer,
// whatever their thisUpdate (RFC 5280 §5.2.3: numbers increase monotonically, while a CA
// whose clock went back dates a later CRL earlier, and ranking by date would hide the
// revocations it adds); otherwise, or for equal numbers, the later thisUpdate.
func Newer(a, b *smx509.RevocationList) int {
	if a.Number != nil && b.Number != nil {
		if c := a.Number.Cmp(b.Number); c != 0 {
			return c
		}
	}
	return a.ThisUpdate.Compare(b.ThisUpdate)
}

// Partial returns an extension of l that keeps it from answering for every certificate of
// its issuer: a delta CRL indicator or an issuing distribution point, critical or not, or
// any other critical extension but the CRL number and the authority key identifier. A delta
// CRL lists only what changed since its base, and one with an issuing distribution point
// may cover only part of the issuer's certificates (only user or only CA certificates, some
// reasons, another issuer's); RFC 5280 §5 marks both critical and forbids using a CRL with
// a critical extension that is not processed, and a CA that marks them non-critical by
// mistake still limits the CRL. Taken as the newest CRL, such a CRL would hide a revocation
// its complete CRL lists.
func Partial(l *smx509.RevocationList) (asn1.ObjectIdentifier, bool) {
	for _, e := range l.Extensions {
		if e.Id.Equal(OIDDeltaIndicator) || e.Id.Equal(OIDIssuingDP) {
			return e.Id, true
		}
		if e.Critical && !e.Id.Equal(oidCRLNumber) && !e.Id.Equal(oidAuthorityKeyID) {
			return e.Id, true
		}
	}
	return nil, false
}
