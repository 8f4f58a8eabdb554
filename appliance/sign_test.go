package appliance

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

// regHolderWith is the holder's signer key naming seals (none: any).
func regHolderWith(seals ...string) registry.Actor {
	a := regHolder
	a.Seals = seals
	return a
}

// regSign is the body of a signing by the holder of a personal seal.
func regSign(code string, digest []byte, pin string) map[string]any {
	return map[string]any{"seal": code, "digest": digest, "pin": pin, "person_id": regIDHolder}
}

// regApproved has the OA system ask for a use of the official seal code for the digests and
// a reviewer grant it; it returns the approval's id.
func (e *regEnv) regApproved(t testing.TB, code string, digests ...[]byte) string {
	t.Helper()
	var id idAnswer
	e.do(t, regOA, "POST", "/v1/seals/{code}/use-requests", "", useRequest{Digests: digests}, "code", code).decode(t, &id)
	e.do(t, regReviewer, "POST", "/v1/use-requests/{id}/approve", "", nil, "id", id.ID).decode(t, new(registry.UseApproval))
	return id.ID
}

// TestSignRefusals checks each refusal of POST /v1/sign and its code.
func TestSignRefusals(t *testing.T) {
	e := newRegEnv(t)
	personal := e.made(t, registry.Personal, "")
	official := e.made(t, registry.Contract, regPhysical)
	d := sm3.Sum([]byte("a document"))
	for _, c := range []struct {
		name  string
		actor registry.Actor
		body  any
		want  errs.Kind
	}{
		{"malformed JSON", regHolder, `{"seal": "` + personal.Code + `",`, errs.InvalidInput},
		{"unknown field", regHolder, `{"seal": "` + personal.Code + `", "colour": "red"}`, errs.InvalidInput},
		{"digest not base64", regHolder, `{"seal": "` + personal.Code + `", "digest": "%%%"}`, errs.InvalidInput},
		{"no seal", regHolder, map[string]any{"digest": d[:], "pin": regPIN}, errs.InvalidInput},
		{"no digest", regHolder, map[string]any{"seal": personal.Code, "pin": regPIN}, errs.InvalidInput},
		{"short digest", regHolder, regSign(personal.Code, d[:31], regPIN), errs.InvalidInput},
		{"digest and data", regHolder, map[string]any{"seal": personal.Code, "digest": d[:], "data": []byte("x"), "pin": regPIN}, errs.InvalidInput},
		{"property info not ASCII", regHolder, map[string]any{"seal": personal.Code, "digest": d[:], "pin": regPIN, "property_info": "/文档/Signature.xml"}, errs.InvalidInput},
		{"property info too long", regHolder, map[string]any{"seal": personal.Code, "digest": d[:], "pin": regPIN, "property_info": strings.Repeat("a", MaxPropertyInfo+1)}, errs.InvalidInput},
		{"v1 of a v4 seal", regHolder, map[string]any{"seal": personal.Code, "digest": d[:], "pin": regPIN, "version": 1}, errs.InvalidInput},
		{"version 3", regHolder, map[string]any{"seal": personal.Code, "digest": d[:], "pin": regPIN, "version": 3}, errs.InvalidInput},
		{"unknown seal", regHolder, regSign("460100099999999", d[:], regPIN), errs.NotFound},
		{"wrong role", registry.Actor{Name: "applicant-1", Roles: []registry.Role{registry.RoleApplicant}}, regSign(personal.Code, d[:], regPIN), errs.WrongRole},
		{"seal not allowed for the key", regHolderWith(official.Code), regSign(personal.Code, d[:], regPIN), errs.WrongRole},
		{"not the holder", regHolder, map[string]any{"seal": personal.Code, "digest": d[:], "pin": regPIN}, errs.NotHolder},
		{"another person", regHolder, map[string]any{"seal": personal.Code, "digest": d[:], "pin": regPIN, "person_id": regIDOther}, errs.NotHolder},
		{"person_id not the key's", registry.Actor{Name: "holder-1", Roles: []registry.Role{registry.RoleSigner}, PersonID: regIDOther}, regSign(personal.Code, d[:], regPIN), errs.NotHolder},
		{"no PIN", regHolder, regSign(personal.Code, d[:], ""), errs.PINRequired},
		{"approval required", regOA, map[string]any{"seal": official.Code, "digest": d[:], "pin": regPIN}, errs.ApprovalRequired},
		{"unknown approval", regOA, map[string]any{"seal": official.Code, "digest": d[:], "pin": regPIN, "approval": "U99999999"}, errs.NotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			regWant(t, c.name, e.do(t, c.actor, "POST", "/v1/sign", "", c.body), c.want)
		})
	}

	t.Run("used approval", func(t *testing.T) {
		id := e.regApproved(t, official.Code, d[:])
		body := map[string]any{"seal": official.Code, "digest": d[:], "pin": regPIN, "approval": id}
		var sig signAnswer
		e.do(t, regOA, "POST", "/v1/sign", "", body).decode(t, &sig)
		regWant(t, "the approval again", e.do(t, regOA, "POST", "/v1/sign", "", body), errs.ApprovalUsed)
	})
	t.Run("digest not approved", func(t *testing.T) {
		id := e.regApproved(t, official.Code, d[:])
		other := sm3.Sum([]byte("another document"))
		regWant(t, "another digest", e.do(t, regOA, "POST", "/v1/sign", "",
			map[string]any{"seal": official.Code, "digest": other[:], "pin": regPIN, "approval": id}), errs.DigestNotApproved)
	})
	t.Run("approval of another requester", func(t *testing.T) {
		id := e.regApproved(t, official.Code, d[:])
		other := registry.Actor{Name: "oa-2", Roles: []registry.Role{registry.RoleSigner}}
		regWant(t, "another requester", e.do(t, other, "POST", "/v1/sign", "",
			map[string]any{"seal": official.Code, "digest": d[:], "pin": regPIN, "approval": id}), errs.WrongState)
	})
	t.Run("suspended seal", func(t *testing.T) {
		id := e.regApproved(t, official.Code, d[:])
		e.do(t, regAdmin, "POST", "/v1/seals/{code}/suspend", "", statusRequest{Reason: "audit"}, "code", official.Code).decode(t, new(sealView))
		body := map[string]any{"seal": official.Code, "digest": d[:], "pin": regPIN, "approval": id}
		regWant(t, "suspended", e.do(t, regOA, "POST", "/v1/sign", "", body), errs.SealSuspended)
		e.do(t, regAdmin, "POST", "/v1/seals/{code}/resume", "", statusRequest{Reason: "audit done"}, "code", official.Code).decode(t, new(sealView))
		// The refusal used nothing up: the approval signs once the seal is resumed.
		e.do(t, regOA, "POST", "/v1/sign", "", body).decode(t, new(signAnswer))
	})
	t.Run("wrong PIN, then locked", func(t *testing.T) {
		for i := range signerMaxTries {
			a := e.do(t, regHolder, "POST", "/v1/sign", "", regSign(personal.Code, d[:], "wrong-pin-7"))
			if i < signerMaxTries-1 {
				regWant(t, fmt.Sprintf("wrong PIN %d", i+1), a, errs.WrongPIN)
			} else if k := errs.KindOf(a.err); k != errs.WrongPIN && k != errs.Locked {
				t.Fatalf("wrong PIN %d: %v", i+1, a.err)
			}
			if a.err != nil && strings.Contains(a.err.Error(), "wrong-pin-7") {
				t.Fatalf("the refusal shows the PIN: %v", a.err)
			}
		}
		regWant(t, "the right PIN after 5 wrong", e.do(t, regHolder, "POST", "/v1/sign", "", regSign(personal.Code, d[:], regPIN)), errs.Locked)
		e.do(t, regAdmin, "POST", "/v1/seals/{code}/pin", "", pinRequest{PIN: "135790"}, "code", personal.Code).decode(t, new(pinAnswer))
		regWant(t, "the old PIN", e.do(t, regHolder, "POST", "/v1/sign", "", regSign(personal.Code, d[:], regPIN)), errs.WrongPIN)
		e.do(t, regHolder, "POST", "/v1/sign", "", regSign(personal.Code, d[:], "135790")).decode(t, new(signAnswer))
	})
	t.Run("revoked seal", func(t *testing.T) {
		e.do(t, regAdmin, "POST", "/v1/seals/{code}/revoke", "", statusRequest{Reason: "lost", CRLReason: "key-compromise"}, "code", personal.Code).decode(t, new(sealView))
		regWant(t, "revoked", e.do(t, regHolder, "POST", "/v1/sign", "", regSign(personal.Code, d[:], "135790")), errs.SealRevoked)
	})
}

