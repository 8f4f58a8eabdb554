package trust

import (
	"fmt"

	"github.com/eseal/eseal/errs"
)

// The kinds this package returns, from the one table in package errs. Match them with
// errors.Is (errors.Is(err, trust.ErrNotFound)).
const (
	// ErrInvalidInput: a bad set name, a certificate that is not what its list asks for
	// (a root that is not a self-signed CA, a maker that may not sign), a set without roots,
	// or the removal of the default set.
	ErrInvalidInput = errs.InvalidInput
	// ErrMalformed: a certificate or PEM bundle that does not parse.
	ErrMalformed = errs.Malformed
	// ErrUnsupported: a certificate whose public key is not SM2.
	ErrUnsupported = errs.Unsupported
	// ErrLimitExceeded: too many certificates or bytes in a set, a certificate or a file.
	ErrLimitExceeded = errs.LimitExceeded
	// ErrNotFound: no trust set of that name.
	ErrNotFound = errs.NotFound
	// ErrConflict: other writers kept changing the set; the change was not made.
	ErrConflict = errs.Conflict
	// ErrConfig: Options are wrong (a bad default set), or a file named in the
	// configuration cannot be read.
	ErrConfig = errs.Config
	// ErrCorrupt: a stored trust set does not decode or no longer passes the checks.
	ErrCorrupt = errs.Corrupt
	// ErrUnavailable: the store failed.
	ErrUnavailable = errs.Unavailable
)

// Error is an error of one Kind about one trust set. Cert names the certificate or file
// concerned ("roots[2] (CN=Root of Guangdong)", "makers file /etc/eseal/makers.pem"),
// Detail says what is wrong. Neither ever holds the content of a PEM block.
type Error struct {
	Kind   errs.Kind
	Op     string // e.g. "trust.Put"
	Set    string // the set's name, when one is concerned
	Cert   string
	Detail string
	Err    error // underlying cause, may be nil
}

func errorf(kind errs.Kind, op, set, cert string, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Set: set, Cert: cert, Detail: fmt.Sprintf(format, args...), Err: cause}
}

func (e *Error) Error() string {
	s := e.Op
	if s != "" {
		s += ": "
	}
	s += e.Kind.Error()
	if e.Set != "" {
		s += ": trust set " + fmt.Sprintf("%q", e.Set)
	}
	if e.Cert != "" {
		s += ": " + e.Cert
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives the kind, then the cause, whose own kind (the store's, say) is hidden so
// that the error matches e.Kind only (see errs.Chain).
func (e *Error) Unwrap() []error { return errs.Chain(e.Kind, e.Err) }

// bare strips the operation and set name from a cause that is an *Error about the same
// set, so that a message does not say them twice; the cause keeps its kind for errors.As
// (errs.Chain hides it from errors.Is).
func bare(err error) error {
	if e, ok := err.(*Error); ok {
		c := *e
		c.Op, c.Set = "", ""
		return &c
	}
	return err
}
