package pki

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"

	"github.com/eseal/eseal/store"
)

// Status reports on the certificate with the given serial and DER encoding: issued is true
// only when this CA issued exactly der under serial, and rev is then its revocation (nil
// while it is not revoked), in effect from the moment Revoke returns, before any CRL is
// fetched. A serial the CA never issued, or one it issued for other bytes, is not an error:
// issued is false. It reads the CA's records by serial and parses no certificate, for
// callers that ask on every verification, and remembers its answers about issued
// certificates until the CA writes again (an issue or a revocation).
func (ca *CA) Status(ctx context.Context, serial *big.Int, der []byte) (issued bool, rev *Revocation, err error) {
	const op = "pki.Status"
	if err := ca.checkOpenLocked(op); err != nil {
		return false, nil, err
	}
	if serial == nil || serial.Sign() <= 0 || len(der) == 0 {
		return false, nil, nil
	}
	key := serial.Text(16)
	if m, ok := ca.statuses.Get(key); ok && bytes.Equal(m.der, der) {
		return m.issued, m.rev, nil
	}
	gen := ca.statuses.Gen()
	issued, rev, err = ca.readStatus(ctx, serial, der)
	if err == nil && issued {
		ca.statuses.Put(key, gen, caStatus{der: bytes.Clone(der), issued: issued, rev: rev})
	}
	return issued, rev, err
}

// caStatus is a remembered answer of Status: what the records said of der.
type caStatus struct {
	der    []byte
	issued bool
	rev    *Revocation
}

// statusMemoSize is how many certificates' answers Status keeps (one slot each, about a
// kilobyte with the certificate).
const statusMemoSize = 1024

// readStatus is Status read from the store.
func (ca *CA) readStatus(ctx context.Context, serial *big.Int, der []byte) (issued bool, rev *Revocation, err error) {
	const op = "pki.Status"
	v, err := ca.kv.Get(ctx, certKey(serial))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil, nil
	}
	if err != nil {
		return false, nil, errorf(ErrUnavailable, op, "", err, "reading store")
	}
	var rec struct {
		DER []byte `json:"der"`
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return false, nil, errorf(ErrCorrupt, op, "", err, "certificate record %s", serialKey(serial))
	}
	if !bytes.Equal(rec.DER, der) {
		return false, nil, nil
	}
	v, err = ca.kv.Get(ctx, revKey(serial))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return true, nil, nil
	case err != nil:
		return false, nil, errorf(ErrUnavailable, op, "", err, "reading store")
	}
	var r revRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return false, nil, errorf(ErrCorrupt, op, "", err, "revocation record of %s", serialKey(serial))
	}
	return true, &Revocation{Time: r.Time, Reason: r.Reason}, nil
}
