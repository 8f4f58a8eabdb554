package registry

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/verifier"
)

// The registry answers for the seals it made and the certificates its CA issued, at once: a
// revocation, suspension or change is in its answer as soon as it is committed, with no CRL
// to wait for. Both look-ups are point reads (the seal's status entry by its code, the
// certificate by its serial) and take no lifecycle lock, so they can run on every
// verification.

// SealStatus reports on the seal with code esID and DER encoding der (verifier.StatusSource).
// Known is true only when the registry made a seal under that code whose .esl is exactly der:
// a seal of another maker that happens to carry one of our codes is not ours, and for it, as
// for a code the registry never assigned, Known is false and the error nil.
//
// For a seal of ours, Revoked is when it was revoked or voided (a change voids the old
// version), Reason says which and why, and Suspended lists the spans in which it could sign
// nothing: each suspension (a running one with a zero To) and, as such, the span between its
// making and its issuing. A store that cannot be read gives an error with its kind
// (errs.Unavailable, errs.Closed, errs.Corrupt).
func (r *Registry) SealStatus(ctx context.Context, esID string, der []byte) (verifier.Status, error) {
	const op = "seal status"
	if !validCode(esID) || len(der) == 0 {
		return verifier.Status{}, nil
	}
	if m, ok := r.statuses.Get(esID); ok && bytes.Equal(m.esl, der) {
		return m.status, nil
	}
	gen := r.statuses.Gen()
	s, err := r.readStatus(ctx, op, esID)
	if errors.Is(err, errs.NotFound) {
		return verifier.Status{}, nil
	}
	if err != nil {
		return verifier.Status{}, err
	}
	if s.Code != esID {
		return verifier.Status{}, &Error{Kind: errs.Corrupt, Op: op, Subject: esID, Msg: fmt.Sprintf("the record stored under this code is of seal %q", s.Code)}
	}
	if !bytes.Equal(s.ESL, der) {
		return verifier.Status{}, nil
	}
	st, err := s.status()
	if err != nil {
		return verifier.Status{}, &Error{Kind: errs.Corrupt, Op: op, Subject: esID, Msg: "stored status history unreadable", Err: err}
	}
	r.statuses.Put(esID, gen, sealStatus{esl: s.ESL, status: st})
	return st, nil
}

// sealStatus is a remembered answer of SealStatus: the registry's word on the seal esl.
// Every commit of the registry moves the memo's generation on, so a change of status is
// answered on the next call.
type sealStatus struct {
	esl    []byte
	status verifier.Status
}

// sealStatusMemo is how many seals' answers SealStatus keeps (one slot each, a seal's .esl
// and its status spans: some kilobytes).
const sealStatusMemo = 512

// statusRecord is what SealStatus reads of a seal.
type statusRecord struct {
	Code    string         `json:"code"`
	ESL     []byte         `json:"esl,omitempty"`
	History []statusChange `json:"history"`
	Next    string         `json:"next,omitempty"`
}

// statusChange is the part of a StatusChange a status needs.
type statusChange struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// statusKey holds a seal's status entry: its .esl and its status history, written with the
// seal record in every batch that writes one (sealWrites), so that SealStatus reads a few
// kilobytes and a little JSON rather than decoding the whole record.
func statusKey(code string) string { return Prefix + "status/" + code }

// statusEntryV1 starts a status entry; then come the .esl's length (uvarint), the .esl, and
// the JSON of its statusRecord without the .esl.
const statusEntryV1 = 1

// sealWrites are the writes that store s: its record and its status entry. Every write of a
// seal record goes through it.
func sealWrites(s *SealRecord) []audit.Write {
	f := statusRecord{Code: s.Code, Next: s.Next, History: make([]statusChange, len(s.History))}
	for i, h := range s.History {
		f.History[i] = statusChange{Status: h.Status, At: h.At, Reason: h.Reason}
	}
	js, err := json.Marshal(f)
	if err != nil {
		panic(err) // the registry's own records always encode
	}
	v := make([]byte, 0, 1+binary.MaxVarintLen64+len(s.ESL)+len(js))
	v = append(v, statusEntryV1)
	v = binary.AppendUvarint(v, uint64(len(s.ESL)))
	v = append(append(v, s.ESL...), js...)
	return []audit.Write{jsonWrite(sealKey(s.Code), s), {Key: []byte(statusKey(s.Code)), Value: v}}
}

// decodeStatusEntry reads a status entry.
func decodeStatusEntry(b []byte) (*statusRecord, error) {
	if len(b) == 0 || b[0] != statusEntryV1 {
		return nil, errors.New("not a version 1 status entry")
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 || n > uint64(len(b)-1-k) {
		return nil, errors.New("bad .esl length")
	}
	esl, js := b[1+k:1+k+int(n)], b[1+k+int(n):]
	var s statusRecord
	if err := json.Unmarshal(js, &s); err != nil {
		return nil, err
	}
	s.ESL = esl
	return &s, nil
}

// readStatus reads the status of the seal under code: its status entry or, for a seal stored
// before entries were kept, its record (decoding only what a status needs); errs.NotFound
// when there is neither.
func (r *Registry) readStatus(ctx context.Context, op, code string) (*statusRecord, error) {
	b, err := r.cfg.State.Get(ctx, statusKey(code))
	if err == nil {
		s, err := decodeStatusEntry(b)
		if err != nil {
			return nil, &Error{Kind: errs.Corrupt, Op: op, Subject: code, Msg: "stored status entry unreadable", Err: err}
		}
		return s, nil
	}
	if !errors.Is(err, errs.NotFound) {
		return nil, storeErr(op, code, "reading the status entry", err)
	}
	b, err = r.cfg.State.Get(ctx, sealKey(code))
	if errors.Is(err, errs.NotFound) {
		return nil, errs.NotFound
	}
	if err != nil {
		return nil, storeErr(op, code, "reading the seal record", err)
	}
	var s statusRecord
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, &Error{Kind: errs.Corrupt, Op: op, Subject: code, Msg: "stored record unreadable", Err: err}
	}
	return &s, nil
}

