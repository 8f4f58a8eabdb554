package appliance

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/registry"
)

// Limits of the registry's list answers.
const (
	// DefaultListLimit is how many records a list answers when the request names no limit.
	DefaultListLimit = 100
	// MaxListLimit is the most records one list answers; the answer's "next" continues it.
	MaxListLimit = 1000
)

// appReaderRoles may read applications: an applicant reads only its own.
var appReaderRoles = []registry.Role{registry.RoleApplicant, registry.RoleReviewer, registry.RoleMaker, registry.RoleAdmin}

// registryRoutes are the registry routes: applications and their review, the making and
// issuing of seals, queries, changes, suspension, resumption, revocation, PINs and use
// approvals.
func registryRoutes() []Route {
	admin := []registry.Role{registry.RoleAdmin}
	maker := []registry.Role{registry.RoleMaker}
	reviewer := []registry.Role{registry.RoleReviewer}
	return []Route{
		{Method: http.MethodPost, Path: "/v1/applications", Roles: []registry.Role{registry.RoleApplicant}, Idempotent: true,
			Summary: "File an application for a seal (art. 6)", Request: applicationRequest{}, Response: idAnswer{}, Handle: handleApply},
		{Method: http.MethodGet, Path: "/v1/applications", Roles: appReaderRoles,
			Summary: "List applications, by status (?status=&after=&limit=)", Response: applicationList{}, Handle: handleApplications},
		{Method: http.MethodGet, Path: "/v1/applications/{id}", Roles: appReaderRoles,
			Summary: "An application", Response: applicationView{}, Handle: handleApplication},
		{Method: http.MethodPost, Path: "/v1/applications/{id}/approve", Roles: reviewer, Idempotent: true,
			Summary: "Approve an application (art. 8)", Response: applicationView{}, Handle: handleApprove},
		{Method: http.MethodPost, Path: "/v1/applications/{id}/reject", Roles: reviewer, Idempotent: true,
			Summary: "Reject an application with its reason (art. 8)", Request: reasonRequest{}, Response: applicationView{}, Handle: handleReject},
		{Method: http.MethodPost, Path: "/v1/applications/{id}/make", Roles: maker, Idempotent: true,
			Summary: "Make the seal of an approved application (art. 9-14); it is then made, not issued", Request: pinRequest{}, Response: sealView{}, Handle: handleMake},
		{Method: http.MethodPost, Path: "/v1/business-seals", Roles: maker, Idempotent: true,
			Summary: "Make and issue a business entity's seals from its registration data (art. 7)", Request: businessRequest{}, Response: sealList{}, Handle: handleBusiness},
		{Method: http.MethodGet, Path: "/v1/seals", Summary: "List seals (?org=&holder=&kind=&status=&after=&limit=)", Response: sealList{}, Handle: handleSeals},
		{Method: http.MethodGet, Path: "/v1/seals/{code}", Summary: "A seal, with its .esl and signer certificate", Response: sealView{}, Handle: handleSeal},
		{Method: http.MethodGet, Path: "/v1/seals/{code}/esl", Summary: "The seal's .esl (DER SESeal)", RawResponse: "application/octet-stream", Handle: handleESL},
		{Method: http.MethodGet, Path: "/v1/seals/{code}/image.png", Summary: "The seal's picture, when it is a PNG", RawResponse: "image/png", Handle: handleSealImage("PNG", "image/png")},
		{Method: http.MethodGet, Path: "/v1/seals/{code}/image.svg", Summary: "The seal's picture, when it is an SVG", RawResponse: "image/svg+xml", Handle: handleSealImage("SVG", "image/svg+xml")},
		{Method: http.MethodGet, Path: "/v1/seals/{code}/history", Summary: "The seal's status history, oldest first", Response: historyAnswer{}, Handle: handleHistory},
		{Method: http.MethodPost, Path: "/v1/seals/{code}/issue", Roles: maker, Idempotent: true,
			Summary: "Issue a made seal: from then on it signs", Response: sealView{}, Handle: handleIssue},
		{Method: http.MethodPost, Path: "/v1/seals/{code}/change", Roles: admin, Idempotent: true,
			Summary: "Change a seal (art. 19): void it and make a new version", Request: changeRequest{}, Response: sealView{}, Handle: handleChange},
		{Method: http.MethodPost, Path: "/v1/seals/{code}/revoke", Roles: admin, Idempotent: true,
			Summary: "Revoke a seal for good, and its signer certificate (art. 20)", Request: statusRequest{}, Response: sealView{}, Handle: handleSealStatus(statusRevoke)},
		{Method: http.MethodPost, Path: "/v1/seals/{code}/suspend", Roles: admin, Idempotent: true,
			Summary: "Suspend an issued seal", Request: statusRequest{}, Response: sealView{}, Handle: handleSealStatus(statusSuspend)},
		{Method: http.MethodPost, Path: "/v1/seals/{code}/resume", Roles: admin, Idempotent: true,
			Summary: "Resume a suspended seal", Request: statusRequest{}, Response: sealView{}, Handle: handleSealStatus(statusResume)},
		{Method: http.MethodPost, Path: "/v1/seals/{code}/pin", Roles: admin, Idempotent: true,
			Summary: "Set the seal's protection PIN and clear its lock (art. 18)", Request: pinRequest{}, Response: pinAnswer{}, Handle: handleSetPIN},
		{Method: http.MethodPost, Path: "/v1/seals/{code}/use-requests", Roles: []registry.Role{registry.RoleSigner, registry.RoleApplicant}, Idempotent: true,
			Summary: "Ask to use an official seal for the documents of these SM3 digests (art. 16)", Request: useRequest{}, Response: idAnswer{}, Handle: handleRequestUse},
		{Method: http.MethodGet, Path: "/v1/use-requests/{id}", Roles: []registry.Role{registry.RoleSigner, registry.RoleApplicant, registry.RoleReviewer},
			Summary: "A use request or approval", Response: registry.UseApproval{}, Handle: handleUseRequest},
		{Method: http.MethodPost, Path: "/v1/use-requests/{id}/approve", Roles: reviewer, Idempotent: true,
			Summary: "Grant a use request for a time (ttl_seconds; 0: a day)", Request: approveUseRequest{}, Response: registry.UseApproval{}, Handle: handleApproveUse},
	}
}

