package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/verifier"
)

// Seal statuses.
const (
	StatusMade      = "made"      // made, not yet issued: signs nothing
	StatusActive    = "active"    // issued
	StatusSuspended = "suspended" // signs nothing until resumed
	StatusRevoked   = "revoked"   // for good
	StatusVoided    = "voided"    // replaced by a new version (art. 19)
)

// StatusChange is one entry of a seal's status history.
type StatusChange struct {
	Status    string        `json:"status"`
	At        time.Time     `json:"at"`
	Actor     string        `json:"actor"`
	Reason    string        `json:"reason,omitempty"`
	Materials []MaterialRef `json:"materials,omitempty"`
}

// SealRecord is a seal as the registry keeps it. Nothing of its making is ever deleted
// (art. 15): the record, its .esl, picture, application and materials stay.
type SealRecord struct {
	Code         string    `json:"code"` // esID
	Kind         Kind      `json:"kind"`
	Name         string    `json:"name"`
	Unit         Unit      `json:"unit"`
	Holder       *Identity `json:"holder,omitempty"`
	PhysicalCode string    `json:"physical_code,omitempty"`
	Scopes       []string  `json:"scopes,omitempty"`
	Version      int       `json:"version"`
	Application  string    `json:"application"`
	KeyLabel     string    `json:"key_label"`
	CertSerial   string    `json:"cert_serial"` // hex
	Certificate  []byte    `json:"certificate"` // DER
	ESL          []byte    `json:"esl"`
	Picture      []byte    `json:"picture"`
	PictureType  string    `json:"picture_type"`
	// Generated is set when the picture was drawn here rather than filed.
	Generated bool      `json:"generated,omitempty"`
	ValidFrom time.Time `json:"valid_from"`
	ValidTo   time.Time `json:"valid_to"`
	Status    string    `json:"status"`
	// History is every status the seal has had, oldest first.
	History  []StatusChange `json:"history"`
	Previous string         `json:"previous,omitempty"` // the version this one replaces
	Next     string         `json:"next,omitempty"`     // the version that replaced this one
}

// MakeRequest is what making a seal needs besides its application.
type MakeRequest struct {
	// PIN is the seal's protection PIN, set by the authority (art. 18). Required.
	PIN []byte
}

