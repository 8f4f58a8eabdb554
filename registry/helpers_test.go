package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/verifier"
)

// Valid unified social credit codes and identity numbers.
const (
	codePlatform = "91350100M000100Y43"
	codeCompany  = "91110000802100433B"
)

var (
	idHolder  = residentID("11010519491231002")
	idOther   = residentID("46010019800101123")
	idHandler = residentID("46010019900202456")
)

// residentID completes 17 digits with their GB 11643 check character.
func residentID(d17 string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range d17 {
		sum += int(c-'0') * w[i]
	}
	return d17 + string("10X98765432"[sum%11])
}

var (
	applicant = Actor{Name: "applicant-1", Roles: []Role{RoleApplicant}}
	reviewer  = Actor{Name: "reviewer-1", Roles: []Role{RoleReviewer}}
	maker     = Actor{Name: "maker-1", Roles: []Role{RoleMaker}}
	admin     = Actor{Name: "admin-1", Roles: []Role{RoleAdmin}}
	oa        = Actor{Name: "oa-system", Roles: []Role{RoleSigner, RoleApplicant}}
	holderAct = Actor{Name: "holder-1", Roles: []Role{RoleSigner}, PersonID: idHolder}
	otherAct  = Actor{Name: "other-1", Roles: []Role{RoleSigner}, PersonID: idOther}
)

var pin = []byte("246810")

type clock struct {
	mu   sync.Mutex
	t    time.Time
	real bool // time.Now
}

func (c *clock) Now() time.Time {
	if c.real {
		return time.Now().UTC()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// fakeImpressions is an ImpressionSource over a map.
type fakeImpressions struct {
	mu  sync.Mutex
	pic map[string][]byte
}

func (f *fakeImpressions) FiledImpression(_ context.Context, code string) ([]byte, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.pic[code]; ok {
		return p, "png", nil
	}
	return nil, "", fmt.Errorf("impression %s: %w", code, errs.NotFound)
}

// fakeEvents is an EventSink that keeps the events and writes one key per event.
type fakeEvents struct {
	mu     sync.Mutex
	events []Event
}

func (f *fakeEvents) EventWrites(_ context.Context, ev Event) ([]audit.Write, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, ev)
	return []audit.Write{{Key: fmt.Appendf(nil, "fake-events/%s/%s/%d", ev.SealCode, ev.Kind, len(f.events)), Value: []byte(ev.Kind)}}, nil
}

func (f *fakeEvents) kinds(code string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		if e.SealCode == code {
			out = append(out, e.Kind)
		}
	}
	return out
}

