package appliance

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/verifier"
)

// TestRegistryWalkThrough goes the whole way through the routes: apply, approve, make,
// issue, read the seal, its .esl, its picture and history, ask for and grant a use, sign a
// digest (the signature verifies), revoke, and be refused the next signing.
func TestRegistryWalkThrough(t *testing.T) {
	e := newRegEnv(t)
	e.file(t, regPhysical)

	a := e.do(t, regApplicant, "POST", "/v1/applications", "", regApplication(registry.LegalName, regPhysical))
	var id idAnswer
	a.decode(t, &id)
	if a.status != http.StatusCreated || id.ID == "" {
		t.Fatalf("apply: %d %s", a.status, a.body)
	}
	var app applicationView
	e.do(t, regApplicant, "GET", "/v1/applications/{id}", "", nil, "id", id.ID).decode(t, &app)
	if app.Status != registry.AppSubmitted || app.Handler == nil || app.Handler.Masked == "" {
		t.Fatalf("application: %+v", app)
	}
	var list applicationList
	e.do(t, regReviewer, "GET", "/v1/applications", "status=submitted", nil).decode(t, &list)
	if len(list.Applications) != 1 || list.Applications[0].ID != id.ID {
		t.Fatalf("submitted applications: %+v", list)
	}
	e.do(t, regReviewer, "POST", "/v1/applications/{id}/approve", "", nil, "id", id.ID).decode(t, &app)
	if app.Status != registry.AppApproved || app.Reviewer != regReviewer.Name {
		t.Fatalf("approved application: %+v", app)
	}

	var s sealView
	a = e.do(t, regMaker, "POST", "/v1/applications/{id}/make", "", map[string]string{"pin": regPIN}, "id", id.ID)
	a.decode(t, &s)
	if a.status != http.StatusCreated || s.Status != registry.StatusMade || s.Code != regPhysical || len(s.ESL) == 0 {
		t.Fatalf("make: %d, seal %s %s", a.status, s.Code, s.Status)
	}
	if rep, ind := e.verifier(t).VerifySeal(s.ESL); ind != verifier.TotalPassed {
		t.Fatalf("the seal made: %s %+v", ind, rep.Checks)
	}
	e.do(t, regMaker, "POST", "/v1/seals/{code}/issue", "", nil, "code", s.Code).decode(t, &s)
	if s.Status != registry.StatusActive {
		t.Fatalf("issued seal is %s", s.Status)
	}

	var got sealView
	e.do(t, regVerifier, "GET", "/v1/seals/{code}", "", nil, "code", s.Code).decode(t, &got)
	if got.Code != s.Code || !bytes.Equal(got.ESL, s.ESL) || len(got.Certificate) == 0 {
		t.Fatalf("seal read: %+v", got.Code)
	}
	esl := e.do(t, regVerifier, "GET", "/v1/seals/{code}/esl", "", nil, "code", s.Code)
	if esl.err != nil || esl.contentType != "application/octet-stream" || !bytes.Equal(esl.body, s.ESL) {
		t.Fatalf("esl: %v %q, %d bytes", esl.err, esl.contentType, len(esl.body))
	}
	png := e.do(t, regVerifier, "GET", "/v1/seals/{code}/image.png", "", nil, "code", s.Code)
	if png.err != nil || png.contentType != "image/png" || !bytes.HasPrefix(png.body, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("picture: %v %q", png.err, png.contentType)
	}
	regWant(t, "SVG of a PNG picture", e.do(t, regVerifier, "GET", "/v1/seals/{code}/image.svg", "", nil, "code", s.Code), errs.NotFound)
	var seals sealList
	e.do(t, regVerifier, "GET", "/v1/seals", "org="+regCodeCompany+"&status=active&kind=legal-name", nil).decode(t, &seals)
	if len(seals.Seals) != 1 || seals.Seals[0].Code != s.Code || seals.Seals[0].ESL != nil {
		t.Fatalf("seals of the unit: %+v", seals)
	}

	// A use of the official seal, asked for by the OA system whose key names only this seal.
	oa := regOA
	oa.Seals = []string{s.Code}
	doc := []byte("contract 2026-001")
	d := sm3.Sum(doc)
	var use idAnswer
	e.do(t, oa, "POST", "/v1/seals/{code}/use-requests", "", useRequest{Digests: [][]byte{d[:]}, Purpose: "contract"}, "code", s.Code).decode(t, &use)
	var approval registry.UseApproval
	e.do(t, regReviewer, "POST", "/v1/use-requests/{id}/approve", "", approveUseRequest{TTLSeconds: 600}, "id", use.ID).decode(t, &approval)
	if approval.Status != registry.UseApproved || approval.Approver != regReviewer.Name {
		t.Fatalf("approval: %+v", approval)
	}
	var sig signAnswer
	e.do(t, oa, "POST", "/v1/sign", "", map[string]any{"seal": s.Code, "digest": d[:], "pin": regPIN, "approval": use.ID,
		"version": 4, "property_info": "/Doc_0/Signs/Sign_0/Signature.xml"}).decode(t, &sig)
	if rep := e.verifier(t).VerifySignature(sig.Signature, doc); rep.Indication != verifier.TotalPassed {
		t.Fatalf("signature: %s %+v", rep.Indication, rep.Checks)
	}
	e.do(t, oa, "GET", "/v1/use-requests/{id}", "", nil, "id", use.ID).decode(t, &approval)
	if approval.Status != registry.UseUsed {
		t.Fatalf("approval after signing is %s", approval.Status)
	}

	e.do(t, regAdmin, "POST", "/v1/seals/{code}/revoke", "", statusRequest{Reason: "the company is dissolved", CRLReason: "cessation-of-operation"}, "code", s.Code).decode(t, &s)
	if s.Status != registry.StatusRevoked {
		t.Fatalf("revoked seal is %s", s.Status)
	}
	var h historyAnswer
	e.do(t, regVerifier, "GET", "/v1/seals/{code}/history", "", nil, "code", s.Code).decode(t, &h)
	var steps []string
	for _, c := range h.History {
		steps = append(steps, c.Status)
	}
	if !slices.Equal(steps, []string{"made", "active", "revoked"}) || h.History[2].Reason != "the company is dissolved" {
		t.Fatalf("history: %+v", h.History)
	}
	// Its certificate is on the CRL now: the signature no longer passes without a proof
	// of existence.
	if rep := e.verifier(t).VerifySignature(sig.Signature, doc); rep.Indication == verifier.TotalPassed {
		t.Fatalf("a signature of a revoked seal passes: %+v", rep.Checks)
	}
	regWant(t, "use request of a revoked seal",
		e.do(t, oa, "POST", "/v1/seals/{code}/use-requests", "", useRequest{Digests: [][]byte{d[:]}}, "code", s.Code), errs.SealRevoked)
}

