package errs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

// detail is a detail type as packages write them.
type detail struct {
	Kind Kind
	Op   string
	Err  error
}

func (e *detail) Error() string {
	s := e.Op + ": " + e.Kind.Error()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *detail) Unwrap() []error { return Chain(e.Kind, e.Err) }

// matches lists the kinds err matches with errors.Is.
func matches(err error) []Kind {
	var ks []Kind
	for _, k := range Kinds() {
		if errors.Is(err, k) {
			ks = append(ks, k)
		}
	}
	return ks
}

func TestKindOfAndChain(t *testing.T) {
	inner := &detail{Kind: Locked, Op: "pin.Verify", Err: context.DeadlineExceeded}
	pathErr := &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}
	tests := []struct {
		name string
		err  error
		want Kind
		// also: errors that errors.Is must still find in the chain
		also []error
	}{
		{"nil", nil, 0, nil},
		{"plain", errors.New("plain"), 0, nil},
		{"bare kind", Busy, Busy, nil},
		{"fmt-wrapped kind", fmt.Errorf("store get: %w", NotFound), NotFound, nil},
		{"detail without cause", &detail{Kind: Config, Op: "open"}, Config, nil},
		{"detail with a plain cause", &detail{Kind: Unavailable, Op: "sign", Err: pathErr}, Unavailable, []error{fs.ErrNotExist}},
		{"detail over a bare kind", &detail{Kind: Unavailable, Op: "read", Err: NotFound}, Unavailable, nil},
		{"detail over a detail", &detail{Kind: Unavailable, Op: "ca.Issue", Err: inner}, Unavailable, []error{context.DeadlineExceeded}},
		{"detail over fmt over detail", &detail{Kind: Corrupt, Op: "load", Err: fmt.Errorf("record: %w", inner)}, Corrupt, []error{context.DeadlineExceeded}},
		{"fmt over detail over detail", fmt.Errorf("request: %w", &detail{Kind: WrongPIN, Op: "x", Err: inner}), WrongPIN, []error{context.DeadlineExceeded}},
		{"detail without a kind passes its cause's on", &detail{Op: "x", Err: &detail{Kind: Busy, Op: "y"}}, Busy, nil},
		{"detail without a kind or cause", &detail{Op: "x"}, 0, nil},
		{"joined, first kind wins", errors.Join(errors.New("x"), &detail{Kind: Busy, Op: "y"}), Busy, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.want {
				t.Fatalf("KindOf = %v (%s), want %v (%s)", got, got.Code(), tt.want, tt.want.Code())
			}
			got := matches(tt.err)
			if tt.want == 0 && len(got) != 0 || tt.want != 0 && (len(got) != 1 || got[0] != tt.want) {
				t.Fatalf("errors.Is matches kinds %v, want only %v", got, tt.want)
			}
			for _, a := range tt.also {
				if !errors.Is(tt.err, a) {
					t.Errorf("errors.Is(err, %v) = false: the cause must stay reachable", a)
				}
			}
			if tt.err != nil && tt.err.Error() == "" {
				t.Error("empty message")
			}
		})
	}
}

// The detail type of a hidden cause stays reachable with errors.As; its kind
// does not.
func TestChainKeepsDetail(t *testing.T) {
	inner := &detail{Kind: KeyNotFound, Op: "softkey.Signer"}
	err := &detail{Kind: Unavailable, Op: "pki.Open", Err: inner}
	var d *detail
	if !errors.As(err, &d) || d != err {
		t.Fatalf("errors.As finds %v, want the outer detail", d)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		t.Fatal("errors.As found a *fs.PathError that is not there")
	}
	// Walk one level down: the cause is still the inner detail.
	u := err.Unwrap()
	if len(u) != 2 || u[0] != Unavailable {
		t.Fatalf("Unwrap = %v", u)
	}
	if !errors.As(u[1], &d) || d != inner {
		t.Fatalf("errors.As on the hidden cause finds %v, want the inner detail", d)
	}
	var k Kind
	if errors.As(u[1], &k) || errors.Is(u[1], KeyNotFound) {
		t.Fatal("the hidden cause shows its kind")
	}
	if u[1].Error() != inner.Error() {
		t.Fatalf("hidden cause reads %q, want %q", u[1].Error(), inner.Error())
	}
	if got := err.Error(); got != "pki.Open: unavailable: softkey.Signer: key not found" {
		t.Fatalf("message %q", got)
	}
}

func TestKindMethods(t *testing.T) {
	if Locked.Code() != "KEY_LOCKED" || Locked.Error() != "key locked" || Locked.Class() != ClassDenied {
		t.Fatalf("Locked: %q %q %v", Locked.Code(), Locked.Error(), Locked.Class())
	}
	if Kind(0).Code() != "INTERNAL" || Kind(0).Class() != ClassInternal {
		t.Fatalf("zero kind: %q %v", Kind(0).Code(), Kind(0).Class())
	}
	if PINRequired.Code() != "PIN_REQUIRED" || Conflict.Code() != "CONFLICT" {
		t.Fatal("PINRequired / Conflict codes")
	}
	if WrongPIN == PINRequired || errors.Is(PINRequired, WrongPIN) {
		t.Fatal("no PIN given must not be a wrong PIN")
	}
}
