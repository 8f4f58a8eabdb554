package pki

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
)

// Valid unified social credit codes (check characters verified by hand).
const (
	codePlatform = "91350100M000100Y43"
	codeCompany  = "91110000802100433B"
	idPerson     = "11010519491231002X" // GB 11643 example number
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a data directory: a Pebble store, a softkey key store over it and
// a clock, reopenable to test restarts.
type env struct {
	dir   string
	kek   []byte
	clock *fakeClock
	db    *store.Pebble
	keys  *softkey.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: filepath.Join(t.TempDir(), "db"), kek: make([]byte, softkey.KEKSize), clock: &fakeClock{t: time.Now()}}
	if _, err := rand.Read(e.kek); err != nil {
		t.Fatal(err)
	}
	e.openStores(t)
	t.Cleanup(e.closeStores)
	return e
}

func (e *env) openStores(t *testing.T) {
	t.Helper()
	db, err := store.Open(e.dir, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := softkey.New(store.MustSpace(db, "softkey"), e.kek, softkey.Options{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	e.db, e.keys = db, keys
}

func (e *env) closeStores() {
	if e.keys != nil {
		e.keys.Close()
		e.keys = nil
	}
	if e.db != nil {
		e.db.Close()
		e.db = nil
	}
}

// restart closes and reopens the store and key store.
func (e *env) restart(t *testing.T) {
	t.Helper()
	e.closeStores()
	e.openStores(t)
}

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

const testCRLURL = "http://seal.example.gov.cn/v1/pki/crl"

func (e *env) options() Options {
	return Options{
		Store:        e.db,
		Keys:         e.keys,
		Clock:        e.clock.Now,
		Logger:       quietLog,
		CRLURL:       testCRLURL,
		Organisation: "海南省大数据管理局",
		OrgCode:      codePlatform,
	}
}

func (e *env) open(t *testing.T) *CA {
	t.Helper()
	ca, err := Open(context.Background(), e.options())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ca.Close() })
	return ca
}

// newKey generates an SM2 key in the env's key store.
func (e *env) newKey(t *testing.T, label string) {
	t.Helper()
	if _, err := e.keys.Generate(context.Background(), label, "SM2"); err != nil {
		t.Fatal(err)
	}
}

// wantErr checks that err is a *Error of kind naming field.
func wantErr(t *testing.T, err error, kind Kind, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v on %s", kind, field)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a *pki.Error", err, err)
	}
	if !errors.Is(err, kind) || e.Field != field {
		t.Fatalf("error %q: kind %v field %q, want %v field %q", err, e.Kind, e.Field, kind, field)
	}
	if field != "" && !strings.Contains(err.Error(), field) {
		t.Fatalf("error %q does not name %s", err, field)
	}
}

// verifyChain checks cert with smx509's own path builder against the root.
func verifyChain(t *testing.T, ca *CA, cert *smx509.Certificate, at time.Time) {
	t.Helper()
	chains, err := cert.Verify(smx509.VerifyOptions{
		Roots:       ca.Roots(),
		CurrentTime: at,
		KeyUsages:   []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny},
	})
	if err != nil {
		t.Fatalf("smx509 Verify: %v", err)
	}
	if len(chains) != 1 || len(chains[0]) != 2 || !chains[0][1].Equal(ca.Root()) {
		t.Fatalf("unexpected chains %v", chains)
	}
}

// openssl runs OpenSSL 3, which must be installed: a missing openssl fails
// the test, it does not skip it.
func openssl(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl (OpenSSL 3) is required for this test: %v", err)
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

// sm2DistID is the SM2 user ID of GB/T 35276 that gmsm signs with.
// OpenSSL 3.0 uses no ID unless told, so verify needs -vfyopt.
const sm2DistID = "distid:1234567812345678"

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// opensslVerify runs `openssl verify -CAfile root.pem cert.pem` with the SM2
// distinguishing ID, at the given time.
func opensslVerify(t *testing.T, ca *CA, cert *smx509.Certificate, at time.Time) (string, error) {
	t.Helper()
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, "root.pem"), "CERTIFICATE", ca.Root().Raw)
	writePEM(t, filepath.Join(dir, "cert.pem"), "CERTIFICATE", cert.Raw)
	return openssl(t, dir, "verify", "-vfyopt", sm2DistID, "-x509_strict", "-attime", itoa(int(at.Unix())),
		"-CAfile", "root.pem", "cert.pem")
}
