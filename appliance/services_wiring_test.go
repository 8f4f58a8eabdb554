package appliance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/verifier"
)

// residentID completes 17 digits with their GB 11643 check character.
func residentID(d17 string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range d17 {
		sum += int(c-'0') * w[i]
	}
	return d17 + string("10X98765432"[sum%11])
}

// makePersonalSeal runs a personal seal through apply, approve, make and issue.
func makePersonalSeal(t *testing.T, svc *Services, holderID string, pin []byte) *registry.SealRecord {
	t.Helper()
	ctx := context.Background()
	reg := svc.Registry
	app := registry.Application{Kind: registry.Personal, Unit: registry.Unit{Name: "海南示例科技有限公司", CreditCode: "91110000802100433B"},
		Handler: registry.Person{Name: "王经办", ID: residentID("46010019900202456")},
		Holder:  &registry.Person{Name: "张三", ID: holderID}, ValidTo: time.Now().AddDate(2, 0, 0),
		Materials: []registry.Material{{Name: "licence", Type: "application/pdf", Data: []byte("%PDF-1.7 licence")}}}
	id, err := reg.Apply(ctx, registry.Actor{Name: "applicant", Roles: []registry.Role{registry.RoleApplicant}}, app)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Approve(ctx, registry.Actor{Name: "reviewer", Roles: []registry.Role{registry.RoleReviewer}}, id); err != nil {
		t.Fatal(err)
	}
	mk := registry.Actor{Name: "maker", Roles: []registry.Role{registry.RoleMaker}}
	s, err := reg.Make(ctx, mk, id, registry.MakeRequest{PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Issue(ctx, mk, s.Code); err != nil {
		t.Fatal(err)
	}
	// Signing times are whole seconds, cut down: a signature in the second of the issue
	// would claim a time before it, when the seal was not yet in use.
	time.Sleep(1100 * time.Millisecond)
	return s
}

func signWith(t *testing.T, svc *Services, code, holderID string, pin, data []byte) []byte {
	t.Helper()
	ctx := context.Background()
	d := sm3.Sum(data)
	holder := registry.Actor{Name: "holder", Roles: []registry.Role{registry.RoleSigner}, PersonID: holderID}
	u, err := svc.Registry.Authorize(ctx, holder, registry.UseRequest{SealCode: code, Digests: [][]byte{d[:]}, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := u.Sign(ctx, registry.SignItem{Digest: d[:], PropertyInfo: "licence-0001"})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestOpenWiring runs the services Open wires end to end: a seal made through the registry
// signs, the verifier (default trust set, registry status, caches) passes the signature, the
// pool verifies a batch, a revocation is seen at once, the audit log proves the earlier
// signature's time, and after a restart the same signature still passes.
func TestOpenWiring(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	svc, err := OpenWith(ctx, cfg, OpenOptions{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	holderID := residentID("11010519491231002")
	pin := []byte("246810")
	s := makePersonalSeal(t, svc, holderID, pin)
	data := []byte("licence 2026-0001")
	sig := signWith(t, svc, s.Code, holderID, pin, data)

	if rep, ind := svc.Verifier.VerifySeal(s.ESL); ind != verifier.TotalPassed {
		t.Fatalf("seal: %s %+v", ind, rep.Checks)
	}
	for range 2 { // the second time from the caches
		if rep := svc.Verifier.VerifySignature(sig, data); rep.Indication != verifier.TotalPassed {
			t.Fatalf("signature: %s/%s %+v", rep.Indication, rep.SubIndication, rep.Checks)
		}
	}
	reps, err := svc.Pool.VerifyBatch(ctx, []verifier.BatchItem{{Signature: sig, Data: data}, {Signature: sig, Data: []byte("changed")}})
	if err != nil || len(reps) != 2 || reps[0].Indication != verifier.TotalPassed || reps[1].Indication != verifier.TotalFailed {
		t.Fatalf("pool: %v %+v", err, reps)
	}

	// Signing times are whole seconds: revoke in a later second than the signature's.
	time.Sleep(1100 * time.Millisecond)
	admin := registry.Actor{Name: "admin", Roles: []registry.Role{registry.RoleAdmin}}
	if err := svc.Registry.Revoke(ctx, admin, s.Code, registry.StatusRequest{Reason: "the unit was dissolved"}); err != nil {
		t.Fatal(err)
	}
	// The signature from before the revocation: its revocation check names the revocation,
	// and the audit log's record of it proves it existed before.
	rep := svc.Verifier.VerifySignature(sig, data)
	if rep.Indication != verifier.TotalPassed {
		t.Fatalf("after the revocation: %s/%s %+v", rep.Indication, rep.SubIndication, rep.Checks)
	}
	var proof string
	for _, c := range rep.Checks {
		if c.Name == verifier.CheckTimeProof {
			proof = c.Detail
		}
	}
	if !strings.Contains(proof, "audit log") {
		t.Fatalf("time proof: %q", proof)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}

	svc2 := openTest(t, cfg)
	if rep := svc2.Verifier.VerifySignature(sig, data); rep.Indication != verifier.TotalPassed {
		t.Fatalf("after a restart: %s/%s %+v", rep.Indication, rep.SubIndication, rep.Checks)
	}
	got, err := svc2.Registry.Seal(ctx, s.Code)
	if err != nil || got.Code != s.Code {
		t.Fatalf("seal after restart: %v", err)
	}
}
