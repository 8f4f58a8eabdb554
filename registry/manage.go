package registry

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/signer"
)

// StatusRequest is a suspension, resumption or revocation (art. 19-20).
type StatusRequest struct {
	// Reason is why, in words; required.
	Reason string
	// CRLReason is the certificate's revocation reason (Revoke only); zero is
	// pki.Unspecified. pki.KeyCompromise for a key that may be in other hands.
	CRLReason pki.Reason
	// Materials are the requester's proof materials.
	Materials []Material
}

// Suspend suspends an issued seal: it signs nothing until resumed. The caller needs RoleAdmin.
func (r *Registry) Suspend(ctx context.Context, a Actor, code string, req StatusRequest) error {
	return r.setStatus(ctx, a, code, req, "suspend", audit.ActionSuspend, StatusSuspended, EventSuspended, StatusActive)
}

// Resume resumes a suspended seal. The caller needs RoleAdmin.
func (r *Registry) Resume(ctx context.Context, a Actor, code string, req StatusRequest) error {
	return r.setStatus(ctx, a, code, req, "resume", audit.ActionResume, StatusActive, EventResumed, StatusSuspended)
}

// Revoke revokes a seal for good, and its signer certificate in the CA (it is then on the CRL);
// once that is durable the seal's key is destroyed. The caller needs RoleAdmin.
func (r *Registry) Revoke(ctx context.Context, a Actor, code string, req StatusRequest) error {
	return r.setStatus(ctx, a, code, req, "revoke", audit.ActionRevoke, StatusRevoked, EventRevoked, StatusMade, StatusActive, StatusSuspended)
}

func (r *Registry) setStatus(ctx context.Context, a Actor, code string, req StatusRequest, op, action, to, event string, from ...string) error {
	if err := checkActor(op, a); err != nil {
		return err
	}
	if err := need(op, a, RoleAdmin); err != nil {
		return r.refusal(ctx, a, action, code, nil, err)
	}
	if err := checkText(op, "reason", req.Reason, true); err != nil {
		return err
	}
	refs, blobs, err := r.materials(op, req.Materials)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.Seal(ctx, code)
	if err != nil {
		return err
	}
	if err := statusIn(op, s, from...); err != nil {
		return err
	}
	now := r.now()
	if to == StatusRevoked {
		if err := r.revokeCert(ctx, s, req.CRLReason, now); err != nil {
			return wrap(op, code, err)
		}
	}
	s.setStatus(to, now, a.Name, req.Reason, refs)
	details := map[string]string{"reason": req.Reason}
	if to == StatusRevoked {
		details["crl_reason"] = fmt.Sprint(int(req.CRLReason))
	}
	if err := r.commit(ctx, op, audit.Record{Actor: a.Name, Action: action, SealCode: code, Details: details},
		append(blobs, sealWrites(s)...), r.event(event, s, req.Reason)); err != nil {
		return err
	}
	if to == StatusRevoked {
		r.destroyKey(ctx, s)
	}
	return nil
}

// destroyKey destroys the key of a seal that never signs again (revoked, or voided by a
// change), once that is durable: neither a restore of an older data directory against a key
// store that outlives it (a token) nor anything else reaching the key store by the label
// brings the key back. A key a failure left behind is destroyed at the seal's next refused
// use (Authorize). Best effort: the step stands whatever the key store says.
func (r *Registry) destroyKey(ctx context.Context, s *SealRecord) {
	if !strings.HasPrefix(s.KeyLabel, "seal-"+s.Code) {
		// Only a key made for this seal (newKeyLabel) is ever destroyed: never the CA's,
		// the maker's or the audit log's, whatever a record says.
		return
	}
	if _, done := r.destroyed.Load(s.KeyLabel); done {
		return
	}
	if err := r.cfg.Keys.Delete(ctx, s.KeyLabel); err != nil && !errors.Is(err, signer.ErrKeyNotFound) {
		r.cfg.Logger.Warn("registry: key of a seal that signs no more not destroyed yet", "seal", s.Code, "key", s.KeyLabel, "err", err)
		return
	}
	r.destroyed.Store(s.KeyLabel, struct{}{})
}

// statusIn refuses unless s is in one of the statuses given.
func statusIn(op string, s *SealRecord, from ...string) error {
	for _, f := range from {
		if s.Status == f {
			return nil
		}
	}
	switch s.Status {
	case StatusSuspended:
		return refuse(errs.SealSuspended, op, s.Code, "the seal is suspended")
	case StatusRevoked, StatusVoided:
		return refuse(errs.SealRevoked, op, s.Code, "the seal is %s", s.Status)
	}
	return refuse(errs.WrongState, op, s.Code, "the seal is %s", s.Status)
}

// revokeCert revokes the seal's signer certificate; one revoked already (by a step that
// failed before its commit) is fine.
func (r *Registry) revokeCert(ctx context.Context, s *SealRecord, reason pki.Reason, at time.Time) error {
	serial, ok := new(big.Int).SetString(s.CertSerial, 16)
	if !ok {
		return &Error{Kind: errs.Corrupt, Op: "revoke", Subject: s.Code, Msg: "stored certificate serial unreadable"}
	}
	if err := r.cfg.CA.Revoke(ctx, serial, reason, at); err != nil && !errors.Is(err, errs.Revoked) {
		return fmt.Errorf("signer certificate: %w", err)
	}
	return nil
}

