package registry

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
)

// Application statuses.
const (
	AppSubmitted = "submitted"
	AppApproved  = "approved"
	AppRejected  = "rejected"
	AppMade      = "made"
)

// Unit is the organisation a seal belongs to.
type Unit struct {
	Name string `json:"name"`
	// CreditCode is the unified social credit code (GB 32100).
	CreditCode string `json:"credit_code"`
}

// Material is a proof material as a request carries it.
type Material struct {
	Name string // what it is ("business licence")
	Type string // media type ("application/pdf")
	Data []byte
}

// MaterialRef is a stored proof material: its content lives once under its SM3.
type MaterialRef struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	SM3  string `json:"sm3"`
	Size int    `json:"size"`
}

// Application asks for a seal (art. 6).
type Application struct {
	Kind Kind
	Unit Unit
	// Holder is the person of a position or personal seal.
	Holder *Person
	// Handler is the person who hands the application in (经办人).
	Handler Person
	// Text is the seal's text where the kind takes one: a department's name (Department),
	// the branch's name (Branch), the holder's name (Personal; it must be the holder's).
	Text string
	// PhysicalCode is the code of the physical seal filed with the police, whose impression
	// an official or position seal takes.
	PhysicalCode string
	// ValidFrom (zero: when made) and ValidTo bound the validity asked for.
	ValidFrom, ValidTo time.Time
	// Scopes are a position seal's delegated scopes; empty means no limit.
	Scopes []string
	// Version is the SESeal version: 4 (default) or 1 (GM/T 0031, on request).
	Version   int
	Materials []Material
}

// AppRecord is an application as the registry keeps it.
type AppRecord struct {
	ID           string        `json:"id"`
	Kind         Kind          `json:"kind"`
	Unit         Unit          `json:"unit"`
	Holder       *Identity     `json:"holder,omitempty"`
	Handler      Identity      `json:"handler"`
	Text         string        `json:"text,omitempty"`
	PhysicalCode string        `json:"physical_code,omitempty"`
	ValidFrom    time.Time     `json:"valid_from"`
	ValidTo      time.Time     `json:"valid_to"`
	Scopes       []string      `json:"scopes,omitempty"`
	Version      int           `json:"version"`
	Materials    []MaterialRef `json:"materials,omitempty"`
	// Business is set for a business entity's seal made from registration data (art. 7).
	Business  bool      `json:"business,omitempty"`
	Applicant string    `json:"applicant"`
	Submitted time.Time `json:"submitted"`
	Status    string    `json:"status"`
	Reviewer  string    `json:"reviewer,omitempty"`
	Reviewed  time.Time `json:"reviewed,omitzero"`
	// Reason is the rejection's reason, for the applicant.
	Reason   string `json:"reason,omitempty"`
	SealCode string `json:"seal_code,omitempty"`
}

// Apply files an application and returns its id. The applicant needs RoleApplicant.
func (r *Registry) Apply(ctx context.Context, a Actor, app Application) (string, error) {
	const op = "apply"
	if err := checkActor(op, a); err != nil {
		return "", err
	}
	if err := need(op, a, RoleApplicant); err != nil {
		return "", r.refusal(ctx, a, audit.ActionApply, "", nil, err)
	}
	rec, blobs, err := r.checkApplication(op, a, app, false)
	if err != nil {
		return "", err
	}
	if len(app.Materials) == 0 {
		return "", refuse(errs.InvalidInput, op, "", "an application carries the unit's and the handler's proof materials")
	}
	n, err := r.cfg.State.Next(ctx, counterKey("app"))
	if err != nil {
		return "", wrap(op, "", err)
	}
	rec.ID = fmt.Sprintf("A%08d", n)
	rec.Status = AppSubmitted
	writes := append(blobs, jsonWrite(appKey(rec.ID), rec))
	err = r.commit(ctx, op, audit.Record{Actor: a.Name, Action: audit.ActionApply,
		Details: map[string]string{"application": rec.ID, "kind": string(rec.Kind), "materials": fmt.Sprint(len(rec.Materials))}}, writes)
	if err != nil {
		return "", err
	}
	return rec.ID, nil
}

// checkApplication checks app and returns its record (without id and status) and the
// writes of its materials.
func (r *Registry) checkApplication(op string, a Actor, app Application, business bool) (*AppRecord, []audit.Write, error) {
	if !app.Kind.Valid() {
		return nil, nil, refuse(errs.InvalidInput, op, "", "unknown seal kind %q", app.Kind)
	}
	if err := checkText(op, "unit name", app.Unit.Name, true); err != nil {
		return nil, nil, err
	}
	if err := checkCreditCode(op, "unit credit code", app.Unit.CreditCode); err != nil {
		return nil, nil, err
	}
	rec := &AppRecord{Kind: app.Kind, Unit: app.Unit, Text: app.Text, PhysicalCode: app.PhysicalCode,
		ValidFrom: app.ValidFrom.UTC(), ValidTo: app.ValidTo.UTC(), Scopes: app.Scopes, Version: app.Version,
		Applicant: a.Name, Submitted: r.now()}
	if rec.Version == 0 {
		rec.Version = 4
	}
	if rec.Version != 4 && rec.Version != 1 {
		return nil, nil, refuse(errs.InvalidInput, op, "", "seal version %d: 4 or 1", app.Version)
	}
	if !business {
		h, err := r.identity(op, "handler", app.Handler)
		if err != nil {
			return nil, nil, err
		}
		rec.Handler = h
	}
	if app.Kind.Class() != ClassOfficial {
		if app.Holder == nil {
			return nil, nil, refuse(errs.InvalidInput, op, "", "a %s seal needs its holder", app.Kind)
		}
		h, err := r.identity(op, "holder", *app.Holder)
		if err != nil {
			return nil, nil, err
		}
		rec.Holder = &h
	}
	switch app.Kind {
	case Personal:
		if app.Text == "" {
			rec.Text = app.Holder.Name
		} else if app.Text != app.Holder.Name {
			return nil, nil, refuse(errs.NameMismatch, op, "", "a personal seal's text must be its holder's name")
		}
	case Department, Branch:
		if err := checkText(op, "seal text", app.Text, true); err != nil {
			return nil, nil, err
		}
	default:
		if err := checkText(op, "seal text", app.Text, false); err != nil {
			return nil, nil, err
		}
	}
	if app.PhysicalCode != "" && !validCode(app.PhysicalCode) {
		return nil, nil, refuse(errs.InvalidInput, op, "", "physical seal code: 1 to 32 digits and capital letters")
	}
	if rec.ValidTo.IsZero() || (!rec.ValidFrom.IsZero() && !rec.ValidTo.After(rec.ValidFrom)) || !rec.ValidTo.After(r.now()) {
		return nil, nil, refuse(errs.InvalidInput, op, "", "the validity asked for must end after it starts and in the future")
	}
	for _, s := range app.Scopes {
		if err := checkText(op, "scope", s, true); err != nil {
			return nil, nil, err
		}
	}
	refs, writes, err := r.materials(op, app.Materials)
	if err != nil {
		return nil, nil, err
	}
	rec.Materials = refs
	return rec, writes, nil
}

