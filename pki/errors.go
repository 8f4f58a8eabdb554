package pki

import (
	"fmt"

	"github.com/eseal/eseal/errs"
)

// Kind is the error kind, from the one table in package errs. A Kind is
// itself an error, so errors.Is(err, pki.ErrKeyMismatch) works on anything
// this package returns; Code gives its stable code (see errs/CODES.md).
type Kind = errs.Kind

// The kinds this package returns, under their names here. Those it shares
// with package signer are the same values (pki.ErrKeyNotFound is
// signer.ErrKeyNotFound).
const (
	// ErrInvalidInput: a request field is missing, too long or malformed.
	ErrInvalidInput = errs.InvalidInput
	// ErrConfig: Options are wrong (missing CRL URL, bad trust anchor, ...).
	ErrConfig = errs.Config
	// ErrKeyNotFound: the key store has no key under the label.
	ErrKeyNotFound = errs.KeyNotFound
	// ErrKeyMismatch: a key does not match its certificate.
	ErrKeyMismatch = errs.KeyMismatch
	// ErrUntrusted: a certificate does not chain to a trust anchor.
	ErrUntrusted = errs.Untrusted
	// ErrNotFound: no certificate with that serial was issued here.
	ErrNotFound = errs.CertNotFound
	// ErrRevoked: the certificate is already revoked.
	ErrRevoked = errs.Revoked
	// ErrCorrupt: the CA's stored state is unreadable or inconsistent.
	ErrCorrupt = errs.Corrupt
	// ErrUnavailable: the store or key store failed.
	ErrUnavailable = errs.Unavailable
	// ErrClosed: the CA was closed.
	ErrClosed = errs.Closed
)

// Error is an error of one Kind. Field names the request or option field
// concerned ("holder.credit_code", "Options.CRLURL"), Detail says what is
// wrong with it. Neither ever holds key material.
type Error struct {
	Kind   Kind
	Op     string // e.g. "pki.IssueSigner"
	Field  string
	Detail string
	Err    error // underlying cause, may be nil
}

func errorf(kind Kind, op, field string, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Field: field, Detail: fmt.Sprintf(format, args...), Err: cause}
}

func (e *Error) Error() string {
	s := e.Op
	if s != "" {
		s += ": "
	}
	s += e.Kind.Error()
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives the kind, then the cause. A cause with a kind of its own
// (the key store's or the store's) keeps its detail for errors.As but hides
// its kind, so that the error matches e.Kind only (see errs.Chain): a
// missing CA key is ErrKeyNotFound because pki says so, not because the key
// store did.
func (e *Error) Unwrap() []error { return errs.Chain(e.Kind, e.Err) }
