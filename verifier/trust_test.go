package verifier

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// The trust model, tried as an attacker would: every case builds its own certificates,
// seals, signatures and CRLs under a private root, and asserts the verdict and the check
// that names the problem.

func newKey(t testing.TB) *sm2.PrivateKey {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue makes a certificate for key, issued by parent (nil: self-signed). ca makes it a CA.
func issue(t testing.TB, serial int64, cn string, key *sm2.PrivateKey, ku smx509.KeyUsage, ca bool, parent *smx509.Certificate, parentKey *sm2.PrivateKey) *smx509.Certificate {
	t.Helper()
	if parentKey == nil {
		parentKey = key
	}
	return mkCert(t, &smx509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage: ku, IsCA: ca, BasicConstraintsValid: true,
	}, parent, key, parentKey)
}

const signKU = smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment

// makeSeal makes a seal with any maker, listing the given signer certificates.
func makeSeal(t testing.TB, maker *smx509.Certificate, makerKey *sm2.PrivateKey, signers []*smx509.Certificate, start, end time.Time) *ses.Seal {
	t.Helper()
	var ders [][]byte
	for _, c := range signers {
		ders = append(ders, c.Raw)
	}
	s, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{
		VID: "eseal", ESID: "4600002024000099", Type: 1, Name: "海南省测试单位",
		SignerCerts: ders, CreateDate: start, ValidStart: start, ValidEnd: end,
		Picture: ses.Picture{Type: "PNG", Data: []byte("\x89PNG picture"), Width: 40, Height: 40},
	}, maker.Raw, makerKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signAs signs data with any signer certificate and key.
func signAs(t testing.TB, seal *ses.Seal, cert *smx509.Certificate, key *sm2.PrivateKey, data []byte, at time.Time) []byte {
	t.Helper()
	sum := sm3.Sum(data)
	der, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: cert.Raw, DataHash: sum[:],
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: at}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// mkCRL makes a CRL signed by issuer.
func mkCRL(t testing.TB, issuer *smx509.Certificate, key *sm2.PrivateKey, number int64, this, next time.Time, revoked ...smx509.RevocationListEntry) *smx509.RevocationList {
	t.Helper()
	der, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(number), ThisUpdate: this, NextUpdate: next, RevokedCertificateEntries: revoked,
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

func revoke(c *smx509.Certificate, at time.Time, reason int) smx509.RevocationListEntry {
	return smx509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: at, ReasonCode: reason}
}

// expect asserts a report's verdict and the status of the check that names the problem,
// and that the check's detail says what it should.
func expect(t *testing.T, r SignatureReport, indication, sub, check, want, inDetail string) {
	t.Helper()
	if r.Indication != indication || r.SubIndication != sub || status(r.Checks, check) != want || !strings.Contains(detail(r.Checks, check), inDetail) {
		t.Errorf("%s / %s with %s %s, want %s / %s with %s %s (detail with %q)", r.Indication, r.SubIndication, check, status(r.Checks, check),
			indication, sub, check, want, inDetail)
		for _, c := range r.Checks {
			t.Logf("  %-13s %-28s %s", c.Status, c.Name, c.Detail)
		}
	}
}

func TestSealMaker(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	start, end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now := signedAt.Add(24 * time.Hour)
	data := []byte("<Signature/>")
	roots := []*smx509.Certificate{p.root}

	// An ordinary end-entity certificate under the trusted root, allowed to sign.
	eveKey := newKey(t)
	eve := issue(t, 10, "eve, an ordinary holder", eveKey, signKU, false, p.root, p.rootKey)
	// A certificate holding the signer's own key under another name.
	signerTwin := issue(t, 11, "eseal test signer's other certificate", p.signerKey, signKU, false, p.root, p.rootKey)
	// Makers whose certificates may not sign.
	noSignKey := newKey(t)
	noSign := issue(t, 12, "maker that may only encipher", noSignKey, smx509.KeyUsageKeyEncipherment, false, p.root, p.rootKey)
	noKUKey := newKey(t)
	noKU := issue(t, 13, "maker without keyUsage", noKUKey, 0, false, p.root, p.rootKey)
	// A CA of seal makers, and a maker it issued.
	makerCAKey := newKey(t)
	makerCA := issue(t, 14, "seal makers' CA", makerCAKey, smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign, true, p.root, p.rootKey)
	maker2Key := newKey(t)
	maker2 := issue(t, 15, "seal maker issued by the makers' CA", maker2Key, signKU, false, makerCA, makerCAKey)

	// A maker certificate that is its own trust anchor.
	selfKey := newKey(t)
	self := issue(t, 16, "self-signed seal maker", selfKey, signKU, false, nil, nil)

	sig := func(maker *smx509.Certificate, makerKey *sm2.PrivateKey, signers ...*smx509.Certificate) []byte {
		if len(signers) == 0 {
			signers = []*smx509.Certificate{p.signer}
		}
		return signAs(t, makeSeal(t, maker, makerKey, signers, start, end), p.signer, p.signerKey, data, signedAt)
	}
	// CRLs of the root and of the makers' CA, issued after the signing, revoking nothing.
	crls := []*smx509.RevocationList{p.emptyCRL(now), mkCRL(t, makerCA, makerCAKey, 1, now, now.AddDate(0, 0, 1))}
	opts := func(makers ...*smx509.Certificate) Options {
		return Options{Roots: roots, Makers: makers, CRLs: crls, Now: at(now)}
	}
	for _, tc := range []struct {
		name             string
		opts             Options
		der              []byte
		indication, sub  string
		status, inDetail string
	}{
		{"an accepted maker", opts(p.maker), sig(p.maker, p.makerKey), TotalPassed, "", Passed, "is an accepted seal maker"},
		{"an end-entity maker under the trusted root", opts(p.maker), sig(eve, eveKey), Indeterminate, ChainConstraintsFailure, Indet, "not an accepted seal maker"},
		{"the signer's certificate as maker", opts(p.maker), sig(p.signer, p.signerKey), TotalFailed, SigConstraintsFailure, Failed, "signer's own certificate"},
		{"the signer's certificate as maker, even when listed", opts(p.maker, p.signer), sig(p.signer, p.signerKey), TotalFailed, SigConstraintsFailure, Failed, "signer's own certificate"},
		{"a maker holding the signer's key", opts(signerTwin), sig(signerTwin, p.signerKey), TotalFailed, SigConstraintsFailure, Failed, "signer's public key"},
		{"a maker among the seal's signers", opts(p.maker), sig(p.maker, p.makerKey, p.signer, p.maker), TotalFailed, SigConstraintsFailure, Failed, "entry 2 of the seal's own signer list"},
		{"a maker without a signing key usage", opts(noSign), sig(noSign, noSignKey), TotalFailed, SigConstraintsFailure, Failed, "neither digitalSignature nor nonRepudiation"},
		{"a maker without keyUsage", opts(noKU), sig(noKU, noKUKey), TotalFailed, SigConstraintsFailure, Failed, "has no keyUsage"},
		{"a maker not in the list", opts(other.maker), sig(p.maker, p.makerKey), Indeterminate, ChainConstraintsFailure, Indet, "not an accepted seal maker"},
		{"no maker list", opts(), sig(p.maker, p.makerKey), Indeterminate, NoCertificateChainFound, Indet, "no accepted seal makers are configured"},
		{"a listed maker outside the trust anchors", opts(other.maker), sig(other.maker, other.makerKey), Indeterminate, NoCertificateChainFound, Indet, "no valid chain"},
		{"a maker issued through a listed CA", opts(makerCA), sig(maker2, maker2Key), TotalPassed, "", Passed, "an accepted maker CA"},
		{"an end-entity maker beside a listed CA", opts(makerCA), sig(eve, eveKey), Indeterminate, ChainConstraintsFailure, Indet, "not an accepted seal maker"},
		{"a listed maker that is its own anchor", Options{Roots: []*smx509.Certificate{p.root, self}, Makers: []*smx509.Certificate{self}, CRLs: crls, Now: at(now)},
			sig(self, selfKey), TotalPassed, "", Passed, "is an accepted seal maker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, New(tc.opts).VerifySignature(tc.der, data), tc.indication, tc.sub, CheckSealMaker, tc.status, tc.inDetail)
		})
	}

	// Bare seals get the same check, against the current time.
	for _, tc := range []struct {
		name       string
		opts       Options
		seal       *ses.Seal
		indication string
		status     string
	}{
		{"an accepted maker", opts(p.maker), makeSeal(t, p.maker, p.makerKey, []*smx509.Certificate{p.signer}, start, end), TotalPassed, Passed},
		{"an end-entity maker", opts(p.maker), makeSeal(t, eve, eveKey, []*smx509.Certificate{p.signer}, start, end), Indeterminate, Indet},
		{"no maker list", opts(), makeSeal(t, p.maker, p.makerKey, []*smx509.Certificate{p.signer}, start, end), Indeterminate, Indet},
		{"made by its own signer", opts(p.signer), makeSeal(t, p.signer, p.signerKey, []*smx509.Certificate{p.signer}, start, end), TotalFailed, Failed},
	} {
		t.Run("bare seal: "+tc.name, func(t *testing.T) {
			r, ind := New(tc.opts).VerifySeal(tc.seal.Raw)
			if ind != tc.indication || status(r.Checks, CheckSealMaker) != tc.status {
				t.Errorf("%s with seal_maker %s, want %s with %s: %s", ind, status(r.Checks, CheckSealMaker), tc.indication, tc.status, detail(r.Checks, CheckSealMaker))
			}
		})
	}
}

