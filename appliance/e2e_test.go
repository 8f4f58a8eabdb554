package appliance

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/verifier"
)

// e2e is an appliance opened from a configuration on a fresh data directory, bootstrapped,
// and served on a loopback port, with everything it logs captured.
type e2e struct {
	t      *testing.T
	url    string
	admin  string
	logs   *syncBuffer
	bodies *syncBuffer // every answer body, for the secrets check
	svc    *Services
	srv    *Server
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startE2E(t *testing.T, cfg *Config) *e2e {
	t.Helper()
	e := &e2e{t: t, logs: &syncBuffer{}, bodies: &syncBuffer{}}
	lg := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := OpenWith(context.Background(), cfg, OpenOptions{Logger: lg})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	path, err := Bootstrap(context.Background(), svc, cfg.Data.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if path != "" {
		key, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		e.admin = strings.TrimSpace(string(key))
	}
	srv, err := NewServer(svc, cfg.Server)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.url = "http://" + ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() { e.stop() })
	return e
}

func (e *e2e) stop() {
	if e.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.srv.Shutdown(ctx)
	e.svc.Close()
	e.srv = nil
}

// call makes one request with key (none when empty) and decodes a JSON answer into out.
func (e *e2e) call(key, method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
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
	e.bodies.Write(b)
	if out != nil && len(b) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// must is call that fails the test unless the status is want.
func (e *e2e) must(want int, key, method, path string, body any, out any) {
	e.t.Helper()
	var raw json.RawMessage
	if got := e.call(key, method, path, body, &raw); got != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatal(err)
		}
	}
}

