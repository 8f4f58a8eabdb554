package verifier

import (
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ofd"
)

// A SignedData of two signers, the second revoked now for key compromise: a proof of
// existence of the first signer's signature says nothing about when the second was made, so
// the second, made with the compromised key and backdated, must not pass.
func TestSignedDataProofOfEverySigner(t *testing.T) {
	p := newPKI(t)
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	revokedAt := signedAt.AddDate(0, 1, 0)
	now := revokedAt.AddDate(0, 0, 1)
	crl := mkCRL(t, p.root, p.rootKey, 1, now.Add(-time.Hour), now.AddDate(0, 0, 7), revoke(p.maker, revokedAt, 1))
	xml := []byte("<Signature/>")
	attrs := func() [][]byte { return [][]byte{typeAttr(t), digestAttr(t, xml), timeAttr(t, signedAt)} }
	der := makeSignedData(t, nil, false, []*smx509.Certificate{p.signer, p.maker},
		[]sdSigner{{cert: p.signer, key: p.signerKey, attrs: attrs()}, {cert: p.maker, key: p.makerKey, attrs: attrs()}})
	sd, _, err := parseSignedData(der)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(log *fakeAuditLog) SignatureReport {
		v := New(Options{Roots: []*smx509.Certificate{p.root}, CRLs: []*smx509.RevocationList{crl}, TimeProof: log, Now: at(now)})
		r, c := v.verifyPlainSignature(&ofd.Signature{Type: "Sign", XML: xml, SignedValue: der, SignedValuePath: "/Doc_0/Signs/Sign_0/SignedValue.dat"})
		r.Checks = c.list
		r.Indication, r.SubIndication = c.indication()
		return r
	}
	first := &fakeAuditLog{seen: map[[sm3.Size]byte]time.Time{sm3.Sum(sd.signers[0].sig): signedAt}}
	expect(t, verify(first), Indeterminate, RevokedNoPOE, CheckTimeProof, Indet, "no proof of existence is known")
	both := &fakeAuditLog{seen: map[[sm3.Size]byte]time.Time{sm3.Sum(sd.signers[0].sig): signedAt, sm3.Sum(sd.signers[1].sig): signedAt}}
	expect(t, verify(both), TotalPassed, "", CheckTimeProof, Passed, "audit log record 7")
}
