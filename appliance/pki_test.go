package appliance

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/trust"
	"github.com/eseal/eseal/verifier"
)

func (e *verifyEnv) get(h Handler, query string, params map[string]string) routeAnswer {
	return e.serve(h, verifyReq{method: "GET", path: "/", query: query, params: params})
}

func TestCAPEMAndCRL(t *testing.T) {
	e := newVerifyEnv(t)
	a := e.get(handleCAPEM, "", nil)
	a.ok(t, nil)
	if a.ctype != "application/x-pem-file" || !bytes.Equal(a.body, e.svc.CA.RootPEM()) {
		t.Fatalf("ca.pem: %q, %q", a.ctype, a.body)
	}
	root, err := smx509.ParseCertificate(firstPEMDER(t, a.body))
	if err != nil || !root.IsCA {
		t.Fatalf("ca.pem holds no CA certificate: %v", err)
	}

	a = e.get(handleCRL, "", nil)
	a.ok(t, nil)
	if a.ctype != "application/pkix-crl" {
		t.Errorf("CRL content type %q", a.ctype)
	}
	crl, err := smx509.ParseRevocationList(a.body)
	if err != nil {
		t.Fatalf("the CRL is not DER: %v", err)
	}
	if err := crl.CheckSignatureFrom(root); err != nil {
		t.Errorf("the CRL is not signed by the root of ca.pem: %v", err)
	}

	none := &verifyEnv{svc: &Services{}}
	none.get(handleCAPEM, "", nil).refused(t, errs.Unavailable)
	none.get(handleCRL, "", nil).refused(t, errs.Unavailable)
}

// quoteJSON is s as a JSON string.
func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func trustParams(name string) map[string]string { return map[string]string{"name": name} }

func (e *verifyEnv) putTrust(name string, body any) routeAnswer {
	b, ok := body.(string)
	if !ok {
		j, _ := json.Marshal(body)
		b = string(j)
	}
	return e.serve(handleTrustPut, verifyReq{method: "POST", params: trustParams(name), contentType: "application/json", body: []byte(b)})
}

