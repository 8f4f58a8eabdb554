package verifier

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/eseal/eseal/cache"
	"github.com/eseal/eseal/internal/benchratio"
	"github.com/eseal/eseal/ses"
)

// The benchmarks of verification at scale. Each runs beside its raw primitive, gmsm's
// sm2.VerifyASN1WithSM2 over the same TBS_Sign bytes (the message given, so the raw call
// hashes Z and the whole TBS_Sign), in alternating rounds, and reports the ratio of
// throughputs (ours/raw; 1 is as fast as the primitive). A warm verification hashes only the
// part of TBS_Sign after the seal (the seal remembers the SM3 state before it), which is why
// it can beat the raw call; BenchmarkVerifyWarmVsSM2Curve compares it with the curve
// arithmetic alone.
//
//	go test ./verifier -run '^$' -bench 'Warm|Batch|ColdVsWarm' -benchtime 20000x
//
// The signature is a full one under a trust set: a seal of realistic size (a 16 KB picture),
// made by an accepted maker, signed by a certificate of the seal, both chaining to the root,
// a CRL of the root newer than the signing time, the original data given. Every report must
// be TOTAL_PASSED, so the whole procedure is measured, not a short cut.

// benchPicture is the size of the seal picture, about that of real producers' seals.
const benchPicture = 16 << 10

// scaleFixture is a trusted hierarchy with one seal and one signature over data.
type scaleFixture struct {
	p        *pki
	seal     *ses.Seal
	sig      *ses.Signature
	der      []byte
	data     []byte
	opts     Options
	signedAt time.Time
}

func newScaleFixture(tb testing.TB) *scaleFixture {
	tb.Helper()
	p := newPKI(tb)
	start, end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now := signedAt.Add(time.Hour)
	seal := bigSeal(tb, p, "4600002024000001", start, end)
	data := []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"/>`)
	der := p.sign(tb, seal, data, signedAt)
	sig, err := ses.ParseSignature(der)
	if err != nil {
		tb.Fatal(err)
	}
	return &scaleFixture{p: p, seal: seal, sig: sig, der: der, data: data, opts: p.trust(now), signedAt: signedAt}
}

// bigSeal is a seal of p with a picture of benchPicture bytes.
func bigSeal(tb testing.TB, p *pki, esID string, start, end time.Time) *ses.Seal {
	tb.Helper()
	pic := make([]byte, benchPicture)
	if _, err := rand.Read(pic); err != nil {
		tb.Fatal(err)
	}
	copy(pic, "\x89PNG\r\n\x1a\n")
	s, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{
		VID: "eseal", ESID: esID, Type: 1, Name: "海南省测试单位",
		SignerCerts: [][]byte{p.signer.Raw}, CreateDate: start, ValidStart: start, ValidEnd: end,
		Picture: ses.Picture{Type: "PNG", Data: pic, Width: 40, Height: 40},
	}, p.maker.Raw, p.makerKey)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// newCaches makes the four caches with budget bytes each.
func newCaches(tb testing.TB, budget int64) Caches {
	tb.Helper()
	mk := func() *cache.Cache[any] {
		c, err := cache.New[any](cache.Config{MaxBytes: budget})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(c.Close)
		return c
	}
	return Caches{Certs: mk(), Seals: mk(), Chains: mk(), Revocation: mk()}
}

func (f *scaleFixture) raw() error {
	pub := f.p.signer.PublicKey
	if !sm2.VerifyASN1WithSM2(pubKey(pub), nil, f.sig.TBS.Raw, f.sig.Value) {
		return fmt.Errorf("raw SM2 verification fails")
	}
	return nil
}

func (f *scaleFixture) check(r SignatureReport) error {
	if r.Indication != TotalPassed {
		return fmt.Errorf("verification gives %s/%s: %+v", r.Indication, r.SubIndication, r.Checks)
	}
	return nil
}

// verifySide is a side that verifies the fixture's signature with v, n times.
func (f *scaleFixture) verifySide(name string, v *Verifier) benchratio.Side {
	return benchratio.Side{Name: name, Run: func(n int) error {
		for range n {
			if err := f.check(v.VerifySignature(f.der, f.data)); err != nil {
				return err
			}
		}
		return nil
	}}
}

