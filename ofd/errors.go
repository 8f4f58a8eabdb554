package ofd

import "errors"

// Sentinel errors. Every error returned by this package that concerns a
// particular cause wraps one of these, so callers can use errors.Is.
var (
	// ErrFormat: the data is not a readable ZIP / OFD package, or an XML
	// file in it is malformed.
	ErrFormat = errors.New("malformed package")
	// ErrNotExist: a file named by the package is not in it.
	ErrNotExist = errors.New("file not in package")
	// ErrPath: a path leaves the package root or is otherwise unusable.
	ErrPath = errors.New("invalid path")
	// ErrLimit: a configured limit (Limits) was exceeded.
	ErrLimit = errors.New("limit exceeded")
	// ErrUnsupported: a feature the package needs is not supported
	// (encrypted entries, unknown compression, unknown digest method).
	ErrUnsupported = errors.New("unsupported")
)

// Error describes a problem with one file of a package. Its message names the
// file and says what is wrong; Unwrap gives one of the sentinel errors above.
type Error struct {
	File string // package path (no leading slash), "" when the problem is the package as a whole
	Msg  string // what is wrong, in words for a user
	Kind error  // one of ErrFormat, ErrNotExist, ErrPath, ErrLimit, ErrUnsupported
	Err  error  // underlying error, if any (e.g. from archive/zip or encoding/xml)
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

// Unwrap returns the sentinel kind and the underlying error.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

func newErr(kind error, file, msg string, err error) *Error {
	return &Error{File: file, Msg: msg, Kind: kind, Err: err}
}
