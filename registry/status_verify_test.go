package registry

import (
	"context"
	"crypto"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/cache"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/verifier"
)

// TestRevokedSealFailsNextVerification: with the registry as the verifier's status source
// and warm caches, a seal revoked through the registry fails the very next verification of a
// signature claiming a later time, and a signature made before the revocation is reported
// with the time of the revocation; no CRL is issued or fetched in between. A suspended seal
// does the same for the time of its suspension.
func TestRevokedSealFailsNextVerification(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	crl := e.crl(t) // the CRL of before any revocation: the registry must not wait for a new one
	mk := func() *cache.Cache[any] {
		c, err := cache.New[any](cache.Config{MaxBytes: 4 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	v := verifier.New(verifier.Options{Roots: []*smx509.Certificate{e.ca.Root()}, Makers: []*smx509.Certificate{e.ca.Maker()},
		CRLs: []*smx509.RevocationList{crl}, Status: e.reg, Now: e.clock.Now,
		Caches: verifier.Caches{Certs: mk(), Seals: mk(), Chains: mk(), Revocation: mk()}})

	s := e.made(t, Personal, "")
	e.clock.Add(time.Hour)
	data := []byte("licence 2026-0001")
	before := e.sign(t, s, data)
	for range 3 {
		rep := v.VerifySignature(before, data)
		if rep.Indication != verifier.TotalPassed || !strings.Contains(detail(rep, verifier.CheckRevocation), "says the registry") {
			t.Fatalf("before the revocation: %s/%s %s", rep.Indication, rep.SubIndication, detail(rep, verifier.CheckRevocation))
		}
	}

	e.clock.Add(time.Hour)
	stolen := e.stealKey(t, s) // the revocation destroys the key in the key store, not a copy
	if err := e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "the unit was dissolved", CRLReason: pki.CessationOfOperation}); err != nil {
		t.Fatal(err)
	}
	revokedAt := e.clock.Now()
	e.clock.Add(time.Minute)

	// The signature made before: its revocation check passes and names the revocation; as
	// the seal is revoked now, only a proof of existence would let the whole pass.
	rep := v.VerifySignature(before, data)
	if d := detail(rep, verifier.CheckRevocation); checkStatus(rep, verifier.CheckRevocation) != verifier.Passed || !strings.Contains(d, "was revoked at") {
		t.Fatalf("signature from before the revocation: revocation %s: %s", checkStatus(rep, verifier.CheckRevocation), d)
	}
	if rep.Indication != verifier.Indeterminate || rep.SubIndication != verifier.RevokedNoPOE {
		t.Fatalf("signature from before the revocation, without proof: %s/%s", rep.Indication, rep.SubIndication)
	}
	// With the audit log as proof it passes.
	vp := verifier.New(verifier.Options{Roots: []*smx509.Certificate{e.ca.Root()}, Makers: []*smx509.Certificate{e.ca.Maker()},
		CRLs: []*smx509.RevocationList{crl}, Status: e.reg, Now: e.clock.Now, TimeProof: verifier.ProofFunc(e.log.ProveExistence)})
	if rep := vp.VerifySignature(before, data); rep.Indication != verifier.TotalPassed {
		t.Fatalf("signature from before the revocation, with the audit log: %s/%s %+v", rep.Indication, rep.SubIndication, rep.Checks)
	}

	// A signature claiming a time after the revocation, made with the key outside the
	// registry: revoked.
	after := e.signOutside(t, s, stolen, []byte("licence 2026-0002"), revokedAt.Add(30*time.Second))
	rep = v.VerifySignature(after, []byte("licence 2026-0002"))
	if rep.Indication != verifier.TotalFailed || rep.SubIndication != verifier.Revoked {
		t.Fatalf("signature after the revocation: %s/%s %s", rep.Indication, rep.SubIndication, detail(rep, verifier.CheckRevocation))
	}

	// Suspension: a second seal, suspended; a signature claiming a time in the suspension fails.
	s2 := e.made(t, Personal, "")
	e.clock.Add(time.Minute)
	if err := e.reg.Suspend(ctx, admin, s2.Code, StatusRequest{Reason: "carrier lost"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	during := e.signOutside(t, s2, e.stealKey(t, s2), []byte("licence 2026-0003"), e.clock.Now())
	rep = v.VerifySignature(during, []byte("licence 2026-0003"))
	if rep.Indication != verifier.TotalFailed || !strings.Contains(detail(rep, verifier.CheckRevocation), "suspended") {
		t.Fatalf("signature during a suspension: %s/%s %s", rep.Indication, rep.SubIndication, detail(rep, verifier.CheckRevocation))
	}
}

func detail(rep verifier.SignatureReport, name string) string {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c.Detail
		}
	}
	return ""
}

// signOutside signs data with the seal's key taken from the key store, claiming the time at,
// as whoever held a copy of the key could: the registry and its audit log never see it.
func (e *env) signOutside(t *testing.T, s *SealRecord, key crypto.Signer, data []byte, at time.Time) []byte {
	t.Helper()
	seal, err := ses.ParseSeal(s.ESL)
	if err != nil {
		t.Fatal(err)
	}
	sum := sm3.Sum(data)
	der, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: s.Certificate, DataHash: sum[:],
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: at}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestStatusSpansEndOnWholeSeconds: signing times are whole seconds, so a span in which a seal
// could not sign ends at the whole second at or before its end: a seal issued (or resumed) and
// used within one second is not taken for one used before it was issued.
func TestStatusSpansEndOnWholeSeconds(t *testing.T) {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ms := func(d int) time.Time { return base.Add(time.Duration(d) * time.Millisecond) }
	rec := &statusRecord{History: []statusChange{
		{Status: StatusMade, At: ms(200)},
		{Status: StatusActive, At: ms(700)}, // issued in the second it was made
		{Status: StatusSuspended, At: ms(3_600_500)},
		{Status: StatusActive, At: ms(3_605_300)},
	}}
	st, err := rec.status()
	if err != nil {
		t.Fatal(err)
	}
	want := []verifier.Period{{From: ms(3_600_500), To: base.Add(time.Hour + 5*time.Second)}}
	if len(st.Suspended) != 1 || !st.Suspended[0].From.Equal(want[0].From) || !st.Suspended[0].To.Equal(want[0].To) {
		t.Fatalf("suspension spans %+v, want %+v", st.Suspended, want)
	}
	// A signature of the issuing second, and one of the resuming second, lie outside.
	for _, signed := range []time.Time{base, base.Add(time.Hour + 5*time.Second)} {
		for _, p := range st.Suspended {
			if !signed.Before(p.From) && signed.Before(p.To) {
				t.Fatalf("a signature at %s falls in %+v", signed, p)
			}
		}
	}
}

// stealKey is a copy of the seal's wrapped key taken out of the key store (with its KEK), as a
// thief of the key would have it, in a key store of its own.
func (e *env) stealKey(t *testing.T, s *SealRecord) crypto.Signer {
	t.Helper()
	ctx := context.Background()
	rec, err := store.MustSpace(e.db, "softkey").Get(ctx, []byte(s.KeyLabel))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "stolen"), &store.Options{NoSync: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Set(ctx, []byte(s.KeyLabel), rec); err != nil {
		t.Fatal(err)
	}
	keys, err := softkey.New(db, e.kek, softkey.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	key, err := keys.Signer(ctx, s.KeyLabel)
	if err != nil {
		t.Fatal(err)
	}
	return key
}
