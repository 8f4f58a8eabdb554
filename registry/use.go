package registry

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ses"
)

// Use approval statuses.
const (
	UsePending  = "pending"
	UseApproved = "approved"
	UseUsed     = "used"
)

// UseApproval is the approval of the use of an official seal (art. 16) for the documents
// whose digests it names, each once, until it expires. Its digests may be used over several
// signings (Authorize calls), each naming some of them; the approval is UseUsed once all are.
type UseApproval struct {
	ID        string    `json:"id"`
	SealCode  string    `json:"seal_code"`
	Digests   []string  `json:"digests"` // hex
	Purpose   string    `json:"purpose,omitempty"`
	Requester string    `json:"requester"`
	Requested time.Time `json:"requested"`
	Status    string    `json:"status"`
	Approver  string    `json:"approver,omitempty"`
	Approved  time.Time `json:"approved,omitzero"`
	Expires   time.Time `json:"expires,omitzero"`
	Used      time.Time `json:"used,omitzero"` // when its last digest was used
	// UsedDigests are the digests (hex) used so far, in the order of use.
	UsedDigests []string `json:"used_digests,omitempty"`
}

// RequestUse asks to use an official seal for the documents whose SM3 digests are given and
// returns the request's id. The requester needs RoleSigner or RoleApplicant.
func (r *Registry) RequestUse(ctx context.Context, a Actor, code string, digests [][]byte, purpose string) (string, error) {
	const op = "use-request"
	if err := checkActor(op, a); err != nil {
		return "", err
	}
	if err := need(op, a, RoleSigner, RoleApplicant); err != nil {
		return "", r.refusal(ctx, a, audit.ActionUseApproval, code, nil, err)
	}
	if err := checkDigests(op, digests); err != nil {
		return "", err
	}
	if err := checkText(op, "purpose", purpose, false); err != nil {
		return "", err
	}
	s, err := r.Seal(ctx, code)
	if err != nil {
		return "", err
	}
	if s.Kind.Class() != ClassOfficial {
		return "", refuse(errs.InvalidInput, op, code, "only official seals are used under approvals")
	}
	if err := statusIn(op, s, StatusActive); err != nil {
		return "", err
	}
	n, err := r.cfg.State.Next(ctx, counterKey("use"))
	if err != nil {
		return "", wrap(op, code, err)
	}
	u := &UseApproval{ID: fmt.Sprintf("U%08d", n), SealCode: code, Purpose: purpose, Requester: a.Name,
		Requested: r.now(), Status: UsePending}
	for _, d := range digests {
		u.Digests = append(u.Digests, hex.EncodeToString(d))
	}
	err = r.commit(ctx, op, audit.Record{Actor: a.Name, Action: audit.ActionUseApproval, SealCode: code,
		Details: map[string]string{"request": u.ID, "step": "requested", "documents": fmt.Sprint(len(digests))}},
		[]audit.Write{jsonWrite(useKey(u.ID), u)})
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

// ApproveUse grants a use request, valid for ttl (0: DefaultApprovalTTL). The approver needs
// RoleReviewer and may not be the requester.
func (r *Registry) ApproveUse(ctx context.Context, a Actor, id string, ttl time.Duration) error {
	const op = "use-approve"
	if err := checkActor(op, a); err != nil {
		return err
	}
	if err := need(op, a, RoleReviewer); err != nil {
		return r.refusal(ctx, a, audit.ActionUseApproval, "", nil, err)
	}
	if ttl <= 0 {
		ttl = DefaultApprovalTTL
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	u, err := r.UseApproval(ctx, id)
	if err != nil {
		return err
	}
	if u.Requester == a.Name {
		return r.refusal(ctx, a, audit.ActionUseApproval, u.SealCode, nil, refuse(errs.SamePerson, op, id, "the approver is the requester"))
	}
	if u.Status != UsePending {
		return refuse(errs.WrongState, op, id, "the request is %s", u.Status)
	}
	now := r.now()
	u.Status, u.Approver, u.Approved, u.Expires = UseApproved, a.Name, now, now.Add(ttl)
	return r.commit(ctx, op, audit.Record{Actor: a.Name, Action: audit.ActionUseApproval, SealCode: u.SealCode,
		Details: map[string]string{"request": id, "step": "approved", "expires": u.Expires.Format(time.RFC3339)}},
		[]audit.Write{jsonWrite(useKey(id), u)})
}

// UseApproval returns a use request or approval.
func (r *Registry) UseApproval(ctx context.Context, id string) (*UseApproval, error) {
	var u UseApproval
	if err := r.load(ctx, "use-approval", useKey(id), id, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

func checkDigests(op string, digests [][]byte) error {
	if len(digests) == 0 || len(digests) > MaxBatchDigests {
		return refuse(errs.LimitExceeded, op, "", "%d digests, 1 to %d allowed", len(digests), MaxBatchDigests)
	}
	for i, d := range digests {
		if len(d) != sm3.Size {
			return refuse(errs.InvalidInput, op, "", "digest %d has %d bytes, an SM3 digest has %d", i, len(d), sm3.Size)
		}
	}
	return nil
}

// UseRequest asks to sign under a seal now.
type UseRequest struct {
	SealCode string
	// Digests are the SM3 digests of the documents to sign: one, or a batch (bulk signing).
	Digests [][]byte
	// PIN is the seal's protection PIN.
	PIN []byte
	// Approval is the use approval of an official seal.
	Approval string
	// Scope is the delegated scope a position seal is used in.
	Scope string
}

// Use is what signing under a seal needs, for the digests it was authorised for. Sign,
// SignBatch and SignDocument return a signature only after its use record is durable in the
// audit log. A
// caller that builds its signatures itself with Signer (an OFD signer) must call
// RecordSignature, and hand a signature out only when it returns nil.
type Use struct {
	// Seal, Record and Certificate are shared with every other use of the seal until the
	// registry commits again: read them, never change them.
	//
	// Seal is the parsed seal (its .esl).
	Seal *ses.Seal
	// Record is the seal's registry record.
	Record *SealRecord
	// Certificate is the seal's signer certificate.
	Certificate *smx509.Certificate
	// Signer signs with the seal's key, at most once per authorised digest.
	Signer crypto.Signer

	r        *Registry
	actor    string
	approval string
	mu       sync.Mutex
	left     map[string]bool // digests (hex) not yet recorded
}

// Authorize decides whether a may sign under the seal now (art. 16-18) and hands back what
// signing needs. A seal signs only when issued, neither suspended nor revoked, and within its
// validity; the caller needs RoleSigner; an official seal signs only under a use approval
// granted for these digests, none of them used before, which this call uses (the approval's
// other digests remain for later calls); a position seal only by its holder within its
// scopes; a personal seal only by its holder. The seal's protection PIN is checked
// (signer.Guard: the key locks after 5 wrong PINs in a row, or 20 within a day). The digests of an approval are
// used when Authorize returns, whether or not each is then signed.
func (r *Registry) Authorize(ctx context.Context, a Actor, req UseRequest) (*Use, error) {
	const op = "authorize"
	var digest []byte
	if len(req.Digests) == 1 {
		digest = req.Digests[0]
	}
	deny := func(err error) (*Use, error) {
		return nil, r.refusal(ctx, a, audit.ActionSign, req.SealCode, digest, err)
	}
	if err := checkActor(op, a); err != nil {
		return nil, err
	}
	if err := need(op, a, RoleSigner); err != nil {
		return deny(err)
	}
	if len(a.Seals) > 0 && !slices.Contains(a.Seals, req.SealCode) {
		return deny(refuse(errs.WrongRole, op, req.SealCode, "%q may not use this seal", a.Name))
	}
	if err := checkDigests(op, req.Digests); err != nil {
		return nil, err
	}
	x, err := r.sealInUse(ctx, op, req.SealCode)
	if err != nil {
		return nil, err
	}
	s := x.rec
	now := r.now()
	if err := r.usable(op, s, now); err != nil {
		if s.Status == StatusRevoked || s.Status == StatusVoided {
			r.destroyKey(ctx, s)
		}
		return deny(err)
	}
	switch s.Kind.Class() {
	case ClassOfficial:
		if req.Approval == "" {
			return deny(refuse(errs.ApprovalRequired, op, s.Code, "an official seal signs only under a use approval"))
		}
		if _, err := r.checkApproval(ctx, op, a, s.Code, req, now); err != nil {
			return deny(err)
		}
	case ClassPosition, ClassPersonal:
		if a.PersonID == "" || s.Holder == nil || r.idHash(a.PersonID) != s.Holder.Hash {
			return deny(refuse(errs.NotHolder, op, s.Code, "only the seal's holder signs with it"))
		}
		if s.Kind.Class() == ClassPosition && len(s.Scopes) > 0 && !slices.Contains(s.Scopes, req.Scope) {
			return deny(refuse(errs.OutOfScope, op, s.Code, "scope %q is not delegated to this seal", req.Scope))
		}
	}
	if err := r.cfg.Guard.Verify(ctx, s.KeyLabel, req.PIN); err != nil {
		return deny(wrap(op, s.Code, err))
	}
	seal, cert := x.seal, x.cert
	key, err := r.cfg.Keys.Signer(ctx, s.KeyLabel)
	if err != nil {
		return nil, wrap(op, s.Code, err)
	}
	if s.Kind.Class() == ClassOfficial {
		if err := r.useApproval(ctx, op, a, req, now); err != nil {
			return deny(err)
		}
	}
	u := &Use{Seal: seal, Record: s, Certificate: cert, r: r, actor: a.Name, approval: req.Approval,
		left: map[string]bool{}}
	for _, d := range req.Digests {
		u.left[hex.EncodeToString(d)] = true
	}
	u.Signer = &countedSigner{key: key, left: len(u.left)}
	return u, nil
}

// usable refuses unless s may sign at now.
func (r *Registry) usable(op string, s *SealRecord, now time.Time) error {
	if err := statusIn(op, s, StatusActive); err != nil {
		return err
	}
	return s.validAt(now)
}

// checkApproval checks the use approval named in req for seal code and the digests.
func (r *Registry) checkApproval(ctx context.Context, op string, a Actor, code string, req UseRequest, now time.Time) (*UseApproval, error) {
	u, err := r.UseApproval(ctx, req.Approval)
	if err != nil {
		return nil, err
	}
	switch {
	case u.SealCode != code:
		return nil, refuse(errs.WrongState, op, u.ID, "the approval is for another seal")
	case u.Status == UseUsed:
		return nil, refuse(errs.ApprovalUsed, op, u.ID, "the approval was used at %s", u.Used.Format(time.RFC3339))
	case u.Status != UseApproved:
		return nil, refuse(errs.WrongState, op, u.ID, "the request is not approved")
	case !now.Before(u.Expires):
		return nil, refuse(errs.ApprovalExpired, op, u.ID, "the approval expired at %s", u.Expires.Format(time.RFC3339))
	case u.Requester != a.Name:
		return nil, refuse(errs.WrongState, op, u.ID, "the approval was granted to another requester")
	}
	granted, used := set(u.Digests), set(u.UsedDigests)
	for i, d := range req.Digests {
		if !granted[hex.EncodeToString(d)] {
			return nil, refuse(errs.DigestNotApproved, op, u.ID, "digest %d is not one the approval was granted for", i)
		}
	}
	for i, d := range req.Digests {
		if h := hex.EncodeToString(d); used[h] {
			return nil, refuse(errs.ApprovalUsed, op, u.ID, "digest %d (%s) was used already under the approval", i, h)
		}
	}
	return u, nil
}

// useApproval uses the request's digests of the approval, in one step with its audit record;
// the approval is used when every digest is.
func (r *Registry) useApproval(ctx context.Context, op string, a Actor, req UseRequest, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	u, err := r.checkApproval(ctx, op, a, req.SealCode, req, now)
	if err != nil {
		return err
	}
	used := set(u.UsedDigests)
	n := 0
	for _, d := range req.Digests {
		if h := hex.EncodeToString(d); !used[h] {
			used[h] = true
			u.UsedDigests = append(u.UsedDigests, h)
			n++
		}
	}
	left := 0
	for _, h := range u.Digests {
		if !used[h] {
			left++
		}
	}
	if left == 0 {
		u.Status, u.Used = UseUsed, now
	}
	return r.commit(ctx, op, audit.Record{Actor: a.Name, Action: audit.ActionUseApproval, SealCode: req.SealCode,
		Details: map[string]string{"request": u.ID, "step": "used", "documents": fmt.Sprint(n), "left": fmt.Sprint(left)}},
		[]audit.Write{jsonWrite(useKey(u.ID), u)})
}

// set is the set of the strings in list.
func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[v] = true
	}
	return m
}

// countedSigner signs at most left times.
type countedSigner struct {
	key  crypto.Signer
	mu   sync.Mutex
	left int
}

func (c *countedSigner) Public() crypto.PublicKey { return c.key.Public() }

// SignsDigest forwards the key's answer (ses.DigestSigner).
func (c *countedSigner) SignsDigest() bool {
	d, ok := c.key.(ses.DigestSigner)
	return ok && d.SignsDigest()
}

func (c *countedSigner) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.mu.Lock()
	if c.left <= 0 {
		c.mu.Unlock()
		return nil, refuse(errs.DigestNotApproved, "sign", "", "every authorised digest is signed")
	}
	c.left--
	c.mu.Unlock()
	return c.key.Sign(rnd, digest, opts)
}

// SignItem is one document of a (bulk) signing.
type SignItem struct {
	Digest []byte
	// PropertyInfo is the signature's property info (OFD: the path of Signature.xml).
	PropertyInfo string
}

// Sign signs one authorised digest and returns the DER SES_Signature once its use record is
// durable.
func (u *Use) Sign(ctx context.Context, item SignItem) ([]byte, error) {
	sigs, err := u.SignBatch(ctx, []SignItem{item})
	if err != nil {
		return nil, err
	}
	return sigs[0], nil
}

// SignBatch signs authorised digests and returns the signatures once all their use records
// are durable (appended together, in one synced batch).
func (u *Use) SignBatch(ctx context.Context, items []SignItem) ([][]byte, error) {
	const op = "sign"
	s, now, err := u.usableNow(ctx, op, nil)
	if err != nil {
		return nil, err
	}
	sigs := make([][]byte, len(items))
	for i, it := range items {
		if !u.take(it.Digest) {
			return nil, refuse(errs.DigestNotApproved, op, s.Code, "digest %d is not authorised for this use, or signed already", i)
		}
		sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: u.Seal, SignerCert: u.Certificate.Raw,
			DataHash: it.Digest, PropertyInfo: it.PropertyInfo, Time: now}, u.Signer)
		if err != nil {
			return nil, u.signFailed(ctx, op, s.Code, err)
		}
		sigs[i] = sig
	}
	if err := u.record(ctx, sigs); err != nil {
		return nil, err
	}
	return sigs, nil
}

