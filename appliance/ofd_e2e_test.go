package appliance

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

// ofdHelloWorld is an unsigned vector OFD of one page whose text holds "OFD".
const ofdHelloWorld = "ofdrw/ofdrw-sign/src/test/resources/helloworld.ofd"

// ofdSigned is a vector OFD signed by a seal the server does not trust.
const ofdSigned = "ofdrw/ofdrw-sign/src/test/resources/v4signed.ofd"

// signOFD posts body to /v1/ofd/sign with the query and the secret headers (none when empty).
func (e *e2e) signOFD(key string, query url.Values, pin, personID string, body []byte) rawAnswer {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.url+"/v1/ofd/sign?"+query.Encode(), bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/ofd")
	if pin != "" {
		req.Header.Set(HeaderPIN, pin)
	}
	if personID != "" {
		req.Header.Set(HeaderPersonID, personID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/ofd") {
		e.bodies.Write(b)
	}
	return rawAnswer{status: resp.StatusCode, header: resp.Header, body: b}
}

// signedOFD fails the test unless a is a signed OFD; it returns the package.
func signedOFD(t *testing.T, what string, a rawAnswer) []byte {
	t.Helper()
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/ofd" {
		t.Fatalf("%s: %d %s %.300s", what, a.status, a.header.Get("Content-Type"), a.body)
	}
	return a.body
}

// wantOFDRefusal fails the test unless a is the refusal of kind k (status and code).
func wantOFDRefusal(t *testing.T, what string, a rawAnswer, k errs.Kind) apiError {
	t.Helper()
	r := a.refusal(t)
	if a.status != Status(k) || r.Code != k.Code() {
		t.Fatalf("%s: %d %s (%s), want %d %s", what, a.status, r.Code, r.Message, Status(k), k.Code())
	}
	return r
}

// ofdPlace is the query of a page-position placement of seal code.
func ofdPlace(code string, page int, x, y float64) url.Values {
	return url.Values{"seal": {code}, "page": {fmt.Sprint(page)}, "x": {fmt.Sprint(x)}, "y": {fmt.Sprint(y)}}
}