// fakeAuditLog stands in for the audit log: it knows when some signature values existed.
type fakeAuditLog struct {
	seen map[[sm3.Size]byte]time.Time
	err  error
}

func (f *fakeAuditLog) ProveExistence(sum [sm3.Size]byte) (Proof, bool, error) {
	if f.err != nil {
		return Proof{}, false, f.err
	}
	t, ok := f.seen[sum]
	return Proof{Time: t, Source: "audit log record 7"}, ok, nil
}

// logged returns an audit log that saw der's signature value at t.
func logged(t *testing.T, der []byte, when time.Time) *fakeAuditLog {
	t.Helper()
	s, err := ses.ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeAuditLog{seen: map[[sm3.Size]byte]time.Time{sm3.Sum(s.Value): when}}
}

// A signer whose certificate was revoked, or has expired, claims an earlier signing time.
func TestBackdating(t *testing.T) {
	p := newPKI(t)
	data := []byte("<Signature/>")
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	revokedAt := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	now := revokedAt.Add(24 * time.Hour)
	backdated := revokedAt.AddDate(0, -1, 0)
	der := p.sign(t, seal, data, backdated) // made after the key was compromised, dated before
	keyCompromise := mkCRL(t, p.root, p.rootKey, 2, revokedAt.Add(time.Hour), revokedAt.AddDate(0, 0, 2), revoke(p.signer, revokedAt, 1))
	makerRevoked := mkCRL(t, p.root, p.rootKey, 2, revokedAt.Add(time.Hour), revokedAt.AddDate(0, 0, 2), revoke(p.maker, revokedAt, 1))
	withCRL := func(l *smx509.RevocationList, proof ProofOfExistence) Options {
		o := p.trust(now)
		o.CRLs, o.TimeProof = []*smx509.RevocationList{l}, proof
		return o
	}

	// Expired: the certificates end on 2029-01-01; the clock stands in 2030, the claim in 2028.
	later := time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	claimed := time.Date(2028, 6, 1, 0, 0, 0, 0, time.UTC)
	derExpired := p.sign(t, seal, data, claimed)
	expired := func(proof ProofOfExistence) Options {
		o := p.trust(later)
		o.TimeProof = proof
		return o
	}
	// The seal alone has expired now.
	shortSeal := p.seal(t, start, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	derShortSeal := p.sign(t, shortSeal, data, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))

	for _, tc := range []struct {
		name             string
		opts             Options
		der              []byte
		indication, sub  string
		status, inDetail string
	}{
		{"key compromise, signature dated before it", withCRL(keyCompromise, nil), der, Indeterminate, RevokedNoPOE, Indet, "keyCompromise"},
		{"key compromise, the audit log proves the time", withCRL(keyCompromise, logged(t, der, backdated)), der, TotalPassed, "", Passed, "audit log record 7"},
		{"key compromise, the audit log saw it after", withCRL(keyCompromise, logged(t, der, revokedAt.Add(time.Hour))), der, Indeterminate, RevokedNoPOE, Indet, "not before the revocation"},
		{"key compromise, the audit log knows another signature", withCRL(keyCompromise, logged(t, p.sign(t, seal, data, backdated), backdated)), der, Indeterminate, RevokedNoPOE, Indet, "no proof of existence is known"},
		{"key compromise, the audit log cannot be asked", withCRL(keyCompromise, &fakeAuditLog{err: errors.New("store closed")}), der, Indeterminate, TryLater, Indet, "store closed"},
		{"the maker's key compromised", withCRL(makerRevoked, nil), der, Indeterminate, RevokedNoPOE, Indet, "keyCompromise"},
		{"certificates expired, signature dated before", expired(nil), derExpired, Indeterminate, OutOfBoundsNoPOE, Indet, "the signer certificate expired at 2029-01-01T00:00:00Z"},
		{"certificates expired, the audit log proves the time", expired(logged(t, derExpired, claimed)), derExpired, TotalPassed, "", Passed, "audit log record 7"},
		{"certificates expired, the audit log saw it after", expired(logged(t, derExpired, time.Date(2029, 6, 1, 0, 0, 0, 0, time.UTC))), derExpired, Indeterminate, OutOfBoundsNoPOE, Indet, "outside the validity"},
		{"seal expired, signature dated before", p.trust(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)), derShortSeal, Indeterminate, OutOfBoundsNoPOE, Indet, "the seal expired"},
		{"all valid and unrevoked now", withCRL(mkCRL(t, p.root, p.rootKey, 2, now, now.AddDate(0, 0, 2)), nil), der, TotalPassed, "", Skipped, "not revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(tc.opts).VerifySignature(tc.der, data)
			expect(t, r, tc.indication, tc.sub, CheckTimeProof, tc.status, tc.inDetail)
			// The checks at the claimed time keep their meaning: they pass.
			for _, n := range []string{CheckSealValidity, CheckSignerCertTime, CheckChain} {
				if st := status(r.Checks, n); st != Passed {
					t.Errorf("%s is %s at the claimed time: %s", n, st, detail(r.Checks, n))
				}
			}
		})
	}
}

