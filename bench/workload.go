package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// Options say how Prepare makes a workload.
type Options struct {
	// Batch is the items of a sign-batch or verify-batch request; zero means 100.
	Batch int
	// Signatures is how many different signatures the verify operations cycle through;
	// zero means 256.
	Signatures int
	// Document is the OFD of ofd-verify and ofd-sign (for ofd-sign, where the stamp goes:
	// Page from 1, X and Y its centre in millimetres from the page's top-left; zero Page
	// means 1, zero X and Y mean 50 mm).
	Document []byte
	Page     int
	X, Y     float64
	// Force signs a document whose existing signatures do not pass on this server (the
	// vectors' signatures, made under other roots).
	Force bool
}

// DefaultBatch is the items of a batch request when Options.Batch is zero.
const DefaultBatch = 100

// Prepare makes op's workload: it checks once, through the API, that a request of op is
// answered as expected, and measures the size of TBS_Sign of the signatures concerned.
func Prepare(ctx context.Context, e *Env, op string, o Options) (*Workload, error) {
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.Signatures == 0 {
		o.Signatures = 256
	}
	if o.Page == 0 {
		o.Page = 1
	}
	if o.X == 0 && o.Y == 0 {
		o.X, o.Y = 50, 50
	}
	if o.Batch < 1 || o.Batch > 10000 {
		return nil, fmt.Errorf("bench: batch %d: 1 to 10000", o.Batch)
	}
	if o.Signatures < 1 || o.Signatures > 100000 {
		return nil, fmt.Errorf("bench: %d signatures to verify: 1 to 100000", o.Signatures)
	}
	var w *Workload
	var err error
	switch op {
	case OpSign:
		w, err = e.signWorkload(ctx)
	case OpSignBatch:
		w, err = e.signBatchWorkload(ctx, o.Batch)
	case OpVerify:
		w, err = e.verifyWorkload(ctx, o.Signatures)
	case OpVerifyBatch:
		w, err = e.verifyBatchWorkload(ctx, o.Signatures, o.Batch)
	case OpOFDVerify:
		w, err = e.ofdVerifyWorkload(ctx, o.Document)
	case OpOFDSign:
		w, err = e.ofdSignWorkload(ctx, o)
	default:
		return nil, fmt.Errorf("bench: unknown operation %q: one of %v", op, Ops)
	}
	if err != nil {
		return nil, err
	}
	w.Op = op
	// The check: one request answered as expected.
	if code := w.NewCall(-1)(); code != "" {
		return nil, fmt.Errorf("bench: %s: the first request failed with %s", op, code)
	}
	return w, nil
}

// do makes one call and returns the code of a failure ("" when the status is want).
func do(d Doer, method, path string, header []string, body []byte, dst *[]byte, want int) string {
	status, answer, err := d.Do(method, path, header, body, *dst)
	*dst = answer
	switch {
	case isTimeout(err):
		return CodeTimeout
	case err != nil:
		return CodeTransport
	case status != want:
		return codeOf(status, answer)
	}
	return ""
}

// isTimeout tells an error that says it is a timeout (as net.Error and the appliance's
// client's do).
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// verifyItem is a signature to verify and its data, as the verify routes take them.
type verifyItem struct {
	Signature string `json:"signature"`
	Data      string `json:"data,omitempty"`
}

func (e *Env) jsonHeader(key string) []string {
	return []string{"Authorization", "Bearer " + key, "Content-Type", "application/json"}
}

// tbsLen is the size of TBS_Sign of a DER SES_Signature.
func tbsLen(sig []byte) (int, error) {
	s, err := ses.ParseSignature(sig)
	if err != nil {
		return 0, fmt.Errorf("bench: read a signature the server made: %w", err)
	}
	return len(s.TBS.Raw), nil
}

func (e *Env) signWorkload(ctx context.Context) (*Workload, error) {
	docs, err := e.signatures(ctx, 1)
	if err != nil {
		return nil, err
	}
	n, err := tbsLen(docs[0].sig)
	if err != nil {
		return nil, err
	}
	header := e.jsonHeader(e.signer)
	prefix := fmt.Appendf(nil, `{"seal":%q,"pin":%q,"person_id":%q,"digest":"`, e.Seal, e.PIN, e.PersonID)
	return &Workload{Batch: 1, Items: 1, TBSLen: n, NewCall: func(id int) func() string {
		var body, answer []byte
		var count uint64
		return func() string {
			count++
			body = append(body[:0], prefix...)
			body = e.digest(body, id, count, 0)
			body = append(body, `"}`...)
			if code := do(e.d, http.MethodPost, "/v1/sign", header, body, &answer, http.StatusOK); code != "" {
				return code
			}
			if !bytes.Contains(answer, []byte(`"signature":"`)) {
				return CodeUnexpected
			}
			return ""
		}
	}}, nil
}

