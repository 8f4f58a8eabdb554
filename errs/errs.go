// Package errs owns eseal's error kinds: one table of stable codes that every
// package takes its kinds from, so that a front end can map any error to a
// response with a single look-up.
//
// # Kinds and detail types
//
// A [Kind] is a small number with a stable code ("KEY_LOCKED"), a one-line
// message and a [Class]. A Kind is itself an error, so
//
//	errors.Is(err, errs.Locked)
//
// works on anything eseal returns. Packages keep their own detail types
// (signer.Error with operation and key label, pki.Error with the request
// field, ofd.Error with the file in the package, sealimg.FieldError) and
// give each one a Kind from here; their exported names (signer.ErrLocked,
// pki.ErrInvalidInput, ofd.ErrFormat, store.ErrNotFound, ...) are these
// Kinds under another name.
//
// # One kind per error
//
// An error matches exactly one Kind, or none: the outermost one. A detail
// type that wraps a cause carrying a kind of its own unwraps through [Chain],
// which hides the cause's kind from errors.Is and errors.As while leaving
// the rest of the cause (its detail type, sentinels such as
// context.DeadlineExceeded) reachable. [KindOf] returns that kind, or
// the zero Kind (code "INTERNAL") when there is none.
//
// # Codes
//
// Codes and numbers never change meaning and are never reused; a new kind
// takes a new number. The catalogue is CODES.md beside this file, generated
// from the table by `go test ./errs -update` and checked by `go test ./errs`.
package errs

import (
	"errors"
	"fmt"
)

// Kind is a stable class of error. The zero Kind is no kind: KindOf returns
// it for an error that carries none, and its code is "INTERNAL".
type Kind uint16

// The kinds. The numbers are part of the catalogue: never renumber.
const (
	// InvalidInput: a request field or argument is missing, too long or
	// malformed (a label, a digest length, a holder's name, a seal field).
	InvalidInput Kind = 1
	// Malformed: data given to be read (a package, an XML file, a DER
	// structure) is not well-formed.
	Malformed Kind = 2
	// BadPath: a path leaves its root or cannot be used.
	BadPath Kind = 3
	// LimitExceeded: input goes beyond a configured limit (size, count,
	// depth).
	LimitExceeded Kind = 4
	// FileMissing: a file that a package names is not in the package.
	FileMissing Kind = 5
	// Untrusted: a certificate does not chain to a trust anchor.
	Untrusted Kind = 6
	// NotFound: no record under that key.
	NotFound Kind = 7
	// KeyNotFound: no signing key under that label.
	KeyNotFound Kind = 8
	// CertNotFound: no certificate with that serial was issued here.
	CertNotFound Kind = 9
	// KeyExists: a key with that label exists already.
	KeyExists Kind = 10
	// Conflict: another writer changed the record since it was read
	// (a compare-and-swap lost).
	Conflict Kind = 11
	// Revoked: the certificate is revoked already.
	Revoked Kind = 12
	// WrongPIN: the PIN given is wrong; it counts as a failed try.
	WrongPIN Kind = 13
	// PINRequired: the key is protected by a PIN and none was given.
	PINRequired Kind = 14
	// Locked: too many wrong PINs in a row; an administrator must unlock.
	Locked Kind = 15
	// NoPIN: the key has no PIN set, so none can be checked.
	NoPIN Kind = 16
	// Busy: no session or slot became free before the deadline.
	Busy Kind = 17
	// Unavailable: the HSM, the store or another dependency cannot be
	// reached or failed.
	Unavailable Kind = 18
	// Closed: the object was closed.
	Closed Kind = 19
	// Unsupported: a feature, algorithm or operation is not available in
	// this build, backend or package reader.
	Unsupported Kind = 20
	// Mechanism: the token does not support a mechanism its profile names.
	Mechanism Kind = 21
	// Config: the configuration is wrong (module path, token label, KEK,
	// options, trust anchors).
	Config Kind = 22
	// Corrupt: stored data (key material, CA state) failed authentication,
	// parsing or a consistency check.
	Corrupt Kind = 23
	// KeyMismatch: a key does not match its certificate.
	KeyMismatch Kind = 24
	// WrongRole: the caller's role does not allow the act (a signer
	// reviewing, an applicant making a seal).
	WrongRole Kind = 25
	// SamePerson: one person would act twice where the measures ask for
	// two (the reviewer of an application is its applicant, the approver
	// of a use is its requester).
	SamePerson Kind = 26
	// SealSuspended: the seal is suspended; it signs nothing until resumed.
	SealSuspended Kind = 27
	// SealRevoked: the seal is revoked or voided by a change; it never
	// signs again.
	SealRevoked Kind = 28
	// ApprovalUsed: the use approval was used already (single use).
	ApprovalUsed Kind = 29
	// ApprovalExpired: the use approval has expired.
	ApprovalExpired Kind = 30
	// DigestNotApproved: the document digest is not one the use approval
	// was granted for.
	DigestNotApproved Kind = 31
	// NameMismatch: a personal seal's text is not its holder's name.
	NameMismatch Kind = 32
	// NoImpression: no impression is filed for the physical seal code an
	// official or position seal must take its picture from.
	NoImpression Kind = 33
	// InvalidCreditCode: not a unified social credit code (GB 32100).
	InvalidCreditCode Kind = 34
	// InvalidIDNumber: not a valid identity number (GB 11643 check digit).
	InvalidIDNumber Kind = 35
	// WrongState: the record is not in a state that allows the act (an
	// application reviewed twice, a seal issued before it is made).
	WrongState Kind = 36
	// NotHolder: the caller is not the holder of the position or personal
	// seal.
	NotHolder Kind = 37
	// OutOfScope: the use lies outside the position seal's delegated scope.
	OutOfScope Kind = 38
	// ApprovalRequired: an official seal signs only with a use approval.
	ApprovalRequired Kind = 39
	// SealExpired: the seal is outside its validity period.
	SealExpired Kind = 40
	// CodeTaken: the seal code is held by another seal; codes are never
	// reused.
	CodeTaken Kind = 41
	// Unauthenticated: the request carries no credential, or one that
	// names no caller (an unknown or revoked API key).
	Unauthenticated Kind = 42
	// MethodNotAllowed: the resource exists but does not take that method.
	MethodNotAllowed Kind = 43
	// IdempotencyKeyReused: an idempotency key was used again with a
	// different request.
	IdempotencyKeyReused Kind = 44
	// InProgress: the same request is being served already (a retry that
	// came while the first try still runs).
	InProgress Kind = 45
)