// checkSignedOFD verifies pkg with the server's verifier: every signature passes, there are
// want of them, and each one's SignatureDateTime is its SES signing time.
func (e *e2e) checkSignedOFD(t *testing.T, pkg []byte, want int) *verifier.Report {
	t.Helper()
	rep, err := e.svc.Verifier.VerifyOFD(pkg, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indication != verifier.TotalPassed || len(rep.Signatures) != want {
		t.Fatalf("signed OFD: %s with %d signatures, want %s with %d: %+v", rep.Indication, len(rep.Signatures), verifier.TotalPassed, want, rep.Signatures)
	}
	p, err := ofd.Open(pkg, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := p.Signatures()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sigs {
		sig, err := ses.ParseSignature(s.SignedValue)
		if err != nil {
			t.Fatal(err)
		}
		if when := sig.TBS.Time.UTC().Format("2006-01-02T15:04:05Z"); when != s.SignatureDateTime {
			t.Fatalf("%s: SignatureDateTime %s, SES signing time %s", s.Location, s.SignatureDateTime, when)
		}
	}
	return rep
}

// TestSignOFDOverHTTP signs a vector OFD through POST /v1/ofd/sign with a personal seal (PIN
// and identity number in headers), then the signed package a second time with an official
// seal under a use approval of its digest: both signatures pass, the first one still; the
// signatures are counted in the metrics, and neither PIN nor identity number is in a log
// line or an answer.
func TestSignOFDOverHTTP(t *testing.T) {
	e := startE2E(t, testConfig(t))
	e.fileImpression(regPhysical)
	official := e.makeSeal(regApplication(registry.Contract, regPhysical))
	personal := e.makeSeal(regApplication(registry.Personal, ""))
	signerKey := e.key("licence-system", registry.RoleSigner)
	oa := e.key("oa-system", registry.RoleSigner, registry.RoleApplicant)
	reviewer := e.key("reviewer-wang", registry.RoleReviewer)
	doc := testvectors.Read(t, ofdHelloWorld)
	made := e.metricsOverHTTP()["eseal_signatures_made_total"]

	once := signedOFD(t, "personal seal", e.signOFD(signerKey, ofdPlace(personal, 1, 150, 200), regPIN, regIDHolder, doc))
	rep := e.checkSignedOFD(t, once, 1)
	if rep.Signatures[0].Seal == nil || rep.Signatures[0].Seal.ID != personal {
		t.Fatalf("signed with seal %+v, want %s", rep.Signatures[0].Seal, personal)
	}

	d := sm3.Sum(once)
	var use idAnswer
	e.must(http.StatusCreated, oa, "POST", "/v1/seals/"+official+"/use-requests", useRequest{Digests: [][]byte{d[:]}, Purpose: "licence"}, &use)
	e.must(http.StatusOK, reviewer, "POST", "/v1/use-requests/"+use.ID+"/approve", approveUseRequest{TTLSeconds: 600}, nil)
	q := url.Values{"seal": {official}, "approval": {use.ID}, "keyword": {"OFD"}}
	twice := signedOFD(t, "official seal", e.signOFD(oa, q, regPIN, "", once))
	rep = e.checkSignedOFD(t, twice, 2)
	if rep.Signatures[1].Seal == nil || rep.Signatures[1].Seal.ID != official {
		t.Fatalf("second signature by %+v, want %s", rep.Signatures[1].Seal, official)
	}
	wantOFDRefusal(t, "the approval again", e.signOFD(oa, q, regPIN, "", once), errs.ApprovalUsed)

	if got := e.metricsOverHTTP()["eseal_signatures_made_total"]; got-made != 2 {
		t.Fatalf("signatures made went from %v to %v, want 2 more", made, got)
	}
	var api struct {
		Paths map[string]map[string]struct {
			Roles []string `json:"x-roles"`
		} `json:"paths"`
	}
	e.must(http.StatusOK, "", "GET", "/openapi.json", nil, &api)
	if op, ok := api.Paths["/v1/ofd/sign"]["post"]; !ok || len(op.Roles) != 1 || op.Roles[0] != "signer" {
		t.Fatalf("the OpenAPI document's POST /v1/ofd/sign: %+v", api.Paths["/v1/ofd/sign"])
	}
	for _, secret := range []string{regPIN, regIDHolder} {
		if strings.Contains(e.logs.String(), secret) || strings.Contains(e.bodies.String(), secret) {
			t.Errorf("a secret is in the logs or an answer: %.3s…", secret)
		}
	}
}

// tamper rewrites the package with the file name's content replaced by b.
func tamper(t *testing.T, pkg []byte, name string, b []byte) []byte {
	t.Helper()
	return rezip(t, pkg, func(n string, content []byte) []byte {
		if n == name {
			return b
		}
		return content
	}, nil)
}

// rezip copies pkg's entries through edit, then adds extra.
func rezip(t *testing.T, pkg []byte, edit func(name string, b []byte) []byte, extra map[string][]byte) []byte {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := zip.NewWriter(&out)
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		fw, err := w.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(edit(f.Name, b))
	}
	for n, b := range extra {
		fw, err := w.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(b)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestSignOFDRefusals: each refusal of POST /v1/ofd/sign over HTTP, with its status and code;
// a document refused for its placement does not use its approval up.
func TestSignOFDRefusals(t *testing.T) {
	e := startE2E(t, testConfig(t))
	e.fileImpression(regPhysical)
	official := e.makeSeal(regApplication(registry.Contract, regPhysical))
	personal := e.makeSeal(regApplication(registry.Personal, ""))
	signerKey := e.key("licence-system", registry.RoleSigner)
	oa := e.key("oa-system", registry.RoleSigner, registry.RoleApplicant)
	reviewer := e.key("reviewer-wang", registry.RoleReviewer)
	verifierKey := e.key("other-dept", RoleVerifier)
	doc := testvectors.Read(t, ofdHelloWorld)
	good := ofdPlace(personal, 1, 150, 200)

	with := func(q url.Values, k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range q {
			c[kk] = vv
		}
		if v == "" {
			c.Del(k)
		} else {
			c.Set(k, v)
		}
		return c
	}
	// A package signed here, then a protected file changed: its signature fails.
	signed := signedOFD(t, "the package to tamper with", e.signOFD(signerKey, good, regPIN, regIDHolder, doc))
	page := "Doc_0/Pages/Page_0/Content.xml"
	p, err := ofd.Open(signed, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	content, err := p.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	tampered := tamper(t, signed, page, bytes.Replace(content, []byte("OFD"), []byte("PDF"), 1))
	escape := rezip(t, doc, func(_ string, b []byte) []byte { return b }, map[string][]byte{"../evil.xml": []byte("<x/>")})

	for _, c := range []struct {
		name     string
		key      string
		q        url.Values
		pin, pid string
		body     []byte
		want     errs.Kind
	}{
		{"no PIN", signerKey, good, "", regIDHolder, doc, errs.PINRequired},
		{"wrong PIN", signerKey, good, "135790", regIDHolder, doc, errs.WrongPIN},
		{"no identity number", signerKey, good, regPIN, "", doc, errs.NotHolder},
		{"PIN in the query", signerKey, with(good, "pin", regPIN), "", regIDHolder, doc, errs.InvalidInput},
		{"unknown parameter", signerKey, with(good, "pages", "1"), regPIN, regIDHolder, doc, errs.InvalidInput},
		{"no seal", signerKey, with(good, "seal", ""), regPIN, regIDHolder, doc, errs.InvalidInput},
		{"not a number", signerKey, with(good, "x", "left"), regPIN, regIDHolder, doc, errs.InvalidInput},
		{"negative position", signerKey, with(good, "x", "-5"), regPIN, regIDHolder, doc, errs.InvalidInput},
		{"no placement", signerKey, url.Values{"seal": {personal}}, regPIN, regIDHolder, doc, errs.InvalidInput},
		{"a riding range backwards", signerKey, url.Values{"seal": {personal}, "riding": {"2-1"}}, regPIN, regIDHolder, doc, errs.InvalidInput},
		{"a riding range unreadable", signerKey, url.Values{"seal": {personal}, "riding": {"1to2"}}, regPIN, regIDHolder, doc, errs.InvalidInput},
		{"keyword absent", signerKey, url.Values{"seal": {personal}, "keyword": {"盖章处"}}, regPIN, regIDHolder, doc, errs.NotFound},
		{"page out of range", signerKey, with(good, "page", "2"), regPIN, regIDHolder, doc, errs.InvalidInput},
		{"not an OFD", signerKey, good, regPIN, regIDHolder, []byte("%PDF-1.7 not an OFD"), errs.Malformed},
		{"empty body", signerKey, good, regPIN, regIDHolder, nil, errs.InvalidInput},
		{"a ZIP entry leaving the package", signerKey, good, regPIN, regIDHolder, escape, errs.Malformed},
		{"an existing signature fails", signerKey, good, regPIN, regIDHolder, tampered, errs.WrongState},
		{"an existing signature by an untrusted seal", signerKey, good, regPIN, regIDHolder, testvectors.Read(t, ofdSigned), errs.WrongState},
		{"wrong role", verifierKey, good, regPIN, regIDHolder, doc, errs.WrongRole},
		{"official seal without approval", oa, ofdPlace(official, 1, 100, 100), regPIN, "", doc, errs.ApprovalRequired},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := wantOFDRefusal(t, c.name, e.signOFD(c.key, c.q, c.pin, c.pid, c.body), c.want)
			if c.want == errs.WrongState && !strings.Contains(r.Message, "Signature.xml") {
				t.Fatalf("the refusal does not name the failing signature: %s", r.Message)
			}
			if bytes.Equal(c.body, escape) && !strings.Contains(r.Message, "../evil.xml") {
				t.Fatalf("the refusal does not name the entry: %s", r.Message)
			}
		})
	}

	t.Run("what is handed out is verified first", func(t *testing.T) {
		sigs, err := p.Signatures()
		if err != nil || len(sigs) != 1 {
			t.Fatalf("%d signatures: %v", len(sigs), err)
		}
		path := "/" + sigs[0].Location
		if err := checkNewSignature(e.svc.Verifier, signed, path); err != nil {
			t.Fatalf("a good package: %v", err)
		}
		if err := checkNewSignature(e.svc.Verifier, tampered, path); err == nil || !strings.Contains(err.Error(), verifier.TotalFailed) {
			t.Fatalf("a package whose new signature fails: %v", err)
		}
		if err := checkNewSignature(e.svc.Verifier, signed, "/Doc_0/Signs/Sign_9/Signature.xml"); err == nil {
			t.Fatal("a package without the new signature passed")
		}
		if err := checkNewSignature(e.svc.Verifier, []byte("not a package"), path); err == nil {
			t.Fatal("garbage passed")
		}
	})
	t.Run("forced over a failing signature", func(t *testing.T) {
		out := signedOFD(t, "forced", e.signOFD(signerKey, with(good, "force", "true"), regPIN, regIDHolder, tampered))
		rep, err := e.svc.Verifier.VerifyOFD(out, ofd.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Signatures) != 2 || rep.Signatures[0].Indication != verifier.TotalFailed || rep.Signatures[1].Indication != verifier.TotalPassed {
			t.Fatalf("forced signing: %+v", rep.Signatures)
		}
	})
	t.Run("Signatures.xml protected refuses a later signature", func(t *testing.T) {
		out := signedOFD(t, "protected", e.signOFD(signerKey, with(good, "protect_signatures", "true"), regPIN, regIDHolder, doc))
		e.checkSignedOFD(t, out, 1)
		wantOFDRefusal(t, "a second signature", e.signOFD(signerKey, good, regPIN, regIDHolder, out), errs.WrongState)
	})
	t.Run("a refused placement leaves the approval", func(t *testing.T) {
		d := sm3.Sum(doc)
		var use idAnswer
		e.must(http.StatusCreated, oa, "POST", "/v1/seals/"+official+"/use-requests", useRequest{Digests: [][]byte{d[:]}}, &use)
		e.must(http.StatusOK, reviewer, "POST", "/v1/use-requests/"+use.ID+"/approve", approveUseRequest{TTLSeconds: 600}, nil)
		q := with(ofdPlace(official, 1, 100, 100), "approval", use.ID)
		wantOFDRefusal(t, "page out of range", e.signOFD(oa, with(q, "page", "9"), regPIN, "", doc), errs.InvalidInput)
		wantOFDRefusal(t, "a document with a failing signature", e.signOFD(oa, q, regPIN, "", tampered), errs.WrongState)
		other := rezip(t, doc, func(_ string, b []byte) []byte { return b }, nil) // the same files in other bytes
		wantOFDRefusal(t, "a document not approved", e.signOFD(oa, q, regPIN, "", other), errs.DigestNotApproved)
		e.checkSignedOFD(t, signedOFD(t, "under the approval", e.signOFD(oa, q, regPIN, "", doc)), 1)
	})
}