func (e *Env) signBatchWorkload(ctx context.Context, batch int) (*Workload, error) {
	w, err := e.signWorkload(ctx)
	if err != nil {
		return nil, err
	}
	header := e.jsonHeader(e.signer)
	prefix := fmt.Appendf(nil, `{"seal":%q,"pin":%q,"person_id":%q,"items":[`, e.Seal, e.PIN, e.PersonID)
	signed := fmt.Appendf(nil, `"signed":%d}`, batch)
	w.Batch, w.Items = batch, batch
	w.NewCall = func(id int) func() string {
		var body, answer []byte
		var count uint64
		return func() string {
			count++
			body = append(body[:0], prefix...)
			for i := range batch {
				if i > 0 {
					body = append(body, ',')
				}
				body = append(body, `{"digest":"`...)
				body = e.digest(body, id, count, i)
				body = append(body, `"}`...)
			}
			body = append(body, "]}"...)
			if code := do(e.d, http.MethodPost, "/v1/sign/batch", header, body, &answer, http.StatusOK); code != "" {
				return code
			}
			if !bytes.Contains(answer, signed) {
				// An item refused: its code, else the answer is not a batch's.
				if code := codeOf(0, answer); code != "HTTP_0" {
					return code
				}
				return CodeUnexpected
			}
			return ""
		}
	}
	return w, nil
}

// passed is how a verification that passed reads in a report.
var passed = []byte(`"indication":"TOTAL_PASSED"`)

func (e *Env) verifyWorkload(ctx context.Context, n int) (*Workload, error) {
	docs, err := e.signatures(ctx, n)
	if err != nil {
		return nil, err
	}
	size, err := tbsLen(docs[0].sig)
	if err != nil {
		return nil, err
	}
	bodies := make([][]byte, n)
	for i, d := range docs {
		bodies[i], err = json.Marshal(verifyItem{Signature: base64.StdEncoding.EncodeToString(d.sig),
			Data: base64.StdEncoding.EncodeToString(d.data)})
		if err != nil {
			return nil, err
		}
	}
	header := e.jsonHeader(e.verifier)
	return &Workload{Batch: 1, Items: 1, TBSLen: size, NewCall: func(id int) func() string {
		var answer []byte
		next := max(id, 0) * 7919 // workers start at different signatures
		return func() string {
			body := bodies[next%n]
			next++
			if code := do(e.d, http.MethodPost, "/v1/verify", header, body, &answer, http.StatusOK); code != "" {
				return code
			}
			if !bytes.Contains(answer, passed) {
				return CodeUnexpected
			}
			return ""
		}
	}}, nil
}

func (e *Env) verifyBatchWorkload(ctx context.Context, n, batch int) (*Workload, error) {
	docs, err := e.signatures(ctx, n)
	if err != nil {
		return nil, err
	}
	size, err := tbsLen(docs[0].sig)
	if err != nil {
		return nil, err
	}
	// n bodies, the i-th holding the batch from signature i on.
	items := make([]verifyItem, n)
	for i, d := range docs {
		items[i] = verifyItem{Signature: base64.StdEncoding.EncodeToString(d.sig),
			Data: base64.StdEncoding.EncodeToString(d.data)}
	}
	bodies := make([][]byte, min(n, 16))
	for i := range bodies {
		req := struct {
			Items []verifyItem `json:"items"`
		}{Items: make([]verifyItem, batch)}
		for j := range batch {
			req.Items[j] = items[(i*batch/len(bodies)+j)%n]
		}
		if bodies[i], err = json.Marshal(req); err != nil {
			return nil, err
		}
	}
	header := e.jsonHeader(e.verifier)
	return &Workload{Batch: batch, Items: batch, TBSLen: size, NewCall: func(id int) func() string {
		var answer []byte
		next := max(id, 0)
		return func() string {
			body := bodies[next%len(bodies)]
			next++
			if code := do(e.d, http.MethodPost, "/v1/verify/batch", header, body, &answer, http.StatusOK); code != "" {
				return code
			}
			if bytes.Count(answer, passed) != batch {
				return CodeUnexpected
			}
			return ""
		}
	}}, nil
}

