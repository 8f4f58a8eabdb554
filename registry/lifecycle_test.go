package registry

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

// sign signs data under the seal as its rightful user: an official seal under a use
// approval, a position or personal seal by its holder.
func (e *env) sign(t testing.TB, s *SealRecord, data []byte) []byte {
	t.Helper()
	ctx := context.Background()
	d := sm3.Sum(data)
	req := UseRequest{SealCode: s.Code, Digests: [][]byte{d[:]}, PIN: pin, Scope: "contracts"}
	who := holderAct
	if s.Kind.Class() == ClassOfficial {
		who = oa
		id, err := e.reg.RequestUse(ctx, oa, s.Code, req.Digests, "licence")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.reg.ApproveUse(ctx, reviewer, id, time.Hour); err != nil {
			t.Fatal(err)
		}
		req.Approval = id
	}
	u, err := e.reg.Authorize(ctx, who, req)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := u.Sign(ctx, SignItem{Digest: d[:], PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml"})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestLifecycleEveryKind walks every seal kind through apply, review, make, issue, query,
// use, change, suspend, resume and revoke, verifying each .esl with the CA's root and maker
// and, after revocation, finding the signer certificate on the CA's CRL.
func TestLifecycleEveryKind(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	for i, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			physical := ""
			if k.Class() != ClassPersonal {
				physical = fmt.Sprintf("46010010%04d", i)
				e.file(t, physical)
			}
			app := application(k, physical)
			if i%5 == 1 {
				app.Version = 1 // GM/T 0031 on request
			}
			id, err := e.reg.Apply(ctx, applicant, app)
			if err != nil {
				t.Fatal(err)
			}
			if a, _ := e.reg.Application(ctx, id); a.Status != AppSubmitted || a.Handler.Masked == idHandler || a.Handler.Masked == "" {
				t.Fatalf("application kept as %+v", a)
			}
			e.clock.Add(time.Minute)
			if err := e.reg.Approve(ctx, reviewer, id); err != nil {
				t.Fatal(err)
			}
			s, err := e.reg.Make(ctx, maker, id, MakeRequest{PIN: pin})
			if err != nil {
				t.Fatal(err)
			}
			if physical != "" && s.Code != physical {
				t.Fatalf("code %s, want the physical seal's %s", s.Code, physical)
			}
			if physical == "" && (len(s.Code) != 14 || s.Code[:6] != "460100") {
				t.Fatalf("assigned code %s", s.Code)
			}
			e.checkESL(t, s.ESL)
			parsed, err := ses.ParseSeal(s.ESL)
			if err != nil {
				t.Fatal(err)
			}
			if want := max(app.Version, 4); app.Version == 1 && parsed.Version != 1 || app.Version == 0 && parsed.Version != want {
				t.Fatalf("seal version %d, asked %d", parsed.Version, app.Version)
			}
			if k.Class() != ClassPersonal && !bytes.Equal(s.Picture, e.imps.pic[physical]) {
				t.Fatal("the seal's picture is not its filed impression")
			}
			e.clock.Add(time.Minute)
			if err := e.reg.Issue(ctx, maker, s.Code); err != nil {
				t.Fatal(err)
			}

			// Query.
			got, err := e.reg.Seal(ctx, s.Code)
			if err != nil || got.Status != StatusActive || !bytes.Equal(got.ESL, s.ESL) {
				t.Fatalf("query by code: %v %+v", err, got)
			}
			for name, q := range map[string]Query{"org": {CreditCode: codeCompany}, "kind": {Kind: k}, "status": {Status: StatusActive, Kind: k}} {
				list, err := e.reg.Seals(ctx, q)
				if err != nil || !slices.ContainsFunc(list, func(x *SealRecord) bool { return x.Code == s.Code }) {
					t.Fatalf("query by %s: %v, %d seals without %s", name, err, len(list), s.Code)
				}
			}
			if k.Class() != ClassOfficial {
				list, _ := e.reg.Seals(ctx, Query{HolderID: idHolder, Kind: k})
				if len(list) != 1 || list[0].Code != s.Code {
					t.Fatalf("query by holder: %d seals", len(list))
				}
				if list, _ := e.reg.Seals(ctx, Query{HolderID: idOther}); len(list) != 0 {
					t.Fatalf("another holder finds %d seals", len(list))
				}
			}
			if esl, _ := e.reg.ESL(ctx, s.Code); !bytes.Equal(esl, s.ESL) {
				t.Fatal("ESL differs")
			}
			if pic, typ, _ := e.reg.Picture(ctx, s.Code); !bytes.Equal(pic, s.Picture) || typ != "PNG" {
				t.Fatalf("picture of type %q", typ)
			}

			// Use: the signature verifies.
			data := []byte("document " + string(k))
			sig := e.sign(t, got, data)
			e.clock.Add(2 * time.Minute) // a CRL issued after the signature
			if rep := e.verifier(t, nil).VerifySignature(sig, data); rep.Indication != verifier.TotalPassed {
				t.Fatalf("signature: %s %s %+v", rep.Indication, rep.SubIndication, rep.Checks)
			}

			// Change: the old version is voided, its certificate revoked; the new one links back.
			e.clock.Add(time.Minute)
			newPhysical := ""
			if physical != "" {
				newPhysical = physical + "B"
				e.file(t, newPhysical)
			}
			ns, err := e.reg.Change(ctx, admin, s.Code, Change{Reason: ChangeName, PhysicalCode: newPhysical,
				Unit: Unit{Name: "海南新名科技有限公司", CreditCode: codeCompany}, Materials: material(), PIN: pin})
			if err != nil {
				t.Fatal(err)
			}
			old, _ := e.reg.Seal(ctx, s.Code)
			if old.Status != StatusVoided || old.Next != ns.Code || ns.Previous != s.Code || ns.Unit.Name != "海南新名科技有限公司" {
				t.Fatalf("change: old %s next %s, new previous %s", old.Status, old.Next, ns.Previous)
			}
			if !e.onCRL(t, s.CertSerial) {
				t.Fatal("the voided version's certificate is not on the CRL")
			}
			e.checkESL(t, ns.ESL)
			if err := e.reg.Issue(ctx, maker, ns.Code); err != nil {
				t.Fatal(err)
			}

			// Suspend, resume, revoke.
			e.clock.Add(time.Minute)
			tActive := e.clock.Now()
			e.clock.Add(time.Minute)
			if err := e.reg.Suspend(ctx, admin, ns.Code, StatusRequest{Reason: "carrier mislaid", Materials: material()}); err != nil {
				t.Fatal(err)
			}
			tSuspended := e.clock.Now()
			e.clock.Add(time.Minute)
			if err := e.reg.Resume(ctx, admin, ns.Code, StatusRequest{Reason: "carrier found"}); err != nil {
				t.Fatal(err)
			}
			e.clock.Add(time.Minute)
			if err := e.reg.Revoke(ctx, admin, ns.Code, StatusRequest{Reason: "dissolved", CRLReason: pki.CessationOfOperation}); err != nil {
				t.Fatal(err)
			}
			if !e.onCRL(t, ns.CertSerial) {
				t.Fatal("the revoked seal's certificate is not on the CRL")
			}
			if ok, err := e.reg.ValidAt(ctx, ns.Code, tActive); !ok {
				t.Fatalf("not valid before suspension: %v", err)
			}
			if ok, _ := e.reg.ValidAt(ctx, ns.Code, tSuspended); ok {
				t.Fatal("valid while suspended")
			}
			if ok, _ := e.reg.ValidAt(ctx, ns.Code, e.clock.Now()); ok {
				t.Fatal("valid after revocation")
			}
			h, _ := e.reg.History(ctx, ns.Code)
			var sts []string
			for _, c := range h {
				sts = append(sts, c.Status)
			}
			if want := []string{StatusMade, StatusActive, StatusSuspended, StatusActive, StatusRevoked}; !slices.Equal(sts, want) {
				t.Fatalf("history %v, want %v", sts, want)
			}
			if ev := e.events.kinds(s.Code); !slices.Equal(ev, []string{EventMade, EventChanged}) {
				t.Fatalf("events of the old version %v", ev)
			}
			if ev := e.events.kinds(ns.Code); !slices.Equal(ev, []string{EventMade, EventSuspended, EventResumed, EventRevoked}) {
				t.Fatalf("events of the new version %v", ev)
			}
			// Archive: the old version, its .esl and materials stay.
			if m, err := e.reg.Material(ctx, h[2].Materials[0].SM3); err != nil || !bytes.Equal(m, material()[0].Data) {
				t.Fatalf("material: %v", err)
			}
			e.clock.Add(time.Minute)
		})
	}
	rep, err := e.log.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("audit chain: %v %+v", err, rep)
	}
}

// TestBusinessSeals makes a business entity's seals from its registration data (art. 7):
// no materials, no review, generated pictures, each .esl verified.
func TestBusinessSeals(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	seals, err := e.reg.MakeBusiness(ctx, maker, Business{Unit: Unit{Name: "海南新设贸易有限公司", CreditCode: codeCompany},
		LegalRep: &Person{Name: "李四", ID: idOther}, ValidTo: start.AddDate(3, 0, 0), PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	if len(seals) != 5 {
		t.Fatalf("%d seals", len(seals))
	}
	codes := map[string]bool{}
	for _, s := range seals {
		e.checkESL(t, s.ESL)
		if !s.Generated || s.Status != StatusActive || codes[s.Code] {
			t.Fatalf("seal %s: generated %v status %s", s.Code, s.Generated, s.Status)
		}
		codes[s.Code] = true
	}
	if _, err := e.reg.MakeBusiness(ctx, applicant, Business{Unit: Unit{Name: "x", CreditCode: codeCompany}, ValidTo: start.AddDate(1, 0, 0), PIN: pin}); err == nil {
		t.Fatal("an applicant made business seals")
	}
}