// personRequest is a person as a request names them; person_id is the identity number,
// never echoed, logged or stored whole.
type personRequest struct {
	Name     string `json:"name"`
	PersonID string `json:"person_id"`
}

func (p *personRequest) person() *registry.Person {
	if p == nil {
		return nil
	}
	return &registry.Person{Name: p.Name, ID: p.PersonID}
}

// materialRequest is a proof material: its content as base64.
type materialRequest struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	Data []byte `json:"data"`
}

func regMaterials(ms []materialRequest) []registry.Material {
	var out []registry.Material
	for _, m := range ms {
		out = append(out, registry.Material{Name: m.Name, Type: m.Type, Data: m.Data})
	}
	return out
}

type applicationRequest struct {
	Kind         registry.Kind     `json:"kind"`
	Unit         registry.Unit     `json:"unit"`
	Holder       *personRequest    `json:"holder,omitempty"`
	Handler      personRequest     `json:"handler"`
	Text         string            `json:"text,omitempty"`
	PhysicalCode string            `json:"physical_code,omitempty"`
	ValidFrom    time.Time         `json:"valid_from,omitzero"`
	ValidTo      time.Time         `json:"valid_to"`
	Scopes       []string          `json:"scopes,omitempty"`
	Version      int               `json:"version,omitempty"`
	Materials    []materialRequest `json:"materials"`
}

