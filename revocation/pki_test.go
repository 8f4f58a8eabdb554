package revocation

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
)

// The CRLs of eseal's own CA, fetched from the distribution point its certificates name:
// taken, held until their nextUpdate, and a revocation seen in the next one.
func TestOwnCA(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	defer db.Close()
	kek := make([]byte, softkey.KEKSize)
	if _, err := rand.Read(kek); err != nil {
		t.Fatal(err)
	}
	keys, err := softkey.New(store.MustSpace(db, "softkey"), kek, softkey.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	var ca atomic.Pointer[pki.CA]
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		der, err := ca.Load().CRL(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(der)
	}))
	defer srv.Close()
	clk := newClock(time.Now().UTC().Truncate(time.Second))
	c, err := pki.Open(ctx, pki.Options{Store: store.MustSpace(db, pki.SpaceName), Keys: keys, Logger: quiet, Clock: clk.nowFunc(),
		CRLURL: srv.URL + "/crl", Organisation: "测试平台", OrgCode: "91350100M000100Y43"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ca.Store(c)

	f := newFetcher(t, store.MustSpace(db, "app"), Config{Now: clk.nowFunc(), Logger: quiet})
	maker, root := c.Maker(), c.Root()
	if len(maker.CRLDistributionPoints) == 0 {
		t.Fatal("the seal maker certificate names no CRL distribution point")
	}
	first, err := f.CRL(ctx, root, maker.CRLDistributionPoints)
	if err != nil {
		t.Fatal(err)
	}
	if revokedIn(first, maker) {
		t.Fatal("the maker is listed before it is revoked")
	}
	if err := c.Revoke(ctx, maker.SerialNumber, pki.KeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Hour)
	if l, err := f.CRL(ctx, root, maker.CRLDistributionPoints); err != nil || l != first || requests.Load() != 1 {
		t.Fatalf("before nextUpdate: %v after %d requests; want the first CRL after 1", err, requests.Load())
	}
	clk.set(first.NextUpdate.Add(time.Second))
	next, err := f.CRL(ctx, root, maker.CRLDistributionPoints)
	if err != nil {
		t.Fatal(err)
	}
	if requests.Load() != 2 || !revokedIn(next, maker) || next.Number.Cmp(first.Number) <= 0 {
		t.Fatalf("after nextUpdate: CRL %s after %d requests; want a newer one listing the maker after 2", describe(next), requests.Load())
	}
}

// revokedIn tells whether l lists cert.
func revokedIn(l *smx509.RevocationList, cert *smx509.Certificate) bool {
	for _, e := range l.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return true
		}
	}
	return false
}
