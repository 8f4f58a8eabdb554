package registry

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

// TestAuditTimeProof signs through the registry (use authorisation, ses.Sign, its use
// record), revokes the seal for key compromise, and checks that the signature still passes
// the verifier's time_proof over the audit log, while a signature backdated to the same time
// with the same key, which the log never saw, does not.
func TestAuditTimeProof(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	e.clock.Add(time.Hour)
	data := []byte("licence 2026-0001")
	sig := e.sign(t, s, data)
	signedAt := e.clock.Now()

	// Much later the key is found compromised: whoever has it can claim any signing time.
	e.clock.Add(24 * time.Hour)
	key, err := e.keys.Signer(ctx, s.KeyLabel)
	if err != nil {
		t.Fatal(err)
	}
	seal, _ := ses.ParseSeal(s.ESL)
	forged := []byte("licence 2026-0002")
	sum := sm3.Sum(forged)
	backdated, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: s.Certificate, DataHash: sum[:],
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: signedAt}, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "key compromise", CRLReason: pki.KeyCompromise}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Minute)
	v := e.verifier(t, verifier.ProofFunc(e.log.ProveExistence))

	rep := v.VerifySignature(sig, data)
	if rep.Indication != verifier.TotalPassed || checkStatus(rep, verifier.CheckTimeProof) != verifier.Passed {
		t.Fatalf("signature made through the registry: %s %s %+v", rep.Indication, rep.SubIndication, rep.Checks)
	}
	rep = v.VerifySignature(backdated, forged)
	if rep.Indication == verifier.TotalPassed || checkStatus(rep, verifier.CheckTimeProof) == verifier.Passed {
		t.Fatalf("backdated signature: %s %s %+v", rep.Indication, rep.SubIndication, rep.Checks)
	}
	// Without the log, the registry's signature is not proven either.
	if rep := e.verifier(t, nil).VerifySignature(sig, data); rep.Indication == verifier.TotalPassed {
		t.Fatal("passed without a proof of existence")
	}
}

func checkStatus(rep verifier.SignatureReport, name string) string {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c.Status
		}
	}
	return ""
}
