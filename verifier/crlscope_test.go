package verifier

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// mkCRLExt makes a CRL signed by issuer that carries the given extra extensions.
func mkCRLExt(t testing.TB, issuer *smx509.Certificate, key *sm2.PrivateKey, number int64, this, next time.Time, exts []pkix.Extension, revoked ...smx509.RevocationListEntry) *smx509.RevocationList {
	t.Helper()
	der, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(number), ThisUpdate: this, NextUpdate: next, RevokedCertificateEntries: revoked,
		ExtraExtensions: exts,
	}, issuer, key)
	if err != nil {
		t.Fatal(err)
	}
	l, err := smx509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A delta CRL lists only what changed since its base, and a CRL with an issuing distribution
// point covers only part of the issuer's certificates: either, being newer than the complete
// CRL that revokes the signer, must not be taken as the issuer's whole answer (RFC 5280
// §5: a CRL with a critical extension that is not understood is not used).
func TestCRLsOfPartialScope(t *testing.T) {
	p := newPKI(t)
	data := []byte("<Signature/>")
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	der := p.sign(t, p.seal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), data, signedAt)
	issued := signedAt.Add(24 * time.Hour)
	base := mkCRL(t, p.root, p.rootKey, 1, issued, issued.AddDate(0, 0, 7), revoke(p.signer, signedAt.Add(-time.Hour), 1))
	deltaIndicator, _ := asn1.Marshal(big.NewInt(1))
	delta := mkCRLExt(t, p.root, p.rootKey, 2, issued.Add(time.Hour), issued.AddDate(0, 0, 7),
		[]pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: deltaIndicator}})
	// IssuingDistributionPoint { onlyContainsCACerts [2] TRUE }
	caOnly := mkCRLExt(t, p.root, p.rootKey, 3, issued.Add(2*time.Hour), issued.AddDate(0, 0, 7),
		[]pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Critical: true, Value: []byte{0x30, 0x03, 0x82, 0x01, 0xff}}})
	// The same, marked non-critical by mistake: they limit the CRL all the same.
	deltaLoose := mkCRLExt(t, p.root, p.rootKey, 4, issued.Add(time.Hour), issued.AddDate(0, 0, 7),
		[]pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Value: deltaIndicator}})
	caOnlyLoose := mkCRLExt(t, p.root, p.rootKey, 5, issued.Add(2*time.Hour), issued.AddDate(0, 0, 7),
		[]pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Value: []byte{0x30, 0x03, 0x82, 0x01, 0xff}}})
	unknownCritical := mkCRLExt(t, p.root, p.rootKey, 6, issued.Add(2*time.Hour), issued.AddDate(0, 0, 7),
		[]pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 156, 10197, 99, 7}, Critical: true, Value: []byte{0x05, 0x00}}})
	now := issued.Add(3 * time.Hour)
	for _, tc := range []struct {
		name             string
		crls             []*smx509.RevocationList
		indication, sub  string
		status, inDetail string
	}{
		{"a newer delta CRL beside the complete one", []*smx509.RevocationList{base, delta}, TotalFailed, Revoked, Failed, "reason keyCompromise"},
		{"a newer CA-only CRL beside the complete one", []*smx509.RevocationList{base, caOnly}, TotalFailed, Revoked, Failed, "reason keyCompromise"},
		{"Attack: a newer non-critical delta CRL beside the complete one", []*smx509.RevocationList{base, deltaLoose}, TotalFailed, Revoked, Failed, "reason keyCompromise"},
		{"Attack: a newer non-critical CA-only CRL beside the complete one", []*smx509.RevocationList{base, caOnlyLoose}, TotalFailed, Revoked, Failed, "reason keyCompromise"},
		{"Attack: only a non-critical CA-only CRL", []*smx509.RevocationList{caOnlyLoose}, Indeterminate, TryLater, Indet, "no CRL from"},
		{"a newer CRL with a critical extension not processed", []*smx509.RevocationList{base, unknownCritical}, TotalFailed, Revoked, Failed, "reason keyCompromise"},
		{"only a delta CRL", []*smx509.RevocationList{delta}, Indeterminate, TryLater, Indet, "no CRL from"},
		{"only a CA-only CRL", []*smx509.RevocationList{caOnly}, Indeterminate, TryLater, Indet, "no CRL from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := p.trust(now)
			o.CRLs = tc.crls
			expect(t, New(o).VerifySignature(der, data), tc.indication, tc.sub, CheckRevocation, tc.status, tc.inDetail)
		})
	}
}
