package revocation

import (
	"fmt"
	"strings"

	"github.com/eseal/eseal/errs"
)

// Error is an error of one kind (see errs/CODES.md) about the CRL of one issuer. It names
// the issuer by its subject and, for a fetch, the distribution point by its URL (with any
// password in it removed).
type Error struct {
	Kind   errs.Kind
	Op     string // "revocation.CRL", "revocation.Put", "revocation.New"
	Issuer string // the issuer's subject
	URL    string // the distribution point, when one is concerned
	Detail string
	Err    error // the cause, may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.Error())
	if e.Issuer != "" {
		b.WriteString(": CRL of ")
		b.WriteString(e.Issuer)
	}
	if e.URL != "" {
		b.WriteString(": ")
		b.WriteString(e.URL)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap gives the kind, then the cause; a cause's own kind is hidden (see errs.Chain), so
// the error matches e.Kind only.
func (e *Error) Unwrap() []error { return errs.Chain(e.Kind, e.Err) }

func errorf(kind errs.Kind, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...), Err: cause}
}

// attempts is what happened at each distribution point tried, in order.
type attempts []error

func (a attempts) Error() string {
	s := make([]string, len(a))
	for i, e := range a {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func (a attempts) Unwrap() []error { return a }

// severity ranks the kinds of failed attempts: when every distribution point fails, the
// error takes the kind of the gravest failure, so that a CRL with a bad signature at one
// point is not hidden behind another point that was merely down.
func severity(k errs.Kind) int {
	switch k {
	case errs.Untrusted:
		return 5
	case errs.LimitExceeded:
		return 4
	case errs.Unsupported:
		return 3
	case errs.Malformed:
		return 2
	case errs.Unavailable:
		return 1
	}
	return 0
}
