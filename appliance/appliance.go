// Package appliance is the HTTP face of the seal platform: one fasthttp server (this package
// is the only one that imports fasthttp) serving the registry, signing, verification, the CA,
// trust sets and the audit log under /v1, with API keys and roles, limits, metrics and an
// OpenAPI description.
//
// A route is a Route: method, path (with {name} segments), the roles that may call it and a
// Handler, which reads its request through a Call and answers through it. A Handler returns an
// error to refuse: its kind (package errs) decides the HTTP status and the stable code of the
// answer {"code": "...", "message": "..."}, in one table (errors.go).
package appliance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/revocation"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/trust"
	"github.com/eseal/eseal/verifier"
	"github.com/valyala/fasthttp"
)

// The roles of API keys beyond the registry's own.
const (
	// RoleVerifier may call the verification routes.
	RoleVerifier registry.Role = "verifier"
	// RoleAuditor may read and verify the audit log.
	RoleAuditor registry.Role = "auditor"
)

// Services are the domain objects the server serves, wired from a configuration.
type Services struct {
	DB       *store.Pebble
	Keys     signer.KeyStore
	CA       *pki.CA
	Registry *registry.Registry
	Audit    *audit.Log
	Verifier *verifier.Verifier
	Pool     *verifier.Pool
	Trust    *trust.Sets
	CRLs     *revocation.Fetcher
	APIKeys  *APIKeys
	// Ready checks what readiness depends on (the store, the key store, the HSM pool); nil
	// means always ready.
	Ready func(ctx context.Context) error
	// Log receives the server's lines; nil means slog.Default().
	Log *slog.Logger
}

// Handler serves one route.
type Handler func(c *Call) error

// Route is one route of the API.
type Route struct {
	Method string
	// Path is the path under the server's root, with {name} for a path segment read with
	// Call.Param ("/v1/seals/{code}/esl").
	Path string
	// Roles may call the route (any one of them); empty means any authenticated caller.
	Roles []registry.Role
	// Anonymous routes may be called without a key when the server is configured so
	// (verification), or always (health).
	Anonymous AnonymousPolicy
	// Idempotent POSTs honour an Idempotency-Key header: a retry with the same key gets the
	// first answer and does not act twice.
	Idempotent bool
	// Summary describes the route in the OpenAPI document.
	Summary string
	// Request and Response are values of the JSON types taken and answered, for the OpenAPI
	// document; nil when the body is not JSON (or absent).
	Request, Response any
	// RawRequest and RawResponse are the media types of a body that is not JSON (an OFD
	// document, a DER seal, a picture), for the OpenAPI document.
	RawRequest, RawResponse string
	// Params are the query and header parameters the route reads, for the OpenAPI document.
	Params []Param
	Handle Handler
}

// Param is a query or header parameter of a route.
type Param struct {
	Name string
	// In is "query" or "header".
	In          string
	Description string
}

// AnonymousPolicy says when a route may be called without a key.
type AnonymousPolicy int

const (
	// KeyRequired routes need an API key.
	KeyRequired AnonymousPolicy = iota
	// AnonymousIfOpen routes may be called without a key when the configuration opens
	// verification to anonymous callers.
	AnonymousIfOpen
	// AlwaysAnonymous routes need no key (health, readiness, metrics, the OpenAPI document).
	AlwaysAnonymous
)

// Call is one request being served: what a Handler reads and answers through.
type Call struct {
	ctx   *fasthttp.RequestCtx
	actor registry.Actor
	anon  bool
	// secret is the API key's secret the caller authenticated with (empty for a client
	// certificate or an anonymous call): it keys what the server keeps of the request.
	secret string
	params map[string]string
	svc    *Services
}

// Context is the request's context. It is not cancelled when a graceful shutdown begins:
// a request already in flight (its handler running, or its body still arriving) is finished,
// within the server's ShutdownTimeout, not cut off halfway through a store write.
func (c *Call) Context() context.Context { return context.WithoutCancel(c.ctx) }

// Actor is the caller, as its API key describes it; the zero Actor for an anonymous call.
func (c *Call) Actor() registry.Actor { return c.actor }

// Anonymous tells whether the caller gave no key.
func (c *Call) Anonymous() bool { return c.anon }

// Services are the domain objects.
func (c *Call) Services() *Services { return c.svc }

// Param is the path segment named {name} in the route's path.
func (c *Call) Param(name string) string { return c.params[name] }

// Query is the query argument name, or "".
func (c *Call) Query(name string) string { return string(c.ctx.QueryArgs().Peek(name)) }

// Header is the request header name, or "".
func (c *Call) Header(name string) string { return string(c.ctx.Request.Header.Peek(name)) }

// Body is the request body. It is valid until the handler returns.
func (c *Call) Body() []byte { return c.ctx.PostBody() }

// Decode reads the body as one JSON value into v, strictly: an unknown field, a value of the
// wrong type, trailing data or an empty body is an errs.InvalidInput error that names it.
func (c *Call) Decode(v any) error {
	body := c.ctx.PostBody()
	if len(bytes.TrimSpace(body)) == 0 {
		return &Error{Kind: errs.InvalidInput, Message: "the request body is empty; a JSON object is expected"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Kind: errs.InvalidInput, Message: "the request body is not the JSON expected: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &Error{Kind: errs.InvalidInput, Message: "the request body holds more than one JSON value"}
	}
	return nil
}

// JSON answers v as JSON with the status.
func (c *Call) JSON(status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("appliance: encode the answer: %w", err)
	}
	c.ctx.SetStatusCode(status)
	c.ctx.SetContentType("application/json; charset=utf-8")
	c.ctx.SetBody(append(b, '\n'))
	return nil
}

// Bytes answers b with the status and content type.
func (c *Call) Bytes(status int, contentType string, b []byte) error {
	c.ctx.SetStatusCode(status)
	c.ctx.SetContentType(contentType)
	c.ctx.SetBody(b)
	return nil
}

// Error is a refusal made by the server itself (not by a domain package): its kind decides
// the status and code, its message is shown to the caller as it is.
type Error struct {
	Kind    errs.Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap gives the kind, so that errors.Is(err, errs.InvalidInput) and errs.KindOf see it.
func (e *Error) Unwrap() error { return e.Kind }