// SignDocument signs, for the authorised digest of a document, a digest derived from the
// document that only the signing itself can know: an OFD signature signs the SM3 of its
// Signature.xml, which names the signing time. It takes document (an authorised SM3 digest)
// off this use, whatever happens next; calls build with the registry's clock, to the second,
// which is also the signature's time; signs the item's Digest with its PropertyInfo; and
// returns the DER SES_Signature once its use record is durable. That record names the digest
// signed, and the document's digest in its details ("document").
func (u *Use) SignDocument(ctx context.Context, document []byte, build func(now time.Time) (SignItem, error)) ([]byte, error) {
	const op = "sign"
	s, now, err := u.usableNow(ctx, op, document)
	if err != nil {
		return nil, err
	}
	// The signature's time is written in whole seconds (as every SES signing time is), so
	// Signature.xml and the signature say the same time.
	now = now.Truncate(time.Second)
	if !u.take(document) {
		return nil, refuse(errs.DigestNotApproved, op, s.Code, "the document is not authorised for this use, or signed already")
	}
	item, err := build(now)
	if err != nil {
		return nil, wrap(op, s.Code, err)
	}
	if len(item.Digest) != sm3.Size {
		return nil, refuse(errs.InvalidInput, op, s.Code, "the digest to sign has %d bytes, an SM3 digest has %d", len(item.Digest), sm3.Size)
	}
	sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: u.Seal, SignerCert: u.Certificate.Raw,
		DataHash: item.Digest, PropertyInfo: item.PropertyInfo, Time: now}, u.Signer)
	if err != nil {
		return nil, u.signFailed(ctx, op, s.Code, err)
	}
	if err := u.recordWith(ctx, [][]byte{sig}, map[string]string{"document": hex.EncodeToString(document)}); err != nil {
		return nil, err
	}
	return sig, nil
}