// Class groups kinds by who has to act. It is what a front end needs to pick
// a response; the usual HTTP statuses are noted for each class.
type Class uint8

// The classes.
const (
	// ClassInternal: eseal itself is at fault (configuration, corrupt state,
	// a bug); nothing the caller can change (HTTP 500).
	ClassInternal Class = iota
	// ClassInvalid: the request or the data it carries is wrong (400 or 422).
	ClassInvalid
	// ClassNotFound: what the request names does not exist (404).
	ClassNotFound
	// ClassConflict: the request clashes with the current state (409).
	ClassConflict
	// ClassDenied: a credential is missing, wrong or locked (403).
	ClassDenied
	// ClassUnavailable: a dependency is down, busy or closed; retry later (503).
	ClassUnavailable
	// ClassUnsupported: well-formed, but not something this build or token
	// can do (501 for an operation, 422 for a feature of submitted data).
	ClassUnsupported
)

var classNames = [...]string{
	ClassInternal:    "internal",
	ClassInvalid:     "invalid",
	ClassNotFound:    "not found",
	ClassConflict:    "conflict",
	ClassDenied:      "denied",
	ClassUnavailable: "unavailable",
	ClassUnsupported: "unsupported",
}

// String is the class's name, e.g. "denied".
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class %d", uint8(c))
}

type entry struct {
	code  string
	msg   string
	class Class
}

