package appliance

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strconv"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/trust"
	"github.com/eseal/eseal/verifier"
)

// DefaultVerifyBatchMax is ServerConfig.VerifyBatchMax's default: the most items of one POST
// /v1/verify/batch. The verifier Pool's queue bounds a batch too (a larger one is refused as
// LIMIT_EXCEEDED), and its default queue holds a batch of this size.
const DefaultVerifyBatchMax = 10000

// VerifyRequest is the body of POST /v1/verify: one DER SES_Signature and, optionally, the
// data it signs (for OFD, the bytes of Signature.xml). Without data the data_hash check is
// indeterminate, and so is the verdict.
type VerifyRequest struct {
	// Signature is the base64 of the DER SES_Signature.
	Signature string `json:"signature"`
	// Data is the base64 of the original data; absent or empty when not given.
	Data string `json:"data,omitempty"`
	// TrustSet names the trust set to judge by; empty means the default one.
	TrustSet string `json:"trust_set,omitempty"`
}

// VerifyBatchItem is one signature of a batch, as in VerifyRequest.
type VerifyBatchItem struct {
	Signature string `json:"signature"`
	Data      string `json:"data,omitempty"`
}

// VerifyBatchRequest is the body of POST /v1/verify/batch.
type VerifyBatchRequest struct {
	Items    []VerifyBatchItem `json:"items"`
	TrustSet string            `json:"trust_set,omitempty"`
}

// VerifyBatchResponse answers POST /v1/verify/batch: one report per item, in item order;
// each report's id is the item's place, from 1.
type VerifyBatchResponse struct {
	Reports []verifier.SignatureReport `json:"reports"`
}

// SealVerifyRequest is the body of POST /v1/seals/verify: a DER seal (.esl).
type SealVerifyRequest struct {
	// Seal is the base64 of the DER seal.
	Seal     string `json:"seal"`
	TrustSet string `json:"trust_set,omitempty"`
}

// verifyRoles may call the verification routes (with anonymous callers when the
// configuration opens them).
var verifyRoles = []registry.Role{RoleVerifier}

// verifyRoutes are the verify routes.
func verifyRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/v1/verify", Roles: verifyRoles, Anonymous: AnonymousIfOpen,
			Summary: "Verify one DER seal signature (SES_Signature) and, when given, the data it signs; answers its signature report.",
			Request: VerifyRequest{}, Response: verifier.SignatureReport{}, Handle: handleVerify},
		{Method: "POST", Path: "/v1/verify/batch", Roles: verifyRoles, Anonymous: AnonymousIfOpen,
			Summary: fmt.Sprintf("Verify up to %d signatures on the verification pool; a full queue answers BUSY.", DefaultVerifyBatchMax),
			Request: VerifyBatchRequest{}, Response: VerifyBatchResponse{}, Handle: handleVerifyBatch},
		{Method: "POST", Path: "/v1/ofd/verify", Roles: verifyRoles, Anonymous: AnonymousIfOpen,
			Summary:  "Verify every signature of an OFD document sent as the raw body (?trust_set=NAME); answers the report of `eseal verify --json`.",
			Response: verifier.Report{}, RawRequest: "application/ofd",
			Params: []Param{{Name: "trust_set", In: "query", Description: "the trust set to verify under; the default set when absent"}},
			Handle: handleVerifyOFD},
		{Method: "POST", Path: "/v1/seals/verify", Roles: verifyRoles, Anonymous: AnonymousIfOpen,
			Summary: "Verify a bare seal (.esl) at the current time; answers the report of `eseal verify --json` for a seal.",
			Request: SealVerifyRequest{}, Response: verifier.Report{}, Handle: handleVerifySeal},
	}
}

// verifierFor returns the verifier judging by the trust set called name (the default one
// when name is empty). An unknown set is NOT_FOUND.
func verifierFor(c *Call, name string) (*verifier.Verifier, error) {
	svc := c.Services()
	if svc == nil || svc.Verifier == nil {
		return nil, &Error{Kind: errs.Unavailable, Message: "verification is not configured on this server"}
	}
	if name == "" {
		return svc.Verifier, nil
	}
	if !trust.ValidName(name) {
		return nil, &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("trust_set: not a trust set name: 1 to %d bytes of a-z, 0-9, '-', '_' and '.'", trust.MaxNameLen)}
	}
	v, err := svc.Verifier.Using(name)
	if err != nil {
		// Without trust sets configured, no name is known either.
		if k := errs.KindOf(err); k == errs.NotFound || k == 0 {
			return nil, &Error{Kind: errs.NotFound, Message: fmt.Sprintf("trust set %q: no such trust set", name)}
		}
		return nil, fmt.Errorf("trust set %q: %w", name, err)
	}
	return v, nil
}

func handleVerify(c *Call) error {
	var req VerifyRequest
	if err := decodeFlat(c, &req, flatField{"signature", &req.Signature}, flatField{"data", &req.Data},
		flatField{"trust_set", &req.TrustSet}); err != nil {
		return err
	}
	sig, data, err := signatureAndData("", req.Signature, req.Data)
	if err != nil {
		return err
	}
	v, err := verifierFor(c, req.TrustSet)
	if err != nil {
		return err
	}
	var r verifier.SignatureReport
	if pool := c.Services().Pool; pool != nil {
		// Through the verification queue, so that a full one answers BUSY here too.
		reports, err := pool.VerifyBatchUsing(c.Context(), v, []verifier.BatchItem{{Signature: sig, Data: data}})
		if err != nil {
			return batchRefusal(err)
		}
		r = reports[0]
	} else {
		r = v.VerifySignature(sig, data)
	}
	r.ID = "1" // as eseal verify numbers a bare signature
	countVerified(r.Indication, 1)
	return reportJSON(c, r)
}