// TestRegistryBusinessAndChange makes a business entity's seals from its registration data,
// suspends, resumes and changes one, and sets a PIN.
func TestRegistryBusinessAndChange(t *testing.T) {
	e := newRegEnv(t)
	var list sealList
	a := e.do(t, regMaker, "POST", "/v1/business-seals", "", map[string]any{
		"unit":  map[string]string{"name": "海南新办商贸有限公司", "credit_code": regCodeCompany},
		"kinds": []string{"legal-name", "contract"}, "valid_to": "2030-01-01T00:00:00Z", "pin": regPIN})
	a.decode(t, &list)
	if a.status != http.StatusCreated || len(list.Seals) != 2 {
		t.Fatalf("business seals: %d, %d seals", a.status, len(list.Seals))
	}
	v := e.verifier(t)
	for _, s := range list.Seals {
		if s.Status != registry.StatusActive || !s.Generated || s.PictureType != "PNG" {
			t.Fatalf("business seal %s: %s, generated %v, %s", s.Code, s.Status, s.Generated, s.PictureType)
		}
		if rep, ind := v.VerifySeal(s.ESL); ind != verifier.TotalPassed {
			t.Fatalf("business seal %s: %s %+v", s.Code, ind, rep.Checks)
		}
	}
	code := list.Seals[1].Code
	var s sealView
	order := []byte("%PDF-1.7 order of the audit office")
	e.do(t, regAdmin, "POST", "/v1/seals/{code}/suspend", "", statusRequest{Reason: "audit",
		Materials: []materialRequest{{Name: "audit order", Type: "application/pdf", Data: order}}}, "code", code).decode(t, &s)
	sum := sm3.Sum(order)
	if last := s.History[len(s.History)-1]; s.Status != registry.StatusSuspended || len(last.Materials) != 1 ||
		last.Materials[0].SM3 != hex.EncodeToString(sum[:]) || last.Materials[0].Size != len(order) {
		t.Fatalf("suspended seal: %s, history %+v", s.Status, s.History)
	}
	regWant(t, "suspend twice", e.do(t, regAdmin, "POST", "/v1/seals/{code}/suspend", "", statusRequest{Reason: "audit"}, "code", code), errs.SealSuspended)
	e.do(t, regAdmin, "POST", "/v1/seals/{code}/resume", "", statusRequest{Reason: "audit done"}, "code", code).decode(t, &s)
	if s.Status != registry.StatusActive {
		t.Fatalf("resumed seal is %s", s.Status)
	}
	var pa pinAnswer
	e.do(t, regAdmin, "POST", "/v1/seals/{code}/pin", "", pinRequest{PIN: "135790"}, "code", code).decode(t, &pa)
	if !pa.PINSet || pa.Seal != code {
		t.Fatalf("pin: %+v", pa)
	}
	var ns sealView
	a = e.do(t, regAdmin, "POST", "/v1/seals/{code}/change", "", map[string]any{"reason": "name",
		"unit": map[string]string{"name": "海南更名商贸有限公司", "credit_code": regCodeCompany}, "pin": regPIN}, "code", code)
	a.decode(t, &ns)
	if a.status != http.StatusCreated || ns.Previous != code || ns.Status != registry.StatusMade || !strings.HasPrefix(ns.Name, "海南更名商贸有限公司") {
		t.Fatalf("change: %d %+v", a.status, ns)
	}
	e.do(t, regVerifier, "GET", "/v1/seals/{code}", "", nil, "code", code).decode(t, &s)
	if s.Status != registry.StatusVoided || s.Next != ns.Code {
		t.Fatalf("the old version: %s, next %q", s.Status, s.Next)
	}
}