// A trust set put over the API is listed, read back as the same certificates, judges
// verifications at once, and once removed is gone.
func TestTrustSetLifecycle(t *testing.T) {
	e := newVerifyEnv(t)
	rootPEM, makerPEM := string(e.sample("root.pem")), string(e.sample("maker.pem"))
	var put TrustSetSummary
	e.putTrust("dept.finance", TrustSetRequest{Roots: rootPEM, Makers: makerPEM}).ok(t, &put)
	root, _ := smx509.ParseCertificate(firstPEMDER(t, []byte(rootPEM)))
	if put.Name != "dept.finance" || put.Generation == 0 || len(put.Roots) != 1 || len(put.Makers) != 1 || len(put.Intermediates) != 0 {
		t.Fatalf("put: %+v", put)
	}
	if put.Roots[0].Subject != root.Subject.String() || put.Roots[0].SM3 == "" || put.Roots[0].NotAfter == "" {
		t.Errorf("root summary %+v, subject %q", put.Roots[0], root.Subject)
	}

	var list TrustSetList
	e.get(handleTrustList, "", nil).ok(t, &list)
	var names []string
	for _, s := range list.TrustSets {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "default,dept.finance,sample" {
		t.Errorf("listed %v", names)
	}

	var got TrustSetPEM
	e.get(handleTrustGet, "", trustParams("dept.finance")).ok(t, &got)
	if got.Name != "dept.finance" || got.Generation != put.Generation || got.Intermediates != "" {
		t.Errorf("get: %+v", got)
	}
	if !bytes.Equal(firstPEMDER(t, []byte(got.Roots)), root.Raw) || !bytes.Equal(firstPEMDER(t, []byte(got.Makers)), firstPEMDER(t, []byte(makerPEM))) {
		t.Errorf("the PEM read back is not the certificates put")
	}

	// Verification under the new set passes the sample at once.
	sig, data := e.sample("SignedValue.dat"), e.sample("Signature.xml")
	var r verifier.SignatureReport
	postBody(handleVerify, e, map[string]any{"signature": enc64(sig), "data": enc64(data), "trust_set": "dept.finance"}).ok(t, &r)
	if r.Indication != verifier.TotalPassed {
		t.Fatalf("under the new set: %s/%s", r.Indication, r.SubIndication)
	}

	// Putting the same lists again changes nothing; other lists take a new generation.
	var again TrustSetSummary
	e.putTrust("dept.finance", TrustSetRequest{Roots: rootPEM, Makers: makerPEM}).ok(t, &again)
	if again.Generation != put.Generation {
		t.Errorf("the same lists put again: generation %d, was %d", again.Generation, put.Generation)
	}
	e.putTrust("dept.finance", TrustSetRequest{Roots: rootPEM}).ok(t, &again)
	if again.Generation <= put.Generation || len(again.Makers) != 0 {
		t.Errorf("without makers: %+v", again)
	}
	// Without an accepted maker the sample is no longer trusted.
	postBody(handleVerify, e, map[string]any{"signature": enc64(sig), "data": enc64(data), "trust_set": "dept.finance"}).ok(t, &r)
	if r.Indication == verifier.TotalPassed {
		t.Errorf("a set without makers passed the sample")
	}

	a := e.serve(handleTrustDelete, verifyReq{method: "DELETE", params: trustParams("dept.finance")})
	if a.err != nil || a.status != 204 || len(a.body) != 0 {
		t.Fatalf("delete: %v %d %q", a.err, a.status, a.body)
	}
	e.get(handleTrustGet, "", trustParams("dept.finance")).refused(t, errs.NotFound, "dept.finance")
	e.serve(handleTrustDelete, verifyReq{method: "DELETE", params: trustParams("dept.finance")}).refused(t, errs.NotFound, "dept.finance")
	postBody(handleVerify, e, map[string]any{"signature": enc64(sig), "trust_set": "dept.finance"}).refused(t, errs.NotFound, "dept.finance")
	e.serve(handleTrustDelete, verifyReq{method: "DELETE", params: trustParams("default")}).refused(t, errs.InvalidInput, "cannot be removed")
}

func TestTrustSetRefusals(t *testing.T) {
	e := newVerifyEnv(t)
	rootPEM := string(e.sample("root.pem"))
	makerPEM := string(e.sample("maker.pem"))
	// A private key given by mistake: the refusal must not carry it.
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("secret-key-material-0123456789")}))
	for _, tc := range []struct {
		name, set, body string
		kind            errs.Kind
		words           []string
	}{
		{"bad name", "Dept/Finance", `{"roots":"x"}`, errs.InvalidInput, []string{"trust set name"}},
		{"no roots", "x", `{"makers":` + quoteJSON(makerPEM) + `}`, errs.InvalidInput, []string{"roots: required"}},
		{"unknown field", "x", `{"roots":` + quoteJSON(rootPEM) + `,"anchors":"x"}`, errs.InvalidInput, []string{`"anchors"`}},
		{"roots not PEM", "x", `{"roots":"hello"}`, 0, []string{"roots"}},
		{"a maker as root", "x", `{"roots":` + quoteJSON(makerPEM) + `}`, 0, []string{"roots[0]"}},
		{"a private key", "x", `{"roots":` + quoteJSON(keyPEM) + `}`, 0, []string{"PRIVATE KEY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.putTrust(tc.set, tc.body)
			if a.err == nil {
				t.Fatalf("accepted: %s", a.body)
			}
			k := errs.KindOf(a.err)
			if tc.kind != 0 && k != tc.kind {
				t.Errorf("code %s, want %s: %v", k.Code(), tc.kind.Code(), a.err)
			}
			if c := k.Class(); c != errs.ClassInvalid && c != errs.ClassUnsupported {
				t.Errorf("a bad trust set is refused as %s (%s): %v", k.Code(), c, a.err)
			}
			for _, w := range tc.words {
				if !strings.Contains(a.err.Error(), w) {
					t.Errorf("refusal %q does not say %q", a.err, w)
				}
			}
			if strings.Contains(a.err.Error(), "secret-key") || strings.Contains(a.err.Error(), "c2VjcmV0") {
				t.Errorf("the refusal shows the key: %v", a.err)
			}
			if _, _, err := e.svc.Trust.TrustSet("x"); err == nil {
				t.Errorf("a refused set was stored")
			}
		})
	}
	e.get(handleTrustGet, "", trustParams("nowhere")).refused(t, errs.NotFound, `"nowhere"`)
	e.get(handleTrustGet, "", trustParams("")).refused(t, errs.InvalidInput)
	none := &verifyEnv{svc: &Services{}}
	none.get(handleTrustList, "", nil).refused(t, errs.Unavailable)
}

