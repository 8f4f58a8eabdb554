package appliance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/sealimg"
)

// rawAnswer is an answer read whole, with its headers.
type rawAnswer struct {
	status int
	header http.Header
	body   []byte
}

// refusal decodes the answer as {"code", "message"}; a body of another shape fails the test.
func (a rawAnswer) refusal(t *testing.T) apiError {
	t.Helper()
	var r apiError
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil || r.Code == "" || r.Message == "" {
		t.Fatalf("answer %d %q is not a refusal {code, message}: %v", a.status, a.body, err)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("a refusal of content type %q", ct)
	}
	return r
}

// raw sends body as it is, with the content type, and reads the whole answer.
func (e *e2e) raw(key, method, path, contentType string, body []byte) rawAnswer {
	e.t.Helper()
	a, err := e.rawErr(key, method, path, contentType, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// rawErr is raw returning its error, for use off the test's goroutine.
func (e *e2e) rawErr(key, method, path, contentType string, body []byte) (rawAnswer, error) {
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		return rawAnswer{}, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rawAnswer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawAnswer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	e.bodies.Write(b)
	return rawAnswer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// headersOnly sends the headers of a JSON request whose body has length bytes and its first
// bodyPrefetch bytes (what the server takes in with the headers before it looks at them), and
// reads the answer without sending the rest.
func (e *e2e) headersOnly(key, method, path string, length int) rawAnswer {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		e.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: eseal.test\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		method, path, key, length); err != nil {
		e.t.Fatal(err)
	}
	if _, err := conn.Write(make([]byte, min(length, bodyPrefetch))); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		e.t.Fatalf("%s %s with a body of %d bytes: %v", method, path, length, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	e.bodies.Write(b)
	return rawAnswer{status: resp.StatusCode, header: resp.Header, body: b}
}

// refused fails the test unless the call is answered status with code.
func (e *e2e) refused(what string, status int, code, key, method, path string, body any) apiError {
	e.t.Helper()
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			e.t.Fatal(err)
		}
	}
	a := e.raw(key, method, path, "application/json", b)
	r := a.refusal(e.t)
	if a.status != status || r.Code != code {
		e.t.Fatalf("%s: %d %s (%s), want %d %s", what, a.status, r.Code, r.Message, status, code)
	}
	return r
}

// fileImpression imports the impression of a physical seal into the appliance's store, as
// the police seal system's export would be imported.
func (e *e2e) fileImpression(code string) {
	e.t.Helper()
	pics, err := sealimg.New(sealimg.Options{DPI: 96})
	if err != nil {
		e.t.Fatal(err)
	}
	png, err := pics.PNG(sealimg.Seal{Kind: sealimg.Official, Name: "海南示例科技有限公司", Code: code})
	if err != nil {
		e.t.Fatal(err)
	}
	line, err := json.Marshal(map[string]string{"code": code, "picture": base64.StdEncoding.EncodeToString(png), "type": "png"})
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := registry.NewImpressionStore(e.svc.DB, registry.ImpressionOptions{}).Import(context.Background(), bytes.NewReader(line))
	if err != nil || res.Added != 1 {
		e.t.Fatalf("import of the impression %s: %+v %v", code, res, err)
	}
}

// keySeq numbers the keys makeSeal makes.
var keySeq atomic.Int64

// makeSeal has a seal applied for (app, as regApplication makes it), approved, made with
// regPIN and issued over HTTP, by keys of the roles it makes; it returns the seal's code.
func (e *e2e) makeSeal(app map[string]any) string {
	e.t.Helper()
	applicant := e.key(fmt.Sprintf("applicant-%d", keySeq.Add(1)), registry.RoleApplicant)
	reviewer := e.key(fmt.Sprintf("reviewer-%d", keySeq.Add(1)), registry.RoleReviewer)
	maker := e.key(fmt.Sprintf("maker-%d", keySeq.Add(1)), registry.RoleMaker)
	var id idAnswer
	e.must(http.StatusCreated, applicant, "POST", "/v1/applications", app, &id)
	e.must(http.StatusOK, reviewer, "POST", "/v1/applications/"+id.ID+"/approve", nil, nil)
	var s sealView
	e.must(http.StatusCreated, maker, "POST", "/v1/applications/"+id.ID+"/make", pinRequest{PIN: regPIN}, &s)
	e.must(http.StatusOK, maker, "POST", "/v1/seals/"+s.Code+"/issue", nil, &s)
	if s.Status != registry.StatusActive {
		e.t.Fatalf("seal %s is %s after issue", s.Code, s.Status)
	}
	return s.Code
}

// personalOf is the application of a personal seal for the holder.
func personalOf(name, personID string) map[string]any {
	app := regApplication(registry.Personal, "")
	app["holder"] = map[string]string{"name": name, "person_id": personID}
	return app
}

// TestRefusalsOverHTTP: each refusal the appliance makes, over real HTTP on the configured
// default, answers its status and stable code in {"code", "message"}: no key, wrong role,
// a seal the signer key may not use, a wrong PIN, a PIN locked after five wrong, a revoked
// seal, a used approval, an oversized body, malformed JSON, an unknown field, a verify batch
// larger than the queue, and a full verification queue (busy, with Retry-After).
func TestRefusalsOverHTTP(t *testing.T) {
	const queue = 8
	cfg := testConfig(t)
	cfg.Server.MaxBodyBytes = 256 << 10
	cfg.Verification.Workers = 1
	cfg.Verification.Queue = queue
	e := startE2E(t, cfg)

	e.fileImpression(regPhysical)
	official := e.makeSeal(regApplication(registry.Contract, regPhysical))
	locked := e.makeSeal(regApplication(registry.Personal, ""))
	other := e.makeSeal(personalOf("李四", regIDOther))

	signerKey := e.key("licence-system", registry.RoleSigner)
	oa := e.key("oa-system", registry.RoleSigner, registry.RoleApplicant)
	onlyOfficial := e.mustKey(KeyRequest{Name: "contract-system", Roles: []registry.Role{registry.RoleSigner}, Seals: []string{official}})
	applicant := e.key("window-clerk", registry.RoleApplicant)
	reviewer := e.key("reviewer-use", registry.RoleReviewer)
	admin := e.admin
	verifierKey := e.key("other-dept", RoleVerifier)

	// sub runs a subtest with the helpers failing it, not its parent.
	sub := func(name string, f func(t *testing.T)) {
		t.Run(name, func(t *testing.T) {
			parent := e.t
			e.t = t
			defer func() { e.t = parent }()
			f(t)
		})
	}
	d := sm3.Sum([]byte("合同 2026-0042"))
	sign := func(code, pin, personID string) signRequest {
		return signRequest{Seal: code, PIN: pin, PersonID: personID, Digest: d[:]}
	}

	sub("no key", func(t *testing.T) {
		e.refused("sign without a key", 401, "UNAUTHENTICATED", "", "POST", "/v1/sign", sign(other, regPIN, regIDOther))
		e.refused("sign with an unknown key", 401, "UNAUTHENTICATED", "not-a-key-of-this-server", "POST", "/v1/sign", sign(other, regPIN, regIDOther))
		e.refused("verify without a key (verification is not open)", 401, "UNAUTHENTICATED", "", "POST", "/v1/verify", VerifyRequest{Signature: "AA=="})
	})
	sub("wrong role", func(t *testing.T) {
		e.refused("an applicant signing", 403, "WRONG_ROLE", applicant, "POST", "/v1/sign", sign(other, regPIN, regIDOther))
		e.refused("a signer listing keys", 403, "WRONG_ROLE", signerKey, "GET", "/v1/keys", nil)
		e.refused("a verifier revoking", 403, "WRONG_ROLE", verifierKey, "POST", "/v1/seals/"+other+"/revoke", statusRequest{Reason: "no"})
	})
	sub("seal not allowed for the key", func(t *testing.T) {
		r := e.refused("a key for the contract seal signing with a personal seal", 403, "WRONG_ROLE", onlyOfficial,
			"POST", "/v1/sign", sign(other, regPIN, regIDOther))
		if !strings.Contains(r.Message, "may not use this seal") {
			t.Errorf("the refusal does not say the seal is not allowed: %q", r.Message)
		}
		// The same key gets past that check on its own seal (which then wants its approval).
		e.refused("the key on its own seal", 403, "APPROVAL_REQUIRED", onlyOfficial, "POST", "/v1/sign", signRequest{Seal: official, PIN: regPIN, Digest: d[:]})
	})
	sub("wrong PIN, then locked", func(t *testing.T) {
		for i := range signerMaxTries {
			a := e.raw(signerKey, "POST", "/v1/sign", "application/json", mustJSON(t, sign(locked, "wrong-pin-7", regIDHolder)))
			r := a.refusal(t)
			switch {
			case a.status != 403:
				t.Fatalf("wrong PIN %d: %d %s", i+1, a.status, r.Code)
			case i < signerMaxTries-1 && r.Code != "WRONG_PIN":
				t.Fatalf("wrong PIN %d: %s, want WRONG_PIN", i+1, r.Code)
			case r.Code != "WRONG_PIN" && r.Code != "KEY_LOCKED":
				t.Fatalf("wrong PIN %d: %s", i+1, r.Code)
			}
		}
		e.refused("the right PIN after five wrong", 403, "KEY_LOCKED", signerKey, "POST", "/v1/sign", sign(locked, regPIN, regIDHolder))
		// The administrator sets a new PIN, which clears the lock.
		e.must(http.StatusOK, admin, "POST", "/v1/seals/"+locked+"/pin", pinRequest{PIN: "135790"}, nil)
		e.must(http.StatusOK, signerKey, "POST", "/v1/sign", sign(locked, "135790", regIDHolder), new(signAnswer))
	})
	sub("used approval", func(t *testing.T) {
		var use idAnswer
		e.must(http.StatusCreated, oa, "POST", "/v1/seals/"+official+"/use-requests", useRequest{Digests: [][]byte{d[:]}, Purpose: "contract"}, &use)
		e.must(http.StatusOK, reviewer, "POST", "/v1/use-requests/"+use.ID+"/approve", approveUseRequest{TTLSeconds: 600}, nil)
		body := signRequest{Seal: official, PIN: regPIN, Approval: use.ID, Digest: d[:]}
		e.refused("the official seal without its approval", 403, "APPROVAL_REQUIRED", oa, "POST", "/v1/sign", signRequest{Seal: official, PIN: regPIN, Digest: d[:]})
		e.must(http.StatusOK, oa, "POST", "/v1/sign", body, new(signAnswer))
		e.refused("the approval a second time", 409, "APPROVAL_USED", oa, "POST", "/v1/sign", body)
	})

	// A signature to verify, made before its seal is revoked below.
	var sig signAnswer
	e.must(http.StatusOK, signerKey, "POST", "/v1/sign", sign(other, regPIN, regIDOther), &sig)

	sub("revoked seal", func(t *testing.T) {
		e.must(http.StatusOK, admin, "POST", "/v1/seals/"+other+"/revoke", statusRequest{Reason: "the holder left the unit", CRLReason: "affiliation-changed"}, nil)
		e.refused("signing under the revoked seal", 409, "SEAL_REVOKED", signerKey, "POST", "/v1/sign", sign(other, regPIN, regIDOther))
	})
	sub("oversized body", func(t *testing.T) {
		// Over a connection of its own, headers and the body's first bytes only: a server
		// that refuses a body before reading it closes the connection, and the body a client is still writing would
		// make that close a reset that loses the answer.
		a := e.headersOnly(signerKey, "POST", "/v1/sign", cfg.Server.MaxBodyBytes+1)
		if r := a.refusal(t); a.status != 413 || r.Code != "LIMIT_EXCEEDED" || !strings.Contains(r.Message, fmt.Sprint(cfg.Server.MaxBodyBytes)) {
			t.Fatalf("oversized body: %d %s %q", a.status, r.Code, r.Message)
		}
	})
	sub("malformed JSON", func(t *testing.T) {
		e.refused("a JSON object cut short", 400, "INVALID_INPUT", signerKey, "POST", "/v1/sign", []byte(`{"seal": "`+other+`",`))
		e.refused("an empty body", 400, "INVALID_INPUT", applicant, "POST", "/v1/applications", []byte(``))
		e.refused("two JSON values", 400, "INVALID_INPUT", verifierKey, "POST", "/v1/verify", []byte(`{} {}`))
	})
	sub("unknown field", func(t *testing.T) {
		r := e.refused("a field no sign request has", 400, "INVALID_INPUT", signerKey, "POST", "/v1/sign",
			[]byte(`{"seal": "`+other+`", "pin": "`+regPIN+`", "colour": "red"}`))
		if !strings.Contains(r.Message, "colour") {
			t.Errorf("the refusal does not name the field: %q", r.Message)
		}
		if strings.Contains(r.Message, regPIN) {
			t.Errorf("the refusal shows the PIN: %q", r.Message)
		}
	})

	item := VerifyBatchItem{Signature: base64.StdEncoding.EncodeToString(sig.Signature), Data: ""}
	batch := func(n int) []byte {
		items := make([]VerifyBatchItem, n)
		for i := range items {
			items[i] = item
		}
		return mustJSON(t, VerifyBatchRequest{Items: items})
	}
	sub("batch larger than the queue", func(t *testing.T) {
		e.refused("a batch beyond the queue", 413, "LIMIT_EXCEEDED", verifierKey, "POST", "/v1/verify/batch", batch(queue+1))
	})
	sub("busy", func(t *testing.T) {
		// One worker and a queue of eight: a batch of eight is admitted only when the queue
		// is empty, so of batches sent at once all but one find it full.
		body := batch(queue)
		var (
			mu       sync.Mutex
			busy     []rawAnswer
			fails    []string
			ok, stop atomic.Int64
		)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 50 {
					if stop.Load() != 0 {
						return
					}
					a, err := e.rawErr(verifierKey, "POST", "/v1/verify/batch", "application/json", body)
					mu.Lock()
					switch {
					case err != nil:
						fails = append(fails, err.Error())
					case a.status == 503:
						busy = append(busy, a)
						stop.Store(1)
					case a.status == 200:
						ok.Add(1)
					default:
						fails = append(fails, fmt.Sprintf("%d %s", a.status, a.body))
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(fails) > 0 {
			t.Fatalf("batches failed otherwise than busy: %v", fails)
		}
		if len(busy) == 0 {
			t.Fatalf("%d batches of %d sent eight at a time to a queue of %d, none answered busy", ok.Load(), queue, queue)
		}
		a := busy[0]
		if r := a.refusal(t); r.Code != "BUSY" || a.header.Get("Retry-After") == "" {
			t.Fatalf("busy: %s %q, Retry-After %q", r.Code, r.Message, a.header.Get("Retry-After"))
		}
		// Once the queue drains, the same batch is verified.
		var rep VerifyBatchResponse
		e.must(http.StatusOK, verifierKey, "POST", "/v1/verify/batch", VerifyBatchRequest{Items: []VerifyBatchItem{item}}, &rep)
		if len(rep.Reports) != 1 {
			t.Fatalf("%d reports for one signature", len(rep.Reports))
		}
	})

	e.stop()
	if strings.Contains(e.logs.String(), "wrong-pin-7") || strings.Contains(e.logs.String(), regPIN) {
		t.Error("a PIN is in the logs")
	}
}

// mustKey makes an API key through the admin route from a full request.
func (e *e2e) mustKey(req KeyRequest) string {
	e.t.Helper()
	var k KeyAnswer
	e.must(http.StatusCreated, e.admin, "POST", "/v1/keys", req, &k)
	return k.Key
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
