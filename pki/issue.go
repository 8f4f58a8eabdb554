package pki

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/store"
)

// Issued is a certificate issued by this CA.
type Issued struct {
	// Seq is the certificate's place in the CA's issuing order: 1 is the
	// root, 2 the seal maker, signer certificates follow.
	Seq         uint64
	Kind        string // KindRoot, KindMaker or KindSigner
	KeyLabel    string
	Certificate *smx509.Certificate
	// Revoked is set when the certificate is revoked (Lookup only).
	Revoked *Revocation
}

func (r *certRecord) issued(op string) (*Issued, error) {
	c, err := smx509.ParseCertificate(r.DER)
	if err != nil {
		return nil, errorf(ErrCorrupt, op, "", err, "stored certificate %d unreadable", r.Seq)
	}
	return &Issued{Seq: r.Seq, Kind: r.Kind, KeyLabel: r.KeyLabel, Certificate: c}, nil
}

// SignerRequest asks for a signer certificate for a seal's key.
type SignerRequest struct {
	// KeyLabel names the seal's SM2 key in the key store.
	KeyLabel string
	// Holder is the subject.
	Holder Holder
	// NotBefore (zero: now) and NotAfter bound the validity, as the seal
	// application asks. NotAfter is required and may not pass the root's;
	// NotBefore may lie at most MaxBackdate in the past.
	NotBefore, NotAfter time.Time
}

// issuance is a request that passed every check: only an issuance reaches
// the root key (validate first, then sign).
type issuance struct {
	req SignerRequest
	pub *ecdsa.PublicKey
}

// prepare validates req against the CA and the key store.
func (ca *CA) prepare(ctx context.Context, op string, req SignerRequest) (*issuance, error) {
	if err := checkKeyLabel(op, req.KeyLabel); err != nil {
		return nil, err
	}
	if err := req.Holder.validate(op, "holder."); err != nil {
		return nil, err
	}
	now := ca.nowSec()
	if req.NotBefore.IsZero() {
		req.NotBefore = now
	}
	req.NotBefore = req.NotBefore.UTC().Truncate(time.Second)
	req.NotAfter = req.NotAfter.UTC().Truncate(time.Second)
	switch {
	case req.NotAfter.IsZero():
		return nil, errorf(ErrInvalidInput, op, "not_after", nil, "required")
	case !req.NotAfter.After(req.NotBefore):
		return nil, errorf(ErrInvalidInput, op, "not_after", nil, "not after not_before")
	case !req.NotAfter.After(now):
		return nil, errorf(ErrInvalidInput, op, "not_after", nil, "in the past")
	case req.NotAfter.After(ca.root.NotAfter):
		return nil, errorf(ErrInvalidInput, op, "not_after", nil, "after the CA certificate's end %s", ca.root.NotAfter.Format(time.RFC3339))
	case req.NotBefore.Before(now.Add(-MaxBackdate)):
		return nil, errorf(ErrInvalidInput, op, "not_before", nil, "more than %s in the past", MaxBackdate)
	case req.NotBefore.Before(ca.root.NotBefore):
		return nil, errorf(ErrInvalidInput, op, "not_before", nil, "before the CA certificate's start %s", ca.root.NotBefore.Format(time.RFC3339))
	}
	pub, err := ca.keyPublic(ctx, op, req.KeyLabel)
	if err != nil {
		return nil, err
	}
	return &issuance{req: req, pub: pub}, nil
}

// checkKeyLabel refuses invalid labels and the CA's own.
func checkKeyLabel(op, label string) error {
	if err := signer.CheckLabel(op, label); err != nil {
		return errorf(ErrInvalidInput, op, "key_label", nil, "must be 1..%d printable ASCII bytes without '/'", signer.MaxLabelLen)
	}
	if label == RootKeyLabel || label == MakerKeyLabel {
		return errorf(ErrInvalidInput, op, "key_label", nil, "%q is reserved for the built-in CA", label)
	}
	return nil
}

// keyPublic returns the SM2 public key under label, refusing the CA's own keys.
func (ca *CA) keyPublic(ctx context.Context, op, label string) (*ecdsa.PublicKey, error) {
	pub, err := ca.keys.PublicKey(ctx, label)
	if signer.KindOf(err) == signer.ErrKeyNotFound {
		return nil, errorf(ErrKeyNotFound, op, "key_label", err, "no key %q in the key store", label)
	}
	if err != nil {
		return nil, errorf(ErrUnavailable, op, "key_label", err, "key %q", label)
	}
	p, ok := pub.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(p) {
		return nil, errorf(ErrInvalidInput, op, "key_label", nil, "key %q is not an SM2 key", label)
	}
	// The reserved labels keep the CA's keys off by name; a key store can hold the same key
	// under another label too.
	for _, c := range []*smx509.Certificate{ca.root, ca.maker} {
		if cp, ok := publicOf(c); ok && cp.Equal(p) {
			return nil, errorf(ErrInvalidInput, op, "key_label", nil, "key %q is a key of the built-in CA", label)
		}
	}
	return p, nil
}