// signerMaxTries is the wrong PINs in a row that lock a seal's key (signer.MaxPINTries).
const signerMaxTries = 5

// TestSignData signs data hashed by the server, and a v1 seal's signature asked for as v1;
// both verify with the data.
func TestSignData(t *testing.T) {
	e := newRegEnv(t)
	app := regApplication(registry.Personal, "")
	app["version"] = 1
	var id idAnswer
	e.do(t, regApplicant, "POST", "/v1/applications", "", app).decode(t, &id)
	e.do(t, regReviewer, "POST", "/v1/applications/{id}/approve", "", nil, "id", id.ID).decode(t, new(applicationView))
	var v1 sealView
	e.do(t, regMaker, "POST", "/v1/applications/{id}/make", "", pinRequest{PIN: regPIN}, "id", id.ID).decode(t, &v1)
	e.do(t, regMaker, "POST", "/v1/seals/{code}/issue", "", nil, "code", v1.Code).decode(t, &v1)
	v4 := e.made(t, registry.Personal, "")

	doc := []byte("licence 2026-42")
	for _, c := range []struct {
		seal    string
		version int
	}{{v4.Code, 4}, {v1.Code, 1}} {
		var sig signAnswer
		e.do(t, regHolder, "POST", "/v1/sign", "", map[string]any{"seal": c.seal, "data": doc, "pin": regPIN,
			"person_id": regIDHolder, "version": c.version}).decode(t, &sig)
		p, err := ses.ParseSignature(sig.Signature)
		if err != nil || p.Version != c.version {
			t.Fatalf("v%d signature: version %v, %v", c.version, p, err)
		}
		if rep := e.verifier(t).VerifySignature(sig.Signature, doc); rep.Indication != verifier.TotalPassed {
			t.Fatalf("v%d signature: %s %+v", c.version, rep.Indication, rep.Checks)
		}
		if rep := e.verifier(t).VerifySignature(sig.Signature, []byte("licence 2026-43")); rep.Indication == verifier.TotalPassed {
			t.Fatalf("v%d signature passes for other data", c.version)
		}
	}
}

