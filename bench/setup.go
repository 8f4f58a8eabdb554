package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"
)

// The sample holder of the seal a run makes (the README's walk-through: a personal seal of
// 张三 at 海南示例科技有限公司).
const (
	sampleCreditCode = "91110000802100433B"
	samplePersonID   = "11010519491231002X"
)

// Env is what a run made on the server through the API, from the admin key: API keys for
// each role and a personal seal (applied for, approved, made with a PIN and issued), and,
// when a verify operation needs them, signatures of known documents.
type Env struct {
	d Doer
	// Seal is the seal's code, PIN its protection PIN and PersonID its holder's identity.
	Seal, PIN, PersonID string
	signer, verifier    string
	// nonce makes this run's digests differ from every other run's.
	nonce [8]byte

	mu   sync.Mutex
	sigs []signedDoc
}

// signedDoc is a document the run signed, and its signature.
type signedDoc struct {
	data, sig []byte
}

// Setup makes what the operations need through the API, with the admin key: a key for the
// applicant, reviewer, maker, signer and verifier roles (named bench-<random>-<role>) and an
// issued personal seal with a random PIN.
func Setup(ctx context.Context, d Doer, adminKey string) (*Env, error) {
	adminKey = strings.TrimSpace(adminKey)
	if adminKey == "" {
		return nil, fmt.Errorf("bench: the admin key is empty")
	}
	e := &Env{d: d, PersonID: samplePersonID}
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("bench: random: %w", err)
	}
	copy(e.nonce[:], r[:8])
	prefix := "bench-" + hex.EncodeToString(r[8:])
	pin := make([]byte, 8)
	for i := range pin {
		pin[i] = '0' + r[i]%10
	}
	e.PIN = string(pin)

	key := func(role string, seals []string) (string, error) {
		var k struct {
			Key string `json:"key"`
		}
		body := map[string]any{"name": prefix + "-" + role, "roles": []string{role}}
		if seals != nil {
			body["seals"] = seals
		}
		if err := e.call(ctx, adminKey, http.MethodPost, "/v1/keys", body, http.StatusCreated, &k); err != nil {
			return "", fmt.Errorf("bench: make the %s key: %w", role, err)
		}
		return k.Key, nil
	}
	applicant, err := key("applicant", nil)
	if err != nil {
		return nil, err
	}
	reviewer, err := key("reviewer", nil)
	if err != nil {
		return nil, err
	}
	maker, err := key("maker", nil)
	if err != nil {
		return nil, err
	}
	if e.verifier, err = key("verifier", nil); err != nil {
		return nil, err
	}
	app := map[string]any{
		"kind":      "personal",
		"unit":      map[string]string{"name": "海南示例科技有限公司", "credit_code": sampleCreditCode},
		"holder":    map[string]string{"name": "张三", "person_id": samplePersonID},
		"handler":   map[string]string{"name": "王经办", "person_id": samplePersonID},
		"valid_to":  time.Now().UTC().AddDate(2, 0, 0).Truncate(time.Second),
		"materials": []map[string]string{{"name": "identity card", "type": "image/png", "data": "iVBORw0KGgo="}},
	}
	var id struct {
		ID string `json:"id"`
	}
	if err := e.call(ctx, applicant, http.MethodPost, "/v1/applications", app, http.StatusCreated, &id); err != nil {
		return nil, fmt.Errorf("bench: apply for a seal: %w", err)
	}
	if err := e.call(ctx, reviewer, http.MethodPost, "/v1/applications/"+id.ID+"/approve", nil, http.StatusOK, nil); err != nil {
		return nil, fmt.Errorf("bench: approve application %s: %w", id.ID, err)
	}
	var seal struct {
		Code string `json:"code"`
	}
	if err := e.call(ctx, maker, http.MethodPost, "/v1/applications/"+id.ID+"/make", map[string]string{"pin": e.PIN}, http.StatusCreated, &seal); err != nil {
		return nil, fmt.Errorf("bench: make the seal of application %s: %w", id.ID, err)
	}
	if err := e.call(ctx, maker, http.MethodPost, "/v1/seals/"+seal.Code+"/issue", nil, http.StatusOK, nil); err != nil {
		return nil, fmt.Errorf("bench: issue seal %s: %w", seal.Code, err)
	}
	e.Seal = seal.Code
	if e.signer, err = key("signer", []string{seal.Code}); err != nil {
		return nil, err
	}
	return e, nil
}

