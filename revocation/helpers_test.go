package revocation

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/store"
)

// t0 is the time the tests start at.
var t0 = time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)

// testCA is an SM2 CA that issues CRLs.
type testCA struct {
	cert *smx509.Certificate
	key  *sm2.PrivateKey
}

func newCA(t testing.TB, cn string) *testCA {
	t.Helper()
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &smx509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn, Organization: []string{"测试 CA"}},
		NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign, SubjectKeyId: []byte{1, 2, 3, 4},
	}
	der, err := smx509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

// crl makes a CRL of the CA numbered n, issued at this and valid until next, with extra
// extensions.
func (ca *testCA) crl(t testing.TB, n int64, this, next time.Time, exts ...pkix.Extension) []byte {
	t.Helper()
	der, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(n), ThisUpdate: this, NextUpdate: next, ExtraExtensions: exts,
		RevokedCertificateEntries: []smx509.RevocationListEntry{{SerialNumber: big.NewInt(1000 + n), RevocationTime: this.Add(-time.Minute)}},
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// deltaExt marks a CRL as a delta CRL of base CRL 1.
func deltaExt(t testing.TB) pkix.Extension {
	v, err := asn1.Marshal(big.NewInt(1))
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: v}
}

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func newClock(at time.Time) *clock {
	c := &clock{}
	c.set(at)
	return c
}
func (c *clock) set(at time.Time)          { c.ns.Store(at.UnixNano()) }
func (c *clock) add(d time.Duration)       { c.ns.Add(int64(d)) }
func (c *clock) now() time.Time            { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) nowFunc() func() time.Time { return c.now }

// server is a test distribution point counting the requests it answers.
type server struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	handler  http.HandlerFunc
}

func newServer(t testing.TB, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{handler: h}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		h := s.handler
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) set(h http.HandlerFunc) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

func (s *server) url() string { return s.URL + "/root.crl" }

// serve answers every request with body.
func serve(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write(body)
	}
}

// openStore opens a Pebble store in dir.
func openStore(t testing.TB, dir string) *store.Pebble {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, "db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newFetcher opens a Fetcher on kv with cfg, closed at the end of the test.
func newFetcher(t testing.TB, kv store.KV, cfg Config) *Fetcher {
	t.Helper()
	f, err := New(kv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// wantKind fails unless err is of kind want (and of no other).
func wantKind(t testing.TB, err error, want errs.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", want.Code())
	}
	if k := errs.KindOf(err); k != want {
		t.Fatalf("error %q is of kind %s, want %s", err, k.Code(), want.Code())
	}
	for _, k := range errs.Kinds() {
		if k != want && errors.Is(err, k) {
			t.Fatalf("error %q also matches %s", err, k.Code())
		}
	}
}
