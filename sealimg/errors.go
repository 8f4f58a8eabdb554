package sealimg

import (
	"fmt"

	"github.com/eseal/eseal/errs"
)

// FieldError reports a bad value in one field of the input: of a [Seal],
// of the [Options] given to [New], or an applicant's impression. Field is
// the name of that field ("name", "purpose", "code", "tax_id", "kind", "color",
// "font", "dpi", "specs.official.width", "impression", …), Problem says what
// is wrong with it in words a reviewer can act on.
//
// Every error returned by this package for bad input is a *FieldError, so
// callers can map it to a client error with errors.As. Its kind is
// errs.InvalidInput (errors.Is(err, errs.InvalidInput)); a caller that
// passes its own configuration to New (the font, the DPI, the specs) wraps
// the error as errs.Config.
type FieldError struct {
	Field   string
	Problem string
	Err     error // underlying cause, if any
}

func (e *FieldError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("sealimg: %s: %s: %v", e.Field, e.Problem, e.Err)
	}
	return fmt.Sprintf("sealimg: %s: %s", e.Field, e.Problem)
}

// Unwrap gives errs.InvalidInput, then the cause; a kind that the cause
// carries is hidden (see errs.Chain).
func (e *FieldError) Unwrap() []error { return errs.Chain(errs.InvalidInput, e.Err) }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
