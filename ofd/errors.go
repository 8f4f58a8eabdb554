package ofd

import "github.com/eseal/eseal/errs"

// The kinds of error this package returns, from the one table in package
// errs. Every error returned by this package that concerns a particular
// cause is an *Error of one of these kinds, so callers can use errors.Is.
const (
	// ErrFormat: the data is not a readable ZIP / OFD package, or an XML
	// file in it is malformed (errs.Malformed).
	ErrFormat = errs.Malformed
	// ErrNotExist: a file named by the package is not in it
	// (errs.FileMissing).
	ErrNotExist = errs.FileMissing
	// ErrPath: a path leaves the package root or is otherwise unusable
	// (errs.BadPath).
	ErrPath = errs.BadPath
	// ErrLimit: a configured limit (Limits) was exceeded
	// (errs.LimitExceeded).
	ErrLimit = errs.LimitExceeded
	// ErrUnsupported: a feature the package needs is not supported
	// (encrypted entries, unknown compression, unknown digest method).
	ErrUnsupported = errs.Unsupported
)

// Error describes a problem with one file of a package. Its message names the
// file and says what is wrong; it matches its Kind with errors.Is.
type Error struct {
	File string    // package path (no leading slash), "" when the problem is the package as a whole
	Msg  string    // what is wrong, in words for a user
	Kind errs.Kind // one of ErrFormat, ErrNotExist, ErrPath, ErrLimit, ErrUnsupported; when signing also errs.InvalidInput, errs.NotFound, errs.WrongState
	Err  error     // underlying error, if any (e.g. from archive/zip or encoding/xml)
}

func (e *Error) Error() string {
	s := "ofd: "
	if e.File != "" {
		s += e.File + ": "
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives the kind, then the underlying error; a kind that the
// underlying error carries is hidden (see errs.Chain), so an *Error matches
// its Kind only.
func (e *Error) Unwrap() []error { return errs.Chain(e.Kind, e.Err) }

func newErr(kind errs.Kind, file, msg string, err error) *Error {
	return &Error{File: file, Msg: msg, Kind: kind, Err: err}
}
