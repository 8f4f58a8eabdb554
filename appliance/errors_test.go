package appliance

import (
	"fmt"
	"strings"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/signer"
)

// TestEveryKindHasStatus checks the table: every kind maps to an error status that fits its
// class, and the kinds callers meet most map to the status they expect.
func TestEveryKindHasStatus(t *testing.T) {
	for _, k := range append([]errs.Kind{0}, errs.Kinds()...) {
		s := Status(k)
		if s < 400 || s > 599 {
			t.Errorf("%s: status %d is not an error status", k.Code(), s)
		}
		if want := k.Class() == errs.ClassInternal || k.Class() == errs.ClassUnavailable || k.Class() == errs.ClassUnsupported && s == 501; want != (s >= 500) {
			t.Errorf("%s (class %s): status %d", k.Code(), k.Class(), s)
		}
	}
	for k, want := range map[errs.Kind]int{
		0: 500, errs.InvalidInput: 400, errs.Malformed: 422, errs.LimitExceeded: 413,
		errs.NotFound: 404, errs.KeyNotFound: 404, errs.Conflict: 409, errs.SealRevoked: 409,
		errs.WrongPIN: 403, errs.Locked: 403, errs.WrongRole: 403, errs.Unauthenticated: 401,
		errs.MethodNotAllowed: 405, errs.Busy: 503, errs.Unavailable: 503, errs.Config: 500,
		errs.Corrupt: 500, errs.Unsupported: 501, errs.IdempotencyKeyReused: 422, errs.InProgress: 409,
		errs.ApprovalUsed: 409,
	} {
		if got := Status(k); got != want {
			t.Errorf("%s: status %d, want %d", k.Code(), got, want)
		}
	}
	// A kind past the table (a newer errs) is an internal error, not a panic.
	if got := Status(errs.Kind(60000)); got != 500 {
		t.Errorf("unknown kind: %d", got)
	}
}

// TestErrorAnswers drives domain errors through the server's answer: the status and code of
// the kind, the domain error's message, and for internal errors nothing of the cause.
func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		message string // a part of the message shown; "" for none expected
		hidden  string // what must not be shown
	}{
		{"registry error", &registry.Error{Kind: errs.SealRevoked, Op: "sign", Subject: "4401000000001"}, 409, "SEAL_REVOKED", "4401000000001", ""},
		{"signer error", signer.Errorf(errs.Locked, "sign", "seal-1", nil, "too many wrong PINs"), 403, "KEY_LOCKED", "locked", ""},
		{"wrapped kind", fmt.Errorf("verify batch: %w", errs.Busy), 503, "BUSY", "busy", ""},
		{"no kind", fmt.Errorf("open /var/lib/eseal/secret.db: permission denied"), 500, "INTERNAL", "request id", "/var/lib"},
		{"corrupt", fmt.Errorf("key blob under label k1 is bad: %w", errs.Corrupt), 500, "CORRUPT", "request id", "k1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err
			ts, _ := startServer(t, serverOpts{extra: []Route{{Method: "GET", Path: "/x", Anonymous: AlwaysAnonymous, Handle: func(*Call) error { return err }}}})
			a := ts.do("GET", "/x", "", nil)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d", a.status, tt.status)
			}
			e := a.errBody(t)
			if e.Code != tt.code || !strings.Contains(e.Message, tt.message) {
				t.Fatalf("answer %+v, want code %s and a message with %q", e, tt.code, tt.message)
			}
			if tt.hidden != "" && strings.Contains(string(a.body), tt.hidden) {
				t.Fatalf("answer %s shows %q", a.body, tt.hidden)
			}
			if tt.status == 500 {
				id := a.header.Get("X-Request-Id")
				if !strings.Contains(e.Message, id) {
					t.Errorf("500 message %q lacks the request id %s", e.Message, id)
				}
				if !strings.Contains(ts.logs.String(), tt.hidden) {
					t.Errorf("the cause is not logged")
				}
			}
			if tt.code == "BUSY" && a.header.Get("Retry-After") == "" {
				t.Error("busy answer without Retry-After")
			}
		})
	}
}
