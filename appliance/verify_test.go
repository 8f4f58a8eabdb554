package appliance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/trust"
	"github.com/eseal/eseal/verifier"
	"github.com/valyala/fasthttp"
)

// verifyEnv is Services over a fresh store: the built-in CA, the audit log, the trust sets
// ("default": the CA's root and maker; "sample": the committed sample's root and maker), a
// verifier that consults the sample's CRL, and a small verification pool.
type verifyEnv struct {
	svc    *Services
	db     *store.Pebble
	dir    string
	sample func(name string) []byte
}

var verifyQuiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func readSampleFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "sample", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func firstPEMDER(t testing.TB, b []byte) []byte {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	return blk.Bytes
}

func newVerifyEnv(t testing.TB) *verifyEnv {
	t.Helper()
	ctx := context.Background()
	e := &verifyEnv{dir: filepath.Join(t.TempDir(), "data"), sample: func(n string) []byte { return readSampleFile(t, n) }}
	db, err := store.Open(e.dir, &store.Options{NoSync: true, Logger: verifyQuiet})
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	kek := make([]byte, 16)
	rand.Read(kek)
	keys, err := softkey.New(store.MustSpace(db, "softkey"), kek, softkey.Options{Logger: verifyQuiet})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.Open(ctx, pki.Options{Store: db, Keys: keys, Logger: verifyQuiet, CRLURL: "http://eseal.example/v1/pki/crl",
		Organisation: "海南省电子印章平台", OrgCode: "91350100M000100Y43", RootValidity: 20 * 365 * 24 * time.Hour,
		MakerValidity: 10 * 365 * 24 * time.Hour, CRLValidity: 30 * 24 * time.Hour, CRLRefresh: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	head, _ := sm2.GenerateKey(rand.Reader)
	lg, err := audit.Open(ctx, db, audit.Options{HeadSigner: head, HeadEvery: 4, Logger: verifyQuiet})
	if err != nil {
		t.Fatal(err)
	}
	sets, err := trust.Open(ctx, store.MustSpace(db, trust.SpaceName), trust.Options{Logger: verifyQuiet,
		Default: &trust.TrustSetInput{Roots: [][]byte{ca.Root().Raw}, Makers: [][]byte{ca.Maker().Raw}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sets.PutPEM(ctx, "sample", e.sample("root.pem"), nil, e.sample("maker.pem")); err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.ParseRevocationList(e.sample("crl.der"))
	if err != nil {
		t.Fatal(err)
	}
	// A fixed clock: reports that name the time of verification ("at ... the seal expired")
	// are compared with reports made a moment later.
	now := time.Now().UTC().Truncate(time.Second)
	v := verifier.New(verifier.Options{TrustSets: sets, CRLs: []*smx509.RevocationList{crl}, Now: func() time.Time { return now }})
	pool := verifier.NewPool(v, verifier.PoolOptions{Workers: 2, Queue: 64})
	e.svc = &Services{DB: db, Keys: keys, CA: ca, Audit: lg, Verifier: v, Pool: pool, Trust: sets, Log: verifyQuiet}
	t.Cleanup(func() {
		pool.Close()
		lg.Close()
		ca.Close()
		keys.Close()
		db.Close()
	})
	return e
}

// verifyReq is one request to a handler.
type verifyReq struct {
	method, path string
	params       map[string]string
	query        string
	contentType  string
	body         []byte
}

// routeAnswer is what a handler answered: its error, or the status, content type and body.
type routeAnswer struct {
	err    error
	status int
	ctype  string
	body   []byte
}

// serve runs h over a Call built for r, as the router would.
func (e *verifyEnv) serve(h Handler, r verifyReq) routeAnswer {
	var req fasthttp.Request
	req.Header.SetMethod(r.method)
	uri := r.path
	if r.query != "" {
		uri += "?" + r.query
	}
	req.SetRequestURI(uri)
	if r.contentType != "" {
		req.Header.SetContentType(r.contentType)
	}
	req.SetBody(r.body)
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, nil, nil)
	c := &Call{ctx: ctx, params: r.params, svc: e.svc}
	err := h(c)
	return routeAnswer{err: err, status: ctx.Response.StatusCode(), ctype: string(ctx.Response.Header.ContentType()),
		body: append([]byte(nil), ctx.Response.Body()...)}
}

func postBody(h Handler, e *verifyEnv, v any) routeAnswer {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	default:
		b, _ = json.Marshal(v)
	}
	return e.serve(h, verifyReq{method: "POST", path: "/", contentType: "application/json", body: b})
}

// ok fails unless the answer is a 200 JSON body, and decodes it into v.
func (a routeAnswer) ok(t testing.TB, v any) {
	t.Helper()
	if a.err != nil {
		t.Fatalf("refused: %v (%s)", a.err, errs.KindOf(a.err).Code())
	}
	if a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	if v == nil {
		return
	}
	if !strings.HasPrefix(a.ctype, "application/json") {
		t.Fatalf("content type %q", a.ctype)
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %s: %v", a.body, err)
	}
}

// refused fails unless the handler refused with kind k and a message holding each of words.
func (a routeAnswer) refused(t testing.TB, k errs.Kind, words ...string) {
	t.Helper()
	if a.err == nil {
		t.Fatalf("answered %d %s, want a refusal %s", a.status, a.body, k.Code())
	}
	if got := errs.KindOf(a.err); got != k {
		t.Fatalf("refusal %q has code %s, want %s", a.err, got.Code(), k.Code())
	}
	for _, w := range words {
		if !strings.Contains(a.err.Error(), w) {
			t.Errorf("refusal %q does not say %q", a.err, w)
		}
	}
}

func enc64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// The committed sample passes under the trust set that holds its root and maker, and the
// answer is the report the verifier gives; under the default set (our own CA) it is not
// trusted.
func TestVerifySignature(t *testing.T) {
	e := newVerifyEnv(t)
	sig, data := e.sample("SignedValue.dat"), e.sample("Signature.xml")
	var got verifier.SignatureReport
	postBody(handleVerify, e, map[string]any{"signature": enc64(sig), "data": enc64(data), "trust_set": "sample"}).ok(t, &got)
	if got.Indication != verifier.TotalPassed || got.ID != "1" {
		t.Fatalf("sample: %s/%s id %q: %+v", got.Indication, got.SubIndication, got.ID, got.Checks)
	}
	v, err := e.svc.Verifier.Using("sample")
	if err != nil {
		t.Fatal(err)
	}
	want := v.VerifySignature(sig, data)
	want.ID = "1"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the answer is not the verifier's report:\n got %+v\nwant %+v", got, want)
	}

	var def verifier.SignatureReport
	postBody(handleVerify, e, map[string]any{"signature": enc64(sig), "data": enc64(data)}).ok(t, &def)
	if def.Indication == verifier.TotalPassed {
		t.Errorf("the default trust set (our CA) passed a seal another CA made: %+v", def.Checks)
	}

	var changed verifier.SignatureReport
	postBody(handleVerify, e, map[string]any{"signature": enc64(sig), "data": enc64(append(data, ' ')), "trust_set": "sample"}).ok(t, &changed)
	if changed.Indication != verifier.TotalFailed || changed.SubIndication != verifier.HashFailure {
		t.Errorf("changed data: %s/%s", changed.Indication, changed.SubIndication)
	}

	var noData verifier.SignatureReport
	postBody(handleVerify, e, map[string]any{"signature": enc64(sig), "trust_set": "sample"}).ok(t, &noData)
	if noData.Indication != verifier.Indeterminate || noData.SubIndication != verifier.SignedDataNotFound {
		t.Errorf("without data: %s/%s, want INDETERMINATE/SIGNED_DATA_NOT_FOUND", noData.Indication, noData.SubIndication)
	}

	var garbage verifier.SignatureReport
	postBody(handleVerify, e, map[string]any{"signature": enc64([]byte("not DER")), "trust_set": "sample"}).ok(t, &garbage)
	if garbage.Indication != verifier.TotalFailed || garbage.SubIndication != verifier.FormatFailure {
		t.Errorf("bytes that are no signature: %s/%s", garbage.Indication, garbage.SubIndication)
	}
}

func TestVerifyRefusals(t *testing.T) {
	e := newVerifyEnv(t)
	sig := enc64(e.sample("SignedValue.dat"))
	for _, tc := range []struct {
		name  string
		body  string
		kind  errs.Kind
		words []string
	}{
		{"empty body", "", errs.InvalidInput, []string{"empty"}},
		{"bad base64", `{"signature": "not base64!"}`, errs.InvalidInput, []string{"signature: not standard base64"}},
		{"bad base64 data", `{"signature": "` + sig + `", "data": "a-b_"}`, errs.InvalidInput, []string{"data: not standard base64"}},
		{"unknown field", `{"signature": "` + sig + `", "sig": "x"}`, errs.InvalidInput, []string{`"sig"`}},
		{"wrong type", `{"signature": 12}`, errs.InvalidInput, []string{"signature"}},
		{"two values", `{"signature": "` + sig + `"} {}`, errs.InvalidInput, []string{"more than one"}},
		{"no signature", `{"data": "AAEC"}`, errs.InvalidInput, []string{"signature: required"}},
		{"unknown trust set", `{"signature": "` + sig + `", "trust_set": "nowhere"}`, errs.NotFound, []string{`"nowhere"`, "no such trust set"}},
		{"not a trust set name", `{"signature": "` + sig + `", "trust_set": "../Etc"}`, errs.InvalidInput, []string{"trust_set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			postBody(handleVerify, e, tc.body).refused(t, tc.kind, tc.words...)
		})
	}
}

// batchOf makes n items: the sample, the sample over changed data, and bytes that are no
// signature, in turn.
func batchOf(e *verifyEnv, n int) []VerifyBatchItem {
	sig, data := e.sample("SignedValue.dat"), e.sample("Signature.xml")
	items := make([]VerifyBatchItem, n)
	for i := range items {
		switch i % 3 {
		case 0:
			items[i] = VerifyBatchItem{Signature: enc64(sig), Data: enc64(data)}
		case 1:
			items[i] = VerifyBatchItem{Signature: enc64(sig), Data: enc64(append(append([]byte(nil), data...), '!'))}
		case 2:
			items[i] = VerifyBatchItem{Signature: enc64(fmt.Appendf(nil, "no signature %d", i))}
		}
	}
	return items
}

func TestVerifyBatch(t *testing.T) {
	e := newVerifyEnv(t)
	items := batchOf(e, 30)
	var got VerifyBatchResponse
	postBody(handleVerifyBatch, e, VerifyBatchRequest{Items: items, TrustSet: "sample"}).ok(t, &got)
	if len(got.Reports) != len(items) {
		t.Fatalf("%d reports for %d items", len(got.Reports), len(items))
	}
	want := []string{verifier.TotalPassed, verifier.TotalFailed, verifier.TotalFailed}
	wantSub := []string{"", verifier.HashFailure, verifier.FormatFailure}
	for i, r := range got.Reports {
		if r.Indication != want[i%3] || r.SubIndication != wantSub[i%3] || r.ID != fmt.Sprint(i+1) {
			t.Errorf("report %d: id %q %s/%s, want id %d %s/%s", i, r.ID, r.Indication, r.SubIndication, i+1, want[i%3], wantSub[i%3])
		}
	}
	// Without a trust set the pool's own verifier judges: the default set, which does not
	// hold the sample's maker.
	var def VerifyBatchResponse
	postBody(handleVerifyBatch, e, VerifyBatchRequest{Items: items[:1]}).ok(t, &def)
	if len(def.Reports) != 1 || def.Reports[0].Indication == verifier.TotalPassed {
		t.Errorf("the default trust set passed the sample: %+v", def.Reports)
	}
}

func TestVerifyBatchRefusals(t *testing.T) {
	e := newVerifyEnv(t)
	many := make([]string, DefaultVerifyBatchMax+1)
	for i := range many {
		many[i] = `{"signature":"MA=="}`
	}
	for _, tc := range []struct {
		name  string
		body  string
		kind  errs.Kind
		words []string
	}{
		{"no items", `{"items": []}`, errs.InvalidInput, []string{"items"}},
		{"too many items", `{"items": [` + strings.Join(many, ",") + `]}`, errs.LimitExceeded, []string{fmt.Sprint(DefaultVerifyBatchMax + 1), fmt.Sprint(DefaultVerifyBatchMax)}},
		{"an item without signature", `{"items": [{"signature":"MA=="}, {"data":"MA=="}]}`, errs.InvalidInput, []string{"items[1].signature"}},
		{"bad base64 in an item", `{"items": [{"signature":"%%%"}]}`, errs.InvalidInput, []string{"items[0].signature: not standard base64"}},
		{"unknown field in an item", `{"items": [{"signature":"MA==", "digest":"MA=="}]}`, errs.InvalidInput, []string{`"digest"`}},
		{"unknown trust set", `{"items": [{"signature":"MA=="}], "trust_set": "nowhere"}`, errs.NotFound, []string{"nowhere"}},
		{"larger than the queue", `{"items": [` + strings.Join(many[:65], ",") + `]}`, errs.LimitExceeded, []string{"65", "queue of 64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			postBody(handleVerifyBatch, e, tc.body).refused(t, tc.kind, tc.words...)
		})
	}
}

// blockingSets is a trust source whose every look-up waits until release is closed,
// announcing itself on entered: it holds a pool's workers.
type blockingSets struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSets) TrustSet(string) (verifier.TrustSet, uint64, error) {
	b.entered <- struct{}{}
	<-b.release
	return verifier.TrustSet{}, 1, nil
}

// A batch that does not fit in what is free of the verification queue is refused as BUSY
// at once, and is verified once there is room.
func TestVerifyBatchBusy(t *testing.T) {
	e := newVerifyEnv(t)
	bs := &blockingSets{entered: make(chan struct{}, 8), release: make(chan struct{})}
	pool := verifier.NewPool(verifier.New(verifier.Options{TrustSets: bs}), verifier.PoolOptions{Workers: 1, Queue: 2})
	defer pool.Close()
	e.svc.Pool = pool
	var wg sync.WaitGroup
	var first routeAnswer
	wg.Go(func() { first = postBody(handleVerifyBatch, e, VerifyBatchRequest{Items: batchOf(e, 2)}) })
	<-bs.entered // the one worker holds the first item; the second waits in the queue
	busy := postBody(handleVerifyBatch, e, VerifyBatchRequest{Items: batchOf(e, 2)})
	busy.refused(t, errs.Busy, "retry later")
	close(bs.release)
	wg.Wait()
	var got VerifyBatchResponse
	first.ok(t, &got)
	if len(got.Reports) != 2 {
		t.Fatalf("%d reports", len(got.Reports))
	}
	// With room again, the refused batch goes through.
	postBody(handleVerifyBatch, e, VerifyBatchRequest{Items: batchOf(e, 2)}).ok(t, &got)

	// A single verification goes through the same queue: a closed pool refuses it too.
	pool.Close()
	postBody(handleVerifyBatch, e, VerifyBatchRequest{Items: batchOf(e, 1)}).refused(t, errs.Closed)
	postBody(handleVerify, e, VerifyRequest{Signature: batchOf(e, 1)[0].Signature}).refused(t, errs.Closed)
}

// cliJSON is v encoded as `eseal verify --json` encodes a report.
func cliJSON(t testing.TB, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The answer to an OFD document is the report `eseal verify --json` prints for it.
func TestVerifyOFD(t *testing.T) {
	e := newVerifyEnv(t)
	doc := testvectors.Read(t, "esl-demo/test.ofd")
	a := e.serve(handleVerifyOFD, verifyReq{method: "POST", path: "/v1/ofd/verify", contentType: "application/ofd", body: doc})
	var got verifier.Report
	a.ok(t, &got)
	if got.Kind != "ofd" || len(got.Signatures) == 0 || got.Indication == "" {
		t.Fatalf("report: kind %q, %d signatures, indication %q", got.Kind, len(got.Signatures), got.Indication)
	}
	want, err := e.svc.Verifier.VerifyFile("", doc, nil, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if wantJSON := cliJSON(t, want); string(a.body) != wantJSON {
		t.Errorf("the answer differs from the verifier's report:\n got %s\nwant %s", a.body, wantJSON)
	}
	// Under a named set, and with no content type at all.
	a = e.serve(handleVerifyOFD, verifyReq{method: "POST", path: "/v1/ofd/verify", query: "trust_set=sample", body: doc})
	a.ok(t, &got)

	// Bytes that are no OFD package give a report whose format fails, not a refusal.
	a = e.serve(handleVerifyOFD, verifyReq{method: "POST", contentType: "application/octet-stream", body: []byte("PK\x03\x04 broken")})
	a.ok(t, &got)
	if got.Indication != verifier.TotalFailed || len(got.Signatures) != 1 || got.Signatures[0].SubIndication != verifier.FormatFailure {
		t.Errorf("a broken package: %s, %+v", got.Indication, got.Signatures)
	}

	for _, tc := range []struct {
		name string
		r    verifyReq
		kind errs.Kind
		word string
	}{
		{"empty body", verifyReq{method: "POST", contentType: "application/ofd"}, errs.InvalidInput, "empty"},
		{"JSON body", verifyReq{method: "POST", contentType: "application/json", body: []byte(`{"ofd":"x"}`)}, errs.InvalidInput, "application/ofd"},
		{"unknown trust set", verifyReq{method: "POST", query: "trust_set=nowhere", body: doc}, errs.NotFound, "nowhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.serve(handleVerifyOFD, tc.r).refused(t, tc.kind, tc.word)
		})
	}
}

// A bare seal is answered with the report `eseal verify --json` prints for a seal.
func TestVerifySeal(t *testing.T) {
	e := newVerifyEnv(t)
	esl := e.sample("Seal.esl")
	a := postBody(handleVerifySeal, e, map[string]any{"seal": enc64(esl), "trust_set": "sample"})
	var got verifier.Report
	a.ok(t, &got)
	if got.Kind != "seal" || got.Indication != verifier.TotalPassed || got.Seal == nil || len(got.Seal.Checks) == 0 {
		t.Fatalf("sample seal: %+v", got)
	}
	v, _ := e.svc.Verifier.Using("sample")
	want, err := v.VerifyFile("", esl, nil, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if wantJSON := cliJSON(t, want); string(a.body) != wantJSON {
		t.Errorf("the answer differs from the verifier's report:\n got %s\nwant %s", a.body, wantJSON)
	}
	postBody(handleVerifySeal, e, map[string]any{"seal": enc64(esl)}).ok(t, &got)
	if got.Indication == verifier.TotalPassed {
		t.Errorf("the default trust set passed a seal another CA made")
	}
	postBody(handleVerifySeal, e, `{"trust_set":"sample"}`).refused(t, errs.InvalidInput, "seal: required")
	postBody(handleVerifySeal, e, `{"seal":"***"}`).refused(t, errs.InvalidInput, "seal: not standard base64")
	postBody(handleVerifySeal, e, `{"seal":"MA==","trust_set":"nowhere"}`).refused(t, errs.NotFound, "nowhere")
}

// Without a verifier or pool the routes say so instead of failing.
func TestVerifyNotConfigured(t *testing.T) {
	e := &verifyEnv{svc: &Services{}}
	postBody(handleVerify, e, `{"signature":"MA=="}`).refused(t, errs.Unavailable)
	postBody(handleVerifyBatch, e, `{"items":[{"signature":"MA=="}]}`).refused(t, errs.Unavailable)
	postBody(handleVerifySeal, e, `{"seal":"MA=="}`).refused(t, errs.Unavailable)
}

// Every verification route is listed, for verifiers and (when opened) anonymous callers.
func TestVerifyRouteTable(t *testing.T) {
	want := map[string]bool{"POST /v1/verify": true, "POST /v1/verify/batch": true, "POST /v1/ofd/verify": true, "POST /v1/seals/verify": true}
	for _, r := range verifyRoutes() {
		k := r.Method + " " + r.Path
		if !want[k] {
			t.Errorf("unexpected route %s", k)
		}
		delete(want, k)
		if r.Anonymous != AnonymousIfOpen || !reflect.DeepEqual(r.Roles, verifyRoles) || r.Handle == nil || r.Summary == "" {
			t.Errorf("%s: roles %v, anonymous %v", k, r.Roles, r.Anonymous)
		}
	}
	for k := range want {
		t.Errorf("route %s missing", k)
	}
}

// Any body sent to the JSON verification routes gets a report or a refusal of the caller's
// input, never a panic or a server fault.
func FuzzVerifyBodies(f *testing.F) {
	sig, data := readSampleFile(f, "SignedValue.dat"), readSampleFile(f, "Signature.xml")
	f.Add([]byte(`{"signature":"` + enc64(sig) + `","data":"` + enc64(data) + `","trust_set":"sample"}`))
	f.Add([]byte(`{"items":[{"signature":"` + enc64(sig) + `"}],"trust_set":"sample"}`))
	f.Add([]byte(`{"seal":"` + enc64(readSampleFile(f, "Seal.esl")) + `"}`))
	f.Add([]byte(`{"signature":"MA==","trust_set":"\u0000"}`))
	f.Add([]byte(`[]`))
	e := newVerifyEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, h := range []Handler{handleVerify, handleVerifyBatch, handleVerifySeal} {
			a := e.serve(h, verifyReq{method: "POST", contentType: "application/json", body: body})
			if a.err != nil {
				switch k := errs.KindOf(a.err); k {
				case errs.InvalidInput, errs.NotFound, errs.LimitExceeded:
				default:
					t.Fatalf("refusal of kind %s: %v", k.Code(), a.err)
				}
				continue
			}
			if a.status != 200 || !json.Valid(a.body) {
				t.Fatalf("answer %d %q", a.status, a.body)
			}
		}
	})
}

// Verifications and batches served at once, while another trust set changes, each get the
// verdict of their own set (run with -race).
func TestVerifyConcurrent(t *testing.T) {
	e := newVerifyEnv(t)
	sig, data := e.sample("SignedValue.dat"), e.sample("Signature.xml")
	rootPEM, makerPEM := e.sample("root.pem"), e.sample("maker.pem")
	var wg sync.WaitGroup
	errc := make(chan string, 64)
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				if g%2 == 0 {
					var r verifier.SignatureReport
					a := postBody(handleVerify, e, VerifyRequest{Signature: enc64(sig), Data: enc64(data), TrustSet: "sample"})
					if a.err != nil || json.Unmarshal(a.body, &r) != nil || r.Indication != verifier.TotalPassed {
						errc <- fmt.Sprintf("verify %d/%d: %v %s", g, i, a.err, r.Indication)
					}
					continue
				}
				var b VerifyBatchResponse
				a := postBody(handleVerifyBatch, e, VerifyBatchRequest{Items: batchOf(e, 6), TrustSet: "sample"})
				if a.err != nil || json.Unmarshal(a.body, &b) != nil || len(b.Reports) != 6 || b.Reports[3].Indication != verifier.TotalPassed {
					errc <- fmt.Sprintf("batch %d/%d: %v", g, i, a.err)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 10 {
			makers := makerPEM
			if i%2 == 1 {
				makers = nil
			}
			if _, err := e.svc.Trust.PutPEM(context.Background(), "other", rootPEM, nil, makers); err != nil {
				errc <- err.Error()
			}
		}
	})
	wg.Wait()
	close(errc)
	for m := range errc {
		t.Error(m)
	}
}
