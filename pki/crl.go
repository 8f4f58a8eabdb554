package pki

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/json"
	"errors"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/store"
)

// Reason is an RFC 5280 CRL reason code.
type Reason int

// The reasons Revoke accepts. certificateHold (6) and removeFromCRL (8) are
// refused: revocation here is final and there are no delta CRLs.
const (
	Unspecified          Reason = 0
	KeyCompromise        Reason = 1
	CACompromise         Reason = 2
	AffiliationChanged   Reason = 3
	Superseded           Reason = 4
	CessationOfOperation Reason = 5
	PrivilegeWithdrawn   Reason = 9
	AACompromise         Reason = 10
)

func (r Reason) valid() bool {
	return r >= 0 && r <= 10 && r != 6 && r != 7 && r != 8
}

// Revocation is the revocation status of a certificate.
type Revocation struct {
	Time   time.Time
	Reason Reason
}

// Revoke revokes the certificate with the given serial, issued by this CA
// (a signer or the seal-maker certificate; not the root), as of at (zero
// means now; it may lie in the past, not in the future nor before the
// certificate's notBefore). A new CRL listing it is issued and stored in
// the same batch, so a revocation is never without its CRL.
func (ca *CA) Revoke(ctx context.Context, serial *big.Int, reason Reason, at time.Time) error {
	const op = "pki.Revoke"
	if serial == nil || serial.Sign() <= 0 {
		return errorf(ErrInvalidInput, op, "serial", nil, "missing or not positive")
	}
	if !reason.valid() {
		return errorf(ErrInvalidInput, op, "reason", nil, "%d is not an accepted RFC 5280 reason code (0-5, 9, 10)", int(reason))
	}
	now := ca.nowSec()
	if at.IsZero() {
		at = now
	}
	at = at.UTC().Truncate(time.Second)
	if at.After(now) {
		return errorf(ErrInvalidInput, op, "time", nil, "in the future")
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if err := ca.checkOpen(op); err != nil {
		return err
	}
	rec, err := ca.getCert(ctx, op, serial)
	if err != nil {
		return err
	}
	if rec.Kind == KindRoot {
		return errorf(ErrInvalidInput, op, "serial", nil, "the root cannot be revoked on its own CRL")
	}
	if at.Before(rec.NotBefore) {
		return errorf(ErrInvalidInput, op, "time", nil, "before the certificate's notBefore %s", rec.NotBefore.Format(time.RFC3339))
	}
	if _, err := ca.kv.Get(ctx, revKey(serial)); err == nil {
		return errorf(ErrRevoked, op, "serial", nil, "%s is already revoked", serialKey(serial))
	} else if !errors.Is(err, store.ErrNotFound) {
		return errorf(ErrUnavailable, op, "", err, "reading store")
	}
	rev := revRecord{V: 1, Time: at, Reason: reason}
	if err := ca.reissueCRL(ctx, op, now, serial, &rev); err != nil {
		return err
	}
	ca.log.InfoContext(ctx, "certificate revoked", "serial", serialKey(serial), "key", rec.KeyLabel, "reason", int(reason), "crl_number", ca.crl.Number.String())
	return nil
}

// CRL returns the current CRL, DER-encoded. It is re-issued, with the next
// CRL number, when it is older than Options.CRLRefresh (at most a day);
// Revoke re-issues it at once. A CRL is never dated before the one it
// follows: relying parties take the CRL with the later thisUpdate as the
// newer, so one dated earlier would hide its revocations behind the CRL
// before. While the clock is behind the current CRL, that CRL stays.
func (ca *CA) CRL(ctx context.Context) ([]byte, error) {
	const op = "pki.CRL"
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if err := ca.checkOpen(op); err != nil {
		return nil, err
	}
	now := ca.nowSec()
	if age := now.Sub(ca.crl.ThisUpdate); age >= ca.opts.CRLRefresh {
		if err := ca.reissueCRL(ctx, op, now, nil, nil); err != nil {
			return nil, err
		}
		ca.log.InfoContext(ctx, "CRL re-issued", "crl_number", ca.crl.Number.String())
	}
	return bytes.Clone(ca.crlDER), nil
}

// reissueCRL signs the next CRL with every stored revocation, plus (serial,
// add) when add is not nil, and stores it, the counter and add in one batch.
// It is dated now, or the current CRL's thisUpdate when the clock is behind
// it. Callers hold ca.mu.
func (ca *CA) reissueCRL(ctx context.Context, op string, now time.Time, serial *big.Int, add *revRecord) error {
	if now.Before(ca.crl.ThisUpdate) {
		now = ca.crl.ThisUpdate
	}
	var entries []smx509.RevocationListEntry
	err := ca.kv.Scan(ctx, []byte(prefixRev), func(k, v []byte) error {
		var r revRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return errorf(ErrCorrupt, op, "", err, "revocation record %s", k)
		}
		s, ok := new(big.Int).SetString(string(k[len(prefixRev):]), 16)
		if !ok {
			return errorf(ErrCorrupt, op, "", nil, "revocation key %s", k)
		}
		entries = append(entries, smx509.RevocationListEntry{SerialNumber: s, RevocationTime: r.Time, ReasonCode: int(r.Reason)})
		return nil
	})
	if err != nil {
		if _, ok := err.(*Error); ok {
			return err
		}
		return errorf(ErrUnavailable, op, "", err, "reading revocations")
	}
	if add != nil {
		entries = append(entries, smx509.RevocationListEntry{SerialNumber: serial, RevocationTime: add.Time, ReasonCode: int(add.Reason)})
	}
	num := new(big.Int).Add(ca.crl.Number, big.NewInt(1))
	der, err := ca.signCRL(ca.root, ca.rootSigner, num, now, entries)
	if err != nil {
		return errorf(ErrUnavailable, op, "", err, "signing CRL %s", num)
	}
	crl, err := smx509.ParseRevocationList(der)
	if err != nil {
		return errorf(ErrCorrupt, op, "", err, "parsing the new CRL")
	}
	if err := crl.CheckSignatureFrom(ca.root); err != nil {
		return errorf(ErrCorrupt, op, "", err, "new CRL does not verify under the root")
	}
	b := ca.kv.NewBatch()
	defer b.Close()
	err = errors.Join(b.Set(keyCRL, der), b.Set(keyCRLNum, u64(num.Uint64())))
	if err == nil && add != nil {
		err = setJSON(b, revKey(serial), add)
	}
	if err == nil {
		err = b.Commit(ctx)
	}
	ca.statuses.Bump() // a revocation (or a failed write of one) is seen by the next Status
	if err != nil {
		return errorf(ErrUnavailable, op, "", err, "writing CRL %s", num)
	}
	ca.crlDER, ca.crl = der, crl
	return nil
}

