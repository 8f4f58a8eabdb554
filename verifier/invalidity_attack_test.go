package verifier

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// invalidFrom is a CRL entry extension invalidityDate (RFC 5280 §5.3.2): the key is known or
// suspected compromised since at.
func invalidFrom(t testing.TB, at time.Time) pkix.Extension {
	t.Helper()
	v, err := asn1.MarshalWithParams(at.UTC(), "generalized")
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 24}, Value: v}
}

// The CA revokes the signer after the signing time, but its CRL says the key was compromised
// before it (invalidityDate). A signature dated between the two was made with a key the CA
// no longer stands behind: the revocation check must fail it, not pass it as signed before
// the revocation.
func TestRevocationAttackInvalidityDate(t *testing.T) {
	p := newPKI(t)
	data := []byte("<Signature/>")
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	der := p.sign(t, p.seal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), data, signedAt)
	issued := signedAt.Add(24 * time.Hour)
	compromised := signedAt.Add(-48 * time.Hour)
	entry := revoke(p.signer, signedAt.Add(time.Hour), 1)
	entry.ExtraExtensions = []pkix.Extension{invalidFrom(t, compromised)}
	crl := mkCRL(t, p.root, p.rootKey, 1, issued, issued.AddDate(0, 0, 7), entry)
	o := p.trust(issued.Add(time.Hour))
	o.CRLs = []*smx509.RevocationList{crl}
	r := New(o).VerifySignature(der, data)
	expect(t, r, TotalFailed, Revoked, CheckRevocation, Failed, "2026-02-27T00:00:00Z")

	// An invalidityDate after the signing time changes nothing: revoked after it signed.
	late := revoke(p.signer, signedAt.Add(2*time.Hour), 1)
	late.ExtraExtensions = []pkix.Extension{invalidFrom(t, signedAt.Add(time.Hour))}
	o.CRLs = []*smx509.RevocationList{mkCRL(t, p.root, p.rootKey, 2, issued, issued.AddDate(0, 0, 7), late)}
	r = New(o).VerifySignature(der, data)
	if status(r.Checks, CheckRevocation) != Passed {
		t.Errorf("revocation %s with the key invalid only after the signing time: %s", status(r.Checks, CheckRevocation), detail(r.Checks, CheckRevocation))
	}
}

// A CRL that lists the signer twice, first revoked after the signing time (say on hold),
// then revoked before it: the earlier revocation counts, whatever the order of the entries.
func TestRevocationAttackDuplicateEntries(t *testing.T) {
	p := newPKI(t)
	data := []byte("<Signature/>")
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	der := p.sign(t, p.seal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), data, signedAt)
	issued := signedAt.Add(24 * time.Hour)
	late, early := revoke(p.signer, signedAt.Add(time.Hour), 6), revoke(p.signer, signedAt.Add(-time.Hour), 1)
	viaInvalidity := revoke(p.signer, signedAt.Add(2*time.Hour), 1)
	viaInvalidity.ExtraExtensions = []pkix.Extension{invalidFrom(t, signedAt.Add(-2*time.Hour))}
	for _, tc := range []struct {
		name    string
		entries []smx509.RevocationListEntry
		at      string
	}{
		{"later entry first", []smx509.RevocationListEntry{late, early}, "2026-02-28T23:00:00Z"},
		{"earlier entry first", []smx509.RevocationListEntry{early, late}, "2026-02-28T23:00:00Z"},
		{"earlier by invalidityDate", []smx509.RevocationListEntry{late, viaInvalidity}, "2026-02-28T22:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := p.trust(issued.Add(time.Hour))
			o.CRLs = []*smx509.RevocationList{mkCRL(t, p.root, p.rootKey, 1, issued, issued.AddDate(0, 0, 7), tc.entries...)}
			expect(t, New(o).VerifySignature(der, data), TotalFailed, Revoked, CheckRevocation, Failed, tc.at)
		})
	}
}
