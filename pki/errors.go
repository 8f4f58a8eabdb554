package pki

import "fmt"

// Kind is a stable error class. A Kind is itself an error, so
// errors.Is(err, pki.ErrKeyMismatch) works on anything this package returns.
type Kind uint8

// The stable error kinds. Their numeric values never change.
const (
	_ Kind = iota
	// ErrInvalidInput: a request field is missing, too long or malformed.
	ErrInvalidInput
	// ErrConfig: Options are wrong (missing CRL URL, bad trust anchor, ...).
	ErrConfig
	// ErrKeyNotFound: the key store has no key under the label.
	ErrKeyNotFound
	// ErrKeyMismatch: a key does not match its certificate.
	ErrKeyMismatch
	// ErrUntrusted: a certificate does not chain to a trust anchor.
	ErrUntrusted
	// ErrNotFound: no certificate with that serial was issued here.
	ErrNotFound
	// ErrRevoked: the certificate is already revoked.
	ErrRevoked
	// ErrCorrupt: the CA's stored state is unreadable or inconsistent.
	ErrCorrupt
	// ErrUnavailable: the store or key store failed.
	ErrUnavailable
	// ErrClosed: the CA was closed.
	ErrClosed
)

var kindNames = map[Kind]string{
	ErrInvalidInput: "invalid input",
	ErrConfig:       "configuration error",
	ErrKeyNotFound:  "key not found",
	ErrKeyMismatch:  "key does not match certificate",
	ErrUntrusted:    "certificate not trusted",
	ErrNotFound:     "certificate not found",
	ErrRevoked:      "certificate revoked",
	ErrCorrupt:      "corrupt CA state",
	ErrUnavailable:  "unavailable",
	ErrClosed:       "closed",
}

var kindCodes = map[Kind]string{
	ErrInvalidInput: "INVALID_INPUT",
	ErrConfig:       "PKI_CONFIG",
	ErrKeyNotFound:  "KEY_NOT_FOUND",
	ErrKeyMismatch:  "KEY_MISMATCH",
	ErrUntrusted:    "CERT_UNTRUSTED",
	ErrNotFound:     "CERT_NOT_FOUND",
	ErrRevoked:      "CERT_REVOKED",
	ErrCorrupt:      "PKI_CORRUPT",
	ErrUnavailable:  "PKI_UNAVAILABLE",
	ErrClosed:       "PKI_CLOSED",
}

// Error implements error.
func (k Kind) Error() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("pki error %d", uint8(k))
}

// Code is the stable machine-readable code of the kind, e.g. "KEY_MISMATCH".
func (k Kind) Code() string {
	if s, ok := kindCodes[k]; ok {
		return s
	}
	return "PKI_ERROR"
}

// Error is an error of one Kind. Field names the request or option field
// concerned ("holder.credit_code", "Options.CRLURL"), Detail says what is
// wrong with it. Neither ever holds key material.
type Error struct {
	Kind   Kind
	Op     string // e.g. "pki.IssueSigner"
	Field  string
	Detail string
	Err    error // underlying cause, may be nil
}

func errorf(kind Kind, op, field string, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Op: op, Field: field, Detail: fmt.Sprintf(format, args...), Err: cause}
}

func (e *Error) Error() string {
	s := e.Op
	if s != "" {
		s += ": "
	}
	s += e.Kind.Error()
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap exposes both the kind and the cause to errors.Is / errors.As, so
// that errors.Is(err, signer.ErrKeyNotFound) holds too when the key store
// said so.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
