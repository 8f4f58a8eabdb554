//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/eseal/eseal/internal/benchratio"
	"github.com/eseal/eseal/signer"
	p11 "github.com/miekg/pkcs11"
)

// Pool signing against a plain loop of C_SignInit+C_Sign on the same
// token, same key, same input and as many sessions as goroutines, at
// concurrency 1, 2, 8 and 64.
//
// The machine is shared and its load drifts, so the two are interleaved in
// rounds inside one benchmark: each round signs a chunk through the pool
// and a chunk through the plain loop. Reported metrics:
//
//	pool-ns/op, plain-ns/op   wall time per signature of each
//	pool/plain-total          throughput ratio over the run (plain ÷ pool time)
//	pool/plain-median         median of the per-round ratios: robust to the
//	                          bursts of other work on a shared machine
//
// Run:
//
//	eval "$(scripts/hsm/setup.sh /tmp/eseal-hsm)"
//	go test -run XXX -bench 'Pool' -benchtime 1s -count 3 ./signer/pkcs11/

var benchConcurrency = []int{1, 2, 8, 64}

func BenchmarkSoftHSMPool(b *testing.B) {
	e := softHSM(b)
	d := sha256.Sum256([]byte("document"))
	benchPool(b, e, "ecdsa-p256", d[:], crypto.SHA256)
}

func BenchmarkSM2TokenPool(b *testing.B) {
	e := sm2Token(b)
	// The 32-byte e = SM3(Z‖M) on both sides (profile sansec: 0x80008104).
	benchPool(b, e, "sansec", make([]byte, 32), nil)
}

func benchPool(b *testing.B, e tokenEnv, profile string, input []byte, opts crypto.SignerOpts) {
	ctx := context.Background()
	for _, c := range benchConcurrency {
		s, err := Open(Config{Module: e.module, TokenLabel: e.label, PIN: NewSecret(e.pin), Profile: profile, Sessions: c})
		if err != nil {
			b.Fatal(err)
		}
		label := uniqueLabel("bench")
		if _, err := s.Generate(ctx, label, s.prof.Algorithm); err != nil {
			b.Fatal(err)
		}
		sg, err := s.Signer(ctx, label)
		if err != nil {
			b.Fatal(err)
		}
		cs := sg.(signer.ContextSigner)
		// Warm the pool: open all c sessions.
		runN(c, c, func(int) error { _, err := cs.SignContext(ctx, nil, input, opts); return err })

		var h p11.ObjectHandle
		if err := s.do(ctx, "bench", label, func(sh p11.SessionHandle) error {
			h, err = s.privHandle(sh, label)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		mech := []*p11.Mechanism{p11.NewMechanism(s.prof.SignMech, nil)}
		plain := make([]p11.SessionHandle, c)
		for i := range plain {
			if plain[i], err = s.ctx.OpenSession(s.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			benchratio.Interleave(b, max(2*c, 16),
				benchratio.Side{Name: "plain", Run: func(n int) error {
					return runN(c, n, func(g int) error {
						if err := s.ctx.SignInit(plain[g], mech, h); err != nil {
							return err
						}
						_, err := s.ctx.Sign(plain[g], input)
						return err
					})
				}},
				benchratio.Side{Name: "pool", Run: func(n int) error {
					return runN(c, n, func(int) error { _, err := cs.SignContext(ctx, nil, input, opts); return err })
				}})
		})
		for _, sh := range plain {
			_ = s.ctx.CloseSession(sh)
		}
		_ = s.Delete(ctx, label)
		_ = s.Close()
	}
}

// runN runs n operations over c goroutines (goroutine g runs op(g)).
func runN(c, n int, op func(g int) error) error {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	var failed atomic.Value
	for g := range min(c, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if err := op(g); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		return err
	}
	return nil
}
