package signer

import (
	"fmt"
)

// Kind is a stable error class. A Kind is itself an error, so
// errors.Is(err, signer.ErrLocked) works on anything this package returns.
type Kind uint8

// The stable error kinds. Their numeric values never change.
const (
	_ Kind = iota
	// ErrKeyNotFound: no key under that label.
	ErrKeyNotFound
	// ErrKeyExists: Generate on a label already used.
	ErrKeyExists
	// ErrWrongPIN: the protection password is wrong (counts as a try).
	ErrWrongPIN
	// ErrLocked: too many wrong PINs in a row; an admin must unlock.
	ErrLocked
	// ErrNoPIN: the key has no protection password set.
	ErrNoPIN
	// ErrBusy: no HSM session became free before the context ended.
	ErrBusy
	// ErrUnavailable: the HSM or store cannot be reached right now.
	ErrUnavailable
	// ErrConfig: the configuration is wrong (module path, token label,
	// KEK, profile, ...).
	ErrConfig
	// ErrMechanism: the token does not support a mechanism the profile
	// names (wrong mechanism profile).
	ErrMechanism
	// ErrUnsupported: the operation or algorithm is not available in this
	// backend or build (e.g. PKCS#11 in a build without cgo).
	ErrUnsupported
	// ErrInvalidInput: a bad label, digest length, signer option, ...
	ErrInvalidInput
	// ErrCorrupt: stored key material failed authentication or parsing.
	ErrCorrupt
	// ErrClosed: the key store was closed.
	ErrClosed
	// ErrPINRequired: no PIN was given for a key that needs one (not a
	// try: it does not count towards the lock).
	ErrPINRequired
)

var kindNames = map[Kind]string{
	ErrKeyNotFound:  "key not found",
	ErrKeyExists:    "key exists",
	ErrWrongPIN:     "wrong PIN",
	ErrLocked:       "key locked",
	ErrNoPIN:        "no PIN set",
	ErrBusy:         "busy",
	ErrUnavailable:  "unavailable",
	ErrConfig:       "configuration error",
	ErrMechanism:    "mechanism not supported",
	ErrUnsupported:  "unsupported",
	ErrInvalidInput: "invalid input",
	ErrCorrupt:      "corrupt key material",
	ErrClosed:       "closed",
	ErrPINRequired:  "PIN required",
}

// Error implements error.
func (k Kind) Error() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("signer error %d", uint8(k))
}

// Code is the stable machine-readable code of the kind, e.g. "KEY_LOCKED".
func (k Kind) Code() string {
	switch k {
	case ErrKeyNotFound:
		return "KEY_NOT_FOUND"
	case ErrKeyExists:
		return "KEY_EXISTS"
	case ErrWrongPIN:
		return "WRONG_PIN"
	case ErrLocked:
		return "KEY_LOCKED"
	case ErrNoPIN:
		return "NO_PIN"
	case ErrBusy:
		return "SIGNER_BUSY"
	case ErrUnavailable:
		return "SIGNER_UNAVAILABLE"
	case ErrConfig:
		return "SIGNER_CONFIG"
	case ErrMechanism:
		return "MECHANISM_UNSUPPORTED"
	case ErrUnsupported:
		return "UNSUPPORTED"
	case ErrInvalidInput:
		return "INVALID_INPUT"
	case ErrCorrupt:
		return "KEY_CORRUPT"
	case ErrClosed:
		return "SIGNER_CLOSED"
	case ErrPINRequired:
		return "PIN_REQUIRED"
	}
	return "SIGNER_ERROR"
}

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

// Unwrap exposes both the kind and the cause to errors.Is / errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// KindOf returns the Kind of err, or 0 when err carries none.
func KindOf(err error) Kind {
	for err != nil {
		switch x := err.(type) {
		case Kind:
			return x
		case *Error:
			return x.Kind
		case interface{ Unwrap() error }:
			err = x.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				if k := KindOf(e); k != 0 {
					return k
				}
			}
			return 0
		default:
			return 0
		}
	}
	return 0
}
