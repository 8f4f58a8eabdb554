package registry

import (
	"context"
	"encoding/json"
	"time"

	"github.com/eseal/eseal/errs"
)

// Seal returns the seal with the code given (errs.NotFound when none).
func (r *Registry) Seal(ctx context.Context, code string) (*SealRecord, error) {
	var s SealRecord
	if err := r.load(ctx, "seal", sealKey(code), code, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Query selects seals (art. 5); empty fields match anything.
type Query struct {
	// CreditCode is the unit's unified social credit code.
	CreditCode string
	// HolderID is the holder's identity number (compared by its keyed hash).
	HolderID string
	Kind     Kind
	Status   string
}

// Seals lists the seals that match q, by code.
func (r *Registry) Seals(ctx context.Context, q Query) ([]*SealRecord, error) {
	var hash string
	if q.HolderID != "" {
		hash = r.idHash(q.HolderID)
	}
	var out []*SealRecord
	err := r.scanJSON(ctx, Prefix+"seal/", func() any { return new(SealRecord) }, func(v any) {
		s := v.(*SealRecord)
		switch {
		case q.CreditCode != "" && s.Unit.CreditCode != q.CreditCode,
			hash != "" && (s.Holder == nil || s.Holder.Hash != hash),
			q.Kind != "" && s.Kind != q.Kind,
			q.Status != "" && s.Status != q.Status:
			return
		}
		out = append(out, s)
	})
	return out, err
}

// ESL returns the seal's .esl (the DER SESeal).
func (r *Registry) ESL(ctx context.Context, code string) ([]byte, error) {
	s, err := r.Seal(ctx, code)
	if err != nil {
		return nil, err
	}
	return s.ESL, nil
}

// Picture returns the seal's picture and its type ("PNG", "SVG").
func (r *Registry) Picture(ctx context.Context, code string) ([]byte, string, error) {
	s, err := r.Seal(ctx, code)
	if err != nil {
		return nil, "", err
	}
	return s.Picture, s.PictureType, nil
}

// History returns the seal's status history, oldest first.
func (r *Registry) History(ctx context.Context, code string) ([]StatusChange, error) {
	s, err := r.Seal(ctx, code)
	if err != nil {
		return nil, err
	}
	return s.History, nil
}

// ValidAt reports whether the seal was valid at t: issued and neither suspended, revoked nor
// voided at t, and t within its validity. When it was not, err says why with the kind
// errs.SealSuspended, errs.SealRevoked, errs.SealExpired or errs.WrongState (not yet issued).
func (r *Registry) ValidAt(ctx context.Context, code string, t time.Time) (bool, error) {
	s, err := r.Seal(ctx, code)
	if err != nil {
		return false, err
	}
	if err := s.validAt(t); err != nil {
		return false, err
	}
	return true, nil
}

// validAt is nil when s was valid at t, else the refusal saying why.
func (s *SealRecord) validAt(t time.Time) error {
	st := ""
	for _, h := range s.History {
		if h.At.After(t) {
			break
		}
		st = h.Status
	}
	switch st {
	case StatusActive:
	case StatusSuspended:
		return refuse(errs.SealSuspended, "valid", s.Code, "the seal is suspended")
	case StatusRevoked, StatusVoided:
		return refuse(errs.SealRevoked, "valid", s.Code, "the seal is %s", st)
	default:
		return refuse(errs.WrongState, "valid", s.Code, "the seal was not issued then")
	}
	if t.Before(s.ValidFrom) || t.After(s.ValidTo) {
		return refuse(errs.SealExpired, "valid", s.Code, "outside the seal's validity %s to %s",
			s.ValidFrom.Format(time.RFC3339), s.ValidTo.Format(time.RFC3339))
	}
	return nil
}

func (r *Registry) scanJSON(ctx context.Context, prefix string, mk func() any, fn func(any)) error {
	return r.cfg.State.Scan(ctx, prefix, func(key string, v []byte) error {
		x := mk()
		if err := json.Unmarshal(v, x); err != nil {
			return &Error{Kind: errs.Corrupt, Op: "scan", Subject: key, Msg: "stored record unreadable", Err: err}
		}
		fn(x)
		return nil
	})
}
