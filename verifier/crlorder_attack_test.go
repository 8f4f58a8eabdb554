package verifier

import (
	"context"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// fixedCRL is a CRL source that always answers with one CRL.
type fixedCRL struct{ l *smx509.RevocationList }

func (f fixedCRL) CRL(context.Context, *smx509.Certificate, []string) (*smx509.RevocationList, error) {
	return f.l, nil
}

// A CA whose clock went back issues CRL 6, which revokes the signer, dated before CRL 5,
// which does not. CRL 6 is the later one (CRL numbers only grow, RFC 5280 §5.2.3): taking
// CRL 5 for its later thisUpdate would pass a revoked signer, whether the CRLs are
// configured, fetched, or one of each.
func TestCRLOrderAttackClockWentBack(t *testing.T) {
	p := newPKI(t)
	data := []byte("<Signature/>")
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	der := p.sign(t, p.seal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), data, signedAt)
	issued := signedAt.Add(24 * time.Hour)
	five := mkCRL(t, p.root, p.rootKey, 5, issued.Add(time.Hour), issued.AddDate(0, 0, 7))
	six := mkCRL(t, p.root, p.rootKey, 6, issued, issued.AddDate(0, 0, 7), revoke(p.signer, signedAt.Add(-time.Hour), 1))
	now := issued.Add(2 * time.Hour)
	for _, tc := range []struct {
		name   string
		crls   []*smx509.RevocationList
		source CRLSource
	}{
		{"configured, later first", []*smx509.RevocationList{six, five}, nil},
		{"configured, earlier first", []*smx509.RevocationList{five, six}, nil},
		{"fetched CRL 6, configured CRL 5", []*smx509.RevocationList{five}, fixedCRL{six}},
		{"fetched CRL 5, configured CRL 6", []*smx509.RevocationList{six}, fixedCRL{five}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := p.trust(now)
			o.CRLs, o.CRLSource = tc.crls, tc.source
			expect(t, New(o).VerifySignature(der, data), TotalFailed, Revoked, CheckRevocation, Failed, "reason keyCompromise")
		})
	}
}
