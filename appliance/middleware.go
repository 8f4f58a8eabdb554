package appliance

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/registry"
	"github.com/valyala/fasthttp"
)

// headerRequestID carries the request id: taken from the request when it is a sane token,
// made otherwise, and always answered.
const headerRequestID = "X-Request-Id"

// maxRequestID bounds a request id taken from the caller.
const maxRequestID = 64

// requestID is the request's id: the caller's X-Request-Id when it is 1 to 64 letters,
// digits, '-', '_' or '.', else 16 random bytes in hex.
func requestID(ctx *fasthttp.RequestCtx) string {
	if v, ok := ctx.UserValue(headerRequestID).(string); ok {
		return v
	}
	id := string(ctx.Request.Header.Peek(headerRequestID))
	if !saneToken(id, maxRequestID) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	ctx.SetUserValue(headerRequestID, id)
	return id
}

// saneToken tells whether s is 1 to max bytes of letters, digits, '-', '_', '.' or ':'.
func saneToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// serve is the server's handler: request id, route, authentication, roles, idempotency,
// the route's handler, the error answer, metrics and the log line.
func (s *Server) serve(ctx *fasthttp.RequestCtx) {
	if ctx.Request.Header.ContentLength() > s.cfg.MaxBodyBytes {
		// Refused from its headers, as fasthttp refuses a body it reads whole.
		ctx.SetConnectionClose()
		s.transportError(ctx, fasthttp.ErrBodyTooLarge)
		return
	}
	start := time.Now()
	s.met.inFlight.Add(1)
	defer s.met.inFlight.Add(-1)

	id := requestID(ctx)
	ctx.Response.Header.Set(headerRequestID, id)
	ctx.SetUserValue(serverKey, s)
	if s.draining.Load() {
		ctx.SetConnectionClose()
	}

	method := string(ctx.Method())
	m := s.router.lookup(method, string(ctx.Path()))
	pattern := ""
	if m.route != nil {
		pattern = m.route.Path
	}
	c := &Call{ctx: ctx, params: m.params, svc: s.svc}

	err := s.run(c, m, method)
	var code string
	if err != nil {
		code = writeError(ctx, s.log, id, err).Code()
	}

	status := ctx.Response.StatusCode()
	d := time.Since(start)
	s.met.observe(method, pattern, status, d)
	caller := c.actor.Name
	if caller == "" {
		caller = "-"
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("route", pattern),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int("bytes", len(ctx.Response.Body())),
		slog.String("request_id", id),
		slog.String("caller", caller),
	}
	if code != "" {
		attrs = append(attrs, slog.String("code", code))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(ctx, level, "request", attrs...)
}

// run does everything between the look-up and the answer, and returns the refusal, if any.
// A handler's panic is turned into an internal error.
func (s *Server) run(c *Call, m match, method string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("appliance: handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	if m.route == nil {
		if len(m.allow) > 0 {
			c.ctx.Response.Header.Set("Allow", strings.Join(m.allow, ", "))
			return &Error{Kind: errs.MethodNotAllowed, Message: fmt.Sprintf("%s is not allowed here; allowed: %s", method, strings.Join(m.allow, ", "))}
		}
		return &Error{Kind: errs.NotFound, Message: "no route for " + method + " " + string(c.ctx.Path())}
	}
	rt := m.route
	if err := s.authenticate(c, rt); err != nil {
		return err
	}
	if !c.anon && len(rt.Roles) > 0 && !slices.ContainsFunc(rt.Roles, c.actor.Has) {
		return &Error{Kind: errs.WrongRole, Message: fmt.Sprintf("this route takes a key with one of the roles %s", rolesText(rt.Roles))}
	}
	taken, err := c.readBody(s.cfg.MaxBodyBytes, s.bodies)
	defer s.bodies.give(taken)
	if err != nil {
		return err
	}
	if rt.Idempotent && method == fasthttp.MethodPost && s.idem != nil {
		if key := c.Header(headerIdempotencyKey); key != "" {
			return s.idem.do(c, key, rt.Handle)
		}
	}
	return rt.Handle(c)
}

func rolesText(rs []registry.Role) string {
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	return strings.Join(ss, ", ")
}

// authenticate sets the call's actor from its Authorization header or its verified client
// certificate, or marks it anonymous where the route allows.
func (s *Server) authenticate(c *Call, rt *Route) error {
	if rt.Anonymous == AlwaysAnonymous {
		c.anon = true
		return nil
	}
	ctx := c.Context()
	if h := c.ctx.Request.Header.Peek(fasthttp.HeaderAuthorization); len(h) > 0 {
		// The scheme is case-insensitive (RFC 9110 §11.1).
		scheme, secret, ok := strings.Cut(string(h), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return &Error{Kind: errs.Unauthenticated, Message: "the Authorization header is not \"Bearer <API key>\""}
		}
		if s.svc.APIKeys == nil {
			return &Error{Kind: errs.Unauthenticated, Message: "this server has no API keys"}
		}
		secret = strings.TrimSpace(secret)
		a, err := s.svc.APIKeys.Authenticate(ctx, secret)
		if err != nil {
			return err
		}
		c.actor, c.secret = a, secret
		return nil
	}
	if st := c.ctx.TLSConnectionState(); st != nil && len(st.VerifiedChains) > 0 && s.svc.APIKeys != nil {
		cn := st.PeerCertificates[0].Subject.CommonName
		a, err := s.svc.APIKeys.ByName(ctx, cn)
		if err != nil {
			if errs.KindOf(err) == errs.Unauthenticated {
				return &Error{Kind: errs.Unauthenticated, Message: "the client certificate's common name names no API key"}
			}
			return err
		}
		c.actor = a
		return nil
	}
	if rt.Anonymous == AnonymousIfOpen && s.cfg.AnonymousVerify {
		c.anon = true
		return nil
	}
	return &Error{Kind: errs.Unauthenticated, Message: "an API key is required: Authorization: Bearer <API key>"}
}

// bodyFirstGrowth bounds the memory set aside for a body before its bytes arrive.
const bodyFirstGrowth = 64 << 10

// bodyMemoryBodies is how many bodies of the largest size the server holds at once, all
// requests together: MaxConcurrent connections each sending the largest body would
// otherwise hold MaxConcurrent times it.
const bodyMemoryBodies = 16

// bodyBudget bounds the bytes of the request bodies held at once.
type bodyBudget struct {
	limit int64
	used  atomic.Int64
}

// take counts n more bytes held, or reports false (counting nothing) beyond the limit.
func (b *bodyBudget) take(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

// give counts n bytes no longer held.
func (b *bodyBudget) give(n int64) {
	if n > 0 {
		b.used.Add(-n)
	}
}

// errBodyBudget ends the reading of a body the budget cannot hold.
var errBodyBudget = errors.New("the server holds too many request bodies")

// budgetReader counts in a budget the bytes it reads.
type budgetReader struct {
	r     io.Reader
	b     *bodyBudget
	taken int64
}

func (r *budgetReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		if !r.b.take(int64(n)) {
			return 0, errBodyBudget
		}
		r.taken += int64(n)
	}
	return n, err
}

// readBody reads the request's body from its stream, once the caller is authenticated and
// may call the route: at most limit bytes, into memory that grows with what arrives, never
// with the length the headers announce, and counted in budget, whose bytes it returns (the
// caller gives them back once the handler is done). A body not received whole closes the
// connection; one the budget cannot hold is answered BUSY.
func (c *Call) readBody(limit int, budget *bodyBudget) (int64, error) {
	rs := c.ctx.RequestBodyStream()
	if rs == nil {
		return 0, nil
	}
	br := &budgetReader{r: io.LimitReader(rs, int64(limit)+1), b: budget}
	if n := c.ctx.Request.Header.ContentLength(); n >= 0 && n <= min(limit, bodyFirstGrowth) {
		// The common case, a small body of known length: one buffer of its size. The stream
		// ends where the length says.
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF // fewer bytes than announced
			}
			return br.taken, c.bodyError(err)
		}
		c.ctx.Request.SetBodyRaw(body)
		return br.taken, nil
	}
	var buf bytes.Buffer
	if n := c.ctx.Request.Header.ContentLength(); n > 0 {
		buf.Grow(min(n, bodyFirstGrowth) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(br)
	if err == nil && buf.Len() > limit {
		c.ctx.SetConnectionClose()
		return br.taken, &Error{Kind: errs.LimitExceeded, Message: fmt.Sprintf("the request body exceeds the limit of %d bytes", limit)}
	}
	if err != nil {
		return br.taken, c.bodyError(err)
	}
	c.ctx.Request.SetBodyRaw(buf.Bytes())
	return br.taken, nil
}

// bodyError is the answer to a body that could not be read whole; the connection is closed.
func (c *Call) bodyError(err error) error {
	c.ctx.SetConnectionClose()
	switch {
	case errors.Is(err, errBodyBudget):
		return &Error{Kind: errs.Busy, Message: "the server holds as many request bodies as it may; retry later"}
	case isTimeout(err):
		return &Error{Kind: errs.InvalidInput, Message: "the request body was not received in time"}
	default:
		return &Error{Kind: errs.InvalidInput, Message: "the request body was not received whole"}
	}
}