// status is the registry's word on s, from its history. A history that does not start with
// the seal's making, or holds a status this code does not know, is an error: nothing is
// promised about a seal whose history cannot be read whole.
func (s *statusRecord) status() (verifier.Status, error) {
	if len(s.History) == 0 || s.History[0].Status != StatusMade {
		return verifier.Status{}, errors.New("the history does not start with the making")
	}
	st := verifier.Status{Known: true}
	var open *verifier.Period // the span in which the seal cannot sign, while it runs
	// A span ends at the whole second at or before its end: a signing time is written in
	// whole seconds, so a signature made in the second a seal was issued or resumed, after
	// that, claims a time up to a second earlier and must not fall inside the span.
	closeAt := func(at time.Time) {
		if open == nil {
			return
		}
		if to := at.Truncate(time.Second); to.After(open.From) {
			st.Suspended = append(st.Suspended, verifier.Period{From: open.From, To: to})
		}
		open = nil
	}
	for _, h := range s.History {
		switch h.Status {
		case StatusMade:
			// Not yet issued: it signs nothing until Issue.
			if open == nil {
				open = &verifier.Period{From: h.At}
			}
		case StatusSuspended:
			closeAt(h.At)
			open = &verifier.Period{From: h.At}
			st.Reason = describe("suspended", h.Reason, "")
		case StatusActive:
			closeAt(h.At)
			st.Reason = ""
		case StatusRevoked, StatusVoided:
			closeAt(h.At)
			if st.Revoked.IsZero() {
				next := ""
				if h.Status == StatusVoided && s.Next != "" {
					next = s.Next
				}
				st.Revoked, st.Reason = h.At, describe(h.Status, h.Reason, next)
			}
		default:
			return verifier.Status{}, fmt.Errorf("unknown status %q", h.Status)
		}
	}
	if open != nil {
		st.Suspended = append(st.Suspended, verifier.Period{From: open.From})
		if st.Reason == "" {
			st.Reason = "the seal has not been issued"
		}
	}
	return st, nil
}

// describe puts a status change in words for a report.
func describe(status, reason, next string) string {
	s := "the seal was " + status + " by its registry"
	if reason != "" {
		s += ": " + reason
	}
	if next != "" {
		s += " (replaced by seal " + next + ")"
	}
	return s
}

// CertStatus reports on cert (verifier.StatusSource). Known is true only when the registry's
// CA issued this very certificate: its issuer is the CA's root and the CA's record for its
// serial holds the same DER; a certificate of another CA, whatever its names and serial, is
// not known. Revoked is the time recorded when the CA revoked it, effective at once (before
// any CRL listing it is fetched), and Reason its CRL reason in words.
func (r *Registry) CertStatus(ctx context.Context, cert *smx509.Certificate) (verifier.Status, error) {
	const op = "certificate status"
	if cert == nil {
		return verifier.Status{}, refuse(errs.InvalidInput, op, "", "no certificate")
	}
	root := r.cfg.CA.Root()
	if cert.SerialNumber == nil || cert.SerialNumber.Sign() <= 0 || !bytes.Equal(cert.RawIssuer, root.RawSubject) {
		return verifier.Status{}, nil
	}
	issued, rev, err := r.cfg.CA.Status(ctx, cert.SerialNumber, cert.Raw)
	if err != nil {
		return verifier.Status{}, storeErr(op, cert.SerialNumber.Text(16), "the CA's record", err)
	}
	if !issued {
		return verifier.Status{}, nil
	}
	st := verifier.Status{Known: true}
	if rev != nil {
		st.Revoked = rev.Time
		st.Reason = "the certificate was revoked by its CA: " + reasonWords(rev.Reason)
	}
	return st, nil
}

// reasonWords names an RFC 5280 CRL reason.
func reasonWords(r pki.Reason) string {
	switch r {
	case pki.Unspecified:
		return "unspecified"
	case pki.KeyCompromise:
		return "key compromise"
	case pki.CACompromise:
		return "CA compromise"
	case pki.AffiliationChanged:
		return "affiliation changed"
	case pki.Superseded:
		return "superseded"
	case pki.CessationOfOperation:
		return "cessation of operation"
	case pki.PrivilegeWithdrawn:
		return "privilege withdrawn"
	case pki.AACompromise:
		return "AA compromise"
	}
	return fmt.Sprintf("reason code %d", int(r))
}

// storeErr is a failed read: it keeps the kind of its cause when it has one (errs.Closed,
// errs.Corrupt) and is errs.Unavailable otherwise.
func storeErr(op, subject, what string, err error) error {
	k := errs.KindOf(err)
	if k == 0 {
		k = errs.Unavailable
	}
	return &Error{Kind: k, Op: op, Subject: subject, Msg: what, Err: err}
}