// call makes one JSON call with key and decodes the answer into out; a status other than
// want is an error naming the answer's code and message.
func (e *Env) call(ctx context.Context, key, method, path string, in any, want int, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var body []byte
	header := []string{"Authorization", "Bearer " + key}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = b
		header = append(header, "Content-Type", "application/json")
	}
	status, answer, err := e.d.Do(method, path, header, body, nil)
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("%s %s: status %d: %s", method, path, status, answerError(answer))
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, path, err)
		}
	}
	return nil
}

// answerError is the code and message of an API refusal, or the start of a body that is
// not one.
func answerError(b []byte) string {
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &e) == nil && e.Code != "" {
		return e.Code + ": " + e.Message
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return fmt.Sprintf("%q", b)
}

// digest is a digest no other request of the run signs: the run's nonce, the worker, its
// counter and the item.
func (e *Env) digest(dst []byte, worker int, n uint64, item int) []byte {
	var b [32]byte
	copy(b[:8], e.nonce[:])
	binary.BigEndian.PutUint64(b[8:], uint64(worker))
	binary.BigEndian.PutUint64(b[16:], n)
	binary.BigEndian.PutUint64(b[24:], uint64(item))
	return base64.StdEncoding.AppendEncode(dst, b[:])
}

// signatures returns n signatures of documents the run signed, signing the missing ones
// through the batch route.
func (e *Env) signatures(ctx context.Context, n int) ([]signedDoc, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.sigs) < n {
		k := min(n-len(e.sigs), 100)
		type item struct {
			Digest string `json:"digest"`
		}
		req := struct {
			Seal     string `json:"seal"`
			PIN      string `json:"pin"`
			PersonID string `json:"person_id"`
			Items    []item `json:"items"`
		}{Seal: e.Seal, PIN: e.PIN, PersonID: e.PersonID}
		docs := make([][]byte, k)
		for i := range k {
			docs[i] = fmt.Appendf(nil, "eseal bench document %x %d", e.nonce, len(e.sigs)+i)
			d := sm3.Sum(docs[i])
			req.Items = append(req.Items, item{Digest: base64.StdEncoding.EncodeToString(d[:])})
		}
		var ans struct {
			Results []struct {
				Signature []byte `json:"signature"`
				Code      string `json:"code"`
				Message   string `json:"message"`
			} `json:"results"`
		}
		if err := e.call(ctx, e.signer, http.MethodPost, "/v1/sign/batch", req, http.StatusOK, &ans); err != nil {
			return nil, fmt.Errorf("bench: sign the documents to verify: %w", err)
		}
		if len(ans.Results) != k {
			return nil, fmt.Errorf("bench: sign the documents to verify: %d results for %d items", len(ans.Results), k)
		}
		for i, r := range ans.Results {
			if len(r.Signature) == 0 {
				return nil, fmt.Errorf("bench: sign the documents to verify: item %d: %s: %s", i, r.Code, r.Message)
			}
			e.sigs = append(e.sigs, signedDoc{data: docs[i], sig: r.Signature})
		}
	}
	return e.sigs[:n], nil
}

// codeOf is the error code of an answer with status: the API's code when the answer
// carries one, else HTTP_<status>.
func codeOf(status int, answer []byte) string {
	const key = `"code":"`
	if i := bytes.Index(answer, []byte(key)); i >= 0 {
		rest := answer[i+len(key):]
		if j := bytes.IndexByte(rest, '"'); j > 0 && j <= 64 {
			return string(rest[:j])
		}
	}
	return fmt.Sprintf("HTTP_%d", status)
}
