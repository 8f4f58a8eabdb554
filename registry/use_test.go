package registry

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

// TestBulkSigning signs a batch of documents under one approval (official seal) and under one
// PIN (personal seal); every signature verifies and has its use record, found by
// ProveExistence.
func TestBulkSigning(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	official := e.made(t, Invoice, "460100300001")
	personal := e.made(t, Personal, "")
	const n = 50
	docs := make([][]byte, n)
	digests := make([][]byte, n)
	items := make([]SignItem, n)
	for i := range docs {
		docs[i] = fmt.Appendf(nil, "invoice %d", i)
		d := sm3.Sum(docs[i])
		digests[i] = d[:]
		items[i] = SignItem{Digest: d[:], PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml"}
	}
	id, err := e.reg.RequestUse(ctx, oa, official.Code, digests, "invoices of November")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.ApproveUse(ctx, reviewer, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who Actor
		req UseRequest
	}{
		{oa, UseRequest{SealCode: official.Code, Digests: digests, PIN: pin, Approval: id}},
		{holderAct, UseRequest{SealCode: personal.Code, Digests: digests, PIN: pin}},
	} {
		before := e.log.Stats()
		u, err := e.reg.Authorize(ctx, c.who, c.req)
		if err != nil {
			t.Fatal(err)
		}
		sigs, err := u.SignBatch(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.log.Stats(); got.Records-before.Records < n {
			t.Fatalf("%d records for %d signatures", got.Records-before.Records, n)
		}
		e.clock.Add(2 * time.Minute)
		v := e.verifier(t, nil)
		for i, sig := range sigs {
			if rep := v.VerifySignature(sig, docs[i]); rep.Indication != verifier.TotalPassed {
				t.Fatalf("signature %d: %s %+v", i, rep.Indication, rep.Checks)
			}
			p, _ := ses.ParseSignature(sig)
			if _, _, ok, err := e.log.ProveExistence(sm3.Sum(p.Value)); !ok || err != nil {
				t.Fatalf("signature %d has no use record: %v", i, err)
			}
		}
	}
}

// TestRecordSignature signs with the Use's Signer directly, as an OFD signer does, and records
// the signature; a signature under another seal or a digest not authorised is refused.
func TestRecordSignature(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	other := e.made(t, FinanceHead, "460100300002")
	d := digest("ofd document")
	u, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: s.Code, Digests: [][]byte{d}, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: u.Seal, SignerCert: u.Certificate.Raw, DataHash: d,
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: e.clock.Now()}, u.Signer)
	if err != nil {
		t.Fatal(err)
	}
	// The Signer signs once per authorised digest.
	if _, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: u.Seal, SignerCert: u.Certificate.Raw, DataHash: digest("more"),
		PropertyInfo: "x", Time: e.clock.Now()}, u.Signer); err == nil {
		t.Fatal("the Signer signed more than authorised")
	}
	if err := u.RecordSignature(ctx, sig); err != nil {
		t.Fatal(err)
	}
	rec := e.lastRecord(t)
	p, _ := ses.ParseSignature(sig)
	v := sm3.Sum(p.Value)
	if rec.Action != audit.ActionSign || rec.Outcome != audit.OutcomeOK || string(rec.SignatureSM3) != string(v[:]) || string(rec.Digest) != string(d) {
		t.Fatalf("use record %+v", rec)
	}
	wantKind(t, "record twice", u.RecordSignature(ctx, sig), errs.DigestNotApproved)
	wantKind(t, "record garbage", u.RecordSignature(ctx, []byte{0x30, 0x03, 1, 2, 3}), errs.Malformed)
	u2, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: other.Code, Digests: [][]byte{d}, PIN: pin, Scope: "contracts"})
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, "record under another seal", u2.RecordSignature(ctx, sig), errs.InvalidInput)
}

// TestConcurrentLifecycle runs signers, lifecycle steps and approvals at once (run it with
// -race): every approval is used once at most, and the audit chain verifies.
func TestConcurrentLifecycle(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	official := e.made(t, Contract, "460100400001")
	personal := e.made(t, Personal, "")
	d := digest("contract")
	id, err := e.reg.RequestUse(ctx, oa, official.Code, [][]byte{d}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.ApproveUse(ctx, reviewer, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	used := 0
	for g := range 8 {
		wg.Add(3)
		go func() {
			defer wg.Done()
			if _, err := e.reg.Authorize(ctx, oa, UseRequest{SealCode: official.Code, Digests: [][]byte{d}, PIN: pin, Approval: id}); err == nil {
				mu.Lock()
				used++
				mu.Unlock()
			} else if !errorsIs(err, errs.ApprovalUsed) {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			dd := digest(fmt.Sprint("doc ", g))
			u, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: personal.Code, Digests: [][]byte{dd}, PIN: pin})
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := u.Sign(ctx, SignItem{Digest: dd}); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			app := application(Personal, "")
			if _, err := e.reg.Apply(ctx, applicant, app); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if used != 1 {
		t.Fatalf("a single-use approval was used %d times", used)
	}
	if apps, _ := e.reg.Applications(ctx, AppSubmitted); len(apps) != 8 {
		t.Fatalf("%d submitted applications, want 8", len(apps))
	}
	if rep, err := e.log.Verify(ctx); err != nil || !rep.OK() {
		t.Fatalf("audit chain: %v", err)
	}
}
