package appliance

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/verifier"
	"github.com/valyala/fasthttp"
)

// Valid unified social credit codes and identity numbers for the registry's tests.
const (
	regCodePlatform = "91350100M000100Y43"
	regCodeCompany  = "91110000802100433B"
	regPhysical     = "460100300001"
	regPIN          = "246810"
)

var (
	regIDHolder  = regResidentID("11010519491231002")
	regIDOther   = regResidentID("46010019800101123")
	regIDHandler = regResidentID("46010019900202456")
)

// regResidentID completes 17 digits with their GB 11643 check character.
func regResidentID(d17 string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range d17 {
		sum += int(c-'0') * w[i]
	}
	return d17 + string("10X98765432"[sum%11])
}

// The callers of the registry's tests, as their API keys describe them.
var (
	regApplicant = registry.Actor{Name: "applicant-1", Roles: []registry.Role{registry.RoleApplicant}}
	regReviewer  = registry.Actor{Name: "reviewer-1", Roles: []registry.Role{registry.RoleReviewer}}
	regMaker     = registry.Actor{Name: "maker-1", Roles: []registry.Role{registry.RoleMaker}}
	regAdmin     = registry.Actor{Name: "admin-1", Roles: []registry.Role{registry.RoleAdmin}}
	regOA        = registry.Actor{Name: "oa-system", Roles: []registry.Role{registry.RoleSigner, registry.RoleApplicant}}
	regHolder    = registry.Actor{Name: "holder-1", Roles: []registry.Role{registry.RoleSigner}}
	regVerifier  = registry.Actor{Name: "verifier-1", Roles: []registry.Role{RoleVerifier}}
)

// regImpressions is a registry.ImpressionSource over a map.
type regImpressions struct {
	mu  sync.Mutex
	pic map[string][]byte
}

func (f *regImpressions) FiledImpression(_ context.Context, code string) ([]byte, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.pic[code]; ok {
		return p, "png", nil
	}
	return nil, "", fmt.Errorf("impression %s: %w", code, errs.NotFound)
}

// regClock is the real clock moved on by the time a test has skipped.
type regClock struct {
	mu   sync.Mutex
	skip time.Duration
}

func (c *regClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.skip)
}

func (c *regClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.skip += d }

// regEnv is the Services of the registry and signing routes over a fresh store, with the
// built-in CA, software keys, the PIN guard and the audit log, on a clock the test moves on.
type regEnv struct {
	clock *regClock
	db    *store.Pebble
	keys  *softkey.Store
	ca    *pki.CA
	log   *audit.Log
	reg   *registry.Registry
	pics  *sealimg.Renderer
	imps  *regImpressions
	svc   *Services
}

var regQuiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newRegEnv(t testing.TB) *regEnv { t.Helper(); return newRegEnvLogged(t, regQuiet) }