type idAnswer struct {
	ID string `json:"id"`
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

// pinRequest carries a seal's protection PIN, which is never echoed or logged.
type pinRequest struct {
	PIN string `json:"pin"`
}

type pinAnswer struct {
	Seal   string `json:"seal"`
	PINSet bool   `json:"pin_set"`
}

type businessRequest struct {
	Unit     registry.Unit   `json:"unit"`
	LegalRep *personRequest  `json:"legal_representative,omitempty"`
	Kinds    []registry.Kind `json:"kinds,omitempty"`
	ValidTo  time.Time       `json:"valid_to"`
	PIN      string          `json:"pin"`
}

type changeRequest struct {
	Reason       string            `json:"reason"`
	Unit         *registry.Unit    `json:"unit,omitempty"`
	Holder       *personRequest    `json:"holder,omitempty"`
	PhysicalCode string            `json:"physical_code,omitempty"`
	ValidTo      time.Time         `json:"valid_to,omitzero"`
	Materials    []materialRequest `json:"materials,omitempty"`
	PIN          string            `json:"pin"`
}

type statusRequest struct {
	Reason string `json:"reason"`
	// CRLReason is the certificate's revocation reason (revoke only): one of crlReasons.
	CRLReason string            `json:"crl_reason,omitempty"`
	Materials []materialRequest `json:"materials,omitempty"`
}

// crlReasons are the revocation reasons a seal's certificate may be revoked for.
var crlReasons = map[string]pki.Reason{
	"":                       pki.Unspecified,
	"unspecified":            pki.Unspecified,
	"key-compromise":         pki.KeyCompromise,
	"affiliation-changed":    pki.AffiliationChanged,
	"superseded":             pki.Superseded,
	"cessation-of-operation": pki.CessationOfOperation,
	"privilege-withdrawn":    pki.PrivilegeWithdrawn,
}

type useRequest struct {
	Digests [][]byte `json:"digests"`
	Purpose string   `json:"purpose,omitempty"`
}

type approveUseRequest struct {
	TTLSeconds int64 `json:"ttl_seconds"`
}

// personView is a person as answers show them: the name and the masked identity number.
type personView struct {
	Name   string `json:"name"`
	Masked string `json:"id_masked"`
}

func viewPerson(id *registry.Identity) *personView {
	if id == nil || (id.Name == "" && id.Masked == "") {
		return nil
	}
	return &personView{Name: id.Name, Masked: id.Masked}
}

// applicationView is an application as answers show it (the identity hashes left out).
type applicationView struct {
	ID           string                 `json:"id"`
	Kind         registry.Kind          `json:"kind"`
	Unit         registry.Unit          `json:"unit"`
	Holder       *personView            `json:"holder,omitempty"`
	Handler      *personView            `json:"handler,omitempty"`
	Text         string                 `json:"text,omitempty"`
	PhysicalCode string                 `json:"physical_code,omitempty"`
	ValidFrom    time.Time              `json:"valid_from,omitzero"`
	ValidTo      time.Time              `json:"valid_to"`
	Scopes       []string               `json:"scopes,omitempty"`
	Version      int                    `json:"version"`
	Materials    []registry.MaterialRef `json:"materials,omitempty"`
	Business     bool                   `json:"business,omitempty"`
	Applicant    string                 `json:"applicant"`
	Submitted    time.Time              `json:"submitted"`
	Status       string                 `json:"status"`
	Reviewer     string                 `json:"reviewer,omitempty"`
	Reviewed     time.Time              `json:"reviewed,omitzero"`
	Reason       string                 `json:"reason,omitempty"`
	SealCode     string                 `json:"seal_code,omitempty"`
}

func viewApplication(a *registry.AppRecord) applicationView {
	return applicationView{ID: a.ID, Kind: a.Kind, Unit: a.Unit, Holder: viewPerson(a.Holder), Handler: viewPerson(&a.Handler),
		Text: a.Text, PhysicalCode: a.PhysicalCode, ValidFrom: a.ValidFrom, ValidTo: a.ValidTo, Scopes: a.Scopes,
		Version: a.Version, Materials: a.Materials, Business: a.Business, Applicant: a.Applicant, Submitted: a.Submitted,
		Status: a.Status, Reviewer: a.Reviewer, Reviewed: a.Reviewed, Reason: a.Reason, SealCode: a.SealCode}
}

type applicationList struct {
	Applications []applicationView `json:"applications"`
	// Next, when set, is the "after" of the next page.
	Next string `json:"next,omitempty"`
}

// sealView is a seal as answers show it. A list leaves out the .esl and the certificate.
type sealView struct {
	Code         string                  `json:"code"`
	Kind         registry.Kind           `json:"kind"`
	Name         string                  `json:"name"`
	Unit         registry.Unit           `json:"unit"`
	Holder       *personView             `json:"holder,omitempty"`
	PhysicalCode string                  `json:"physical_code,omitempty"`
	Scopes       []string                `json:"scopes,omitempty"`
	Version      int                     `json:"version"`
	Application  string                  `json:"application"`
	CertSerial   string                  `json:"cert_serial"`
	Certificate  []byte                  `json:"certificate,omitempty"`
	ESL          []byte                  `json:"esl,omitempty"`
	PictureType  string                  `json:"picture_type"`
	Generated    bool                    `json:"picture_generated,omitempty"`
	ValidFrom    time.Time               `json:"valid_from"`
	ValidTo      time.Time               `json:"valid_to"`
	Status       string                  `json:"status"`
	History      []registry.StatusChange `json:"history"`
	Previous     string                  `json:"previous,omitempty"`
	Next         string                  `json:"next,omitempty"`
}

func viewSeal(s *registry.SealRecord, full bool) sealView {
	v := sealView{Code: s.Code, Kind: s.Kind, Name: s.Name, Unit: s.Unit, Holder: viewPerson(s.Holder),
		PhysicalCode: s.PhysicalCode, Scopes: s.Scopes, Version: s.Version, Application: s.Application,
		CertSerial: s.CertSerial, PictureType: s.PictureType, Generated: s.Generated, ValidFrom: s.ValidFrom,
		ValidTo: s.ValidTo, Status: s.Status, History: s.History, Previous: s.Previous, Next: s.Next}
	if full {
		v.Certificate, v.ESL = s.Certificate, s.ESL
	}
	return v
}

type sealList struct {
	Seals []sealView `json:"seals"`
	// Next, when set, is the "after" of the next page.
	Next string `json:"next,omitempty"`
}

type historyAnswer struct {
	Seal    string                  `json:"seal"`
	History []registry.StatusChange `json:"history"`
}

// regDecodeOptional decodes the body into v when there is one: an absent body is an empty
// request.
func regDecodeOptional(c *Call, v any) error {
	if len(bytes.TrimSpace(c.Body())) == 0 {
		return nil
	}
	return c.Decode(v)
}

// regNeedRole refuses unless the caller holds one of roles (the registry checks the roles of
// its own steps; this guards the reads it leaves open).
func regNeedRole(c *Call, roles ...registry.Role) error {
	a := c.Actor()
	for _, r := range roles {
		if a.Has(r) {
			return nil
		}
	}
	return &Error{Kind: errs.WrongRole, Message: fmt.Sprintf("the caller lacks the role %s", roles[0])}
}

// ownAppsOnly reports whether the caller reads only its own applications: an applicant who is
// not also a reviewer, maker or admin.
func ownAppsOnly(a registry.Actor) bool {
	return !a.Has(registry.RoleReviewer) && !a.Has(registry.RoleMaker) && !a.Has(registry.RoleAdmin)
}

// listPage reads ?after= and ?limit=.
func listPage(c *Call) (after string, limit int, err error) {
	limit = DefaultListLimit
	if s := c.Query("limit"); s != "" {
		n, perr := strconv.Atoi(s)
		if perr != nil || n < 1 || n > MaxListLimit {
			return "", 0, &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("limit must be a number from 1 to %d", MaxListLimit)}
		}
		limit = n
	}
	return c.Query("after"), limit, nil
}

