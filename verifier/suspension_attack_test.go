package verifier

import (
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/ses"
)

// TestSuspensionAttackBackdated: the registry suspended a seal (its carrier lost) and later
// resumed it. Whoever held a copy of the key signed during the suspension, claiming a time
// before it. Once the seal is active again nothing is revoked or expired now, but the
// claimed time is the signer's own: between it and now lies a span in which the seal could
// sign nothing, so only a proof that the signature existed before that span lets it pass.
func TestSuspensionAttackBackdated(t *testing.T) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, start.AddDate(3, 0, 0))
	from, to := start.AddDate(0, 3, 0), start.AddDate(0, 4, 0)
	claimed := from.Add(-time.Hour)
	now := to.AddDate(0, 1, 0)
	data := []byte("<Signature/>")
	der := p.sign(t, seal, data, claimed)
	var value [sm3.Size]byte
	if sig, err := ses.ParseSignature(der); err != nil {
		t.Fatal(err)
	} else {
		value = sm3.Sum(sig.Value)
	}
	proofAt := func(at time.Time) ProofOfExistence {
		return ProofFunc(func(v [sm3.Size]byte) (time.Time, string, bool, error) {
			return at, "the audit log", v == value, nil
		})
	}
	for _, tc := range []struct {
		name  string
		proof ProofOfExistence
		want  string
	}{
		{"no proof", nil, Indeterminate},
		{"proof from inside the suspension", proofAt(from.Add(time.Hour)), Indeterminate},
		{"proof from before the suspension", proofAt(claimed), TotalPassed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := p.trust(now)
			opts.Status = &fakeRegistry{esl: seal.Raw, status: Status{Known: true, Suspended: []Period{{From: from, To: to}}}}
			opts.TimeProof = tc.proof
			r := New(opts).VerifySignature(der, data)
			if r.Indication != tc.want {
				t.Errorf("%s / %s, want %s; time proof %s: %s", r.Indication, r.SubIndication, tc.want,
					status(r.Checks, CheckTimeProof), detail(r.Checks, CheckTimeProof))
			}
			if tc.want != TotalPassed && !strings.Contains(detail(r.Checks, CheckTimeProof), "suspended") {
				t.Errorf("the time proof does not name the suspension: %s", detail(r.Checks, CheckTimeProof))
			}
		})
	}
	// A signature claiming a time after the suspension ended needs no proof.
	opts := p.trust(now)
	opts.Status = &fakeRegistry{esl: seal.Raw, status: Status{Known: true, Suspended: []Period{{From: from, To: to}}}}
	if r := New(opts).VerifySignature(p.sign(t, seal, data, to.Add(time.Hour)), data); r.Indication != TotalPassed {
		t.Errorf("signed after the suspension: %s / %s: %s", r.Indication, r.SubIndication, detail(r.Checks, CheckTimeProof))
	}
}
