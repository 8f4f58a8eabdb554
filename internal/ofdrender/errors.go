package ofdrender

import "github.com/eseal/eseal/errs"

// Error says why a page cannot be rendered. Its message names the package
// file concerned; it matches its Kind with errors.Is (errs.Malformed for a
// broken file, errs.FileMissing for a missing one, errs.BadPath for a path
// leaving the package, errs.LimitExceeded for a page that would cost too
// much, errs.InvalidInput for a bad argument, errs.Unsupported for what the
// renderer cannot draw).
type Error struct {
	File string    // package path, "" when the problem is not one file's
	Msg  string    // what is wrong, in words for a user
	Kind errs.Kind // the error kind
	Err  error     // the underlying error, if any
}

func (e *Error) Error() string {
	s := "ofdrender: "
	if e.File != "" {
		s += e.File + ": "
	}
	s += e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives the kind, then the underlying error (see errs.Chain).
func (e *Error) Unwrap() []error { return errs.Chain(e.Kind, e.Err) }

func newErr(kind errs.Kind, file, msg string, err error) *Error {
	return &Error{File: file, Msg: msg, Kind: kind, Err: err}
}