// materials checks proof materials and returns their references and the writes of their
// content, each under its SM3 (the same content is stored once).
func (r *Registry) materials(op string, ms []Material) ([]MaterialRef, []audit.Write, error) {
	if len(ms) > MaxMaterials {
		return nil, nil, refuse(errs.LimitExceeded, op, "", "%d materials, at most %d", len(ms), MaxMaterials)
	}
	var refs []MaterialRef
	var writes []audit.Write
	for i, m := range ms {
		if len(m.Data) == 0 || len(m.Data) > r.cfg.MaxMaterialSize {
			return nil, nil, refuse(errs.LimitExceeded, op, "", "material %d: %d bytes, 1 to %d allowed", i, len(m.Data), r.cfg.MaxMaterialSize)
		}
		if err := checkText(op, fmt.Sprintf("material %d name", i), m.Name, true); err != nil {
			return nil, nil, err
		}
		if err := checkText(op, fmt.Sprintf("material %d type", i), m.Type, false); err != nil {
			return nil, nil, err
		}
		sum := sm3.Sum(m.Data)
		h := hex.EncodeToString(sum[:])
		refs = append(refs, MaterialRef{Name: m.Name, Type: m.Type, SM3: h, Size: len(m.Data)})
		writes = append(writes, audit.Write{Key: []byte(blobKey(h)), Value: m.Data})
	}
	return refs, writes, nil
}

// Material returns a stored proof material's content by its SM3 (hex).
func (r *Registry) Material(ctx context.Context, sum string) ([]byte, error) {
	if len(sum) != 64 {
		return nil, refuse(errs.InvalidInput, "material", "", "an SM3 in hex has 64 characters")
	}
	b, err := r.cfg.State.Get(ctx, blobKey(sum))
	if err != nil {
		return nil, wrap("material", sum, err)
	}
	return b, nil
}

// Application returns an application.
func (r *Registry) Application(ctx context.Context, id string) (*AppRecord, error) {
	var rec AppRecord
	if err := r.load(ctx, "application", appKey(id), id, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// Applications lists the applications with the status given (empty: all).
func (r *Registry) Applications(ctx context.Context, status string) ([]*AppRecord, error) {
	var out []*AppRecord
	err := r.scanJSON(ctx, Prefix+"app/", func() any { return new(AppRecord) }, func(v any) {
		if a := v.(*AppRecord); status == "" || a.Status == status {
			out = append(out, a)
		}
	})
	return out, err
}

// Approve approves an application (art. 8). The reviewer needs RoleReviewer and may not be its
// applicant.
func (r *Registry) Approve(ctx context.Context, a Actor, id string) error {
	return r.review(ctx, a, id, true, "")
}

// Reject rejects an application with a reason the applicant reads (art. 8).
func (r *Registry) Reject(ctx context.Context, a Actor, id, reason string) error {
	if err := checkText("reject", "reason", reason, true); err != nil {
		return err
	}
	return r.review(ctx, a, id, false, reason)
}

func (r *Registry) review(ctx context.Context, a Actor, id string, approve bool, reason string) error {
	op, action := "approve", audit.ActionApprove
	if !approve {
		op, action = "reject", audit.ActionReject
	}
	if err := checkActor(op, a); err != nil {
		return err
	}
	if err := need(op, a, RoleReviewer); err != nil {
		return r.refusal(ctx, a, action, "", nil, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	app, err := r.Application(ctx, id)
	if err != nil {
		return err
	}
	if app.Applicant == a.Name {
		return r.refusal(ctx, a, action, "", nil, refuse(errs.SamePerson, op, id, "the reviewer is the applicant"))
	}
	if app.Status != AppSubmitted {
		return refuse(errs.WrongState, op, id, "the application is %s", app.Status)
	}
	app.Status, app.Reviewer, app.Reviewed, app.Reason = AppApproved, a.Name, r.now(), reason
	details := map[string]string{"application": id}
	if !approve {
		app.Status = AppRejected
		details["reason"] = reason
	}
	return r.commit(ctx, op, audit.Record{Actor: a.Name, Action: action, Details: details},
		[]audit.Write{jsonWrite(appKey(id), app)})
}