func TestFutureSigningTime(t *testing.T) {
	p := newPKI(t)
	data := []byte("<Signature/>")
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	withSkew := func(d time.Duration) Options { o := p.trust(now); o.ClockSkew = d; return o }
	for _, tc := range []struct {
		name       string
		opts       Options
		at         time.Time
		indication string
		sub        string
		status     string
	}{
		{"an hour ahead", p.trust(now), now.Add(time.Hour), TotalFailed, SigningTimeInFuture, Failed},
		{"a year ahead", p.trust(now), now.AddDate(1, 0, 0), TotalFailed, SigningTimeInFuture, Failed},
		// Within the skew the times pass; the CRL, issued now, cannot speak for a later
		// signing time, so revocation waits (TRY_LATER).
		{"within the default skew", p.trust(now), now.Add(2 * time.Minute), Indeterminate, TryLater, Passed},
		{"within a wider skew", withSkew(2 * time.Hour), now.Add(time.Hour), Indeterminate, TryLater, Passed},
		{"no skew allowed", withSkew(-1), now.Add(2 * time.Minute), TotalFailed, SigningTimeInFuture, Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(tc.opts).VerifySignature(p.sign(t, seal, data, tc.at), data)
			want := "within the validity"
			if tc.status == Failed {
				want = "after the current time"
			}
			expect(t, r, tc.indication, tc.sub, CheckSignerCertTime, tc.status, want)
			expect(t, r, tc.indication, tc.sub, CheckSealValidity, tc.status, want)
		})
	}
}