// TestSignBatch1000 signs a batch of 1,000 digests under one PIN, authorised once; every
// signature verifies (CA root, seal maker, a fresh CRL) with its document and has its use
// record in the audit log.
func TestSignBatch1000(t *testing.T) {
	e := newRegEnv(t)
	s := e.made(t, registry.Personal, "")
	const n = DefaultBatchMax
	docs := make([][]byte, n)
	items := make([]signBatchItem, n)
	for i := range docs {
		docs[i] = fmt.Appendf(nil, "licence %d", i)
		d := sm3.Sum(docs[i])
		items[i] = signBatchItem{Digest: base64.StdEncoding.EncodeToString(d[:]), PropertyInfo: fmt.Sprintf("/Doc_%d/Signs/Sign_0/Signature.xml", i)}
	}
	before := e.log.Stats()
	var ans signBatchAnswer
	e.do(t, regHolder, "POST", "/v1/sign/batch", "", map[string]any{"seal": s.Code, "pin": regPIN, "person_id": regIDHolder,
		"items": items}).decode(t, &ans)
	if len(ans.Results) != n || ans.Signed != n {
		t.Fatalf("%d results, %d signed, want %d", len(ans.Results), ans.Signed, n)
	}
	after := e.log.Stats()
	if after.Records-before.Records < n {
		t.Fatalf("%d audit records for %d signatures", after.Records-before.Records, n)
	}
	v := e.verifier(t)
	for i, r := range ans.Results {
		if r.Code != "" || len(r.Signature) == 0 {
			t.Fatalf("item %d: %s %s", i, r.Code, r.Message)
		}
		if rep := v.VerifySignature(r.Signature, docs[i]); rep.Indication != verifier.TotalPassed {
			t.Fatalf("item %d: %s %+v", i, rep.Indication, rep.Checks)
		}
		p, err := ses.ParseSignature(r.Signature)
		if err != nil {
			t.Fatal(err)
		}
		if p.TBS.PropertyInfo != items[i].PropertyInfo {
			t.Fatalf("item %d signed with property info %q", i, p.TBS.PropertyInfo)
		}
		if _, _, ok, err := e.log.ProveExistence(sm3.Sum(p.Value)); !ok || err != nil {
			t.Fatalf("item %d has no use record: %v", i, err)
		}
	}
}