// warmVerifier is a Verifier of the fixture with caches, warmed by one verification.
func (f *scaleFixture) warmVerifier(b *testing.B) *Verifier {
	b.Helper()
	opts := f.opts
	opts.Caches = newCaches(b, 64<<20)
	v := New(opts)
	if err := f.check(v.VerifySignature(f.der, f.data)); err != nil {
		b.Fatal(err)
	}
	return v
}

// BenchmarkVerifyWarmVsRawSM2 verifies one signature at a time on one goroutine, caches warm.
func BenchmarkVerifyWarmVsRawSM2(b *testing.B) {
	f := newScaleFixture(b)
	v := f.warmVerifier(b)
	b.ReportAllocs()
	benchratio.Interleave(b, 500,
		benchratio.Side{Name: "raw", Run: func(n int) error {
			for range n {
				if err := f.raw(); err != nil {
					return err
				}
			}
			return nil
		}},
		f.verifySide("warm", v))
}

// BenchmarkVerifyWarmVsSM2Curve puts the warm verification beside the SM2 curve arithmetic
// alone: gmsm's sm2.VerifyASN1 with the digest e computed beforehand, no SM3 at all. The raw
// call of BenchmarkVerifyWarmVsRawSM2 hashes the whole TBS_Sign (seal and picture included)
// every time; a warm verification hashes only what follows the seal (ses's remembered SM3
// state), so it can beat that call, but not this one.
func BenchmarkVerifyWarmVsSM2Curve(b *testing.B) {
	f := newScaleFixture(b)
	v := f.warmVerifier(b)
	pub := pubKey(f.p.signer.PublicKey)
	e, err := ses.SM2Digest(pub, f.sig.TBS.Raw)
	if err != nil {
		b.Fatal(err)
	}
	benchratio.Interleave(b, 500,
		benchratio.Side{Name: "curve", Run: func(n int) error {
			for range n {
				if !sm2.VerifyASN1(pub, e, f.sig.Value) {
					return fmt.Errorf("SM2 verification fails")
				}
			}
			return nil
		}},
		f.verifySide("warm", v))
}

// BenchmarkVerifyColdVsWarm shows what the caches buy: "cold" verifies with a Verifier whose
// caches are empty (every certificate parsed, the seal's maker signature checked, every chain
// built, the CRL searched), "warm" with one whose caches hold them.
func BenchmarkVerifyColdVsWarm(b *testing.B) {
	f := newScaleFixture(b)
	warm := f.warmVerifier(b)
	cold := New(f.opts) // no caches: each verification starts cold
	benchratio.Interleave(b, 200, f.verifySide("warm", warm), f.verifySide("cold", cold))
}

// BenchmarkVerifyBatchVsRawSM2 runs, in alternating rounds of batchBenchSize signatures on all
// cores, a batch through a Pool, and the raw call spread over GOMAXPROCS goroutines. An op is
// one signature.
//
//	go test ./verifier -run '^$' -bench VerifyBatchVsRawSM2 -benchtime 20000x
func BenchmarkVerifyBatchVsRawSM2(b *testing.B) {
	f := newScaleFixture(b)
	f.opts.Caches = newCaches(b, 64<<20)
	v := New(f.opts)
	pool := NewPool(v, PoolOptions{})
	defer pool.Close()
	items := make([]BatchItem, batchBenchSize)
	for i := range items {
		items[i] = BatchItem{Signature: f.der, Data: f.data}
	}
	if _, err := pool.VerifyBatch(context.Background(), items[:1]); err != nil { // warm
		b.Fatal(err)
	}
	workers := runtime.GOMAXPROCS(0)
	benchratio.Interleave(b, batchBenchSize,
		benchratio.Side{Name: "raw", Run: func(n int) error {
			return spread(workers, n, f.raw)
		}},
		benchratio.Side{Name: "batch", Run: func(n int) error {
			reports, err := pool.VerifyBatch(context.Background(), items[:n])
			if err != nil {
				return err
			}
			for i, r := range reports {
				if err := f.check(r); err != nil {
					return fmt.Errorf("report %d: %w", i, err)
				}
			}
			return nil
		}})
	b.ReportMetric(float64(workers), "cores")
}

func pubKey(k any) *ecdsa.PublicKey { return k.(*ecdsa.PublicKey) }