// IssueSigner issues a signer certificate for a seal's key: subject from
// the holder, digitalSignature and nonRepudiation, the CRL distribution
// point Options.CRLURL, a fresh random serial, signed by the root.
func (ca *CA) IssueSigner(ctx context.Context, req SignerRequest) (*Issued, error) {
	const op = "pki.IssueSigner"
	if err := ca.checkOpenLocked(op); err != nil {
		return nil, err
	}
	iss, err := ca.prepare(ctx, op, req)
	if err != nil {
		return nil, err
	}
	return ca.issue(ctx, op, iss)
}

func (ca *CA) checkOpenLocked(op string) error {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.checkOpen(op)
}

func (ca *CA) issue(ctx context.Context, op string, iss *issuance) (*Issued, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if err := ca.checkOpen(op); err != nil {
		return nil, err
	}
	serial, err := ca.newSerial(ctx)
	if err != nil {
		return nil, errorf(ErrUnavailable, op, "", err, "serial")
	}
	r := iss.req
	tmpl := ca.leafTemplate(serial, r.Holder.subject(), iss.pub, r.NotBefore, r.NotAfter)
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, ca.root, iss.pub, ca.rootSigner)
	if err != nil {
		return nil, errorf(ErrUnavailable, op, "", err, "signing")
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, errorf(ErrCorrupt, op, "", err, "parsing the new certificate")
	}
	if err := cert.CheckSignatureFrom(ca.root); err != nil {
		return nil, errorf(ErrCorrupt, op, "", err, "new certificate does not verify under the root")
	}
	seq, err := ca.record(ctx, op, serial, certRecord{V: 1, Kind: KindSigner, KeyLabel: r.KeyLabel, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, DER: der})
	if err != nil {
		return nil, err
	}
	ca.log.InfoContext(ctx, "signer certificate issued", "seq", seq, "serial", serialKey(serial), "key", r.KeyLabel)
	return &Issued{Seq: seq, Kind: KindSigner, KeyLabel: r.KeyLabel, Certificate: cert}, nil
}

// maxSeqTries bounds record's retries when other writers take sequence
// numbers at the same time.
const maxSeqTries = 16

// record stores a newly issued certificate under its serial with the next
// sequence number, and returns that number. Both are allocated by
// compare-and-swap: the batch commits only if the sequence counter is still
// the one read and no certificate has the serial yet, so two processes over
// one store never issue the same sequence number or serial. When only the
// counter moved, the next number is taken and the commit tried again (the
// sequence number is not inside the certificate).
func (ca *CA) record(ctx context.Context, op string, serial *big.Int, rec certRecord) (uint64, error) {
	for range maxSeqTries {
		old, err := ca.kv.Get(ctx, keySeq)
		if errors.Is(err, store.ErrNotFound) {
			old, err = nil, nil
		}
		if err != nil {
			return 0, errorf(ErrUnavailable, op, "", err, "reading the sequence counter")
		}
		if old != nil && len(old) != 8 {
			return 0, errorf(ErrCorrupt, op, "", nil, "sequence counter is %d bytes, not 8", len(old))
		}
		var seq uint64 = 1
		if old != nil {
			seq = binary.BigEndian.Uint64(old) + 1
		}
		rec.Seq = seq
		b := ca.kv.NewBatch()
		err = errors.Join(
			b.Expect(keySeq, old),
			b.Expect(certKey(serial), nil),
			setJSON(b, certKey(serial), rec),
			b.Set(keySeq, u64(seq)),
		)
		if err == nil {
			err = b.Commit(ctx)
		}
		b.Close()
		ca.statuses.Bump()
		if err == nil {
			return seq, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return 0, errorf(ErrUnavailable, op, "", err, "writing certificate %d", seq)
		}
		if _, gerr := ca.kv.Get(ctx, certKey(serial)); gerr == nil {
			return 0, errorf(ErrUnavailable, op, "", err, "serial %s was taken by another writer; issue again", serialKey(serial))
		}
	}
	return 0, errorf(ErrUnavailable, op, "", store.ErrConflict, "sequence counter kept changing under %d tries", maxSeqTries)
}

// publicOf returns c's ECDSA public key; false when c is nil or holds another kind.
func publicOf(c *smx509.Certificate) (*ecdsa.PublicKey, bool) {
	if c == nil {
		return nil, false
	}
	p, ok := c.PublicKey.(*ecdsa.PublicKey)
	return p, ok
}