// TestSignBatch answers item by item: items that cannot be signed are refused with their
// code, the rest signed; a batch that cannot be authorised is refused whole.
func TestSignBatch(t *testing.T) {
	e := newRegEnv(t)
	s := e.made(t, registry.Personal, "")
	official := e.made(t, registry.Invoice, regPhysical)
	digest := func(i int) []byte { d := sm3.Sum(fmt.Appendf(nil, "invoice %d", i)); return d[:] }
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	batch := func(items ...signBatchItem) map[string]any {
		return map[string]any{"seal": s.Code, "pin": regPIN, "person_id": regIDHolder, "items": items}
	}

	t.Run("item by item", func(t *testing.T) {
		var ans signBatchAnswer
		e.do(t, regHolder, "POST", "/v1/sign/batch", "", batch(
			signBatchItem{Digest: b64(digest(1))},
			signBatchItem{Digest: "not base64!"},
			signBatchItem{Digest: b64(digest(2)[:16])},
			signBatchItem{Digest: b64(digest(1))},
			signBatchItem{Digest: b64(digest(3)), PropertyInfo: "/签章.xml"},
			signBatchItem{Digest: b64(digest(4))},
		)).decode(t, &ans)
		want := []string{"", "INVALID_INPUT", "INVALID_INPUT", "INVALID_INPUT", "INVALID_INPUT", ""}
		if len(ans.Results) != len(want) || ans.Signed != 2 {
			t.Fatalf("%d results, %d signed", len(ans.Results), ans.Signed)
		}
		for i, r := range ans.Results {
			if r.Code != want[i] || (r.Code == "") != (len(r.Signature) > 0) || (r.Code != "") != (r.Message != "") {
				t.Fatalf("item %d: %+v, want code %q", i, r, want[i])
			}
		}
		if !strings.Contains(ans.Results[3].Message, "item 0") {
			t.Fatalf("the repeated digest's message: %q", ans.Results[3].Message)
		}
		v := e.verifier(t)
		for _, i := range []int{0, 5} {
			if rep := v.VerifySignature(ans.Results[i].Signature, fmt.Appendf(nil, "invoice %d", []int{1, 4}[i/5])); rep.Indication != verifier.TotalPassed {
				t.Fatalf("item %d: %s %+v", i, rep.Indication, rep.Checks)
			}
		}
	})
	t.Run("official seal under one approval", func(t *testing.T) {
		id := e.regApproved(t, official.Code, digest(1), digest(2), digest(3))
		body := map[string]any{"seal": official.Code, "pin": regPIN, "approval": id,
			"items": []signBatchItem{{Digest: b64(digest(1))}, {Digest: b64(digest(2))}, {Digest: b64(digest(3))}}}
		var ans signBatchAnswer
		e.do(t, regOA, "POST", "/v1/sign/batch", "", body).decode(t, &ans)
		if ans.Signed != 3 {
			t.Fatalf("%d signed under the approval: %+v", ans.Signed, ans.Results)
		}
		regWant(t, "the approval again", e.do(t, regOA, "POST", "/v1/sign/batch", "", body), errs.ApprovalUsed)
	})
	many := make([]signBatchItem, DefaultBatchMax+1)
	for i := range many {
		many[i] = signBatchItem{Digest: b64(digest(i))}
	}
	wrongPIN := batch(signBatchItem{Digest: b64(digest(1))})
	wrongPIN["pin"] = "wrong-pin-7"
	for _, c := range []struct {
		name  string
		actor registry.Actor
		body  any
		want  errs.Kind
	}{
		{"too many items", regHolder, batch(many...), errs.LimitExceeded},
		{"no items", regHolder, batch(), errs.LimitExceeded},
		{"no item valid", regHolder, batch(signBatchItem{Digest: "AAAA"}), errs.InvalidInput},
		{"malformed JSON", regHolder, `{"items": [`, errs.InvalidInput},
		{"unknown field", regHolder, `{"seal": "X", "items": [{"digest": "", "colour": 1}]}`, errs.InvalidInput},
		{"wrong PIN", regHolder, wrongPIN, errs.WrongPIN},
		{"wrong role", regApplicant, batch(signBatchItem{Digest: b64(digest(1))}), errs.WrongRole},
		{"seal not allowed for the key", regHolderWith(official.Code), batch(signBatchItem{Digest: b64(digest(1))}), errs.WrongRole},
		{"official seal without approval", regOA, map[string]any{"seal": official.Code, "pin": regPIN,
			"items": []signBatchItem{{Digest: b64(digest(1))}}}, errs.ApprovalRequired},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := e.do(t, c.actor, "POST", "/v1/sign/batch", "", c.body)
			regWant(t, c.name, a, c.want)
			if len(a.body) != 0 {
				t.Fatalf("a refused batch answered %s", a.body)
			}
		})
	}
}