// key makes an API key through the admin route.
func (e *e2e) key(name string, roles ...registry.Role) string {
	e.t.Helper()
	var k KeyAnswer
	e.must(http.StatusCreated, e.admin, "POST", "/v1/keys", KeyRequest{Name: name, Roles: roles}, &k)
	return k.Key
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// TestWalkThroughOverHTTP is the README's walk-through on a real loopback port, on the
// embedded default opened from its configuration: keys are made, a personal seal is applied
// for, approved, made and issued, its seal and picture read, a digest signed, the signature
// verified, the seal revoked, the signature verified again (the report names the revocation,
// the audit log proves the signature older), and signing under the revoked seal refused. The
// logs and answers of the whole run hold no secret.
func TestWalkThroughOverHTTP(t *testing.T) {
	cfg := testConfig(t)
	e := startE2E(t, cfg)
	if e.admin == "" {
		t.Fatal("no admin key was bootstrapped")
	}
	applicant := e.key("window-clerk", registry.RoleApplicant)
	reviewer := e.key("reviewer-li", registry.RoleReviewer)
	maker := e.key("maker-chen", registry.RoleMaker)
	signerKey := e.key("licence-system", registry.RoleSigner)
	verifierKey := e.key("other-dept", RoleVerifier)

	var id idAnswer
	e.must(http.StatusCreated, applicant, "POST", "/v1/applications", regApplication(registry.Personal, ""), &id)
	e.must(http.StatusOK, reviewer, "POST", "/v1/applications/"+id.ID+"/approve", nil, nil)
	var s sealView
	e.must(http.StatusCreated, maker, "POST", "/v1/applications/"+id.ID+"/make", pinRequest{PIN: regPIN}, &s)
	e.must(http.StatusOK, maker, "POST", "/v1/seals/"+s.Code+"/issue", nil, &s)
	if s.Status != registry.StatusActive {
		t.Fatalf("seal %s is %s after issue", s.Code, s.Status)
	}
	var got sealView
	e.must(http.StatusOK, verifierKey, "GET", "/v1/seals/"+s.Code, nil, &got)
	if got.Code != s.Code || len(got.ESL) == 0 {
		t.Fatalf("seal read back: %+v", got.Code)
	}
	if st := e.call(verifierKey, "GET", "/v1/seals/"+s.Code+"/image.png", nil, nil); st != http.StatusOK {
		t.Fatalf("picture: %d", st)
	}

	doc := []byte("电子营业执照 2026-0001")
	d := sm3.Sum(doc)
	var sig signAnswer
	e.must(http.StatusOK, signerKey, "POST", "/v1/sign", signRequest{Seal: s.Code, PIN: regPIN, PersonID: regIDHolder,
		Digest: d[:], PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml"}, &sig)
	verify := func() verifier.SignatureReport {
		var rep verifier.SignatureReport
		e.must(http.StatusOK, verifierKey, "POST", "/v1/verify", VerifyRequest{
			Signature: base64.StdEncoding.EncodeToString(sig.Signature), Data: base64.StdEncoding.EncodeToString(doc)}, &rep)
		return rep
	}
	if rep := verify(); rep.Indication != verifier.TotalPassed {
		t.Fatalf("the signature: %s/%s %+v", rep.Indication, rep.SubIndication, rep.Checks)
	}

	time.Sleep(1100 * time.Millisecond) // the revocation a second after the signing time
	e.must(http.StatusOK, e.admin, "POST", "/v1/seals/"+s.Code+"/revoke", statusRequest{Reason: "the holder left the unit", CRLReason: "affiliation-changed"}, &s)
	rep := verify()
	var revocation, proof verifier.Check
	for _, c := range rep.Checks {
		switch c.Name {
		case verifier.CheckRevocation:
			revocation = c
		case verifier.CheckTimeProof:
			proof = c
		}
	}
	if rep.Indication != verifier.TotalPassed || !strings.Contains(revocation.Detail, "was revoked at") || proof.Status != verifier.Passed {
		t.Fatalf("after the revocation: %s/%s, revocation %q, time proof %s %q", rep.Indication, rep.SubIndication, revocation.Detail, proof.Status, proof.Detail)
	}
	var refusal apiError
	if st := e.call(signerKey, "POST", "/v1/sign", signRequest{Seal: s.Code, PIN: regPIN, PersonID: regIDHolder, Digest: d[:]}, &refusal); st != http.StatusConflict || refusal.Code != "SEAL_REVOKED" {
		t.Fatalf("signing under the revoked seal: %d %+v", st, refusal)
	}
	// The CRL names the signer certificate now.
	if st := e.call("", "GET", "/v1/pki/crl", nil, nil); st != http.StatusOK {
		t.Fatalf("CRL: %d", st)
	}

	e.stop()
	kek, err := os.ReadFile(filepath.Join(cfg.Data.Dir, "kek"))
	if err != nil || len(bytes.TrimSpace(kek)) == 0 {
		t.Fatalf("the KEK file of the embedded default: %v", err)
	}
	for _, secret := range []string{string(bytes.TrimSpace(kek))} {
		if strings.Contains(e.logs.String(), secret) || strings.Contains(e.bodies.String(), secret) {
			t.Error("the KEK is in a log line or an answer")
		}
	}
	for _, secret := range []string{e.admin, applicant, reviewer, maker, signerKey, verifierKey, regPIN, regIDHolder} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("a secret is in the logs: %.8s…", secret)
		}
	}
	for _, secret := range []string{e.admin, applicant, reviewer, maker, signerKey, regPIN, regIDHolder} {
		// verifierKey was answered once, when made; the other keys too: look past those answers.
		if strings.Count(e.bodies.String(), secret) > 1 {
			t.Errorf("a secret is in an answer beyond the one that made it: %.8s…", secret)
		}
	}
}

// TestRestartKeepsEverything: a second start on the same data directory neither bootstraps
// again nor writes a new admin key; the keys, the seal and the audit chain are there.
func TestRestartKeepsEverything(t *testing.T) {
	cfg := testConfig(t)
	e := startE2E(t, cfg)
	signerKey := e.key("licence-system", registry.RoleSigner)
	applicant := e.key("window-clerk", registry.RoleApplicant)
	var id idAnswer
	e.must(http.StatusCreated, applicant, "POST", "/v1/applications", regApplication(registry.Personal, ""), &id)
	admin := e.admin
	before, err := os.ReadFile(cfg.Data.Dir + "/" + AdminKeyFileName)
	if err != nil {
		t.Fatal(err)
	}
	var keys KeyList
	e.must(http.StatusOK, admin, "GET", "/v1/keys", nil, &keys)
	e.stop()

	e2 := startE2E(t, cfg)
	if e2.admin != "" {
		t.Fatal("a second start bootstrapped a new admin key")
	}
	after, err := os.ReadFile(cfg.Data.Dir + "/" + AdminKeyFileName)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("admin.key changed on restart: %v", err)
	}
	e2.admin = admin
	var keys2 KeyList
	e2.must(http.StatusOK, admin, "GET", "/v1/keys", nil, &keys2)
	if len(keys2.Keys) != len(keys.Keys) {
		t.Fatalf("keys after restart: %d, before %d", len(keys2.Keys), len(keys.Keys))
	}
	var refusal apiError
	if st := e2.call(signerKey, "GET", "/v1/keys", nil, &refusal); st != http.StatusForbidden {
		t.Fatalf("the signer key after restart on an admin route: %d %+v", st, refusal)
	}
	var app applicationView
	e2.must(http.StatusOK, applicant, "GET", "/v1/applications/"+id.ID, nil, &app)
	var audit AuditVerification
	e2.must(http.StatusOK, admin, "GET", "/v1/audit/verify", nil, &audit)
	if !audit.OK || audit.Records == 0 {
		t.Fatalf("the audit chain after restart: %+v", audit)
	}
}