// appendRecords appends n records and returns the last sequence number.
func (e *verifyEnv) appendRecords(t *testing.T, n int) audit.Seq {
	t.Helper()
	var last audit.Seq
	for i := range n {
		s, err := e.svc.Audit.Append(context.Background(), audit.Record{Actor: "reviewer-1", Action: audit.ActionApprove,
			SealCode: "4601000012345", Digest: []byte{byte(i), 1, 2}, Outcome: audit.OutcomeOK, Details: map[string]string{"application": fmt.Sprint("A-", i)}})
		if err != nil {
			t.Fatal(err)
		}
		last = s
	}
	return last
}

func TestAuditPages(t *testing.T) {
	e := newVerifyEnv(t)
	last := e.appendRecords(t, 7)
	var p AuditPage
	e.get(handleAuditList, "from=1&limit=3", nil).ok(t, &p)
	if len(p.Records) != 3 || p.Records[0].Seq != 1 || p.Records[2].Seq != 3 || p.Next != 4 || p.Tail != uint64(last) {
		t.Fatalf("first page: %+v", p)
	}
	r := p.Records[1]
	if r.Actor != "reviewer-1" || r.Action != "approve" || r.Seal != "4601000012345" || r.Digest != "010102" ||
		r.Details["application"] != "A-1" || r.Prev != p.Records[0].Hash || len(r.Hash) != 64 || r.Time == "" {
		t.Errorf("record 2: %+v", r)
	}
	// The pages follow each other to the tail, each record's prev the hash before it.
	prev := p.Records[2].Hash
	seen := 3
	for p.Next != 0 {
		next := p.Next
		p = AuditPage{}
		e.get(handleAuditList, fmt.Sprintf("from=%d&limit=3", next), nil).ok(t, &p)
		for _, r := range p.Records {
			if r.Prev != prev {
				t.Errorf("record %d: prev %s, want %s", r.Seq, r.Prev, prev)
			}
			prev = r.Hash
			seen++
		}
	}
	if seen != int(last) {
		t.Errorf("%d records over the pages, %d in the log", seen, last)
	}
	p = AuditPage{}
	e.get(handleAuditList, "", nil).ok(t, &p)
	if len(p.Records) != int(last) || p.Next != 0 {
		t.Errorf("default page: %d records, next %d", len(p.Records), p.Next)
	}
	e.get(handleAuditList, "from=1000", nil).ok(t, &p)
	if len(p.Records) != 0 {
		t.Errorf("a page after the tail holds %d records", len(p.Records))
	}
	for _, q := range []string{"limit=0", "limit=1001", "from=abc", "from=-1", "limit=99999999999999999999"} {
		e.get(handleAuditList, q, nil).refused(t, errs.InvalidInput)
	}
	(&verifyEnv{svc: &Services{}}).get(handleAuditList, "", nil).refused(t, errs.Unavailable)
}

// The verification of the chain is answered, and names a record changed in the store.
func TestAuditVerify(t *testing.T) {
	e := newVerifyEnv(t)
	last := e.appendRecords(t, 9)
	var v AuditVerification
	e.get(handleAuditVerify, "", nil).ok(t, &v)
	if !v.OK || v.Records != uint64(last) || v.Last != uint64(last) || v.Heads == 0 || len(v.Problems) != 0 || v.KeysFromLog {
		t.Fatalf("intact chain: %+v", v)
	}
	// Change record 5 as stored: its detail text, past the record's fixed fields.
	sp := store.MustSpace(e.db, audit.SpaceName)
	key := append([]byte("r/"), binary.BigEndian.AppendUint64(nil, 5)...)
	val, err := sp.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(val, []byte("A-4"))
	if i < 0 {
		t.Fatal("record 5 does not hold its detail")
	}
	val = bytes.Clone(val)
	val[i+2] = '7'
	if err := sp.Set(context.Background(), key, val); err != nil {
		t.Fatal(err)
	}
	v = AuditVerification{}
	e.get(handleAuditVerify, "", nil).ok(t, &v)
	if v.OK || len(v.Problems) == 0 || v.Problems[0].Seq != 5 || v.Problems[0].Kind != string(audit.Changed) {
		t.Fatalf("changed record 5: %+v", v)
	}
}