// signFailed is the error of a signing that failed: the seal's refusal when it stopped
// meanwhile (a revocation destroys its key under a running signing), else err.
func (u *Use) signFailed(ctx context.Context, op, code string, err error) error {
	if _, _, uerr := u.usableNow(ctx, op, nil); uerr != nil {
		return uerr
	}
	return wrap(op, code, err)
}

// usableNow checks, as the registry says now, that the seal may still sign (it may have
// been suspended or revoked since Authorize), and returns its record and the time; a
// refusal is recorded in the audit log with digest.
func (u *Use) usableNow(ctx context.Context, op string, digest []byte) (*SealRecord, time.Time, error) {
	x, err := u.r.sealInUse(ctx, op, u.Record.Code)
	if err != nil {
		return nil, time.Time{}, err
	}
	now := u.r.now()
	if err := u.r.usable(op, x.rec, now); err != nil {
		return nil, time.Time{}, u.r.refusal(ctx, Actor{Name: u.actor}, audit.ActionSign, x.rec.Code, digest, err)
	}
	return x.rec, now, nil
}

// take marks digest as signed; false when it is not authorised or signed already.
func (u *Use) take(digest []byte) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := hex.EncodeToString(digest)
	if !u.left[k] {
		return false
	}
	delete(u.left, k)
	return true
}