// TestRegistryReject rejects an application with a reason its applicant reads; it is then
// not made.
func TestRegistryReject(t *testing.T) {
	e := newRegEnv(t)
	var id idAnswer
	e.do(t, regApplicant, "POST", "/v1/applications", "", regApplication(registry.Personal, "")).decode(t, &id)
	var app applicationView
	e.do(t, regReviewer, "POST", "/v1/applications/{id}/reject", "", reasonRequest{Reason: "the licence is out of date"}, "id", id.ID).decode(t, &app)
	if app.Status != registry.AppRejected {
		t.Fatalf("rejected application is %s", app.Status)
	}
	e.do(t, regApplicant, "GET", "/v1/applications/{id}", "", nil, "id", id.ID).decode(t, &app)
	if app.Reason != "the licence is out of date" || app.Reviewer != regReviewer.Name {
		t.Fatalf("the applicant reads %+v", app)
	}
	regWant(t, "make a rejected application", e.do(t, regMaker, "POST", "/v1/applications/{id}/make", "", pinRequest{PIN: regPIN}, "id", id.ID), errs.WrongState)
	regWant(t, "approve a rejected application", e.do(t, regReviewer, "POST", "/v1/applications/{id}/approve", "", nil, "id", id.ID), errs.WrongState)
}