func TestBackup(t *testing.T) {
	e := newVerifyEnv(t)
	e.appendRecords(t, 3)
	to := filepath.Join(t.TempDir(), "backup-1")
	var got BackupResponse
	postBody(handleBackup, e, BackupRequest{To: to}).ok(t, &got)
	if got.To != to || got.AuditSeq != 4 {
		t.Fatalf("backup: %+v", got)
	}
	rec, err := e.svc.Audit.Record(context.Background(), audit.Seq(got.AuditSeq))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Action != audit.ActionBackup || rec.Outcome != audit.OutcomeOK || rec.Details["directory"] != to || rec.Actor == "" {
		t.Errorf("the backup's audit record: %+v", rec)
	}
	// The copy opens, holds the trust sets and an intact audit chain.
	db, err := store.Open(to, &store.Options{Logger: verifyQuiet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sets, err := trust.Open(context.Background(), store.MustSpace(db, trust.SpaceName), trust.Options{Logger: verifyQuiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sets.TrustSet("sample"); err != nil {
		t.Errorf("the backup lacks the sample trust set: %v", err)
	}
	if rep, err := audit.Verify(context.Background(), db, audit.VerifyOptions{}); err != nil || !rep.OK() || rep.Last != 3 {
		t.Errorf("the backup's audit chain: %+v, %v", rep, err)
	}
	if fi, err := os.Stat(to); err != nil || fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("the backup directory is open to others: %v %v", fi.Mode(), err)
	}

	rel := "backup-2"
	for _, tc := range []struct {
		name, to string
		kind     errs.Kind
		word     string
	}{
		{"no directory", "", errs.InvalidInput, "to: required"},
		{"relative", rel, errs.InvalidInput, "absolute"},
		{"exists", to, errs.Conflict, "exists"},
		{"no parent", filepath.Join(t.TempDir(), "missing", "backup"), errs.InvalidInput, "parent"},
		{"NUL", "/tmp/a\x00b", errs.InvalidInput, "NUL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			postBody(handleBackup, e, BackupRequest{To: tc.to}).refused(t, tc.kind, tc.word)
		})
	}
	if _, err := os.Stat(rel); err == nil {
		t.Errorf("a backup was written relative to the working directory")
	}
	postBody(handleBackup, e, `{"to":"/x","from":"/y"}`).refused(t, errs.InvalidInput, `"from"`)
	(&verifyEnv{svc: &Services{}}).serve(handleBackup, verifyReq{method: "POST", body: []byte(`{"to":"/x"}`)}).refused(t, errs.Unavailable)
}

// The routes of this group, with their roles.
func TestPKIRouteTable(t *testing.T) {
	want := map[string]string{
		"GET /v1/pki/ca.pem": "", "GET /v1/pki/crl": "",
		"GET /v1/trust": "admin,verifier,auditor", "GET /v1/trust/{name}": "admin,verifier,auditor",
		"POST /v1/trust/{name}": "admin", "DELETE /v1/trust/{name}": "admin",
		"GET /v1/audit": "auditor,admin", "GET /v1/audit/verify": "auditor,admin",
		"POST /v1/backup": "admin",
	}
	for _, r := range pkiRoutes() {
		k := r.Method + " " + r.Path
		roles, ok := want[k]
		if !ok {
			t.Errorf("unexpected route %s", k)
			continue
		}
		delete(want, k)
		var got []string
		for _, ro := range r.Roles {
			got = append(got, string(ro))
		}
		if strings.Join(got, ",") != roles || r.Handle == nil || r.Summary == "" {
			t.Errorf("%s: roles %v, want %s", k, got, roles)
		}
		if (roles == "") != (r.Anonymous == AlwaysAnonymous) {
			t.Errorf("%s: anonymous policy %v", k, r.Anonymous)
		}
	}
	for k := range want {
		t.Errorf("route %s missing", k)
	}
}
