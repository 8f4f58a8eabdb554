package pki

import (
	"context"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// TestCRLAttackClockSetBack: with the clock set back (by a wrong time source, or by whoever
// can move it), a revocation's CRL was dated before the CRL issued earlier. A relying party
// holding both takes the one with the later thisUpdate as the newest, and does not see the
// revocation. Every CRL is now dated no earlier than the one before it.
func TestCRLAttackClockSetBack(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ca := e.open(t)
	e.newKey(t, "s1")
	is, err := ca.IssueSigner(ctx, SignerRequest{KeyLabel: "s1", Holder: Holder{Person: "张三", PersonID: idPerson}, NotAfter: e.clock.Now().Add(72 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(25 * time.Hour)
	der1, err := ca.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := checkCRL(t, ca, der1, 2)

	e.clock.Add(-time.Hour)
	der, err := ca.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rl, _ := smx509.ParseRevocationList(der); rl.ThisUpdate.Before(before.ThisUpdate) {
		t.Fatalf("CRL %v dated %s, before CRL %v of %s", rl.Number, rl.ThisUpdate, before.Number, before.ThisUpdate)
	}
	if err := ca.Revoke(ctx, is.Certificate.SerialNumber, KeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	der2, err := ca.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, err := smx509.ParseRevocationList(der2)
	if err != nil {
		t.Fatal(err)
	}
	if after.Number.Cmp(before.Number) <= 0 || len(after.RevokedCertificateEntries) != 1 {
		t.Fatalf("the revocation's CRL: number %v, %d entries", after.Number, len(after.RevokedCertificateEntries))
	}
	if after.ThisUpdate.Before(before.ThisUpdate) || !after.NextUpdate.After(after.ThisUpdate) {
		t.Fatalf("the revocation's CRL %v is dated %s (next %s), before CRL %v of %s: it would not be taken as the newest",
			after.Number, after.ThisUpdate, after.NextUpdate, before.Number, before.ThisUpdate)
	}
	// Calls while the clock is behind do not issue a CRL on every call.
	der3, err := ca.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rl, _ := smx509.ParseRevocationList(der3); rl.Number.Cmp(after.Number) != 0 {
		t.Fatalf("CRL %v issued again while the clock is behind (after %v)", rl.Number, after.Number)
	}
}