// ofdSignatures reads the signatures of an OFD document: how many, and of the one at index
// i (the last when i is -1) the size of its TBS_Sign and the package files its references
// protect.
func ofdSignatures(doc []byte, i int) (count, size int, protected []string, err error) {
	p, err := ofd.Open(doc, ofd.Limits{})
	if err != nil {
		return 0, 0, nil, fmt.Errorf("bench: the OFD document: %w", err)
	}
	sigs, err := p.Signatures()
	if err != nil {
		return 0, 0, nil, fmt.Errorf("bench: the OFD document's signatures: %w", err)
	}
	if len(sigs) == 0 {
		return 0, 0, nil, nil
	}
	if i < 0 || i >= len(sigs) {
		i = len(sigs) - 1
	}
	s := sigs[i]
	if s.SignedValue == nil {
		return len(sigs), 0, nil, fmt.Errorf("bench: the OFD document's signature %s has no value", s.Location)
	}
	for _, r := range s.References {
		if r.Path != "" {
			protected = append(protected, r.Path)
		}
	}
	size, err = tbsLen(s.SignedValue)
	return len(sigs), size, protected, err
}

func (e *Env) ofdVerifyWorkload(ctx context.Context, doc []byte) (*Workload, error) {
	if len(doc) == 0 {
		return nil, errors.New("bench: ofd-verify needs an OFD document")
	}
	count, size, _, err := ofdSignatures(doc, 0)
	if err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, errors.New("bench: ofd-verify needs a signed OFD document; this one has no signature")
	}
	header := []string{"Authorization", "Bearer " + e.verifier, "Content-Type", "application/ofd"}
	// The report lists every signature; whether they pass depends on the trust the
	// document's makers have on this server, so any verdict reached is a success.
	sig := []byte(`"signatures":[`)
	return &Workload{Batch: 1, Items: count, TBSLen: size, Document: doc, NewCall: func(int) func() string {
		var answer []byte
		return func() string {
			if code := do(e.d, http.MethodPost, "/v1/ofd/verify", header, doc, &answer, http.StatusOK); code != "" {
				return code
			}
			if !bytes.Contains(answer, sig) {
				return CodeUnexpected
			}
			return ""
		}
	}}, ctx.Err()
}

func (e *Env) ofdSignWorkload(ctx context.Context, o Options) (*Workload, error) {
	if len(o.Document) == 0 {
		return nil, errors.New("bench: ofd-sign needs an OFD document")
	}
	before, _, _, err := ofdSignatures(o.Document, -1)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("seal", e.Seal)
	q.Set("page", strconv.Itoa(o.Page))
	q.Set("x", strconv.FormatFloat(o.X, 'f', -1, 64))
	q.Set("y", strconv.FormatFloat(o.Y, 'f', -1, 64))
	if o.Force {
		q.Set("force", "true")
	}
	path := "/v1/ofd/sign?" + q.Encode()
	header := []string{"Authorization", "Bearer " + e.signer, "Content-Type", "application/ofd",
		"Eseal-Pin", e.PIN, "Eseal-Person-Id", e.PersonID}
	// One document signed now, for the size of its TBS_Sign.
	var answer []byte
	if code := do(e.d, http.MethodPost, path, header, o.Document, &answer, http.StatusOK); code != "" {
		return nil, fmt.Errorf("bench: ofd-sign: the first request failed: %s (%s)", answerError(answer), code)
	}
	after, size, protected, err := ofdSignatures(answer, -1)
	if err != nil {
		return nil, fmt.Errorf("bench: ofd-sign: the signed document: %w", err)
	}
	if after != before+1 {
		return nil, fmt.Errorf("bench: ofd-sign: the signed document has %d signatures, %d before", after, before)
	}
	return &Workload{Batch: 1, Items: 1, TBSLen: size, Document: o.Document, Protected: protected, Signed: bytes.Clone(answer), NewCall: func(int) func() string {
		var answer []byte
		return func() string {
			if code := do(e.d, http.MethodPost, path, header, o.Document, &answer, http.StatusOK); code != "" {
				return code
			}
			if !bytes.HasPrefix(answer, []byte("PK\x03\x04")) {
				return CodeUnexpected
			}
			return ""
		}
	}}, ctx.Err()
}
