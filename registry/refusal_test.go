package registry

import (
	"context"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
)

func digest(s string) []byte { d := sm3.Sum([]byte(s)); return d[:] }

// lastRecord is the audit log's last record.
func (e *env) lastRecord(t *testing.T) audit.Record {
	t.Helper()
	s, _ := e.log.Tail()
	rec, err := e.log.Record(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestRefusals makes every refusal of the lifecycle and of use authorisation happen and
// checks its stable code.
func TestRefusals(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	official := e.made(t, Contract, "460100200001")
	position := e.made(t, LegalRepresentative, "460100200002")
	personal := e.made(t, Personal, "")

	// approved returns an approval of the official seal for the digests.
	approved := func(t *testing.T, ttl time.Duration, ds ...[]byte) string {
		t.Helper()
		id, err := e.reg.RequestUse(ctx, oa, official.Code, ds, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.reg.ApproveUse(ctx, reviewer, id, ttl); err != nil {
			t.Fatal(err)
		}
		return id
	}

	tests := []struct {
		name string
		want errs.Kind
		do   func(t *testing.T) error
	}{
		{"approve by an applicant", errs.WrongRole, func(t *testing.T) error {
			id, err := e.reg.Apply(ctx, applicant, application(Contract, "460100200003"))
			if err != nil {
				t.Fatal(err)
			}
			return e.reg.Approve(ctx, applicant, id)
		}},
		{"make by a reviewer", errs.WrongRole, func(t *testing.T) error {
			_, err := e.reg.Make(ctx, reviewer, "A00000001", MakeRequest{PIN: pin})
			return err
		}},
		{"revoke by a maker", errs.WrongRole, func(t *testing.T) error {
			return e.reg.Revoke(ctx, maker, official.Code, StatusRequest{Reason: "r"})
		}},
		{"sign by a reviewer", errs.WrongRole, func(t *testing.T) error {
			_, err := e.reg.Authorize(ctx, reviewer, UseRequest{SealCode: personal.Code, Digests: [][]byte{digest("x")}, PIN: pin})
			return err
		}},
		{"PIN set by its holder", errs.WrongRole, func(t *testing.T) error {
			return e.reg.SetPIN(ctx, holderAct, personal.Code, []byte("000000"))
		}},
		{"reviewer is the applicant", errs.SamePerson, func(t *testing.T) error {
			both := Actor{Name: "both-1", Roles: []Role{RoleApplicant, RoleReviewer}}
			id, err := e.reg.Apply(ctx, both, application(Contract, "460100200004"))
			if err != nil {
				t.Fatal(err)
			}
			return e.reg.Approve(ctx, both, id)
		}},
		{"use approver is the requester", errs.SamePerson, func(t *testing.T) error {
			both := Actor{Name: "both-2", Roles: []Role{RoleSigner, RoleReviewer}}
			id, err := e.reg.RequestUse(ctx, both, official.Code, [][]byte{digest("x")}, "")
			if err != nil {
				t.Fatal(err)
			}
			return e.reg.ApproveUse(ctx, both, id, time.Hour)
		}},
		{"approved twice", errs.WrongState, func(t *testing.T) error {
			id, err := e.reg.Apply(ctx, applicant, application(Contract, "460100200005"))
			if err != nil {
				t.Fatal(err)
			}
			if err := e.reg.Reject(ctx, reviewer, id, "the licence is out of date"); err != nil {
				t.Fatal(err)
			}
			if a, _ := e.reg.Application(ctx, id); a.Status != AppRejected || a.Reason != "the licence is out of date" {
				t.Fatalf("rejected application %+v", a)
			}
			return e.reg.Approve(ctx, reviewer, id)
		}},
		{"personal seal text not the holder's name", errs.NameMismatch, func(t *testing.T) error {
			app := application(Personal, "")
			app.Text = "李四"
			_, err := e.reg.Apply(ctx, applicant, app)
			return err
		}},
		{"invalid credit code", errs.InvalidCreditCode, func(t *testing.T) error {
			app := application(Contract, "")
			app.Unit.CreditCode = "91110000802100433C"
			_, err := e.reg.Apply(ctx, applicant, app)
			return err
		}},
		{"invalid identity number", errs.InvalidIDNumber, func(t *testing.T) error {
			app := application(Personal, "")
			app.Holder.ID = idHolder[:17] + "0"
			if app.Holder.ID == idHolder {
				app.Holder.ID = idHolder[:17] + "1"
			}
			_, err := e.reg.Apply(ctx, applicant, app)
			return err
		}},
		{"material too large", errs.LimitExceeded, func(t *testing.T) error {
			app := application(Contract, "")
			app.Materials = []Material{{Name: "big", Data: make([]byte, DefaultMaxMaterialSize+1)}}
			_, err := e.reg.Apply(ctx, applicant, app)
			return err
		}},
		{"no filed impression for an official seal", errs.NoImpression, func(t *testing.T) error {
			_, err := e.applyAndMake(t, application(Finance, "460100299999"))
			return err
		}},
		{"no physical seal code for an official seal", errs.NoImpression, func(t *testing.T) error {
			_, err := e.applyAndMake(t, application(Finance, ""))
			return err
		}},
		{"official seal without approval", errs.ApprovalRequired, func(t *testing.T) error {
			_, err := e.reg.Authorize(ctx, oa, UseRequest{SealCode: official.Code, Digests: [][]byte{digest("x")}, PIN: pin})
			return err
		}},
		{"approval already used", errs.ApprovalUsed, func(t *testing.T) error {
			id := approved(t, time.Hour, digest("d1"))
			req := UseRequest{SealCode: official.Code, Digests: [][]byte{digest("d1")}, PIN: pin, Approval: id}
			if _, err := e.reg.Authorize(ctx, oa, req); err != nil {
				t.Fatal(err)
			}
			_, err := e.reg.Authorize(ctx, oa, req)
			return err
		}},
		{"approval expired", errs.ApprovalExpired, func(t *testing.T) error {
			id := approved(t, time.Minute, digest("d2"))
			e.clock.Add(2 * time.Minute)
			_, err := e.reg.Authorize(ctx, oa, UseRequest{SealCode: official.Code, Digests: [][]byte{digest("d2")}, PIN: pin, Approval: id})
			return err
		}},
		{"digest not the approved one", errs.DigestNotApproved, func(t *testing.T) error {
			id := approved(t, time.Hour, digest("d3"))
			_, err := e.reg.Authorize(ctx, oa, UseRequest{SealCode: official.Code, Digests: [][]byte{digest("other")}, PIN: pin, Approval: id})
			return err
		}},
		{"signing a digest not authorised", errs.DigestNotApproved, func(t *testing.T) error {
			u, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: personal.Code, Digests: [][]byte{digest("d4")}, PIN: pin})
			if err != nil {
				t.Fatal(err)
			}
			_, err = u.Sign(ctx, SignItem{Digest: digest("d5")})
			return err
		}},
		{"signing an authorised digest twice", errs.DigestNotApproved, func(t *testing.T) error {
			u, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: personal.Code, Digests: [][]byte{digest("d6")}, PIN: pin})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := u.Sign(ctx, SignItem{Digest: digest("d6")}); err != nil {
				t.Fatal(err)
			}
			_, err = u.Sign(ctx, SignItem{Digest: digest("d6")})
			return err
		}},
		{"personal seal by another person", errs.NotHolder, func(t *testing.T) error {
			_, err := e.reg.Authorize(ctx, otherAct, UseRequest{SealCode: personal.Code, Digests: [][]byte{digest("x")}, PIN: pin})
			return err
		}},
		{"position seal by another person", errs.NotHolder, func(t *testing.T) error {
			_, err := e.reg.Authorize(ctx, otherAct, UseRequest{SealCode: position.Code, Digests: [][]byte{digest("x")}, PIN: pin, Scope: "contracts"})
			return err
		}},
		{"position seal outside its scope", errs.OutOfScope, func(t *testing.T) error {
			_, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: position.Code, Digests: [][]byte{digest("x")}, PIN: pin, Scope: "loans"})
			return err
		}},
		{"wrong PIN", errs.WrongPIN, func(t *testing.T) error {
			_, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: position.Code, Digests: [][]byte{digest("x")}, PIN: []byte("135790"), Scope: "contracts"})
			return err
		}},
		{"signer account not allowed this seal", errs.WrongRole, func(t *testing.T) error {
			narrow := holderAct
			narrow.Seals = []string{position.Code}
			_, err := e.reg.Authorize(ctx, narrow, UseRequest{SealCode: personal.Code, Digests: [][]byte{digest("x")}, PIN: pin})
			return err
		}},
		{"a second seal of one physical seal", errs.CodeTaken, func(t *testing.T) error {
			_, err := e.applyAndMake(t, application(Contract, official.Code))
			return err
		}},
		{"issue of an issued seal", errs.WrongState, func(t *testing.T) error {
			return e.reg.Issue(ctx, maker, personal.Code)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantKind(t, tc.name, tc.do(t), tc.want)
		})
	}

	// A refused use is in the audit log with its code.
	_, err := e.reg.Authorize(ctx, otherAct, UseRequest{SealCode: personal.Code, Digests: [][]byte{digest("x")}, PIN: pin})
	wantKind(t, "not holder", err, errs.NotHolder)
	if rec := e.lastRecord(t); rec.Outcome != audit.OutcomeRefused || rec.Details["code"] != "NOT_HOLDER" || rec.Actor != otherAct.Name {
		t.Fatalf("refusal recorded as %+v", rec)
	}
}

