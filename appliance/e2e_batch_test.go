package appliance

import (
	"bytes"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/verifier"
)

// batchDocs are n distinct documents and their SM3 digests, base64, as sign batch items.
func batchDocs(n int) ([][]byte, []signBatchItem) {
	docs := make([][]byte, n)
	items := make([]signBatchItem, n)
	for i := range docs {
		docs[i] = fmt.Appendf(nil, "营业执照副本 2026-%05d", i)
		d := sm3.Sum(docs[i])
		items[i] = signBatchItem{Digest: base64.StdEncoding.EncodeToString(d[:]), PropertyInfo: fmt.Sprintf("/Doc_%d/Signs/Sign_0/Signature.xml", i)}
	}
	return docs, items
}

// signBatchOverHTTP signs the items under the personal seal code (the holder's, PIN regPIN)
// through POST /v1/sign/batch and returns the signatures in item order, failing unless every
// item was signed.
func (e *e2e) signBatchOverHTTP(signerKey, code string, items []signBatchItem) [][]byte {
	e.t.Helper()
	var ans signBatchAnswer
	e.must(http.StatusOK, signerKey, "POST", "/v1/sign/batch", signBatchRequest{Seal: code, PIN: regPIN, PersonID: regIDHolder, Items: items}, &ans)
	if ans.Signed != len(items) || len(ans.Results) != len(items) {
		e.t.Fatalf("batch of %d: %d signed, %d results", len(items), ans.Signed, len(ans.Results))
	}
	sigs := make([][]byte, len(items))
	seen := map[string]int{}
	for i, r := range ans.Results {
		if r.Code != "" || len(r.Signature) == 0 {
			e.t.Fatalf("item %d: %s %s", i, r.Code, r.Message)
		}
		if j, dup := seen[string(r.Signature)]; dup {
			e.t.Fatalf("items %d and %d have the same signature", j, i)
		}
		seen[string(r.Signature)] = i
		sigs[i] = r.Signature
	}
	return sigs
}

// verifyBatchOverHTTP verifies the signatures with their documents through POST
// /v1/verify/batch and fails unless every one is TOTAL_PASSED.
func (e *e2e) verifyBatchOverHTTP(verifierKey string, sigs, docs [][]byte) {
	e.t.Helper()
	req := VerifyBatchRequest{Items: make([]VerifyBatchItem, len(sigs))}
	for i := range sigs {
		req.Items[i] = VerifyBatchItem{Signature: base64.StdEncoding.EncodeToString(sigs[i]), Data: base64.StdEncoding.EncodeToString(docs[i])}
	}
	var rep VerifyBatchResponse
	e.must(http.StatusOK, verifierKey, "POST", "/v1/verify/batch", req, &rep)
	if len(rep.Reports) != len(sigs) {
		e.t.Fatalf("%d reports for %d signatures", len(rep.Reports), len(sigs))
	}
	for i, r := range rep.Reports {
		if r.Indication != verifier.TotalPassed || r.ID != fmt.Sprint(i+1) {
			e.t.Fatalf("report %d (id %s): %s/%s %+v", i, r.ID, r.Indication, r.SubIndication, r.Checks)
		}
	}
}

// independentVerifier is a verifier/ Verifier of its own, outside the server: trusting the
// root the server publishes (GET /v1/pki/ca.pem), the platform's seal maker, the CRL the
// server publishes (GET /v1/pki/crl), and proving signing times from the audit log.
func (e *e2e) independentVerifier() *verifier.Verifier {
	e.t.Helper()
	a := e.raw("", "GET", "/v1/pki/ca.pem", "", nil)
	blk, _ := pem.Decode(a.body)
	if a.status != http.StatusOK || blk == nil {
		e.t.Fatalf("ca.pem: %d %q", a.status, a.body)
	}
	root, err := smx509.ParseCertificate(blk.Bytes)
	if err != nil {
		e.t.Fatal(err)
	}
	if !bytes.Equal(root.Raw, e.svc.CA.Root().Raw) {
		e.t.Fatal("ca.pem is not the CA's root")
	}
	c := e.raw("", "GET", "/v1/pki/crl", "", nil)
	crl, err := smx509.ParseRevocationList(c.body)
	if c.status != http.StatusOK || err != nil {
		e.t.Fatalf("CRL: %d %v", c.status, err)
	}
	return verifier.New(verifier.Options{Roots: []*smx509.Certificate{root}, Makers: []*smx509.Certificate{e.svc.CA.Maker()},
		CRLs: []*smx509.RevocationList{crl}, TimeProof: verifier.ProofFunc(e.svc.Audit.ProveExistence)})
}

// TestSignBatchOverHTTP: a batch of a thousand digests signed through POST /v1/sign/batch
// on the configured default, every signature distinct and verified TOTAL_PASSED with its
// document, through POST /v1/verify/batch and by a verifier of its own; each signature's
// use is in the audit chain, which still verifies.
func TestSignBatchOverHTTP(t *testing.T) {
	const n = 1000
	cfg := testConfig(t)
	// The CA issues a new CRL at most a second old, so that the verifier of its own gets
	// one issued after the signatures (its only proof that the signer was not revoked then).
	cfg.CA.CRLRefresh = time.Second
	e := startE2E(t, cfg)
	code := e.makeSeal(regApplication(registry.Personal, ""))
	signerKey := e.key("licence-system", registry.RoleSigner)
	verifierKey := e.key("other-dept", RoleVerifier)
	var before AuditVerification
	e.must(http.StatusOK, e.admin, "GET", "/v1/audit/verify", nil, &before)

	docs, items := batchDocs(n)
	start := time.Now()
	sigs := e.signBatchOverHTTP(signerKey, code, items)
	signed := time.Since(start)
	start = time.Now()
	e.verifyBatchOverHTTP(verifierKey, sigs, docs)
	t.Logf("%d digests signed in %v, verified in %v, over HTTP", n, signed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	time.Sleep(1100 * time.Millisecond) // the CRL of the next second is issued after every signature
	v := e.independentVerifier()
	for i, sig := range sigs {
		if r := v.VerifySignature(sig, docs[i]); r.Indication != verifier.TotalPassed {
			t.Fatalf("signature %d by verifier/: %s/%s %+v", i, r.Indication, r.SubIndication, r.Checks)
		}
	}
	// A signature does not pass for another item's document.
	if r := v.VerifySignature(sigs[0], docs[1]); r.Indication == verifier.TotalPassed {
		t.Fatal("signature 0 passes for document 1")
	}

	var after AuditVerification
	e.must(http.StatusOK, e.admin, "GET", "/v1/audit/verify", nil, &after)
	if !after.OK || after.Records < before.Records+n {
		t.Fatalf("the audit chain: %d records before, %+v after %d signatures", before.Records, after, n)
	}
}
