package appliance

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/registry"
)

// Limits of signing.
const (
	// MaxPropertyInfo bounds a signature's property info, in bytes.
	MaxPropertyInfo = 1024
	// maxSignChunk bounds the items one worker of a batch signs and records together (one
	// synced audit batch per chunk).
	maxSignChunk = 256
)

// signRoutes are the sign routes.
func signRoutes() []Route {
	signer := []registry.Role{registry.RoleSigner}
	return []Route{
		{Method: http.MethodPost, Path: "/v1/sign", Roles: signer,
			Summary: "Sign an SM3 digest (or data, hashed here) under a seal with its PIN (and, for an official seal, a use approval): a DER SES_Signature in the seal's version, answered once its use record is durable",
			Request: signRequest{}, Response: signAnswer{}, Handle: handleSign},
		{Method: http.MethodPost, Path: "/v1/sign/batch", Roles: signer,
			Summary: fmt.Sprintf("Sign up to %d digests under one seal, authorised once (PIN, and for an official seal a use approval naming them), signed in parallel, answered item by item", DefaultBatchMax),
			Request: signBatchRequest{}, Response: signBatchAnswer{}, Handle: handleSignBatch},
	}
}

// signAuth is what authorises a use of a seal: its protection PIN (always), for an official
// seal a use approval, for a position seal the scope, and for a position or personal seal
// the holder's identity number (person_id). PIN and identity number are never echoed or
// logged.
type signAuth struct {
	Seal     string
	PIN      string
	Approval string
	Scope    string
	PersonID string
	// Version, when set, is the SES_Signature version asked for: 4, or 1 for a GM/T 0031 v1
	// seal. A signature takes its seal's version.
	Version int
}

type signRequest struct {
	Seal     string `json:"seal"`
	PIN      string `json:"pin"`
	Approval string `json:"approval,omitempty"`
	Scope    string `json:"scope,omitempty"`
	PersonID string `json:"person_id,omitempty"`
	Version  int    `json:"version,omitempty"`
	// Digest is the SM3 digest of the document (32 bytes); Data is the document itself,
	// hashed here. Exactly one is given.
	Digest       []byte `json:"digest,omitempty"`
	Data         []byte `json:"data,omitempty"`
	PropertyInfo string `json:"property_info,omitempty"`
}

func (r *signRequest) auth() signAuth {
	return signAuth{Seal: r.Seal, PIN: r.PIN, Approval: r.Approval, Scope: r.Scope, PersonID: r.PersonID, Version: r.Version}
}

type signAnswer struct {
	Signature []byte `json:"signature"`
}

type signBatchItem struct {
	// Digest is the SM3 digest of the document, base64.
	Digest       string `json:"digest"`
	PropertyInfo string `json:"property_info,omitempty"`
}

type signBatchRequest struct {
	Seal     string          `json:"seal"`
	PIN      string          `json:"pin"`
	Approval string          `json:"approval,omitempty"`
	Scope    string          `json:"scope,omitempty"`
	PersonID string          `json:"person_id,omitempty"`
	Version  int             `json:"version,omitempty"`
	Items    []signBatchItem `json:"items"`
}

func (r *signBatchRequest) auth() signAuth {
	return signAuth{Seal: r.Seal, PIN: r.PIN, Approval: r.Approval, Scope: r.Scope, PersonID: r.PersonID, Version: r.Version}
}

