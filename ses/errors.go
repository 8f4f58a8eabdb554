package ses

import "github.com/eseal/eseal/errs"

// Unwrap gives the kind of every FormatError, errs.Malformed, so that
// errors.Is(err, errs.Malformed) holds for a structure that cannot be read.
func (e *FormatError) Unwrap() error { return errs.Malformed }