// newRegEnvLogged is newRegEnv with every part logging to lg.
func newRegEnvLogged(t testing.TB, lg *slog.Logger) *regEnv {
	t.Helper()
	ctx := context.Background()
	e := &regEnv{clock: &regClock{}, imps: &regImpressions{pic: map[string][]byte{}}}
	kek := make([]byte, 16)
	rand.Read(kek)
	head, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if e.pics, err = sealimg.New(sealimg.Options{DPI: 96}); err != nil {
		t.Fatal(err)
	}
	if e.db, err = store.Open(filepath.Join(t.TempDir(), "data"), &store.Options{NoSync: true, Logger: lg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	if e.keys, err = softkey.New(store.MustSpace(e.db, "softkey"), kek, softkey.Options{Logger: lg, Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.keys.Close() })
	if e.ca, err = pki.Open(ctx, pki.Options{Store: e.db, Keys: e.keys, Clock: e.clock.Now, Logger: lg,
		CRLURL: "http://eseal.example/v1/pki/crl", Organisation: "海南省电子印章平台", OrgCode: regCodePlatform,
		RootValidity: 20 * 365 * 24 * time.Hour, MakerValidity: 10 * 365 * 24 * time.Hour, CRLValidity: 30 * 24 * time.Hour, CRLRefresh: time.Minute}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.ca.Close() })
	guard, err := signer.NewGuard(store.MustSpace(e.db, "pin"), signer.GuardOptions{Iterations: signer.MinPINIterations, CacheTTL: -1, Logger: lg, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if e.log, err = audit.Open(ctx, e.db, audit.Options{HeadSigner: head, HeadEvery: 64, Clock: e.clock.Now, Logger: lg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.log.Close() })
	if e.reg, err = registry.New(registry.Config{State: registry.NewState(e.db, e.log), Keys: e.keys, CA: e.ca, Guard: guard,
		Pictures: e.pics, Impressions: e.imps, Division: "460100", IDKey: []byte("0123456789abcdef"), Clock: e.clock.Now, Logger: lg}); err != nil {
		t.Fatal(err)
	}
	e.svc = &Services{DB: e.db, Keys: e.keys, CA: e.ca, Registry: e.reg, Audit: e.log, Log: lg}
	return e
}

// file files an impression for a physical seal code.
func (e *regEnv) file(t testing.TB, code string) {
	t.Helper()
	png, err := e.pics.PNG(sealimg.Seal{Kind: sealimg.Official, Name: "海南示例科技有限公司", Code: code})
	if err != nil {
		t.Fatal(err)
	}
	e.imps.mu.Lock()
	e.imps.pic[code] = png
	e.imps.mu.Unlock()
}

// verifier checks with the CA's root, its seal maker and a CRL issued after everything
// signed so far: it moves the clock on by two minutes, past the CA's CRL refresh.
func (e *regEnv) verifier(t testing.TB) *verifier.Verifier {
	t.Helper()
	e.clock.Add(2 * time.Minute)
	der, err := e.ca.CRL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return verifier.New(verifier.Options{Roots: []*smx509.Certificate{e.ca.Root()}, Makers: []*smx509.Certificate{e.ca.Maker()},
		CRLs: []*smx509.RevocationList{crl}, Now: e.clock.Now})
}

// regAnswer is what a handler answered.
type regAnswer struct {
	status      int
	contentType string
	body        []byte
	err         error
}

// decode reads the answer's JSON into v.
func (a regAnswer) decode(t testing.TB, v any) {
	t.Helper()
	if a.err != nil {
		t.Fatalf("refused: %v", a.err)
	}
	if !strings.HasPrefix(a.contentType, "application/json") {
		t.Fatalf("content type %q, want JSON", a.contentType)
	}
	dec := json.NewDecoder(strings.NewReader(string(a.body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("answer %s: %v", a.body, err)
	}
}

// regFindRoute returns the registry or sign route of method and path pattern.
func regFindRoute(t testing.TB, method, pattern string) Route {
	t.Helper()
	for _, r := range append(registryRoutes(), signRoutes()...) {
		if r.Method == method && r.Path == pattern {
			return r
		}
	}
	t.Fatalf("no route %s %s", method, pattern)
	return Route{}
}

// do serves one request of the route method pattern for the actor: the path's {name}
// segments from params (name, value pairs), query the raw query string.
func (e *regEnv) do(t testing.TB, a registry.Actor, method, pattern, query string, body any, params ...string) regAnswer {
	t.Helper()
	r := regFindRoute(t, method, pattern)
	p := map[string]string{}
	path := pattern
	for i := 0; i+1 < len(params); i += 2 {
		p[params[i]] = params[i+1]
		path = strings.ReplaceAll(path, "{"+params[i]+"}", params[i+1])
	}
	var req fasthttp.Request
	req.Header.SetMethod(method)
	uri := "http://eseal.test" + path
	if query != "" {
		uri += "?" + query
	}
	req.SetRequestURI(uri)
	switch b := body.(type) {
	case nil:
	case []byte:
		req.SetBody(b)
	case string:
		req.SetBodyString(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBody(j)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	c := &Call{ctx: &ctx, actor: a, params: p, svc: e.svc}
	err := r.Handle(c)
	return regAnswer{status: ctx.Response.StatusCode(), contentType: string(ctx.Response.Header.ContentType()),
		body: append([]byte(nil), ctx.Response.Body()...), err: err}
}

// regWant fails unless the answer is a refusal of kind k.
func regWant(t testing.TB, what string, a regAnswer, k errs.Kind) {
	t.Helper()
	if a.err == nil {
		t.Fatalf("%s: answered %d %s, want %s", what, a.status, a.body, k.Code())
	}
	if got := errs.KindOf(a.err); got != k || !errors.Is(a.err, k) {
		t.Fatalf("%s: %v has code %s, want %s", what, a.err, got.Code(), k.Code())
	}
}

// regMaterial is one proof material of a request.
var regMaterial = []map[string]any{{"name": "business licence", "type": "application/pdf", "data": []byte("%PDF-1.7 licence")}}

// regApplication is the JSON of a valid application of kind k.
func regApplication(k registry.Kind, physical string) map[string]any {
	app := map[string]any{"kind": k, "unit": map[string]string{"name": "海南示例科技有限公司", "credit_code": regCodeCompany},
		"handler":  map[string]string{"name": "王经办", "person_id": regIDHandler},
		"valid_to": time.Now().UTC().AddDate(2, 0, 0), "materials": regMaterial}
	if physical != "" {
		app["physical_code"] = physical
	}
	if k.Class() != registry.ClassOfficial {
		app["holder"] = map[string]string{"name": "张三", "person_id": regIDHolder}
	}
	if k.Class() == registry.ClassPosition {
		app["scopes"] = []string{"contracts"}
	}
	return app
}

// made has a seal of kind k applied for, approved, made and issued through the routes, and
// returns it.
func (e *regEnv) made(t testing.TB, k registry.Kind, physical string) sealView {
	t.Helper()
	if physical != "" {
		e.file(t, physical)
	}
	var id idAnswer
	e.do(t, regApplicant, "POST", "/v1/applications", "", regApplication(k, physical)).decode(t, &id)
	e.do(t, regReviewer, "POST", "/v1/applications/{id}/approve", "", nil, "id", id.ID).decode(t, new(applicationView))
	var s sealView
	e.do(t, regMaker, "POST", "/v1/applications/{id}/make", "", pinRequest{PIN: regPIN}, "id", id.ID).decode(t, &s)
	e.do(t, regMaker, "POST", "/v1/seals/{code}/issue", "", nil, "code", s.Code).decode(t, &s)
	if s.Status != registry.StatusActive {
		t.Fatalf("seal %s is %s after issue", s.Code, s.Status)
	}
	return s
}
