package signer

import (
	"fmt"

	"github.com/eseal/eseal/errs"
)

// Kind is the error kind, from the one table in package errs. A Kind is
// itself an error, so errors.Is(err, signer.ErrLocked) works on anything
// this package returns; Code gives its stable code (see errs/CODES.md).
type Kind = errs.Kind

// The kinds this package returns, under their names here.
const (
	// ErrKeyNotFound: no key under that label.
	ErrKeyNotFound = errs.KeyNotFound
	// ErrKeyExists: Generate on a label already used.
	ErrKeyExists = errs.KeyExists
	// ErrWrongPIN: the protection password is wrong (counts as a try).
	ErrWrongPIN = errs.WrongPIN
	// ErrPINRequired: the key is protected and no PIN was given (does not
	// count as a try).
	ErrPINRequired = errs.PINRequired
	// ErrLocked: too many wrong PINs in a row, or within a day; an admin must unlock.
	ErrLocked = errs.Locked
	// ErrNoPIN: the key has no protection password set.
	ErrNoPIN = errs.NoPIN
	// ErrBusy: no HSM session became free before the context ended.
	ErrBusy = errs.Busy
	// ErrUnavailable: the HSM or store cannot be reached right now.
	ErrUnavailable = errs.Unavailable
	// ErrConfig: the configuration is wrong (module path, token label,
	// KEK, profile, ...).
	ErrConfig = errs.Config
	// ErrMechanism: the token does not support a mechanism the profile
	// names (wrong mechanism profile).
	ErrMechanism = errs.Mechanism
	// ErrUnsupported: the operation or algorithm is not available in this
	// backend or build (e.g. PKCS#11 in a build without cgo).
	ErrUnsupported = errs.Unsupported
	// ErrInvalidInput: a bad label, digest length, signer option, ...
	ErrInvalidInput = errs.InvalidInput
	// ErrCorrupt: stored key material failed authentication or parsing.
	ErrCorrupt = errs.Corrupt
	// ErrClosed: the key store was closed.
	ErrClosed = errs.Closed
)

// Error is an error of a given Kind with a detail that names what is wrong.
// The detail never holds a PIN or key material.
type Error struct {
	Kind   Kind
	Op     string // e.g. "pkcs11.Open", "softkey.Sign"
	Label  string // key label, when one is concerned
	Detail string
	Err    error // underlying cause, may be nil
}

// Errorf builds an *Error. format/args make the detail.
func Errorf(kind Kind, op, label string, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Label: label, Detail: fmt.Sprintf(format, args...), Err: cause}
}

func (e *Error) Error() string {
	s := e.Op
	if s != "" {
		s += ": "
	}
	s += e.Kind.Error()
	if e.Label != "" {
		s += fmt.Sprintf(" (key %q)", e.Label)
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
// (a store or another package's error) keeps its detail for errors.As but
// hides its kind, so that the error matches e.Kind only (see errs.Chain).
func (e *Error) Unwrap() []error { return errs.Chain(e.Kind, e.Err) }

// KindOf returns the Kind of err (the outermost one), or 0 when err carries
// none.
func KindOf(err error) Kind { return errs.KindOf(err) }
