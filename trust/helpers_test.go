package trust

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/store"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

var serials atomic.Int64

// issued is a certificate with its key.
type issued struct {
	cert *smx509.Certificate
	key  crypto.Signer
}

func sm2Key(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue makes a certificate from tmpl for key, signed by parent (itself when nil).
func issue(t testing.TB, tmpl *smx509.Certificate, key crypto.Signer, parent *issued) *issued {
	t.Helper()
	tmpl.SerialNumber = big.NewInt(serials.Add(1))
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	pc, pk := tmpl, key
	if parent != nil {
		pc, pk = parent.cert, parent.key
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, pc, key.Public(), pk)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &issued{cert: c, key: key}
}

func subject(cn string) smx509.Certificate {
	var tmpl smx509.Certificate
	tmpl.Subject.CommonName = cn
	tmpl.Subject.Organization = []string{"测试机构"}
	return tmpl
}

// newRoot is a self-signed SM2 root CA.
func newRoot(t testing.TB, cn string) *issued {
	tmpl := subject(cn)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign
	return issue(t, &tmpl, sm2Key(t), nil)
}

// newCA is an SM2 CA certificate issued by parent.
func newCA(t testing.TB, cn string, parent *issued) *issued {
	tmpl := subject(cn)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign
	return issue(t, &tmpl, sm2Key(t), parent)
}

// newLeaf is an end-entity SM2 certificate issued by parent with the given key usage.
func newLeaf(t testing.TB, cn string, usage smx509.KeyUsage, parent *issued) *issued {
	tmpl := subject(cn)
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = usage
	return issue(t, &tmpl, sm2Key(t), parent)
}

func newMaker(t testing.TB, cn string, parent *issued) *issued {
	return newLeaf(t, cn, smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment, parent)
}

// pkiFixture is a root, an intermediate CA under it and a seal maker under that.
type pkiFixture struct {
	root, inter, maker *issued
}

func newPKI(t testing.TB, name string) pkiFixture {
	root := newRoot(t, name+" Root")
	inter := newCA(t, name+" CA", root)
	return pkiFixture{root: root, inter: inter, maker: newMaker(t, name+" Seal Maker", inter)}
}

func (p pkiFixture) input() TrustSetInput {
	return TrustSetInput{Roots: ders(p.root), Intermediates: ders(p.inter), Makers: ders(p.maker)}
}

func ders(cs ...*issued) [][]byte {
	out := make([][]byte, len(cs))
	for i, c := range cs {
		out[i] = c.cert.Raw
	}
	return out
}

func pemOf(cs ...*issued) []byte {
	var b []byte
	for _, c := range cs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})...)
	}
	return b
}

// env is a data directory with a Pebble store, reopenable to test restarts.
type env struct {
	dir string
	db  *store.Pebble
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: filepath.Join(t.TempDir(), "db")}
	e.open(t)
	t.Cleanup(func() { _ = e.db.Close() })
	return e
}

func (e *env) open(t *testing.T) {
	t.Helper()
	db, err := openStore(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
}

func openStore(dir string) (*store.Pebble, error) {
	return store.Open(dir, &store.Options{NoSync: true, Logger: quietLog})
}

func kvOf(db store.KV) store.KV { return store.MustSpace(db, SpaceName) }

func (e *env) reopen(t *testing.T) {
	t.Helper()
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
}

func (e *env) kv() store.KV { return kvOf(e.db) }

func (e *env) sets(t *testing.T, opts Options) *Sets {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLog
	}
	s, err := Open(context.Background(), e.kv(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantKind fails unless err is of kind want (and no other) and is an *Error whose message
// holds every one of the fragments.
func wantKind(t *testing.T, err error, want errs.Kind, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", want.Code())
	}
	if k := errs.KindOf(err); k != want {
		t.Fatalf("%v: kind %s, want %s", err, k.Code(), want.Code())
	}
	for _, k := range errs.Kinds() {
		if k != want && errors.Is(err, k) {
			t.Fatalf("%v: matches %s too", err, k.Code())
		}
	}
	t.Log(err)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v: not a *trust.Error", err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%q does not say %q", err, f)
		}
	}
}

// rawsOf gives the DER of certificates.
func rawsOf(cs []*smx509.Certificate) [][]byte {
	out := make([][]byte, len(cs))
	for i, c := range cs {
		out[i] = c.Raw
	}
	return out
}

// p256Root is a self-signed ECDSA P-256 CA: a key that is not SM2.
func p256Root(t *testing.T) *issued {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := subject("P-256 Root")
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = smx509.KeyUsageCertSign
	return issue(t, &tmpl, k, nil)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