// RecordSignature appends the use record of a signature made with Signer over an authorised
// digest (the signature's DER SES_Signature). The signature may be handed out only when it
// returns nil: the record is then durable.
func (u *Use) RecordSignature(ctx context.Context, sigDER []byte) error {
	sig, err := ses.ParseSignature(sigDER)
	if err != nil {
		return refuse(errs.Malformed, "record", u.Record.Code, "not a seal signature: %v", err)
	}
	if sig.TBS.Seal == nil || !bytes.Equal(sig.TBS.Seal.Raw, u.Seal.Raw) || !bytes.Equal(sig.Cert, u.Certificate.Raw) {
		return refuse(errs.InvalidInput, "record", u.Record.Code, "the signature is not under this seal and certificate")
	}
	if !u.take(sig.TBS.DataHash) {
		return refuse(errs.DigestNotApproved, "record", u.Record.Code, "the digest signed is not authorised for this use, or recorded already")
	}
	return u.record(ctx, [][]byte{sigDER})
}

func (u *Use) record(ctx context.Context, sigs [][]byte) error {
	return u.recordWith(ctx, sigs, nil)
}

// recordWith appends the use records of sigs, each with details besides the approval's id.
func (u *Use) recordWith(ctx context.Context, sigs [][]byte, details map[string]string) error {
	recs := make([]audit.Record, len(sigs))
	// The signatures carry the use's seal: it is taken as parsed (after a comparison of its
	// bytes), not parsed again for each.
	reuse := func([]byte) *ses.Seal { return u.Seal }
	for i, der := range sigs {
		sig, err := ses.ParseSignatureReusing(der, reuse)
		if err != nil {
			return wrap("sign", u.Record.Code, err)
		}
		v := sm3.Sum(sig.Value)
		recs[i] = audit.Record{Actor: u.actor, Action: audit.ActionSign, SealCode: u.Record.Code,
			Digest: sig.TBS.DataHash, SignatureSM3: v[:], Outcome: audit.OutcomeOK}
		if u.approval != "" || len(details) > 0 {
			recs[i].Details = maps.Clone(details)
			if recs[i].Details == nil {
				recs[i].Details = map[string]string{}
			}
			if u.approval != "" {
				recs[i].Details["approval"] = u.approval
			}
		}
	}
	if _, err := u.r.cfg.State.AppendAll(ctx, recs); err != nil {
		return wrap("sign", u.Record.Code, err)
	}
	// The seal may have been suspended or revoked while these were signed (a batch takes a
	// while): they are handed out only when it may still sign now that their records are
	// durable, so none leaves signed after the seal stopped.
	if _, _, err := u.usableNow(ctx, "sign", nil); err != nil {
		return err
	}
	return nil
}

