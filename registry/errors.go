package registry

import (
	"errors"
	"fmt"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
)

// Error is a refusal or failure of a registry operation. Its Kind (from package errs) carries
// the stable code: errors.Is(err, errs.SealRevoked).
type Error struct {
	Kind errs.Kind
	// Op is the operation: "apply", "approve", "make", "authorize", ...
	Op string
	// Subject names the application, seal or approval concerned, when there is one.
	Subject string
	Msg     string
	Err     error
}

func (e *Error) Error() string {
	s := "registry: " + e.Op
	if e.Subject != "" {
		s += " " + e.Subject
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	} else if e.Kind != 0 {
		s += ": " + e.Kind.Error()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap gives the kind, then the cause (whose own kind is hidden).
func (e *Error) Unwrap() []error { return errs.Chain(e.Kind, e.Err) }

func refuse(k errs.Kind, op, subject, format string, args ...any) *Error {
	return &Error{Kind: k, Op: op, Subject: subject, Msg: fmt.Sprintf(format, args...)}
}

// wrap gives err the operation's context and keeps its kind.
func wrap(op, subject string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Op: op, Subject: subject, Err: err}
}

// checkCreditCode and checkPersonID give pki's checks the registry's stable codes.
func checkCreditCode(op, field, code string) error {
	if err := pki.CheckCreditCode(code); err != nil {
		return &Error{Kind: errs.InvalidCreditCode, Op: op, Msg: field, Err: err}
	}
	return nil
}

func checkPersonID(op, field, id string) error {
	if err := pki.CheckPersonID(id); err != nil {
		return &Error{Kind: errs.InvalidIDNumber, Op: op, Msg: field, Err: err}
	}
	return nil
}