// env is a registry over a fresh store with its CA, keys, PIN guard and audit log.
type env struct {
	dir    string
	db     *store.Pebble
	keys   *softkey.Store
	ca     *pki.CA
	guard  *signer.Guard
	log    *audit.Log
	reg    *Registry
	clock  *clock
	imps   *fakeImpressions
	events *fakeEvents
	kek    []byte
	head   *sm2.PrivateKey
	pics   *sealimg.Renderer
	// token, when set, holds the keys instead of db: a key store that outlives the data
	// directory (a PKCS#11 token does), as a restore of an older backup meets it.
	token *store.Pebble
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var start = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func newEnv(t testing.TB, noSync bool) *env {
	t.Helper()
	e := &env{dir: filepath.Join(t.TempDir(), "data"), clock: &clock{t: start},
		imps: &fakeImpressions{pic: map[string][]byte{}}, events: &fakeEvents{}}
	e.kek = make([]byte, 16)
	rand.Read(e.kek)
	e.head, _ = sm2.GenerateKey(rand.Reader)
	pics, err := sealimg.New(sealimg.Options{DPI: 96})
	if err != nil {
		t.Fatal(err)
	}
	e.pics = pics
	e.open(t, noSync)
	t.Cleanup(e.close)
	return e
}

// openEnvAt opens the env of a data directory made before, on the real clock.
func openEnvAt(t testing.TB, dir string, kek []byte, head *sm2.PrivateKey, noSync bool) *env {
	t.Helper()
	e := &env{dir: dir, clock: &clock{real: true}, imps: &fakeImpressions{pic: map[string][]byte{}},
		events: &fakeEvents{}, kek: kek, head: head}
	pics, err := sealimg.New(sealimg.Options{DPI: 96})
	if err != nil {
		t.Fatal(err)
	}
	e.pics = pics
	e.open(t, noSync)
	return e
}

func (e *env) open(t testing.TB, noSync bool) {
	t.Helper()
	ctx := context.Background()
	var err error
	if e.db, err = store.Open(e.dir, &store.Options{NoSync: noSync, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	keyDB := e.db
	if e.token != nil {
		keyDB = e.token
	}
	if e.keys, err = softkey.New(store.MustSpace(keyDB, "softkey"), e.kek, softkey.Options{Logger: quiet, Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	if e.ca, err = pki.Open(ctx, pki.Options{Store: e.db, Keys: e.keys, Clock: e.clock.Now, Logger: quiet,
		CRLURL: "http://eseal.example/v1/pki/crl", Organisation: "海南省电子印章平台", OrgCode: codePlatform,
		RootValidity: 20 * 365 * 24 * time.Hour, MakerValidity: 10 * 365 * 24 * time.Hour, CRLValidity: 30 * 24 * time.Hour, CRLRefresh: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if e.guard, err = signer.NewGuard(store.MustSpace(e.db, "pin"), signer.GuardOptions{Iterations: signer.MinPINIterations, CacheTTL: -1, Logger: quiet, Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	if e.log, err = audit.Open(ctx, e.db, audit.Options{HeadSigner: e.head, HeadEvery: 16, Clock: e.clock.Now, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	if e.reg, err = New(Config{State: NewState(e.db, e.log), Keys: e.keys, CA: e.ca, Guard: e.guard, Pictures: e.pics,
		Impressions: e.imps, Events: e.events, Division: "460100", IDKey: []byte("0123456789abcdef"),
		Clock: e.clock.Now, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) close() {
	if e.db == nil {
		return
	}
	e.log.Close()
	e.ca.Close()
	e.keys.Close()
	e.db.Close()
	e.db = nil
}

// file files an impression for a physical seal code.
func (e *env) file(t testing.TB, code string) {
	t.Helper()
	png, err := e.pics.PNG(sealimg.Seal{Kind: sealimg.Official, Name: "海南示例科技有限公司", Code: code})
	if err != nil {
		t.Fatal(err)
	}
	e.imps.mu.Lock()
	e.imps.pic[code] = png
	e.imps.mu.Unlock()
}

// crl is the CA's current CRL, parsed.
func (e *env) crl(t testing.TB) *smx509.RevocationList {
	t.Helper()
	der, err := e.ca.CRL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

// verifier checks with the CA's root, its maker and its current CRL, at the env's clock.
func (e *env) verifier(t testing.TB, proof verifier.ProofOfExistence) *verifier.Verifier {
	t.Helper()
	return verifier.New(verifier.Options{Roots: []*smx509.Certificate{e.ca.Root()}, Makers: []*smx509.Certificate{e.ca.Maker()},
		CRLs: []*smx509.RevocationList{e.crl(t)}, TimeProof: proof, Now: e.clock.Now})
}

func (e *env) checkESL(t testing.TB, esl []byte) {
	t.Helper()
	rep, ind := e.verifier(t, nil).VerifySeal(esl)
	if ind != verifier.TotalPassed {
		t.Fatalf("seal %s: %s: %+v", rep.ID, ind, rep.Checks)
	}
}

// onCRL reports whether the certificate with the serial (hex) is on the CA's CRL.
func (e *env) onCRL(t testing.TB, serialHex string) bool {
	t.Helper()
	for _, rc := range e.crl(t).RevokedCertificateEntries {
		if rc.SerialNumber.Text(16) == serialHex {
			return true
		}
	}
	return false
}

func material() []Material {
	return []Material{{Name: "business licence", Type: "application/pdf", Data: []byte("%PDF-1.7 licence")}}
}

// application returns a valid application of kind k.
func application(k Kind, physical string) Application {
	app := Application{Kind: k, Unit: Unit{Name: "海南示例科技有限公司", CreditCode: codeCompany},
		Handler: Person{Name: "王经办", ID: idHandler}, PhysicalCode: physical,
		ValidTo: start.AddDate(2, 0, 0), Materials: material()}
	switch k.Class() {
	case ClassPosition:
		app.Holder = &Person{Name: "张三", ID: idHolder}
		app.Scopes = []string{"contracts"}
	case ClassPersonal:
		app.Holder = &Person{Name: "张三", ID: idHolder}
	}
	switch k {
	case Department:
		app.Text = "办公室"
	case Branch:
		app.Text = "海南示例科技有限公司三亚分公司"
	}
	return app
}

// applyAndMake files app, has it approved and returns what making its seal returns.
func (e *env) applyAndMake(t testing.TB, app Application) (*SealRecord, error) {
	t.Helper()
	ctx := context.Background()
	id, err := e.reg.Apply(ctx, applicant, app)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Approve(ctx, reviewer, id); err != nil {
		t.Fatal(err)
	}
	return e.reg.Make(ctx, maker, id, MakeRequest{PIN: pin})
}

// made applies, approves, makes and issues a seal of kind k and returns it.
func (e *env) made(t testing.TB, k Kind, physical string) *SealRecord {
	t.Helper()
	ctx := context.Background()
	if physical != "" {
		e.file(t, physical)
	}
	s, err := e.applyAndMake(t, application(k, physical))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Issue(ctx, maker, s.Code); err != nil {
		t.Fatal(err)
	}
	return s
}

// wantKind fails unless err has kind k.
func wantKind(t testing.TB, what string, err error, k errs.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, k.Code())
	}
	if got := errs.KindOf(err); got != k || !errors.Is(err, k) {
		t.Fatalf("%s: %v has code %s, want %s", what, err, got.Code(), k.Code())
	}
}

func errorsIs(err error, k errs.Kind) bool { return errors.Is(err, k) }