// TestSuspendedRevokedNeverSign checks that a suspended or revoked seal signs nothing, not
// even under a use authorised before.
func TestSuspendedRevokedNeverSign(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	req := UseRequest{SealCode: s.Code, Digests: [][]byte{digest("a"), digest("b")}, PIN: pin}
	u, err := e.reg.Authorize(ctx, holderAct, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Suspend(ctx, admin, s.Code, StatusRequest{Reason: "investigation"}); err != nil {
		t.Fatal(err)
	}
	_, err = u.Sign(ctx, SignItem{Digest: digest("a")})
	wantKind(t, "sign under an earlier authorisation", err, errs.SealSuspended)
	_, err = e.reg.Authorize(ctx, holderAct, req)
	wantKind(t, "authorize suspended", err, errs.SealSuspended)
	if err := e.reg.Resume(ctx, admin, s.Code, StatusRequest{Reason: "cleared"}); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Sign(ctx, SignItem{Digest: digest("a")}); err != nil {
		t.Fatalf("resumed: %v", err)
	}
	if err := e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "dissolved"}); err != nil {
		t.Fatal(err)
	}
	_, err = u.Sign(ctx, SignItem{Digest: digest("b")})
	wantKind(t, "sign after revocation", err, errs.SealRevoked)
	_, err = e.reg.Authorize(ctx, holderAct, req)
	wantKind(t, "authorize revoked", err, errs.SealRevoked)
	wantKind(t, "resume revoked", e.reg.Resume(ctx, admin, s.Code, StatusRequest{Reason: "x"}), errs.SealRevoked)
	wantKind(t, "suspend revoked", e.reg.Suspend(ctx, admin, s.Code, StatusRequest{Reason: "x"}), errs.SealRevoked)
}

// TestPINLock locks a seal after 5 wrong PINs; the right PIN is then refused too, until the
// authority sets a new PIN.
func TestPINLock(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	req := UseRequest{SealCode: s.Code, Digests: [][]byte{digest("x")}, PIN: []byte("000000")}
	for i := range 4 {
		_, err := e.reg.Authorize(ctx, holderAct, req)
		wantKind(t, "wrong PIN", err, errs.WrongPIN)
		_ = i
	}
	_, err := e.reg.Authorize(ctx, holderAct, req)
	wantKind(t, "fifth wrong PIN", err, errs.Locked)
	req.PIN = pin
	_, err = e.reg.Authorize(ctx, holderAct, req)
	wantKind(t, "right PIN when locked", err, errs.Locked)
	if err := e.reg.SetPIN(ctx, admin, s.Code, []byte("975310")); err != nil {
		t.Fatal(err)
	}
	_, err = e.reg.Authorize(ctx, holderAct, req)
	wantKind(t, "old PIN after the change", err, errs.WrongPIN)
	req.PIN = []byte("975310")
	if _, err := e.reg.Authorize(ctx, holderAct, req); err != nil {
		t.Fatalf("new PIN: %v", err)
	}
}