// Change is a change of the seal (art. 19).
type Change struct {
	// Reason is what changed: ChangeName, ChangeLegalRep, ChangeHolderUnit or ChangeLostCarrier.
	Reason string
	// Unit is the unit after the change (zero: unchanged).
	Unit Unit
	// Holder is the holder after the change (nil: unchanged).
	Holder *Person
	// PhysicalCode is the code of the new physical seal filed for the new version (empty:
	// the old one's).
	PhysicalCode string
	// ValidTo ends the new version (zero: the old one's end).
	ValidTo   time.Time
	Materials []Material
	// PIN is the new version's protection PIN. Required.
	PIN []byte
}

// The reasons for a change.
const (
	ChangeName        = "name"
	ChangeLegalRep    = "legal-representative"
	ChangeHolderUnit  = "holder-unit"
	ChangeLostCarrier = "lost-carrier"
)

// Change voids the seal (its signer certificate is revoked as superseded; once that is
// durable its key is destroyed) and makes a new version linked to it (Previous, Next), both
// in one step; the new version is made and is issued with Issue. The caller needs RoleAdmin.
func (r *Registry) Change(ctx context.Context, a Actor, code string, c Change) (*SealRecord, error) {
	const op = "change"
	if err := checkActor(op, a); err != nil {
		return nil, err
	}
	if err := need(op, a, RoleAdmin); err != nil {
		return nil, r.refusal(ctx, a, audit.ActionChange, code, nil, err)
	}
	switch c.Reason {
	case ChangeName, ChangeLegalRep, ChangeHolderUnit, ChangeLostCarrier:
	default:
		return nil, refuse(errs.InvalidInput, op, code, "unknown change reason %q", c.Reason)
	}
	if len(c.PIN) == 0 {
		return nil, refuse(errs.InvalidInput, op, code, "the new version needs a protection PIN")
	}
	refs, blobs, err := r.materials(op, c.Materials)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old, err := r.Seal(ctx, code)
	if err != nil {
		return nil, err
	}
	if err := statusIn(op, old, StatusMade, StatusActive, StatusSuspended); err != nil {
		return nil, err
	}
	app, err := r.Application(ctx, old.Application)
	if err != nil {
		return nil, err
	}
	napp := *app
	if c.Unit != (Unit{}) {
		if err := checkText(op, "unit name", c.Unit.Name, true); err != nil {
			return nil, err
		}
		if err := checkCreditCode(op, "unit credit code", c.Unit.CreditCode); err != nil {
			return nil, err
		}
		napp.Unit = c.Unit
	}
	if c.Holder != nil {
		if old.Kind.Class() == ClassOfficial {
			return nil, refuse(errs.InvalidInput, op, code, "an official seal has no holder")
		}
		h, err := r.identity(op, "holder", *c.Holder)
		if err != nil {
			return nil, err
		}
		napp.Holder = &h
		if napp.Kind == Personal {
			napp.Text = h.Name
		}
	}
	if c.PhysicalCode != "" {
		if !validCode(c.PhysicalCode) {
			return nil, refuse(errs.InvalidInput, op, code, "physical seal code: 1 to 32 digits and capital letters")
		}
		napp.PhysicalCode = c.PhysicalCode
	}
	napp.ValidFrom, napp.ValidTo = time.Time{}, old.ValidTo
	if !c.ValidTo.IsZero() {
		napp.ValidTo = c.ValidTo.UTC()
	}
	n, err := r.cfg.State.Next(ctx, counterKey("app"))
	if err != nil {
		return nil, wrap(op, code, err)
	}
	napp.ID, napp.Status, napp.Materials = fmt.Sprintf("A%08d", n), AppMade, refs
	napp.Applicant, napp.Submitted, napp.Reviewer, napp.Reviewed, napp.Reason = a.Name, r.now(), a.Name, r.now(), ""
	ns, err := r.makeSeal(ctx, op, a.Name, &napp, code, c.PIN)
	if err != nil {
		return nil, err
	}
	napp.SealCode = ns.Code
	now := r.now()
	if err := r.revokeCert(ctx, old, pki.Superseded, now); err != nil {
		return nil, wrap(op, code, err)
	}
	old.Next = ns.Code
	old.setStatus(StatusVoided, now, a.Name, "changed: "+c.Reason, refs)
	writes := slices.Concat(blobs, sealWrites(old), sealWrites(ns), []audit.Write{jsonWrite(appKey(napp.ID), &napp)})
	err = r.commit(ctx, op, audit.Record{Actor: a.Name, Action: audit.ActionChange, SealCode: code,
		Details: map[string]string{"reason": c.Reason, "next": ns.Code, "application": napp.ID, "cert_serial": ns.CertSerial}},
		writes, r.event(EventChanged, old, c.Reason), r.event(EventMade, ns, ""))
	if err != nil {
		return nil, err
	}
	r.destroyKey(ctx, old)
	return ns, nil
}

// SetPIN sets a seal's protection PIN (and clears its lock): only the authority does
// (art. 18), so the caller needs RoleAdmin.
func (r *Registry) SetPIN(ctx context.Context, a Actor, code string, pin []byte) error {
	const op = "pin"
	if err := checkActor(op, a); err != nil {
		return err
	}
	if err := need(op, a, RoleAdmin); err != nil {
		return r.refusal(ctx, a, audit.ActionPINChange, code, nil, err)
	}
	if len(pin) == 0 {
		return refuse(errs.InvalidInput, op, code, "empty PIN")
	}
	s, err := r.Seal(ctx, code)
	if err != nil {
		return err
	}
	if err := r.cfg.Guard.SetPIN(ctx, s.KeyLabel, pin); err != nil {
		return wrap(op, code, err)
	}
	return r.commit(ctx, op, audit.Record{Actor: a.Name, Action: audit.ActionPINChange, SealCode: code}, nil)
}
