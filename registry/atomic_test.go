package registry

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
)

// failingState is a State whose commits fail while fail is set.
type failingState struct {
	State
	fail bool
}

var errInjected = errors.New("injected commit failure")

func (f *failingState) Commit(ctx context.Context, rec audit.Record, ws []audit.Write) (audit.Seq, error) {
	if f.fail {
		return 0, errInjected
	}
	return f.State.Commit(ctx, rec, ws)
}

// TestStepAtomic checks that a step whose commit fails leaves no state behind (the
// application stays approved, no seal record, no outbox write), that a step that succeeds
// carries its own audit record, and that the step can be done again afterwards.
func TestStepAtomic(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	fs := &failingState{State: e.reg.cfg.State}
	e.reg.cfg.State = fs
	e.file(t, "460100500001")
	id, err := e.reg.Apply(ctx, applicant, application(Contract, "460100500001"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Approve(ctx, reviewer, id); err != nil {
		t.Fatal(err)
	}
	if rec := e.lastRecord(t); rec.Action != audit.ActionApprove || rec.Actor != reviewer.Name || rec.Details["application"] != id {
		t.Fatalf("approval recorded as %+v", rec)
	}
	fs.fail = true
	tail, _ := e.log.Tail()
	if _, err := e.reg.Make(ctx, maker, id, MakeRequest{PIN: pin}); !errors.Is(err, errInjected) {
		t.Fatalf("make with a failing commit: %v", err)
	}
	if a, _ := e.reg.Application(ctx, id); a.Status != AppApproved {
		t.Fatalf("application %s after a failed make", a.Status)
	}
	if _, err := e.reg.Seal(ctx, "460100500001"); !errors.Is(err, errs.NotFound) {
		t.Fatalf("seal record after a failed make: %v", err)
	}
	if now, _ := e.log.Tail(); now != tail {
		t.Fatal("a failed step left an audit record")
	}
	fs.fail = false
	s, err := e.reg.Make(ctx, maker, id, MakeRequest{PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	if s.Code != "460100500001" {
		t.Fatalf("retried make took code %s", s.Code)
	}
	e.checkESL(t, s.ESL)
	if rec := e.lastRecord(t); rec.Action != audit.ActionMake || rec.SealCode != s.Code {
		t.Fatalf("make recorded as %+v", rec)
	}
	if got := e.events.kinds(s.Code); len(got) != 2 || got[1] != EventMade {
		// The failed attempt asked for its event writes too; only the second was committed.
		t.Fatalf("events %v", got)
	}
	if _, err := e.db.Get(ctx, []byte("fake-events/460100500001/made/1")); !errors.Is(err, errs.NotFound) {
		t.Fatalf("the failed step's outbox write is in the store: %v", err)
	}
	if _, err := e.db.Get(ctx, []byte("fake-events/460100500001/made/2")); err != nil {
		t.Fatalf("the step's outbox write: %v", err)
	}
}

// TestNoIdentityNumberStored walks seals with holders through the lifecycle and checks that
// no identity number is anywhere in the store, whole.
func TestNoIdentityNumberStored(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, LegalRepresentative, "460100600001")
	p := e.made(t, Personal, "")
	e.sign(t, p, []byte("doc"))
	if err := e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "left the post"}); err != nil {
		t.Fatal(err)
	}
	err := e.db.Scan(ctx, nil, func(k, v []byte) error {
		for _, id := range []string{idHolder, idHandler} {
			if bytes.Contains(k, []byte(id)) || bytes.Contains(v, []byte(id)) {
				t.Errorf("key %q holds an identity number", k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