// Make makes the seal of an approved application (art. 9-14): a key in the key store, its
// signer certificate, the picture (the filed impression of its physical seal code, or a
// generated one for business entities and personal seals), a SESeal signed by the seal maker,
// verified before it is stored. The seal is then made, not issued. The maker needs RoleMaker.
func (r *Registry) Make(ctx context.Context, a Actor, appID string, req MakeRequest) (*SealRecord, error) {
	const op = "make"
	if err := checkActor(op, a); err != nil {
		return nil, err
	}
	if err := need(op, a, RoleMaker); err != nil {
		return nil, r.refusal(ctx, a, audit.ActionMake, "", nil, err)
	}
	if len(req.PIN) == 0 {
		return nil, refuse(errs.InvalidInput, op, appID, "the seal needs a protection PIN")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	app, err := r.Application(ctx, appID)
	if err != nil {
		return nil, err
	}
	if app.Status != AppApproved {
		return nil, refuse(errs.WrongState, op, appID, "the application is %s, not approved", app.Status)
	}
	s, err := r.makeSeal(ctx, op, a.Name, app, "", req.PIN)
	if err != nil {
		return nil, err
	}
	app.Status, app.SealCode = AppMade, s.Code
	writes := append(sealWrites(s), jsonWrite(appKey(app.ID), app))
	err = r.commit(ctx, op, audit.Record{Actor: a.Name, Action: audit.ActionMake, SealCode: s.Code,
		Details: map[string]string{"application": app.ID, "kind": string(s.Kind), "cert_serial": s.CertSerial}},
		writes, r.event(EventMade, s, ""))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// makeSeal makes the seal of app under a new code (or the code of its physical seal) and
// sets its PIN; it writes nothing of the registry's own state. previous is the version it
// replaces.
func (r *Registry) makeSeal(ctx context.Context, op, actor string, app *AppRecord, previous string, pin []byte) (*SealRecord, error) {
	now := r.now()
	s := &SealRecord{Kind: app.Kind, Unit: app.Unit, Holder: app.Holder, PhysicalCode: app.PhysicalCode,
		Scopes: app.Scopes, Version: app.Version, Application: app.ID, Previous: previous,
		ValidFrom: app.ValidFrom, ValidTo: app.ValidTo, Status: StatusMade}
	if s.ValidFrom.IsZero() || s.ValidFrom.Before(now.Add(-pki.MaxBackdate/2)) {
		s.ValidFrom = now
	}
	s.Name = sealName(app)
	// The code: the physical seal's where it is free, else division + sequence.
	switch {
	case app.PhysicalCode != "" && !r.codeTaken(ctx, app.PhysicalCode):
		s.Code = app.PhysicalCode
	case app.PhysicalCode != "" && previous == "":
		// A new version (Change) of a seal keeps its physical seal and takes a new code;
		// a new seal may not take the physical seal of another.
		return nil, refuse(errs.CodeTaken, op, app.PhysicalCode, "a seal of this physical seal code exists already")
	default:
		n, err := r.cfg.State.Next(ctx, counterKey("code/"+r.cfg.Division))
		if err != nil {
			return nil, wrap(op, app.ID, err)
		}
		s.Code = fmt.Sprintf("%s%08d", r.cfg.Division, n)
		if r.codeTaken(ctx, s.Code) {
			return nil, refuse(errs.CodeTaken, op, s.Code, "the assigned code is held by another seal")
		}
	}
	if err := r.picture(ctx, op, app, s); err != nil {
		return nil, err
	}
	label, err := newKeyLabel(s.Code)
	if err != nil {
		return nil, &Error{Kind: errs.Unavailable, Op: op, Subject: s.Code, Msg: "no key label", Err: err}
	}
	s.KeyLabel = label
	if _, err := r.cfg.Keys.Generate(ctx, s.KeyLabel, signer.SM2); err != nil {
		// KeyExists included: a key this registry did not make is never taken over.
		return nil, wrap(op, s.Code, err)
	}
	holder := pki.Holder{Organisation: app.Unit.Name, CreditCode: app.Unit.CreditCode}
	if app.Holder != nil {
		holder.Person, holder.PersonID = app.Holder.Name, app.Holder.Masked
	}
	issued, err := r.cfg.CA.IssueSigner(ctx, pki.SignerRequest{KeyLabel: s.KeyLabel, Holder: holder,
		NotBefore: s.ValidFrom, NotAfter: s.ValidTo})
	if err != nil {
		return nil, wrap(op, s.Code, fmt.Errorf("signer certificate: %w", err))
	}
	cert := issued.Certificate
	s.Certificate, s.CertSerial = cert.Raw, cert.SerialNumber.Text(16)
	if cert.NotAfter.Before(s.ValidTo) {
		s.ValidTo = cert.NotAfter
	}
	maker, err := r.cfg.Keys.Signer(ctx, pki.MakerKeyLabel)
	if err != nil {
		return nil, wrap(op, s.Code, fmt.Errorf("seal maker key: %w", err))
	}
	seal, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{
		Version: app.Version, VID: r.cfg.VendorID, ESID: s.Code, Type: app.Kind.sesType(), Name: s.Name,
		SignerCerts: [][]byte{cert.Raw}, CreateDate: now, ValidStart: s.ValidFrom, ValidEnd: s.ValidTo,
		Picture: ses.Picture{Type: s.PictureType, Data: s.Picture, Width: pictureMM(app.Kind), Height: pictureMM(app.Kind)},
	}, r.cfg.CA.Maker().Raw, maker)
	if err != nil {
		return nil, wrap(op, s.Code, fmt.Errorf("seal: %w", err))
	}
	// Checked as any relying party will check it, before it is stored.
	if err := r.verifySeal(ctx, seal.Raw, now); err != nil {
		return nil, wrap(op, s.Code, err)
	}
	s.ESL = seal.Raw
	if err := r.cfg.Guard.SetPIN(ctx, s.KeyLabel, pin); err != nil {
		return nil, wrap(op, s.Code, fmt.Errorf("protection PIN: %w", err))
	}
	s.History = []StatusChange{{Status: StatusMade, At: now, Actor: actor}}
	return s, nil
}

// verifySeal checks a seal as a relying party does, with the CA's root, its seal maker as the
// accepted maker and its current CRL: anything but TOTAL_PASSED is an internal failure.
func (r *Registry) verifySeal(ctx context.Context, der []byte, now time.Time) error {
	crlDER, err := r.cfg.CA.CRL(ctx)
	if err != nil {
		return fmt.Errorf("CRL: %w", err)
	}
	crl, err := smx509.ParseRevocationList(crlDER)
	if err != nil {
		return fmt.Errorf("CRL: %w", err)
	}
	v := verifier.New(verifier.Options{Roots: []*smx509.Certificate{r.cfg.CA.Root()},
		Makers: []*smx509.Certificate{r.cfg.CA.Maker()}, CRLs: []*smx509.RevocationList{crl},
		Now: func() time.Time { return now }})
	rep, ind := v.VerifySeal(der)
	if ind != verifier.TotalPassed {
		var bad []string
		for _, c := range rep.Checks {
			if c.Status != verifier.Passed && c.Status != verifier.Skipped {
				bad = append(bad, c.Name+": "+c.Detail)
			}
		}
		return &Error{Kind: 0, Op: "make", Subject: rep.ID, Msg: "the seal made does not verify: " + ind + ": " + strings.Join(bad, "; ")}
	}
	return nil
}

// codeTaken reports whether a seal holds code (or the store cannot say: then it is taken).
func (r *Registry) codeTaken(ctx context.Context, code string) bool {
	_, err := r.cfg.State.Get(ctx, sealKey(code))
	return !errors.Is(err, errs.NotFound)
}

// sealName is the name written into the seal.
func sealName(app *AppRecord) string {
	info := kindTable[app.Kind]
	switch app.Kind {
	case LegalName:
		return app.Unit.Name
	case Department:
		return app.Unit.Name + app.Text
	case Branch:
		return app.Text
	case Personal:
		return app.Holder.Name
	}
	if app.Kind.Class() == ClassPosition {
		return app.Unit.Name + info.purpose + app.Holder.Name
	}
	return app.Unit.Name + info.purpose
}

// pictureMM is the picture's size in millimetres.
func pictureMM(k Kind) int {
	if k.Class() == ClassOfficial {
		return 42
	}
	return 20
}

// picture gives s its picture: official and position seals take the impression filed for
// their physical seal code; business entities' seals (art. 7) and personal seals get one
// drawn from the impression spec.
func (r *Registry) picture(ctx context.Context, op string, app *AppRecord, s *SealRecord) error {
	if app.Business || app.Kind == Personal {
		sp := sealimg.Seal{Kind: kindTable[app.Kind].picture, Name: app.Unit.Name, Purpose: kindTable[app.Kind].purpose, Code: s.Code}
		switch app.Kind {
		case Personal:
			sp = sealimg.Seal{Kind: sealimg.Personal, Name: app.Holder.Name}
		case Invoice:
			sp.Purpose, sp.TaxID, sp.Code = "", app.Unit.CreditCode, ""
		case Department:
			sp.Purpose = app.Text
		case Branch:
			sp.Name = app.Text
		}
		if app.Kind.Class() == ClassPosition {
			sp = sealimg.Seal{Kind: sealimg.Personal, Name: app.Holder.Name}
		}
		png, err := r.cfg.Pictures.PNG(sp)
		if err != nil {
			return wrap(op, s.Code, fmt.Errorf("picture: %w", err))
		}
		s.Picture, s.PictureType, s.Generated = png, "PNG", true
		return nil
	}
	if app.PhysicalCode == "" {
		return refuse(errs.NoImpression, op, app.ID, "a %s seal takes the impression filed for its physical seal code, and none is named", app.Kind)
	}
	if r.cfg.Impressions == nil {
		return refuse(errs.NoImpression, op, app.ID, "no impressions are filed here")
	}
	pic, typ, err := r.cfg.Impressions.FiledImpression(ctx, app.PhysicalCode)
	if errors.Is(err, errs.NotFound) {
		return refuse(errs.NoImpression, op, app.ID, "no impression is filed for the physical seal code %s", app.PhysicalCode)
	}
	if err != nil {
		return wrap(op, app.ID, fmt.Errorf("filed impression: %w", err))
	}
	if len(pic) == 0 {
		return refuse(errs.NoImpression, op, app.ID, "the impression filed for %s is empty", app.PhysicalCode)
	}
	s.Picture, s.PictureType = pic, strings.ToUpper(typ)
	return nil
}

// event is a lifecycle event of s for the outbox.
func (r *Registry) event(kind string, s *SealRecord, reason string) Event {
	f := map[string]string{"kind": string(s.Kind), "name": s.Name, "unit": s.Unit.Name,
		"credit_code": s.Unit.CreditCode, "status": s.Status, "cert_serial": s.CertSerial,
		"valid_from": s.ValidFrom.Format(time.RFC3339), "valid_to": s.ValidTo.Format(time.RFC3339),
		"version": fmt.Sprint(s.Version)}
	if s.Holder != nil {
		f["holder"], f["holder_id_masked"] = s.Holder.Name, s.Holder.Masked
	}
	if s.PhysicalCode != "" {
		f["physical_code"] = s.PhysicalCode
	}
	if s.Previous != "" {
		f["previous"] = s.Previous
	}
	if s.Next != "" {
		f["next"] = s.Next
	}
	if reason != "" {
		f["reason"] = reason
	}
	return Event{Kind: kind, SealCode: s.Code, Time: r.now(), Fields: f}
}

// Issue hands a made seal to its unit or holder: from then on it may sign. The maker needs
// RoleMaker.
func (r *Registry) Issue(ctx context.Context, a Actor, code string) error {
	const op = "issue"
	if err := checkActor(op, a); err != nil {
		return err
	}
	if err := need(op, a, RoleMaker); err != nil {
		return r.refusal(ctx, a, audit.ActionIssue, code, nil, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.Seal(ctx, code)
	if err != nil {
		return err
	}
	if s.Status != StatusMade {
		return refuse(errs.WrongState, op, code, "the seal is %s, not made", s.Status)
	}
	s.setStatus(StatusActive, r.now(), a.Name, "", nil)
	return r.commit(ctx, op, audit.Record{Actor: a.Name, Action: audit.ActionIssue, SealCode: code},
		sealWrites(s))
}

func (s *SealRecord) setStatus(st string, at time.Time, actor, reason string, ms []MaterialRef) {
	s.Status = st
	s.History = append(s.History, StatusChange{Status: st, At: at, Actor: actor, Reason: reason, Materials: ms})
}

// Business is a business entity's registration data (art. 7).
type Business struct {
	Unit Unit
	// LegalRep is the legal representative; with it a legal-representative seal is made.
	LegalRep *Person
	// Kinds are the official seals to make; empty means legal-name, contract, finance and
	// invoice seals.
	Kinds   []Kind
	ValidTo time.Time
	// PIN is the seals' protection PIN. Required.
	PIN []byte
}

// MakeBusiness makes a business entity's seals from its registration data, without materials
// and without review (art. 7), with generated pictures. The caller needs RoleMaker. The seals
// are made and issued; it returns them.
func (r *Registry) MakeBusiness(ctx context.Context, a Actor, b Business) ([]*SealRecord, error) {
	const op = "business"
	if err := checkActor(op, a); err != nil {
		return nil, err
	}
	if err := need(op, a, RoleMaker); err != nil {
		return nil, r.refusal(ctx, a, audit.ActionMake, "", nil, err)
	}
	if len(b.PIN) == 0 {
		return nil, refuse(errs.InvalidInput, op, "", "the seals need a protection PIN")
	}
	kinds := b.Kinds
	if len(kinds) == 0 {
		kinds = []Kind{LegalName, Contract, Finance, Invoice}
	}
	for _, k := range kinds {
		if k.Class() != ClassOfficial || k == Department || k == Branch {
			return nil, refuse(errs.InvalidInput, op, "", "a business entity's automatic seals are its unit's official seals, not %q", k)
		}
	}
	if b.LegalRep != nil {
		kinds = append(kinds, LegalRepresentative)
	}
	var out []*SealRecord
	for _, k := range kinds {
		app := Application{Kind: k, Unit: b.Unit, Handler: Person{}, ValidTo: b.ValidTo}
		if k == LegalRepresentative {
			app.Holder = b.LegalRep
		}
		s, err := r.makeBusinessSeal(ctx, op, a, app, b.PIN)
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (r *Registry) makeBusinessSeal(ctx context.Context, op string, a Actor, app Application, pin []byte) (*SealRecord, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, _, err := r.checkApplication(op, a, app, true)
	if err != nil {
		return nil, err
	}
	n, err := r.cfg.State.Next(ctx, counterKey("app"))
	if err != nil {
		return nil, wrap(op, "", err)
	}
	rec.ID, rec.Business, rec.Status, rec.Reviewer = fmt.Sprintf("A%08d", n), true, AppMade, "art. 7"
	s, err := r.makeSeal(ctx, op, a.Name, rec, "", pin)
	if err != nil {
		return nil, err
	}
	rec.SealCode = s.Code
	s.setStatus(StatusActive, r.now(), a.Name, "business entity (art. 7)", nil)
	return s, r.commit(ctx, op, audit.Record{Actor: a.Name, Action: audit.ActionMake, SealCode: s.Code,
		Details: map[string]string{"application": rec.ID, "kind": string(s.Kind), "cert_serial": s.CertSerial, "business": "true"}},
		append(sealWrites(s), jsonWrite(appKey(rec.ID), rec)), r.event(EventMade, s, ""))
}