// signCRL makes a CRL: thisUpdate now, nextUpdate now+CRLValidity, the
// CRL number and (by smx509) the authority key identifier of the root.
// Revoked entries stay listed for good: seals are verified long after
// their certificate's end, so expired entries are not dropped.
func (ca *CA) signCRL(root *smx509.Certificate, key crypto.Signer, num *big.Int, now time.Time, entries []smx509.RevocationListEntry) ([]byte, error) {
	return smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		SignatureAlgorithm:        smx509.SM2WithSM3,
		Number:                    num,
		ThisUpdate:                now,
		NextUpdate:                now.Add(ca.opts.CRLValidity),
		RevokedCertificateEntries: entries,
	}, root, key)
}

// Lookup returns the certificate with the given serial issued by this CA
// (root, seal maker or signer) and its revocation status.
func (ca *CA) Lookup(ctx context.Context, serial *big.Int) (*Issued, error) {
	const op = "pki.Lookup"
	if err := ca.checkOpenLocked(op); err != nil {
		return nil, err
	}
	if serial == nil || serial.Sign() <= 0 {
		return nil, errorf(ErrInvalidInput, op, "serial", nil, "missing or not positive")
	}
	rec, err := ca.getCert(ctx, op, serial)
	if err != nil {
		return nil, err
	}
	is, err := rec.issued(op)
	if err != nil {
		return nil, err
	}
	v, err := ca.kv.Get(ctx, revKey(serial))
	switch {
	case err == nil:
		var r revRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, errorf(ErrCorrupt, op, "", err, "revocation record of %s", serialKey(serial))
		}
		is.Revoked = &Revocation{Time: r.Time, Reason: r.Reason}
	case !errors.Is(err, store.ErrNotFound):
		return nil, errorf(ErrUnavailable, op, "", err, "reading store")
	}
	return is, nil
}

func (ca *CA) getCert(ctx context.Context, op string, serial *big.Int) (*certRecord, error) {
	v, err := ca.kv.Get(ctx, certKey(serial))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(ErrNotFound, op, "serial", nil, "no certificate %s was issued by this CA", serialKey(serial))
	}
	if err != nil {
		return nil, errorf(ErrUnavailable, op, "", err, "reading store")
	}
	var rec certRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, errorf(ErrCorrupt, op, "", err, "certificate record %s", serialKey(serial))
	}
	return &rec, nil
}