// A bare signature proves nothing about a document unless its data is given.
func TestBareSignatureWithoutData(t *testing.T) {
	p := newPKI(t)
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	der := p.sign(t, p.seal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), []byte("x"), signedAt)
	v := New(p.trust(signedAt.Add(time.Hour)))
	for _, tc := range []struct {
		name             string
		data             []byte
		indication, sub  string
		status, inDetail string
	}{
		{"without data", nil, Indeterminate, SignedDataNotFound, Indet, "was not given"},
		{"with its data", []byte("x"), TotalPassed, "", Passed, "dataHash equals"},
		{"with empty data", []byte{}, TotalFailed, HashFailure, Failed, "differs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := v.VerifyFile("SignedValue.dat", der, tc.data, ofd.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Indication != tc.indication {
				t.Errorf("file indication %s, want %s", r.Indication, tc.indication)
			}
			expect(t, r.Signatures[0], tc.indication, tc.sub, CheckDataHash, tc.status, tc.inDetail)
		})
	}
}

func TestCRLs(t *testing.T) {
	p := newPKI(t)
	data := []byte("<Signature/>")
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	der := p.sign(t, p.seal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), data, signedAt)
	issued := signedAt.Add(24 * time.Hour)
	fresh := mkCRL(t, p.root, p.rootKey, 3, issued, issued.AddDate(0, 0, 1))
	// The newer CRL revokes the signer before the signing time; the older lists nothing.
	older := mkCRL(t, p.root, p.rootKey, 1, issued, issued.AddDate(0, 0, 1))
	newer := mkCRL(t, p.root, p.rootKey, 2, issued.Add(time.Hour), issued.AddDate(0, 0, 1), revoke(p.signer, signedAt.Add(-time.Hour), 1))
	sameTimeHigher := mkCRL(t, p.root, p.rootKey, 4, issued, issued.AddDate(0, 0, 1), revoke(p.signer, signedAt.Add(-time.Hour), 1))
	// A CRL naming the root as issuer, signed by another key, newest of all and listing nothing.
	impostorKey := newKey(t)
	impostor := mkCert(t, &smx509.Certificate{SerialNumber: big.NewInt(99), Subject: p.root.Subject,
		NotBefore: p.root.NotBefore, NotAfter: p.root.NotAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign}, nil, impostorKey, impostorKey)
	forged := mkCRL(t, impostor, impostorKey, 100, issued.AddDate(0, 0, 1), issued.AddDate(0, 0, 30))
	// Revoked after the signing time, on a CRL long past its nextUpdate.
	staleRevoking := mkCRL(t, p.root, p.rootKey, 5, issued, issued.AddDate(0, 0, 1), revoke(p.signer, issued, 1))

	opts := func(now time.Time, grace time.Duration, crls ...*smx509.RevocationList) Options {
		o := p.trust(now)
		o.CRLs, o.CRLGrace = crls, grace
		return o
	}
	next := issued.AddDate(0, 0, 1)
	for _, tc := range []struct {
		name             string
		opts             Options
		indication, sub  string
		status, inDetail string
	}{
		{"fresh", opts(issued.Add(time.Hour), 0, fresh), TotalPassed, "", Passed, "is not on the CRL"},
		{"stale within the grace", opts(next.AddDate(0, 0, 3), 0, fresh), TotalPassed, "", Passed, "is stale: its nextUpdate 2026-03-03T00:00:00Z has passed, and it is used within the grace period of 7 days"},
		{"stale past the grace", opts(next.AddDate(0, 0, 8), 0, fresh), Indeterminate, TryLater, Indet, "more than the grace period of 7 days"},
		{"stale within a longer grace", opts(next.AddDate(0, 0, 8), 10*24*time.Hour, fresh), TotalPassed, "", Passed, "grace period of 10 days"},
		{"stale without grace", opts(next.Add(time.Minute), -1, fresh), Indeterminate, TryLater, Indet, "cannot be relied on"},
		{"an older CRL revoking nothing first", opts(issued.Add(2*time.Hour), 0, older, newer), TotalFailed, Revoked, Failed, "reason keyCompromise"},
		{"an older CRL revoking nothing last", opts(issued.Add(2*time.Hour), 0, newer, older), TotalFailed, Revoked, Failed, "reason keyCompromise"},
		{"same thisUpdate, the higher number", opts(issued.Add(2*time.Hour), 0, sameTimeHigher, older), TotalFailed, Revoked, Failed, "was revoked"},
		{"a newer CRL signed by another key", opts(issued.Add(2*time.Hour), 0, newer, forged), TotalFailed, Revoked, Failed, "was revoked"},
		{"only a CRL signed by another key", opts(issued.Add(2*time.Hour), 0, forged), Indeterminate, TryLater, Indet, "no CRL from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, New(tc.opts).VerifySignature(der, data), tc.indication, tc.sub, CheckRevocation, tc.status, tc.inDetail)
		})
	}
	// A revocation on a CRL past its grace still counts now: revocation is final.
	r := New(opts(next.AddDate(0, 1, 0), 0, staleRevoking)).VerifySignature(der, data)
	expect(t, r, Indeterminate, TryLater, CheckTimeProof, Indet, "was revoked at")
	if status(r.Checks, CheckRevocation) != Indet {
		t.Errorf("revocation %s", status(r.Checks, CheckRevocation))
	}

	// A bare seal is checked now, so the current CRL answers for its maker.
	seal := p.seal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name       string
		crl        *smx509.RevocationList
		indication string
		status     string
	}{
		{"bare seal, maker not revoked", fresh, TotalPassed, Passed},
		{"bare seal, maker revoked", mkCRL(t, p.root, p.rootKey, 6, issued, next, revoke(p.maker, signedAt, 1)), TotalFailed, Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ind := New(opts(issued.Add(time.Hour), 0, tc.crl)).VerifySeal(seal.Raw)
			if ind != tc.indication || status(r.Checks, CheckRevocation) != tc.status {
				t.Errorf("%s with revocation %s, want %s with %s: %s", ind, status(r.Checks, CheckRevocation), tc.indication, tc.status, detail(r.Checks, CheckRevocation))
			}
		})
	}
}
