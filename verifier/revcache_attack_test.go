package verifier

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// racingCRL is a CRL source whose newer CRL arrives while a verification is reading the
// older one: the source's hook (InvalidateRevocation) runs after the older CRL was handed
// out and before the answer built from it is cached. It counts its changes as
// revocation.Fetcher does.
type racingCRL struct {
	mu         sync.Mutex
	cur, after *smx509.RevocationList
	v          *Verifier
	gen        atomic.Uint64
}

func (r *racingCRL) CRLGeneration() uint64 { return r.gen.Load() }

func (r *racingCRL) CRL(context.Context, *smx509.Certificate, []string) (*smx509.RevocationList, error) {
	r.mu.Lock()
	l := r.cur
	arrive := r.after != nil
	if arrive {
		r.cur, r.after = r.after, nil
		r.gen.Add(1)
	}
	r.mu.Unlock()
	if arrive {
		r.v.InvalidateRevocation()
	}
	return l, nil
}

// A CRL that revokes the signer arrives while a verification reads the older one. The
// answer built from the older CRL must not be kept past the invalidation that announced the
// newer one: otherwise every later verification passes the revoked signer until the older
// CRL's nextUpdate.
func TestRevocationCacheAttackInvalidatedWhileLoading(t *testing.T) {
	p := newPKI(t)
	data := []byte("<Signature/>")
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	der := p.sign(t, p.seal(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)), data, signedAt)
	issued := signedAt.Add(24 * time.Hour)
	older := mkCRL(t, p.root, p.rootKey, 1, issued, issued.AddDate(0, 0, 7))
	revoking := mkCRL(t, p.root, p.rootKey, 2, issued.Add(time.Hour), issued.AddDate(0, 0, 7), revoke(p.signer, signedAt.Add(-time.Hour), 1))
	src := &racingCRL{cur: older, after: revoking}
	o := p.trust(issued.Add(2 * time.Hour))
	o.CRLs, o.CRLSource, o.Caches = nil, src, newCaches(t, 8<<20)
	v := New(o)
	src.v = v
	// The first verification read the older CRL: it may pass.
	_ = v.VerifySignature(der, data)
	for i := range 3 {
		r := v.VerifySignature(der, data)
		if r.Indication != TotalFailed || status(r.Checks, CheckRevocation) != Failed {
			t.Fatalf("verification %d after the revoking CRL arrived: %s with revocation %s: %s", i+2, r.Indication, status(r.Checks, CheckRevocation), detail(r.Checks, CheckRevocation))
		}
	}
}
