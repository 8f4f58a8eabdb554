package registry

import (
	"context"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

// TestSignDocument signs, for an approved document digest, a digest derived from the document
// at the registry's time (as an OFD signature signs its Signature.xml): the signature covers
// the derived data, its time is the one build was given, and its use record names both
// digests; the document cannot be signed twice, and a document not authorised is refused.
func TestSignDocument(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	official := e.made(t, Invoice, "460100500001")
	personal := e.made(t, Personal, "")
	e.clock.Add(1500 * time.Millisecond) // a time between seconds: build and the signature see it to the second
	doc := digest("licence 1")
	other := digest("licence 2")
	id, err := e.reg.RequestUse(ctx, oa, official.Code, [][]byte{doc, other}, "licences")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.ApproveUse(ctx, reviewer, id, time.Hour); err != nil {
		t.Fatal(err)
	}

	// derived is what build makes of the time it is given.
	derived := func(now time.Time) []byte {
		return fmt.Appendf(nil, "<Signature><SignatureDateTime>%s</SignatureDateTime></Signature>", now.Format("2006-01-02T15:04:05Z"))
	}
	for _, c := range []struct {
		name string
		who  Actor
		req  UseRequest
	}{
		{"official seal under an approval", oa, UseRequest{SealCode: official.Code, Digests: [][]byte{doc}, PIN: pin, Approval: id}},
		{"personal seal", holderAct, UseRequest{SealCode: personal.Code, Digests: [][]byte{doc}, PIN: pin}},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := e.reg.Authorize(ctx, c.who, c.req)
			if err != nil {
				t.Fatal(err)
			}
			var given time.Time
			var data []byte
			sig, err := u.SignDocument(ctx, doc, func(now time.Time) (SignItem, error) {
				given, data = now, derived(now)
				d := sm3.Sum(data)
				return SignItem{Digest: d[:], PropertyInfo: "/Doc_0/Signs/Sign_1/Signature.xml"}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := e.clock.Now().Truncate(time.Second); !given.Equal(want) {
				t.Fatalf("build was given %s, want %s", given, want)
			}
			p, err := ses.ParseSignature(sig)
			if err != nil {
				t.Fatal(err)
			}
			if !p.TBS.Time.Equal(given) || p.TBS.PropertyInfo != "/Doc_0/Signs/Sign_1/Signature.xml" {
				t.Fatalf("signature time %s (build had %s), property info %q", p.TBS.Time, given, p.TBS.PropertyInfo)
			}
			e.clock.Add(2 * time.Minute) // a CRL issued after the signing
			if rep := e.verifier(t, nil).VerifySignature(sig, data); rep.Indication != verifier.TotalPassed {
				t.Fatalf("%s %+v", rep.Indication, rep.Checks)
			}
			rec := e.lastRecord(t)
			dd := sm3.Sum(data)
			v := sm3.Sum(p.Value)
			if rec.Action != audit.ActionSign || rec.Outcome != audit.OutcomeOK || string(rec.Digest) != string(dd[:]) ||
				string(rec.SignatureSM3) != string(v[:]) || rec.Details["document"] != hex.EncodeToString(doc) {
				t.Fatalf("use record %+v", rec)
			}
			if c.req.Approval != "" && rec.Details["approval"] != id {
				t.Fatalf("use record %+v does not name the approval", rec)
			}
			if _, _, ok, err := e.log.ProveExistence(v); !ok || err != nil {
				t.Fatalf("the signature has no use record: %v", err)
			}

			calls := 0
			build := func(now time.Time) (SignItem, error) {
				calls++
				d := sm3.Sum(derived(now))
				return SignItem{Digest: d[:]}, nil
			}
			_, err = u.SignDocument(ctx, doc, build)
			wantKind(t, "the document twice", err, errs.DigestNotApproved)
			_, err = u.SignDocument(ctx, other, build)
			wantKind(t, "a document not authorised for this use", err, errs.DigestNotApproved)
			if calls != 0 {
				t.Fatalf("build called %d times for refused documents", calls)
			}
		})
	}
	// The approved document cannot be authorised again under the approval.
	_, err = e.reg.Authorize(ctx, oa, UseRequest{SealCode: official.Code, Digests: [][]byte{doc}, PIN: pin, Approval: id})
	wantKind(t, "the approved document again", err, errs.ApprovalUsed)
}

// TestSignDocumentBuildFails: an error of build comes back with its kind, nothing is signed
// or recorded, and the document is taken off the use all the same.
func TestSignDocumentBuildFails(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	personal := e.made(t, Personal, "")
	doc := digest("a document whose keyword is absent")
	u, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: personal.Code, Digests: [][]byte{doc}, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	before := e.log.Stats().Records
	_, err = u.SignDocument(ctx, doc, func(time.Time) (SignItem, error) {
		return SignItem{}, fmt.Errorf("keyword absent: %w", errs.NotFound)
	})
	wantKind(t, "build fails", err, errs.NotFound)
	if got := e.log.Stats().Records; got != before {
		t.Fatalf("%d records appended by a failed signing", got-before)
	}
	_, err = u.SignDocument(ctx, doc, func(time.Time) (SignItem, error) { return SignItem{Digest: digest("x")}, nil })
	wantKind(t, "the document after a failed build", err, errs.DigestNotApproved)

	u, err = e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: personal.Code, Digests: [][]byte{doc}, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	_, err = u.SignDocument(ctx, doc, func(time.Time) (SignItem, error) { return SignItem{Digest: []byte("short")}, nil })
	wantKind(t, "a digest that is not SM3", err, errs.InvalidInput)
}

// TestSignDocumentInTheSecondOfIssue signs a document in the second its seal was issued,
// after the issue: the signature claims the whole second, before the issue, and still
// verifies (the registry's status spans end at whole seconds).
func TestSignDocumentInTheSecondOfIssue(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	e.clock.Add(200 * time.Millisecond)
	personal := e.made(t, Personal, "")
	e.clock.Add(500 * time.Millisecond)
	doc := digest("a licence signed at once")
	u, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: personal.Code, Digests: [][]byte{doc}, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("<Signature/>")
	sig, err := u.SignDocument(ctx, doc, func(now time.Time) (SignItem, error) {
		if !now.Equal(start) {
			t.Errorf("build was given %s, want %s", now, start)
		}
		d := sm3.Sum(data)
		return SignItem{Digest: d[:], PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	v := verifier.New(verifier.Options{Roots: []*smx509.Certificate{e.ca.Root()}, Makers: []*smx509.Certificate{e.ca.Maker()},
		CRLs: []*smx509.RevocationList{e.crl(t)}, Status: e.reg, Now: e.clock.Now})
	if rep := v.VerifySignature(sig, data); rep.Indication != verifier.TotalPassed {
		t.Fatalf("%s %+v", rep.Indication, rep.Checks)
	}
}