func handleApply(c *Call) error {
	var req applicationRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	id, err := c.Services().Registry.Apply(c.Context(), c.Actor(), registry.Application{Kind: req.Kind, Unit: req.Unit,
		Holder: req.Holder.person(), Handler: *req.Handler.person(), Text: req.Text, PhysicalCode: req.PhysicalCode,
		ValidFrom: req.ValidFrom, ValidTo: req.ValidTo, Scopes: req.Scopes, Version: req.Version, Materials: regMaterials(req.Materials)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, idAnswer{ID: id})
}

func handleApplications(c *Call) error {
	if err := regNeedRole(c, appReaderRoles...); err != nil {
		return err
	}
	after, limit, err := listPage(c)
	if err != nil {
		return err
	}
	apps, err := c.Services().Registry.Applications(c.Context(), c.Query("status"))
	if err != nil {
		return err
	}
	a := c.Actor()
	out := applicationList{Applications: []applicationView{}}
	for _, app := range apps {
		if app.ID <= after || (ownAppsOnly(a) && app.Applicant != a.Name) {
			continue
		}
		if len(out.Applications) == limit {
			out.Next = out.Applications[limit-1].ID
			break
		}
		out.Applications = append(out.Applications, viewApplication(app))
	}
	return c.JSON(http.StatusOK, out)
}

// readApplication reads the application of the path, refusing an applicant another's.
func readApplication(c *Call) (*registry.AppRecord, error) {
	if err := regNeedRole(c, appReaderRoles...); err != nil {
		return nil, err
	}
	app, err := c.Services().Registry.Application(c.Context(), c.Param("id"))
	if err != nil {
		return nil, err
	}
	if a := c.Actor(); ownAppsOnly(a) && app.Applicant != a.Name {
		return nil, &Error{Kind: errs.WrongRole, Message: "an applicant reads only its own applications"}
	}
	return app, nil
}

func handleApplication(c *Call) error {
	app, err := readApplication(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewApplication(app))
}

// answerApplication answers the application id as it is now.
func answerApplication(c *Call, id string) error {
	app, err := c.Services().Registry.Application(c.Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewApplication(app))
}

func handleApprove(c *Call) error {
	var req struct{}
	if err := regDecodeOptional(c, &req); err != nil {
		return err
	}
	id := c.Param("id")
	if err := c.Services().Registry.Approve(c.Context(), c.Actor(), id); err != nil {
		return err
	}
	return answerApplication(c, id)
}

func handleReject(c *Call) error {
	var req reasonRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	id := c.Param("id")
	if err := c.Services().Registry.Reject(c.Context(), c.Actor(), id, req.Reason); err != nil {
		return err
	}
	return answerApplication(c, id)
}

func handleMake(c *Call) error {
	var req pinRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	pin := []byte(req.PIN)
	defer clear(pin)
	s, err := c.Services().Registry.Make(c.Context(), c.Actor(), c.Param("id"), registry.MakeRequest{PIN: pin})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, viewSeal(s, true))
}