// table is the catalogue. Index 0 is the zero Kind.
var table = [...]entry{
	0:                    {"INTERNAL", "internal error", ClassInternal},
	InvalidInput:         {"INVALID_INPUT", "invalid input", ClassInvalid},
	Malformed:            {"MALFORMED", "malformed data", ClassInvalid},
	BadPath:              {"BAD_PATH", "invalid path", ClassInvalid},
	LimitExceeded:        {"LIMIT_EXCEEDED", "limit exceeded", ClassInvalid},
	FileMissing:          {"FILE_MISSING", "file missing from package", ClassInvalid},
	Untrusted:            {"CERT_UNTRUSTED", "certificate not trusted", ClassInvalid},
	NotFound:             {"NOT_FOUND", "not found", ClassNotFound},
	KeyNotFound:          {"KEY_NOT_FOUND", "key not found", ClassNotFound},
	CertNotFound:         {"CERT_NOT_FOUND", "certificate not found", ClassNotFound},
	KeyExists:            {"KEY_EXISTS", "key exists", ClassConflict},
	Conflict:             {"CONFLICT", "changed by another writer", ClassConflict},
	Revoked:              {"CERT_REVOKED", "certificate revoked", ClassConflict},
	WrongPIN:             {"WRONG_PIN", "wrong PIN", ClassDenied},
	PINRequired:          {"PIN_REQUIRED", "PIN required", ClassDenied},
	Locked:               {"KEY_LOCKED", "key locked", ClassDenied},
	NoPIN:                {"NO_PIN", "no PIN set", ClassDenied},
	Busy:                 {"BUSY", "busy", ClassUnavailable},
	Unavailable:          {"UNAVAILABLE", "unavailable", ClassUnavailable},
	Closed:               {"CLOSED", "closed", ClassUnavailable},
	Unsupported:          {"UNSUPPORTED", "unsupported", ClassUnsupported},
	Mechanism:            {"MECHANISM_UNSUPPORTED", "mechanism not supported", ClassUnsupported},
	Config:               {"CONFIG", "configuration error", ClassInternal},
	Corrupt:              {"CORRUPT", "corrupt stored data", ClassInternal},
	KeyMismatch:          {"KEY_MISMATCH", "key does not match certificate", ClassInternal},
	WrongRole:            {"WRONG_ROLE", "role not allowed", ClassDenied},
	SamePerson:           {"SAME_PERSON", "same person may not act twice", ClassDenied},
	SealSuspended:        {"SEAL_SUSPENDED", "seal suspended", ClassConflict},
	SealRevoked:          {"SEAL_REVOKED", "seal revoked", ClassConflict},
	ApprovalUsed:         {"APPROVAL_USED", "use approval already used", ClassConflict},
	ApprovalExpired:      {"APPROVAL_EXPIRED", "use approval expired", ClassDenied},
	DigestNotApproved:    {"DIGEST_NOT_APPROVED", "digest not approved", ClassDenied},
	NameMismatch:         {"NAME_MISMATCH", "seal text is not the holder's name", ClassInvalid},
	NoImpression:         {"NO_IMPRESSION", "no filed impression", ClassConflict},
	InvalidCreditCode:    {"INVALID_CREDIT_CODE", "invalid unified social credit code", ClassInvalid},
	InvalidIDNumber:      {"INVALID_ID_NUMBER", "invalid identity number", ClassInvalid},
	WrongState:           {"WRONG_STATE", "not allowed in the current state", ClassConflict},
	NotHolder:            {"NOT_HOLDER", "caller is not the seal's holder", ClassDenied},
	OutOfScope:           {"OUT_OF_SCOPE", "outside the delegated scope", ClassDenied},
	ApprovalRequired:     {"APPROVAL_REQUIRED", "use approval required", ClassDenied},
	SealExpired:          {"SEAL_EXPIRED", "seal outside its validity", ClassConflict},
	CodeTaken:            {"CODE_TAKEN", "seal code already taken", ClassConflict},
	Unauthenticated:      {"UNAUTHENTICATED", "not authenticated", ClassDenied},
	MethodNotAllowed:     {"METHOD_NOT_ALLOWED", "method not allowed", ClassInvalid},
	IdempotencyKeyReused: {"IDEMPOTENCY_KEY_REUSED", "idempotency key reused with another request", ClassInvalid},
	InProgress:           {"IN_PROGRESS", "request already in progress", ClassConflict},
}

// Kinds returns every kind, in number order, without the zero Kind.
func Kinds() []Kind {
	ks := make([]Kind, 0, len(table)-1)
	for k := Kind(1); int(k) < len(table); k++ {
		ks = append(ks, k)
	}
	return ks
}

func (k Kind) entry() entry {
	if int(k) < len(table) {
		return table[k]
	}
	return entry{fmt.Sprintf("KIND_%d", uint16(k)), fmt.Sprintf("error kind %d", uint16(k)), ClassInternal}
}

// Error is the kind's one-line message, e.g. "key locked".
func (k Kind) Error() string { return k.entry().msg }

// Code is the kind's stable machine-readable code, e.g. "KEY_LOCKED".
func (k Kind) Code() string { return k.entry().code }

// Class is who has to act on an error of this kind.
func (k Kind) Class() Class { return k.entry().class }

// KindOf returns the kind of err: the outermost Kind in its chain, or the
// zero Kind when it carries none.
func KindOf(err error) Kind {
	var k Kind
	if errors.As(err, &k) {
		return k
	}
	return 0
}

// Chain is what a detail error of kind k that wraps cause unwraps to: k, then
// cause. When cause carries a kind of its own it is hidden behind a veil
// that errors.Is and errors.As see through for everything but a Kind, so the
// error still matches only k. With the zero Kind, Chain gives the cause
// alone, whose kind then stands. A detail type's Unwrap is
//
//	func (e *Error) Unwrap() []error { return errs.Chain(e.Kind, e.Err) }
func Chain(k Kind, cause error) []error {
	switch {
	case k == 0 && cause == nil:
		return nil
	case k == 0:
		return []error{cause}
	case cause == nil:
		return []error{k}
	case KindOf(cause) != 0:
		return []error{k, veiled{cause}}
	default:
		return []error{k, cause}
	}
}

// veiled hides the kinds in err from errors.Is and errors.As and shows
// everything else.
type veiled struct{ err error }

func (v veiled) Error() string { return v.err.Error() }

func (v veiled) Is(target error) bool {
	if _, ok := target.(Kind); ok {
		return false
	}
	return errors.Is(v.err, target)
}

func (v veiled) As(target any) bool {
	if _, ok := target.(*Kind); ok {
		return false
	}
	return errors.As(v.err, target)
}