// inUse is a seal as signing reads it: its record, parsed seal and signer certificate,
// shared read-only by every signing under the seal until the registry commits again.
type inUse struct {
	rec  *SealRecord
	seal *ses.Seal
	cert *smx509.Certificate
}

// sealsInUse is how many seals' records signing keeps parsed.
const sealsInUse = 512

// SealForSigning returns the parsed seal of code as signing reads it: remembered until the
// registry's next commit, so a caller preparing a document for signing does not read and
// parse the record again. It decides nothing (Authorize does); nobody may change the seal.
func (r *Registry) SealForSigning(ctx context.Context, code string) (*ses.Seal, error) {
	x, err := r.sealInUse(ctx, "seal", code)
	if err != nil {
		return nil, err
	}
	return x.seal, nil
}

// sealInUse is the seal of code as signing needs it, read and parsed once per commit of the
// registry instead of once per signature (the record holds the seal and its picture: tens of
// kilobytes of JSON). Nobody may change what it returns.
func (r *Registry) sealInUse(ctx context.Context, op, code string) (*inUse, error) {
	if x, ok := r.inUse.Get(code); ok {
		return x, nil
	}
	gen := r.inUse.Gen()
	s, err := r.Seal(ctx, code)
	if err != nil {
		return nil, err
	}
	seal, err := ses.ParseSeal(s.ESL)
	if err != nil {
		return nil, &Error{Kind: errs.Corrupt, Op: op, Subject: s.Code, Msg: "stored seal unreadable", Err: err}
	}
	cert, err := smx509.ParseCertificate(s.Certificate)
	if err != nil {
		return nil, &Error{Kind: errs.Corrupt, Op: op, Subject: s.Code, Msg: "stored certificate unreadable", Err: err}
	}
	x := &inUse{rec: s, seal: seal, cert: cert}
	r.inUse.Put(code, gen, x)
	return x, nil
}
