package registry

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ses"
)

// hookSigner runs hook before its n-th signature (counting from 1), then signs with key.
type hookSigner struct {
	crypto.Signer
	n     int64
	calls atomic.Int64
	hook  func()
}

func (h *hookSigner) SignsDigest() bool {
	d, ok := h.Signer.(ses.DigestSigner)
	return ok && d.SignsDigest()
}

func (h *hookSigner) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if h.calls.Add(1) == h.n {
		h.hook()
	}
	return h.Signer.Sign(rnd, digest, opts)
}

// TestSignBatchAttackSuspendedMidBatch suspends (then revokes) the seal while a batch is
// being signed: no signature of that batch may be handed out, since the seal stopped being
// usable before the batch's use records were durable.
func TestSignBatchAttackSuspendedMidBatch(t *testing.T) {
	for _, step := range []string{"suspend", "revoke"} {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t, true)
			ctx := context.Background()
			s := e.made(t, Personal, "")
			const n = 8
			digests := make([][]byte, n)
			items := make([]SignItem, n)
			for i := range items {
				d := sm3.Sum(fmt.Appendf(nil, "document %d", i))
				digests[i] = d[:]
				items[i] = SignItem{Digest: d[:]}
			}
			u, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: s.Code, Digests: digests, PIN: pin})
			if err != nil {
				t.Fatal(err)
			}
			want := errs.SealSuspended
			u.Signer = &hookSigner{Signer: u.Signer, n: 3, hook: func() {
				e.clock.Add(time.Second)
				var err error
				if step == "suspend" {
					err = e.reg.Suspend(ctx, admin, s.Code, StatusRequest{Reason: "carrier lost"})
				} else {
					want = errs.SealRevoked
					err = e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "dissolved"})
				}
				if err != nil {
					t.Error(err)
				}
			}}
			sigs, err := u.SignBatch(ctx, items)
			if err == nil {
				t.Fatalf("%d signatures handed out under a seal that was stopped (%s) during the batch", len(sigs), step)
			}
			wantKind(t, "batch", err, want)
			if sigs != nil {
				t.Fatal("signatures returned with the refusal")
			}
		})
	}
}

// TestSignDocumentAttackSuspendedWhileBuilding suspends the seal while the document to sign
// is being prepared (an OFD's Signature.xml, which takes a while for a large document): the
// signature made after it must not be handed out.
func TestSignDocumentAttackSuspendedWhileBuilding(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	doc := sm3.Sum([]byte("licence"))
	u, err := e.reg.Authorize(ctx, holderAct, UseRequest{SealCode: s.Code, Digests: [][]byte{doc[:]}, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := u.SignDocument(ctx, doc[:], func(now time.Time) (SignItem, error) {
		e.clock.Add(time.Second)
		if err := e.reg.Suspend(ctx, admin, s.Code, StatusRequest{Reason: "carrier lost"}); err != nil {
			t.Error(err)
		}
		d := sm3.Sum(fmt.Appendf(nil, "<Signature>%s</Signature>", now.Format(time.RFC3339)))
		return SignItem{Digest: d[:], PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml"}, nil
	})
	if err == nil {
		t.Fatalf("a signature of %d bytes handed out under a seal suspended before it was made", len(sig))
	}
	wantKind(t, "sign document", err, errs.SealSuspended)
}