func handleVerifyBatch(c *Call) error {
	var req VerifyBatchRequest
	if !parseVerifyBatch(c.ctx.PostBody(), &req) {
		req = VerifyBatchRequest{}
		if err := c.Decode(&req); err != nil {
			return err
		}
	}
	switch n := len(req.Items); {
	case n == 0:
		return &Error{Kind: errs.InvalidInput, Message: "items: the batch holds no signature"}
	case n > c.Config().VerifyBatchMax:
		return &Error{Kind: errs.LimitExceeded, Message: fmt.Sprintf("items: %d signatures, more than the %d a batch may hold: split it", n, c.Config().VerifyBatchMax)}
	}
	items := make([]verifier.BatchItem, len(req.Items))
	for i, it := range req.Items {
		sig, data, err := signatureAndData(fmt.Sprintf("items[%d].", i), it.Signature, it.Data)
		if err != nil {
			return err
		}
		items[i] = verifier.BatchItem{Signature: sig, Data: data}
	}
	pool := c.Services().Pool
	if pool == nil {
		return &Error{Kind: errs.Unavailable, Message: "batch verification is not configured on this server"}
	}
	var v *verifier.Verifier // the pool's own: the default trust set
	if req.TrustSet != "" {
		var err error
		if v, err = verifierFor(c, req.TrustSet); err != nil {
			return err
		}
	}
	reports, err := pool.VerifyBatchUsing(c.Context(), v, items)
	if err != nil {
		return batchRefusal(err)
	}
	for i := range reports {
		reports[i].ID = strconv.Itoa(i + 1)
	}
	countReports(reports)
	return reportJSON(c, VerifyBatchResponse{Reports: reports})
}

// countReports counts the signatures of reports verified, by indication.
func countReports(reports []verifier.SignatureReport) {
	by := map[string]int{}
	for _, r := range reports {
		by[r.Indication]++
	}
	for ind, n := range by {
		countVerified(ind, n)
	}
}

// signatureAndData decodes a signature (required) and its data (nil when absent), naming
// the fields after prefix in a refusal.
func signatureAndData(prefix, sig, data string) ([]byte, []byte, error) {
	if sig == "" {
		return nil, nil, &Error{Kind: errs.InvalidInput, Message: prefix + "signature: required, the base64 of a DER SES_Signature"}
	}
	s, err := fromBase64(prefix+"signature", sig)
	if err != nil {
		return nil, nil, err
	}
	if data == "" {
		return s, nil, nil
	}
	d, err := fromBase64(prefix+"data", data)
	if err != nil {
		return nil, nil, err
	}
	return s, d, nil
}

// fromBase64 decodes standard base64 (line breaks are ignored), naming the field in a refusal.
func fromBase64(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("%s: not standard base64: %v", field, err)}
	}
	return b, nil
}

// batchRefusal is the answer to a batch the pool refused or could not finish: busy and
// limit refusals keep their kind and say what to do; anything else is the pool's fault.
func batchRefusal(err error) error {
	var be *verifier.BatchError
	if errors.As(err, &be) {
		switch be.Kind {
		case errs.Busy:
			return &Error{Kind: errs.Busy, Message: fmt.Sprintf("the verification queue has room for %d signatures now, not the %d of this request: retry later", be.Free, be.N)}
		case errs.LimitExceeded:
			return &Error{Kind: errs.LimitExceeded, Message: fmt.Sprintf("a batch of %d signatures is larger than the verification queue of %d: split it", be.N, be.Queue)}
		case errs.Closed:
			return &Error{Kind: errs.Closed, Message: "the verification pool is shutting down: retry on another server or later"}
		}
	}
	return fmt.Errorf("verify batch: %w", err)
}

// ofdTypes are the content types an OFD body may come with (or none).
var ofdTypes = map[string]bool{"application/ofd": true, "application/octet-stream": true, "application/zip": true}

func handleVerifyOFD(c *Call) error {
	if ct := c.Header("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !ofdTypes[mt] {
			return &Error{Kind: errs.InvalidInput, Message: "the body must be the OFD document itself, sent as application/ofd or application/octet-stream"}
		}
	}
	body := c.Body()
	if len(body) == 0 {
		return &Error{Kind: errs.InvalidInput, Message: "the request body is empty; the OFD document is expected"}
	}
	v, err := verifierFor(c, c.Query("trust_set"))
	if err != nil {
		return err
	}
	r, err := v.VerifyOFD(body, ofd.Limits{})
	if err != nil {
		// A limit stopped the reading: nothing is shown about the document.
		return fmt.Errorf("the OFD document was not verified: %w", err)
	}
	countReports(r.Signatures)
	return reportJSON(c, r)
}

func handleVerifySeal(c *Call) error {
	var req SealVerifyRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	if req.Seal == "" {
		return &Error{Kind: errs.InvalidInput, Message: "seal: required, the base64 of a DER seal (.esl)"}
	}
	der, err := fromBase64("seal", req.Seal)
	if err != nil {
		return err
	}
	v, err := verifierFor(c, req.TrustSet)
	if err != nil {
		return err
	}
	s, ind := v.VerifySeal(der)
	return reportJSON(c, &verifier.Report{Kind: "seal", Indication: ind, Signatures: []verifier.SignatureReport{}, Seal: s})
}

// reportJSON answers a verification report encoded as `eseal verify --json` prints it: one
// line, with <, > and & left as they are.
func reportJSON(c *Call, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode the report: %w", err)
	}
	return c.Bytes(200, "application/json; charset=utf-8", b.Bytes())
}