func handleBusiness(c *Call) error {
	var req businessRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	pin := []byte(req.PIN)
	defer clear(pin)
	seals, err := c.Services().Registry.MakeBusiness(c.Context(), c.Actor(), registry.Business{Unit: req.Unit,
		LegalRep: req.LegalRep.person(), Kinds: req.Kinds, ValidTo: req.ValidTo, PIN: pin})
	if err != nil {
		return err
	}
	out := sealList{Seals: []sealView{}}
	for _, s := range seals {
		out.Seals = append(out.Seals, viewSeal(s, true))
	}
	return c.JSON(http.StatusCreated, out)
}

func handleSeals(c *Call) error {
	after, limit, err := listPage(c)
	if err != nil {
		return err
	}
	q := registry.Query{CreditCode: c.Query("org"), HolderID: c.Query("holder"), Kind: registry.Kind(c.Query("kind")), Status: c.Query("status")}
	if q.Kind != "" && !q.Kind.Valid() {
		return &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("unknown seal kind %q", q.Kind)}
	}
	seals, err := c.Services().Registry.Seals(c.Context(), q)
	if err != nil {
		return err
	}
	out := sealList{Seals: []sealView{}}
	for _, s := range seals {
		if s.Code <= after {
			continue
		}
		if len(out.Seals) == limit {
			out.Next = out.Seals[limit-1].Code
			break
		}
		out.Seals = append(out.Seals, viewSeal(s, false))
	}
	return c.JSON(http.StatusOK, out)
}

func handleSeal(c *Call) error {
	s, err := c.Services().Registry.Seal(c.Context(), c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewSeal(s, true))
}

func handleESL(c *Call) error {
	code := c.Param("code")
	esl, err := c.Services().Registry.ESL(c.Context(), code)
	if err != nil {
		return err
	}
	// The code is 1 to 32 digits and capital letters, safe in the header.
	c.ctx.Response.Header.Set("Content-Disposition", `attachment; filename="`+code+`.esl"`)
	return c.Bytes(http.StatusOK, "application/octet-stream", esl)
}

// handleSealImage answers the seal's picture when it is of type typ (the registry keeps each
// picture in the one format it was filed or drawn in).
func handleSealImage(typ, contentType string) Handler {
	return func(c *Call) error {
		pic, got, err := c.Services().Registry.Picture(c.Context(), c.Param("code"))
		if err != nil {
			return err
		}
		if got != typ {
			return &Error{Kind: errs.NotFound, Message: fmt.Sprintf("the seal's picture is kept as %s, not %s", got, typ)}
		}
		return c.Bytes(http.StatusOK, contentType, pic)
	}
}

func handleHistory(c *Call) error {
	code := c.Param("code")
	h, err := c.Services().Registry.History(c.Context(), code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, historyAnswer{Seal: code, History: h})
}

// answerSeal answers the seal code as it is now.
func answerSeal(c *Call, status int, code string) error {
	s, err := c.Services().Registry.Seal(c.Context(), code)
	if err != nil {
		return err
	}
	return c.JSON(status, viewSeal(s, true))
}