// signResult is one item's answer: its signature, or the code and message of its refusal.
type signResult struct {
	Signature []byte `json:"signature,omitempty"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
}

type signBatchAnswer struct {
	Results []signResult `json:"results"`
	// Signed is how many items were signed.
	Signed int `json:"signed"`
}

// checkPropertyInfo refuses property info a signature cannot carry (IA5: ASCII).
func checkPropertyInfo(s string) error {
	if len(s) > MaxPropertyInfo {
		return &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("property_info has %d bytes, at most %d", len(s), MaxPropertyInfo)}
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("property_info byte %d is not printable ASCII", i)}
		}
	}
	return nil
}

// authorize checks what the request can be checked for before the registry decides (an
// approval is used up by the registry's decision, so a request it would fail anyway is
// refused first), then has the registry authorise the digests.
func authorize(c *Call, auth signAuth, digests [][]byte) (*registry.Use, error) {
	if auth.Seal == "" {
		return nil, &Error{Kind: errs.InvalidInput, Message: "seal is missing"}
	}
	switch auth.Version {
	case 0:
	case 1, 4:
		s, err := c.Services().Registry.Seal(c.Context(), auth.Seal)
		if err != nil {
			return nil, err
		}
		if s.Version != auth.Version {
			return nil, &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf(
				"a v%d signature was asked for; the seal is v%d and its signatures are v%d", auth.Version, s.Version, s.Version)}
		}
	default:
		return nil, &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("version %d: 4, or 1", auth.Version)}
	}
	a := c.Actor()
	if auth.PersonID != "" {
		if a.PersonID != "" && a.PersonID != auth.PersonID {
			return nil, &Error{Kind: errs.NotHolder, Message: "person_id is not the identity of the caller's key"}
		}
		a.PersonID = auth.PersonID
	}
	pin := []byte(auth.PIN)
	defer clear(pin)
	return c.Services().Registry.Authorize(c.Context(), a, registry.UseRequest{SealCode: auth.Seal, Digests: digests,
		PIN: pin, Approval: auth.Approval, Scope: auth.Scope})
}

func handleSign(c *Call) error {
	var req signRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	digest := req.Digest
	switch {
	case req.Digest != nil && req.Data != nil:
		return &Error{Kind: errs.InvalidInput, Message: "give digest or data, not both"}
	case req.Data != nil:
		d := sm3.Sum(req.Data)
		digest = d[:]
	case len(req.Digest) != sm3.Size:
		return &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("digest has %d bytes; an SM3 digest has %d (or give data)", len(req.Digest), sm3.Size)}
	}
	if err := checkPropertyInfo(req.PropertyInfo); err != nil {
		return err
	}
	u, err := authorize(c, req.auth(), [][]byte{digest})
	if err != nil {
		return err
	}
	sig, err := u.Sign(c.Context(), registry.SignItem{Digest: digest, PropertyInfo: req.PropertyInfo})
	if err != nil {
		return err
	}
	countSignaturesMade(1)
	return c.JSON(http.StatusOK, signAnswer{Signature: sig})
}

// itemRefusal is an item's answer for err: its code and, unless the fault is the server's,
// its message (an internal fault's detail stays in the server).
func itemRefusal(err error) signResult {
	k := errs.KindOf(err)
	msg := err.Error()
	var e *Error
	switch {
	case errors.As(err, &e):
		msg = e.Message
	case k.Class() == errs.ClassInternal || k.Class() == errs.ClassUnavailable:
		msg = k.Error()
	}
	return signResult{Code: k.Code(), Message: msg}
}

func handleSignBatch(c *Call) error {
	var req signBatchRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	n, most := len(req.Items), signBatchMax(c)
	if n == 0 || n > most {
		return &Error{Kind: errs.LimitExceeded, Message: fmt.Sprintf("%d items; a batch has 1 to %d", n, most)}
	}
	results := make([]signResult, n)
	var items []registry.SignItem
	var index []int // of items in the request
	var digests [][]byte
	seen := make(map[string]int, n)
	var firstBad error
	for i, it := range req.Items {
		d, err := batchDigest(it, seen, i)
		if err != nil {
			results[i] = itemRefusal(err)
			if firstBad == nil {
				firstBad = fmt.Errorf("item %d: %w", i, err)
			}
			continue
		}
		items = append(items, registry.SignItem{Digest: d, PropertyInfo: it.PropertyInfo})
		index = append(index, i)
		digests = append(digests, d)
	}
	if len(items) == 0 {
		return &Error{Kind: errs.InvalidInput, Message: "no item can be signed: " + firstBad.Error()}
	}
	u, err := authorize(c, req.auth(), digests)
	if err != nil {
		return err
	}
	signed := signParallel(c.Context(), u, items, func(j int, sig []byte, err error) {
		if err != nil {
			results[index[j]] = itemRefusal(err)
			return
		}
		results[index[j]] = signResult{Signature: sig}
	})
	countSignaturesMade(signed)
	return c.JSON(http.StatusOK, signBatchAnswer{Results: results, Signed: signed})
}

// signBatchMax is the most items of one sign batch for c: the server's BatchMax, never above
// what one use authorises.
func signBatchMax(c *Call) int { return min(c.Config().BatchMax, registry.MaxBatchDigests) }

// batchDigest reads item i's digest, refusing a malformed one, one given before (seen) or
// property info a signature cannot carry.
func batchDigest(it signBatchItem, seen map[string]int, i int) ([]byte, error) {
	d, err := base64.StdEncoding.DecodeString(it.Digest)
	switch {
	case err != nil:
		return nil, &Error{Kind: errs.InvalidInput, Message: "digest is not base64"}
	case len(d) != sm3.Size:
		return nil, &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("digest has %d bytes; an SM3 digest has %d", len(d), sm3.Size)}
	}
	if j, dup := seen[string(d)]; dup {
		return nil, &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("digest repeats item %d's", j)}
	}
	if err := checkPropertyInfo(it.PropertyInfo); err != nil {
		return nil, err
	}
	seen[string(d)] = i
	return d, nil
}

// signWorkers bounds the goroutines of one batch: the key store bounds the signatures in
// flight in its own way (the PKCS#11 session pool on an HSM), so a few more than the cores
// keep it busy without letting one batch take every session.
func signWorkers() int { return min(2*runtime.GOMAXPROCS(0), 16) }

// signParallel signs items through u in chunks (about two a worker, at most maxSignChunk
// items each), on at most signWorkers goroutines; each chunk's signatures are answered
// (done) once its use records are durable, in one synced batch. It returns how many were
// signed.
func signParallel(ctx context.Context, u *registry.Use, items []registry.SignItem, done func(j int, sig []byte, err error)) int {
	type chunk struct{ from, to int }
	workers := signWorkers()
	size := min(max((len(items)+2*workers-1)/(2*workers), 1), maxSignChunk)
	chunks := make(chan chunk)
	var mu sync.Mutex
	signed := 0
	var wg sync.WaitGroup
	for range min(workers, (len(items)+size-1)/size) {
		wg.Go(func() {
			for ch := range chunks {
				sigs, err := u.SignBatch(ctx, items[ch.from:ch.to])
				mu.Lock()
				for j := ch.from; j < ch.to; j++ {
					if err != nil {
						done(j, nil, err)
					} else {
						done(j, sigs[j-ch.from], nil)
						signed++
					}
				}
				mu.Unlock()
			}
		})
	}
	for from := 0; from < len(items); from += size {
		chunks <- chunk{from, min(from+size, len(items))}
	}
	close(chunks)
	wg.Wait()
	return signed
}
