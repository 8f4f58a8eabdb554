package appliance

import (
	"encoding/json"
	"log/slog"

	"github.com/eseal/eseal/errs"
	"github.com/valyala/fasthttp"
)

// classStatus is the HTTP status of each class of error, for the kinds kindStatus does not
// name.
var classStatus = map[errs.Class]int{
	errs.ClassInternal:    fasthttp.StatusInternalServerError,
	errs.ClassInvalid:     fasthttp.StatusBadRequest,
	errs.ClassNotFound:    fasthttp.StatusNotFound,
	errs.ClassConflict:    fasthttp.StatusConflict,
	errs.ClassDenied:      fasthttp.StatusForbidden,
	errs.ClassUnavailable: fasthttp.StatusServiceUnavailable,
	errs.ClassUnsupported: fasthttp.StatusNotImplemented,
}

// kindStatus is the HTTP status of the kinds whose status is not their class's.
var kindStatus = map[errs.Kind]int{
	// Data that was read but is wrong, in a well-formed request.
	errs.Malformed:         fasthttp.StatusUnprocessableEntity,
	errs.FileMissing:       fasthttp.StatusUnprocessableEntity,
	errs.Untrusted:         fasthttp.StatusUnprocessableEntity,
	errs.NameMismatch:      fasthttp.StatusUnprocessableEntity,
	errs.InvalidCreditCode: fasthttp.StatusUnprocessableEntity,
	errs.InvalidIDNumber:   fasthttp.StatusUnprocessableEntity,
	// A body or a batch beyond the configured bounds.
	errs.LimitExceeded: fasthttp.StatusRequestEntityTooLarge,
	// The server's own refusals.
	errs.Unauthenticated:      fasthttp.StatusUnauthorized,
	errs.MethodNotAllowed:     fasthttp.StatusMethodNotAllowed,
	errs.IdempotencyKeyReused: fasthttp.StatusUnprocessableEntity,
}

// retryAfterSeconds is the Retry-After of a busy answer.
const retryAfterSeconds = "1"

// Status is the HTTP status that answers an error of kind k: the kind's own entry in the
// table, or its class's.
func Status(k errs.Kind) int {
	if s, ok := kindStatus[k]; ok {
		return s
	}
	if s, ok := classStatus[k.Class()]; ok {
		return s
	}
	return fasthttp.StatusInternalServerError
}

// ErrorBody is the body of every refusal.
type ErrorBody struct {
	// Code is the stable code of the error's kind (errs/CODES.md).
	Code string `json:"code"`
	// Message says what is wrong. For an internal error it is generic and carries the
	// request id, under which the cause is logged.
	Message string `json:"message"`
}

// writeError answers err: its kind's status and {"code", "message"}. An internal error
// (status 500) answers a generic message with the request id, and its cause is logged.
func writeError(ctx *fasthttp.RequestCtx, log *slog.Logger, reqID string, err error) errs.Kind {
	k := errs.KindOf(err)
	status := Status(k)
	msg := err.Error()
	if status >= 500 && k.Class() == errs.ClassInternal {
		log.Error("internal error", "request_id", reqID, "code", k.Code(), "cause", err.Error())
		msg = "internal error; the server logged its cause under request id " + reqID
	}
	if k == errs.Busy {
		ctx.Response.Header.Set("Retry-After", retryAfterSeconds)
	}
	b, _ := json.Marshal(ErrorBody{Code: k.Code(), Message: msg})
	ctx.Response.ResetBody()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=utf-8")
	ctx.SetBody(append(b, '\n'))
	return k
}