func handleIssue(c *Call) error {
	var req struct{}
	if err := regDecodeOptional(c, &req); err != nil {
		return err
	}
	code := c.Param("code")
	if err := c.Services().Registry.Issue(c.Context(), c.Actor(), code); err != nil {
		return err
	}
	return answerSeal(c, http.StatusOK, code)
}

func handleChange(c *Call) error {
	var req changeRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	pin := []byte(req.PIN)
	defer clear(pin)
	ch := registry.Change{Reason: req.Reason, Holder: req.Holder.person(), PhysicalCode: req.PhysicalCode,
		ValidTo: req.ValidTo, Materials: regMaterials(req.Materials), PIN: pin}
	if req.Unit != nil {
		ch.Unit = *req.Unit
	}
	s, err := c.Services().Registry.Change(c.Context(), c.Actor(), c.Param("code"), ch)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, viewSeal(s, true))
}

type statusStep int

const (
	statusRevoke statusStep = iota
	statusSuspend
	statusResume
)

func handleSealStatus(step statusStep) Handler {
	return func(c *Call) error {
		var req statusRequest
		if err := c.Decode(&req); err != nil {
			return err
		}
		reason, ok := crlReasons[req.CRLReason]
		switch {
		case !ok:
			names := make([]string, 0, len(crlReasons))
			for n := range crlReasons {
				if n != "" {
					names = append(names, n)
				}
			}
			slices.Sort(names)
			return &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("crl_reason %q: one of %v", req.CRLReason, names)}
		case req.CRLReason != "" && step != statusRevoke:
			return &Error{Kind: errs.InvalidInput, Message: "crl_reason is for a revocation only"}
		}
		sr := registry.StatusRequest{Reason: req.Reason, CRLReason: reason, Materials: regMaterials(req.Materials)}
		reg, code := c.Services().Registry, c.Param("code")
		var err error
		switch step {
		case statusRevoke:
			err = reg.Revoke(c.Context(), c.Actor(), code, sr)
		case statusSuspend:
			err = reg.Suspend(c.Context(), c.Actor(), code, sr)
		default:
			err = reg.Resume(c.Context(), c.Actor(), code, sr)
		}
		if err != nil {
			return err
		}
		return answerSeal(c, http.StatusOK, code)
	}
}

func handleSetPIN(c *Call) error {
	var req pinRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	pin := []byte(req.PIN)
	defer clear(pin)
	code := c.Param("code")
	if err := c.Services().Registry.SetPIN(c.Context(), c.Actor(), code, pin); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pinAnswer{Seal: code, PINSet: true})
}

// sealAllowed refuses a signer key that names seals the use of another.
func sealAllowed(a registry.Actor, code string) error {
	if len(a.Seals) > 0 && !slices.Contains(a.Seals, code) {
		return &Error{Kind: errs.WrongRole, Message: fmt.Sprintf("the key may not use the seal %s", code)}
	}
	return nil
}

func handleRequestUse(c *Call) error {
	var req useRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	code := c.Param("code")
	if err := sealAllowed(c.Actor(), code); err != nil {
		return err
	}
	id, err := c.Services().Registry.RequestUse(c.Context(), c.Actor(), code, req.Digests, req.Purpose)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, idAnswer{ID: id})
}

func handleUseRequest(c *Call) error {
	if err := regNeedRole(c, registry.RoleSigner, registry.RoleApplicant, registry.RoleReviewer); err != nil {
		return err
	}
	u, err := c.Services().Registry.UseApproval(c.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	if a := c.Actor(); !a.Has(registry.RoleReviewer) && u.Requester != a.Name {
		return &Error{Kind: errs.WrongRole, Message: "a requester reads only its own use requests"}
	}
	return c.JSON(http.StatusOK, u)
}

// maxApprovalTTL bounds the time a use approval is granted for.
const maxApprovalTTL = 30 * 24 * time.Hour

func handleApproveUse(c *Call) error {
	var req approveUseRequest
	if err := regDecodeOptional(c, &req); err != nil {
		return err
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > int64(maxApprovalTTL/time.Second) {
		return &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("ttl_seconds must be 0 (a day) to %d", int64(maxApprovalTTL/time.Second))}
	}
	id := c.Param("id")
	reg := c.Services().Registry
	if err := reg.ApproveUse(c.Context(), c.Actor(), id, time.Duration(req.TTLSeconds)*time.Second); err != nil {
		return err
	}
	u, err := reg.UseApproval(c.Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, u)
}