// TestRegistryLists pages through seals and applications and keeps an applicant to its own
// applications.
func TestRegistryLists(t *testing.T) {
	e := newRegEnv(t)
	var list sealList
	e.do(t, regMaker, "POST", "/v1/business-seals", "", map[string]any{
		"unit":     map[string]string{"name": "海南新办商贸有限公司", "credit_code": regCodeCompany},
		"valid_to": "2030-01-01T00:00:00Z", "pin": regPIN}).decode(t, &list)
	if len(list.Seals) != 4 {
		t.Fatalf("%d default business seals, want 4", len(list.Seals))
	}
	var codes []string
	after := ""
	for range 4 {
		var p sealList
		e.do(t, regVerifier, "GET", "/v1/seals", "limit=3&after="+after, nil).decode(t, &p)
		for _, s := range p.Seals {
			codes = append(codes, s.Code)
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if len(codes) != 4 || !slices.IsSorted(codes) {
		t.Fatalf("paged seals: %v", codes)
	}
	var kinds sealList
	e.do(t, regVerifier, "GET", "/v1/seals", "kind=invoice", nil).decode(t, &kinds)
	if len(kinds.Seals) != 1 || kinds.Seals[0].Kind != registry.Invoice {
		t.Fatalf("invoice seals: %+v", kinds.Seals)
	}

	var mine idAnswer
	e.do(t, regApplicant, "POST", "/v1/applications", "", regApplication(registry.Personal, "")).decode(t, &mine)
	other := registry.Actor{Name: "applicant-2", Roles: []registry.Role{registry.RoleApplicant}}
	var apps applicationList
	e.do(t, other, "GET", "/v1/applications", "", nil).decode(t, &apps)
	if len(apps.Applications) != 0 {
		t.Fatalf("another applicant sees %d applications", len(apps.Applications))
	}
	regWant(t, "another applicant's application", e.do(t, other, "GET", "/v1/applications/{id}", "", nil, "id", mine.ID), errs.WrongRole)
	e.do(t, regReviewer, "GET", "/v1/applications", "", nil).decode(t, &apps)
	// The business seals' applications and this one.
	if len(apps.Applications) != 5 {
		t.Fatalf("the reviewer sees %d applications, want 5", len(apps.Applications))
	}
}

// TestRegistryRefusals checks each refusal of the registry routes and its code.
func TestRegistryRefusals(t *testing.T) {
	e := newRegEnv(t)
	s := e.made(t, registry.Personal, "")
	var id idAnswer
	e.do(t, regApplicant, "POST", "/v1/applications", "", regApplication(registry.Personal, "")).decode(t, &id)
	unknownField := regApplication(registry.Personal, "")
	unknownField["colour"] = "red"
	noHolder := regApplication(registry.Personal, "")
	delete(noHolder, "holder")
	badHandler := regApplication(registry.Personal, "")
	badHandler["handler"] = map[string]string{"name": "王经办", "person_id": "110105194912310021"}
	for _, c := range []struct {
		name    string
		actor   registry.Actor
		method  string
		pattern string
		query   string
		body    any
		params  []string
		want    errs.Kind
	}{
		{"malformed JSON", regApplicant, "POST", "/v1/applications", "", `{"kind": "personal",`, nil, errs.InvalidInput},
		{"unknown field", regApplicant, "POST", "/v1/applications", "", unknownField, nil, errs.InvalidInput},
		{"two JSON values", regApplicant, "POST", "/v1/applications", "", `{} {}`, nil, errs.InvalidInput},
		{"empty body", regApplicant, "POST", "/v1/applications", "", nil, nil, errs.InvalidInput},
		{"wrong type", regApplicant, "POST", "/v1/applications", "", `{"kind": 7}`, nil, errs.InvalidInput},
		{"no holder", regApplicant, "POST", "/v1/applications", "", noHolder, nil, errs.InvalidInput},
		{"bad identity number", regApplicant, "POST", "/v1/applications", "", badHandler, nil, errs.InvalidIDNumber},
		{"reviewer applies", regReviewer, "POST", "/v1/applications", "", regApplication(registry.Personal, ""), nil, errs.WrongRole},
		{"applicant approves", regApplicant, "POST", "/v1/applications/{id}/approve", "", nil, []string{"id", id.ID}, errs.WrongRole},
		{"reviewer is applicant", registry.Actor{Name: regApplicant.Name, Roles: []registry.Role{registry.RoleReviewer}},
			"POST", "/v1/applications/{id}/approve", "", nil, []string{"id", id.ID}, errs.SamePerson},
		{"approve with unknown field", regReviewer, "POST", "/v1/applications/{id}/approve", "", `{"note": 1}`, []string{"id", id.ID}, errs.InvalidInput},
		{"reject without reason", regReviewer, "POST", "/v1/applications/{id}/reject", "", `{}`, []string{"id", id.ID}, errs.InvalidInput},
		{"make before approval", regMaker, "POST", "/v1/applications/{id}/make", "", pinRequest{PIN: regPIN}, []string{"id", id.ID}, errs.WrongState},
		{"make without PIN", regMaker, "POST", "/v1/applications/{id}/make", "", `{}`, []string{"id", id.ID}, errs.InvalidInput},
		{"signer makes", regOA, "POST", "/v1/applications/{id}/make", "", pinRequest{PIN: regPIN}, []string{"id", id.ID}, errs.WrongRole},
		{"unknown application", regReviewer, "GET", "/v1/applications/{id}", "", nil, []string{"id", "A99999999"}, errs.NotFound},
		{"signer lists applications", regHolder, "GET", "/v1/applications", "", nil, nil, errs.WrongRole},
		{"verifier reads an application", regVerifier, "GET", "/v1/applications/{id}", "", nil, []string{"id", id.ID}, errs.WrongRole},
		{"limit too big", regReviewer, "GET", "/v1/applications", "limit=5000", nil, nil, errs.InvalidInput},
		{"limit not a number", regVerifier, "GET", "/v1/seals", "limit=ten", nil, nil, errs.InvalidInput},
		{"unknown kind", regVerifier, "GET", "/v1/seals", "kind=golden", nil, nil, errs.InvalidInput},
		{"unknown seal", regVerifier, "GET", "/v1/seals/{code}", "", nil, []string{"code", "460100099999999"}, errs.NotFound},
		{"esl of unknown seal", regVerifier, "GET", "/v1/seals/{code}/esl", "", nil, []string{"code", "X1"}, errs.NotFound},
		{"issue twice", regMaker, "POST", "/v1/seals/{code}/issue", "", nil, []string{"code", s.Code}, errs.WrongState},
		{"maker revokes", regMaker, "POST", "/v1/seals/{code}/revoke", "", statusRequest{Reason: "x"}, []string{"code", s.Code}, errs.WrongRole},
		{"revoke without reason", regAdmin, "POST", "/v1/seals/{code}/revoke", "", statusRequest{}, []string{"code", s.Code}, errs.InvalidInput},
		{"unknown CRL reason", regAdmin, "POST", "/v1/seals/{code}/revoke", "", statusRequest{Reason: "x", CRLReason: "boredom"}, []string{"code", s.Code}, errs.InvalidInput},
		{"CRL reason on suspension", regAdmin, "POST", "/v1/seals/{code}/suspend", "", statusRequest{Reason: "x", CRLReason: "superseded"}, []string{"code", s.Code}, errs.InvalidInput},
		{"resume an active seal", regAdmin, "POST", "/v1/seals/{code}/resume", "", statusRequest{Reason: "x"}, []string{"code", s.Code}, errs.WrongState},
		{"signer sets a PIN", regOA, "POST", "/v1/seals/{code}/pin", "", pinRequest{PIN: "1"}, []string{"code", s.Code}, errs.WrongRole},
		{"empty PIN", regAdmin, "POST", "/v1/seals/{code}/pin", "", pinRequest{}, []string{"code", s.Code}, errs.InvalidInput},
		{"unknown change reason", regAdmin, "POST", "/v1/seals/{code}/change", "", changeRequest{Reason: "whim", PIN: regPIN}, []string{"code", s.Code}, errs.InvalidInput},
		{"use request of a personal seal", regOA, "POST", "/v1/seals/{code}/use-requests", "", useRequest{Digests: [][]byte{make([]byte, 32)}}, []string{"code", s.Code}, errs.InvalidInput},
		{"use request of a seal not allowed", registry.Actor{Name: "oa-2", Roles: []registry.Role{registry.RoleSigner}, Seals: []string{"X1"}},
			"POST", "/v1/seals/{code}/use-requests", "", useRequest{Digests: [][]byte{make([]byte, 32)}}, []string{"code", s.Code}, errs.WrongRole},
		{"use request with a short digest", regOA, "POST", "/v1/seals/{code}/use-requests", "", useRequest{Digests: [][]byte{make([]byte, 20)}}, []string{"code", s.Code}, errs.InvalidInput},
		{"approve unknown use request", regReviewer, "POST", "/v1/use-requests/{id}/approve", "", nil, []string{"id", "U99999999"}, errs.NotFound},
		{"negative TTL", regReviewer, "POST", "/v1/use-requests/{id}/approve", "", approveUseRequest{TTLSeconds: -1}, []string{"id", "U00000001"}, errs.InvalidInput},
		{"business seals by a reviewer", regReviewer, "POST", "/v1/business-seals", "", businessRequest{PIN: regPIN}, nil, errs.WrongRole},
	} {
		t.Run(c.name, func(t *testing.T) {
			regWant(t, c.name, e.do(t, c.actor, c.method, c.pattern, c.query, c.body, c.params...), c.want)
		})
	}
}

// TestRegistryRouteTable checks the routes' roles and idempotency, which the server
// enforces before a handler runs.
func TestRegistryRouteTable(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range append(registryRoutes(), signRoutes()...) {
		key := r.Method + " " + r.Path
		if seen[key] {
			t.Errorf("route %s twice", key)
		}
		seen[key] = true
		if r.Handle == nil || r.Summary == "" || r.Anonymous != KeyRequired {
			t.Errorf("route %s: handler, summary or key policy missing", key)
		}
		lifecycle := r.Method == http.MethodPost && !strings.HasPrefix(r.Path, "/v1/sign")
		if r.Idempotent != lifecycle {
			t.Errorf("route %s: idempotent %v", key, r.Idempotent)
		}
		if r.Method == http.MethodPost && len(r.Roles) == 0 {
			t.Errorf("route %s: a POST open to every role", key)
		}
	}
	for key, want := range map[string][]registry.Role{
		"POST /v1/applications":              {registry.RoleApplicant},
		"POST /v1/applications/{id}/approve": {registry.RoleReviewer},
		"POST /v1/applications/{id}/reject":  {registry.RoleReviewer},
		"POST /v1/applications/{id}/make":    {registry.RoleMaker},
		"POST /v1/seals/{code}/issue":        {registry.RoleMaker},
		"POST /v1/business-seals":            {registry.RoleMaker},
		"POST /v1/seals/{code}/revoke":       {registry.RoleAdmin},
		"POST /v1/seals/{code}/change":       {registry.RoleAdmin},
		"POST /v1/seals/{code}/pin":          {registry.RoleAdmin},
		"POST /v1/seals/{code}/use-requests": {registry.RoleSigner, registry.RoleApplicant},
		"POST /v1/use-requests/{id}/approve": {registry.RoleReviewer},
		"POST /v1/sign":                      {registry.RoleSigner},
		"POST /v1/sign/batch":                {registry.RoleSigner},
		"GET /v1/seals/{code}/image.png":     nil,
		"GET /v1/applications":               appReaderRoles,
		"GET /v1/seals/{code}/history":       nil,
		"GET /v1/use-requests/{id}":          {registry.RoleSigner, registry.RoleApplicant, registry.RoleReviewer},
		"POST /v1/seals/{code}/suspend":      {registry.RoleAdmin},
		"POST /v1/seals/{code}/resume":       {registry.RoleAdmin},
		"GET /v1/seals/{code}/esl":           nil,
		"GET /v1/seals/{code}/image.svg":     nil,
		"GET /v1/applications/{id}":          appReaderRoles,
		"GET /v1/seals":                      nil,
		"GET /v1/seals/{code}":               nil,
	} {
		method, path, _ := strings.Cut(key, " ")
		if got := regFindRoute(t, method, path).Roles; !slices.Equal(got, want) {
			t.Errorf("route %s: roles %v, want %v", key, got, want)
		}
	}
}

// regSyncBuffer is a buffer safe for the loggers of several goroutines.
type regSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *regSyncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *regSyncBuffer) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

// TestRegistryNoSecrets goes through applying, making, signing (rightly and wrongly) and
// setting a PIN, and finds no PIN and no identity number in any answer, refusal or log line.
func TestRegistryNoSecrets(t *testing.T) {
	var logs regSyncBuffer
	e := newRegEnvLogged(t, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	badID := "110105194912310021" // the check character is wrong
	newPIN := "135790"
	var seen []string
	keep := func(a regAnswer) regAnswer {
		seen = append(seen, string(a.body))
		if a.err != nil {
			seen = append(seen, a.err.Error())
		}
		return a
	}
	s := e.made(t, registry.Personal, "")
	bad := regApplication(registry.Personal, "")
	bad["holder"] = map[string]string{"name": "张三", "person_id": badID}
	regWant(t, "bad identity number", keep(e.do(t, regApplicant, "POST", "/v1/applications", "", bad)), errs.InvalidIDNumber)
	var id idAnswer
	keep(e.do(t, regApplicant, "POST", "/v1/applications", "", regApplication(registry.Personal, ""))).decode(t, &id)
	keep(e.do(t, regReviewer, "GET", "/v1/applications/{id}", "", nil, "id", id.ID))
	keep(e.do(t, regReviewer, "GET", "/v1/applications", "", nil))
	keep(e.do(t, regVerifier, "GET", "/v1/seals/{code}", "", nil, "code", s.Code))
	keep(e.do(t, regVerifier, "GET", "/v1/seals", "holder="+regIDHolder, nil))
	d := sm3.Sum([]byte("a document"))
	regWant(t, "wrong PIN", keep(e.do(t, regHolder, "POST", "/v1/sign", "", regSign(s.Code, d[:], "wrong-pin-7"))), errs.WrongPIN)
	regWant(t, "another person", keep(e.do(t, regHolder, "POST", "/v1/sign", "",
		map[string]any{"seal": s.Code, "digest": d[:], "pin": regPIN, "person_id": regIDOther})), errs.NotHolder)
	keep(e.do(t, regHolder, "POST", "/v1/sign", "", regSign(s.Code, d[:], regPIN))).decode(t, new(signAnswer))
	keep(e.do(t, regHolder, "POST", "/v1/sign/batch", "", map[string]any{"seal": s.Code, "pin": "wrong-pin-7",
		"person_id": regIDHolder, "items": []signBatchItem{{Digest: base64.StdEncoding.EncodeToString(d[:])}}}))
	keep(e.do(t, regAdmin, "POST", "/v1/seals/{code}/pin", "", pinRequest{PIN: newPIN}, "code", s.Code)).decode(t, new(pinAnswer))
	keep(e.do(t, regHolder, "POST", "/v1/sign/batch", "", map[string]any{"seal": s.Code, "pin": newPIN,
		"person_id": regIDHolder, "items": []signBatchItem{{Digest: base64.StdEncoding.EncodeToString(d[:])}}}))

	seen = append(seen, logs.String())
	if !strings.Contains(logs.String(), s.Code) {
		t.Fatalf("the logs do not name the seal: the capture is not working")
	}
	for _, secret := range []string{regPIN, newPIN, "wrong-pin-7", regIDHolder, regIDHandler, regIDOther, badID} {
		for _, text := range seen {
			if strings.Contains(text, secret) {
				t.Fatalf("%q appears in %.300q", secret, text)
			}
		}
	}
}
