package revocation

import (
	"context"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/errs"
)

// A CA whose clock went back issues CRL 6 dated before CRL 5. CRL 6 is the later one and
// lists the newer revocations: it must replace CRL 5, and CRL 5 served again afterwards
// (a replay, by a distribution point or by hand) must never replace it, also after a
// restart on the same store.
func TestCRLOrderAttackClockWentBack(t *testing.T) {
	ca := newCA(t, "Clock CA")
	five := ca.crl(t, 5, t0, t0.Add(24*time.Hour))
	six := ca.crl(t, 6, t0.Add(-time.Hour), t0.Add(23*time.Hour)) // revokes serial 1006
	ctx := context.Background()
	dir := t.TempDir()
	clk := newClock(t0.Add(time.Minute))

	db := openStore(t, dir)
	f, err := New(db, Config{Now: clk.nowFunc(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Put(ctx, ca.cert, five); err != nil {
		t.Fatal(err)
	}
	if err := f.Put(ctx, ca.cert, six); err != nil {
		t.Fatalf("CRL 6, dated before CRL 5, refused: %v", err)
	}
	if n := heldNumber(f, ca.cert); n != 6 {
		t.Fatalf("CRL %d held, want 6", n)
	}
	wantKind(t, f.Put(ctx, ca.cert, five), errs.Conflict)

	// A distribution point replaying CRL 5 does not roll CRL 6 back.
	srv := newServer(t, serve(five))
	clk.add(24 * time.Hour) // CRL 6 is past its nextUpdate: the next question fetches
	l, err := f.CRL(ctx, ca.cert, []string{srv.url()})
	if err != nil {
		t.Fatal(err)
	}
	if l.Number.Int64() != 6 || heldNumber(f, ca.cert) != 6 {
		t.Fatalf("after a replay of CRL 5: CRL %d answered, %d held, want 6", l.Number, heldNumber(f, ca.cert))
	}
	if srv.requests.Load() != 1 {
		t.Fatalf("%d requests, want 1", srv.requests.Load())
	}
	_ = f.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openStore(t, dir)
	defer db.Close()
	g := newFetcher(t, db, Config{Now: clk.nowFunc(), Logger: quiet})
	if n := heldNumber(g, ca.cert); n != 6 {
		t.Fatalf("after a restart CRL %d held, want 6", n)
	}
	wantKind(t, g.Put(ctx, ca.cert, five), errs.Conflict)
	if n := heldNumber(g, ca.cert); n != 6 {
		t.Fatalf("after a restart and a replay CRL %d held, want 6", n)
	}
}

func heldNumber(f *Fetcher, issuer *smx509.Certificate) int64 {
	l := f.Held(issuer)
	if l == nil || l.Number == nil {
		return -1
	}
	return l.Number.Int64()
}

// CRLGeneration moves when a newer CRL is held, after CRL answers with it and before OnNew
// runs (a verifier's cache compares it to drop answers built from the CRL replaced), and
// not when a CRL is refused or already held.
func TestCRLGenerationBeforeOnNew(t *testing.T) {
	ca := newCA(t, "Generation CA")
	ctx := context.Background()
	var f *Fetcher
	var seen []uint64
	f = newFetcher(t, nil, Config{Now: newClock(t0.Add(time.Minute)).nowFunc(), Logger: quiet, OnNew: func(issuer *smx509.Certificate) {
		seen = append(seen, f.CRLGeneration())
		if l, err := f.CRL(ctx, issuer, nil); err != nil || l.Number.Int64() != heldNumber(f, issuer) {
			t.Errorf("OnNew: CRL answers %v, %v, not the CRL held", l, err)
		}
	}})
	var _ interface{ CRLGeneration() uint64 } = f
	if g := f.CRLGeneration(); g != 0 {
		t.Fatalf("generation %d before any CRL", g)
	}
	one, two := ca.crl(t, 1, t0, t0.Add(time.Hour)), ca.crl(t, 2, t0, t0.Add(time.Hour))
	for _, der := range [][]byte{one, two, two} {
		_ = f.Put(ctx, ca.cert, der)
	}
	wantKind(t, f.Put(ctx, ca.cert, one), errs.Conflict)
	if g := f.CRLGeneration(); g != 2 || len(seen) != 2 || seen[0] != 1 || seen[1] != 2 {
		t.Fatalf("generation %d, seen by OnNew %v; want 2 and [1 2]", g, seen)
	}
}