// TestSignConcurrent signs under one seal from several callers at once: every signature
// verifies and has its own use record.
func TestSignConcurrent(t *testing.T) {
	e := newRegEnv(t)
	s := e.made(t, registry.Personal, "")
	const callers, each = 4, 8
	sigs := make([][]byte, callers*each)
	errc := make(chan error, callers)
	for g := range callers {
		go func() {
			for i := range each {
				k := g*each + i
				d := sm3.Sum(fmt.Appendf(nil, "document %d", k))
				a := e.do(t, regHolder, "POST", "/v1/sign", "", regSign(s.Code, d[:], regPIN))
				if a.err != nil {
					errc <- fmt.Errorf("document %d: %w", k, a.err)
					return
				}
				var sig signAnswer
				if err := json.Unmarshal(a.body, &sig); err != nil {
					errc <- err
					return
				}
				sigs[k] = sig.Signature
			}
			errc <- nil
		}()
	}
	for range callers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	v := e.verifier(t)
	for k, sig := range sigs {
		if rep := v.VerifySignature(sig, fmt.Appendf(nil, "document %d", k)); rep.Indication != verifier.TotalPassed {
			t.Fatalf("document %d: %s %+v", k, rep.Indication, rep.Checks)
		}
		p, err := ses.ParseSignature(sig)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok, err := e.log.ProveExistence(sm3.Sum(p.Value)); !ok || err != nil {
			t.Fatalf("document %d has no use record: %v", k, err)
		}
	}
}

// TestSignPositionScope signs with a position seal only within its delegated scopes.
func TestSignPositionScope(t *testing.T) {
	e := newRegEnv(t)
	s := e.made(t, registry.LegalRepresentative, "460100300002")
	d := sm3.Sum([]byte("a contract"))
	body := regSign(s.Code, d[:], regPIN)
	body["scope"] = "loans"
	regWant(t, "outside the scopes", e.do(t, regHolder, "POST", "/v1/sign", "", body), errs.OutOfScope)
	body["scope"] = "contracts"
	var sig signAnswer
	e.do(t, regHolder, "POST", "/v1/sign", "", body).decode(t, &sig)
	if rep := e.verifier(t).VerifySignature(sig.Signature, []byte("a contract")); rep.Indication != verifier.TotalPassed {
		t.Fatalf("signature: %s %+v", rep.Indication, rep.Checks)
	}
}

// TestSignBatchRevokedMidway revokes the seal between the batch's authorisation and its
// signing: every item is answered with the refusal, none signed.
func TestSignBatchRevokedMidway(t *testing.T) {
	e := newRegEnv(t)
	ctx := t.Context()
	s := e.made(t, registry.Personal, "")
	const n = 40
	items := make([]registry.SignItem, n)
	digests := make([][]byte, n)
	for i := range items {
		d := sm3.Sum(fmt.Appendf(nil, "document %d", i))
		items[i], digests[i] = registry.SignItem{Digest: d[:]}, d[:]
	}
	holder := regHolder
	holder.PersonID = regIDHolder
	u, err := e.reg.Authorize(ctx, holder, registry.UseRequest{SealCode: s.Code, Digests: digests, PIN: []byte(regPIN)})
	if err != nil {
		t.Fatal(err)
	}
	e.do(t, regAdmin, "POST", "/v1/seals/{code}/revoke", "", statusRequest{Reason: "lost"}, "code", s.Code).decode(t, new(sealView))
	results := make([]signResult, n)
	signed := signParallel(ctx, u, items, func(j int, sig []byte, err error) {
		if err != nil {
			results[j] = itemRefusal(err)
		} else {
			results[j] = signResult{Signature: sig}
		}
	})
	if signed != 0 {
		t.Fatalf("%d signed under a revoked seal", signed)
	}
	for i, r := range results {
		if r.Code != "SEAL_REVOKED" || r.Message == "" || r.Signature != nil {
			t.Fatalf("item %d: %+v", i, r)
		}
	}
}

// TestItemRefusal keeps the detail of a refusal and hides that of a server fault.
func TestItemRefusal(t *testing.T) {
	for _, c := range []struct {
		name      string
		err       error
		code, msg string
	}{
		{"server's own refusal", &Error{Kind: errs.InvalidInput, Message: "digest is not base64"}, "INVALID_INPUT", "digest is not base64"},
		{"domain refusal", &registry.Error{Kind: errs.SealRevoked, Op: "sign", Subject: "S1", Msg: "the seal is revoked"}, "SEAL_REVOKED", "registry: sign S1: the seal is revoked"},
		{"fault without a kind", fmt.Errorf("store: table 000123.sst: checksum mismatch"), "INTERNAL", "internal error"},
		{"busy", &registry.Error{Kind: errs.Busy, Op: "sign", Msg: "session pool of slot 3 exhausted"}, "BUSY", "busy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := itemRefusal(c.err); got.Code != c.code || got.Message != c.msg || got.Signature != nil {
				t.Fatalf("%+v, want %s %q", got, c.code, c.msg)
			}
		})
	}
}
