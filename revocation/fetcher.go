package revocation

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/sync/singleflight"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/store"
)

// SpaceName is the keyspace of the store in which a Fetcher keeps the CRLs it holds.
const SpaceName = "crl"

// Defaults for a zero Config.
const (
	// DefaultTimeout bounds one fetch from one distribution point, answer and body.
	DefaultTimeout = 5 * time.Second
	// DefaultMaxBytes bounds the body of one CRL. 16 MiB holds some 330 000 entries of
	// about 50 bytes (a 16-byte serial, the time, a reason), far more than a seal CA
	// revokes; parsed, a CRL takes about 8 times its DER size in memory (10 MB of DER with
	// 200 000 entries took 79 MB), so one CRL at the limit costs some 150 MB. A larger
	// CRL is refused, not truncated.
	DefaultMaxBytes = 16 << 20
	// DefaultFailureBackoff is how long a fetch that brought no fresh CRL is remembered: in
	// that time the same question is answered from memory, without a request.
	DefaultFailureBackoff = 30 * time.Second
)

const (
	// maxURLs bounds the distribution points tried in one fetch.
	maxURLs = 8
	// maxRedirects bounds the redirects followed in one request.
	maxRedirects = 5
	// maxFailures is the number of remembered failures above which expired ones are dropped.
	maxFailures = 4096
)

// Config configures a Fetcher. Its zero value is usable.
type Config struct {
	// Client makes the requests; nil means a client of the Fetcher's own, whose idle
	// connections Close releases. A Client given is not modified: the Fetcher uses a copy
	// whose redirect policy also refuses schemes not allowed and more than 5 redirects.
	Client *http.Client
	// Timeout bounds one fetch from one distribution point; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxBytes bounds the size of one CRL; zero means DefaultMaxBytes.
	MaxBytes int64
	// Now is the clock, against which nextUpdate and the backoff are judged; nil means
	// time.Now.
	Now func() time.Time
	// FailureBackoff is how long a fetch that brought no fresh CRL (every distribution
	// point down, refusing or serving a stale or rejected CRL) is remembered for its issuer
	// and distribution points; zero means DefaultFailureBackoff, negative means not at all.
	FailureBackoff time.Duration
	// AllowedSchemes are the URL schemes fetched: "http", "https" or both; nil means
	// "http" only. Distribution points of any other scheme (ldap:, file:, ...) are skipped.
	AllowedSchemes []string
	// OnNew, when set, is called each time the CRL held for an issuer changes for a newer
	// one (the first one held counts), after the change, outside any lock of the Fetcher.
	// It runs on the goroutine that fetched or put the CRL and should return quickly.
	OnNew func(issuer *smx509.Certificate)
	// Logger receives one line per CRL taken and per failed fetch; nil means
	// slog.Default(). URLs are logged with any password removed.
	Logger *slog.Logger
}

// Fetcher finds the current CRL of an issuer: from memory, or fetched over HTTP from the
// distribution points it is given. It implements verifier.CRLSource. It is safe for
// concurrent use.
type Fetcher struct {
	client   *http.Client
	own      *http.Transport // the transport of the Fetcher's own client, nil when Config.Client is set
	kv       store.KV        // nil: CRLs are held in memory only
	now      func() time.Time
	timeout  time.Duration
	maxBytes int64
	backoff  time.Duration
	schemes  map[string]bool
	onNew    func(*smx509.Certificate)
	log      *slog.Logger

	base   context.Context // ends at Close
	cancel context.CancelFunc
	group  singleflight.Group
	wg     sync.WaitGroup // running fetches

	installMu sync.Mutex    // serialises changes of held CRLs
	gen       atomic.Uint64 // counts the changes of held CRLs

	mu     sync.RWMutex
	closed bool
	held   map[[32]byte]*heldCRL
	failed map[[32]byte]failure
}

type heldCRL struct {
	issuer *smx509.Certificate
	crl    *smx509.RevocationList
}

// failure is a fetch that brought no fresh CRL.
type failure struct {
	until time.Time
	err   error // why, for callers that hold no CRL
}

// New returns a Fetcher that keeps the CRLs it holds in the keyspace SpaceName of kv (nil:
// in memory only), and loads those kept there before. A kept record that no longer reads or
// verifies is skipped with a log line, and fetched again when asked for.
func New(kv store.KV, cfg Config) (*Fetcher, error) {
	const op = "revocation.New"
	bad := func(format string, args ...any) error {
		e := errorf(errs.Config, nil, format, args...)
		e.Op = op
		return e
	}
	f := &Fetcher{
		now: cfg.Now, timeout: cfg.Timeout, maxBytes: cfg.MaxBytes, backoff: cfg.FailureBackoff,
		onNew: cfg.OnNew, log: cfg.Logger, schemes: map[string]bool{},
		held: map[[32]byte]*heldCRL{}, failed: map[[32]byte]failure{},
	}
	switch {
	case f.timeout < 0:
		return nil, bad("Config.Timeout %s is negative", f.timeout)
	case f.timeout == 0:
		f.timeout = DefaultTimeout
	}
	switch {
	case f.maxBytes < 0:
		return nil, bad("Config.MaxBytes %d is negative", f.maxBytes)
	case f.maxBytes == 0:
		f.maxBytes = DefaultMaxBytes
	}
	switch {
	case f.backoff < 0:
		f.backoff = 0
	case f.backoff == 0:
		f.backoff = DefaultFailureBackoff
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	schemes := cfg.AllowedSchemes
	if schemes == nil {
		schemes = []string{"http"}
	}
	for _, s := range schemes {
		s = strings.ToLower(s)
		if s != "http" && s != "https" {
			return nil, bad("Config.AllowedSchemes: %q cannot be fetched; only http and https can", clip(s, 20))
		}
		f.schemes[s] = true
	}
	if len(f.schemes) == 0 {
		return nil, bad("Config.AllowedSchemes is empty: no CRL could be fetched")
	}
	if cfg.Client != nil {
		c := *cfg.Client
		c.CheckRedirect = f.checkRedirect(cfg.Client.CheckRedirect)
		f.client = &c
	} else {
		f.own = http.DefaultTransport.(*http.Transport).Clone()
		f.client = &http.Client{Transport: f.own, CheckRedirect: f.checkRedirect(nil)}
	}
	if kv != nil {
		space, err := store.NewSpace(kv, SpaceName)
		if err != nil {
			return nil, bad("%v", err)
		}
		f.kv = space
		if err := f.load(context.Background()); err != nil {
			e := errorf(errs.Unavailable, err, "reading the CRLs kept in the store")
			e.Op = op
			return nil, e
		}
	}
	f.base, f.cancel = context.WithCancel(context.Background())
	return f, nil
}

// checkRedirect refuses redirects to schemes not allowed and long chains of them, then
// applies next, the policy of a client given.
func (f *Fetcher) checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		if s := strings.ToLower(req.URL.Scheme); !f.schemes[s] {
			return fmt.Errorf("redirected to a URL of scheme %q, which is not allowed", clip(s, 20))
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// issuerKey is the key of issuer's CRL: the SM3 digest of its certificate.
func issuerKey(issuer *smx509.Certificate) [32]byte { return sm3.Sum(issuer.Raw) }

// flightKey is the key of a fetch: the issuer with its distribution points, in order.
func flightKey(ik [32]byte, urls []string) [32]byte {
	h := sm3.New()
	h.Write(ik[:])
	var n [binary.MaxVarintLen64]byte
	for _, u := range urls {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(u)))])
		h.Write([]byte(u))
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// fresh tells whether l is before its nextUpdate at now. A CRL without nextUpdate (which
// RFC 5280 requires) counts as running out at its thisUpdate, as the verifier counts it.
func fresh(l *smx509.RevocationList, now time.Time) bool {
	next := l.NextUpdate
	if next.IsZero() {
		next = l.ThisUpdate
	}
	return !now.After(next)
}

// CRL returns the newest CRL held for issuer if it is before its nextUpdate; otherwise it
// fetches one from urls, in order, the first that gives a fresh CRL winning. Concurrent
// calls for one issuer and the same urls share one fetch. A fetched CRL is taken only if it
// is well-formed, names issuer, verifies under issuer's key, answers for all issuer's
// certificates (no delta CRL, no partition), is at most Config.MaxBytes long and is newer
// than the one held; it is then kept in the store too.
//
// When no fresh CRL can be had but an older one is held, that one is returned, past its
// nextUpdate: the verifier judges whether it is still of use. When none is held, the error
// names each distribution point and what happened there: of kind errs.Unavailable (no
// usable distribution point, server down, an answer other than 200, timeout),
// errs.LimitExceeded (too large), errs.Untrusted (wrong issuer, bad signature),
// errs.Unsupported (a delta or partitioned CRL) or errs.Malformed (not a CRL), the gravest
// of these when several points failed. For Config.FailureBackoff after such a fetch, the
// same question gets the same answer without a request.
//
// When ctx ends first, CRL returns an error of kind errs.Unavailable; the fetch goes on
// for the other callers and ends within Config.Timeout per distribution point.
func (f *Fetcher) CRL(ctx context.Context, issuer *smx509.Certificate, urls []string) (*smx509.RevocationList, error) {
	const op = "revocation.CRL"
	if issuer == nil {
		return nil, &Error{Kind: errs.InvalidInput, Op: op, Detail: "no issuer certificate"}
	}
	ik := issuerKey(issuer)
	now := f.now()
	f.mu.RLock()
	closed, h := f.closed, f.held[ik]
	f.mu.RUnlock()
	if closed {
		return nil, &Error{Kind: errs.Closed, Op: op, Issuer: issuer.Subject.String()}
	}
	if h != nil && fresh(h.crl, now) {
		return h.crl, nil
	}
	fk := flightKey(ik, urls)
	if l, err, ok := f.recentFailure(fk, h, now); ok {
		return l, err
	}
	ch := f.group.DoChan(string(fk[:]), func() (any, error) { return f.fetch(issuer, ik, fk, slices.Clone(urls)) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*smx509.RevocationList), nil
	case <-ctx.Done():
		return nil, &Error{Kind: errs.Unavailable, Op: op, Issuer: issuer.Subject.String(), Detail: "stopped waiting for the fetch", Err: ctx.Err()}
	}
}

// recentFailure answers from a fetch for fk that failed less than the backoff ago: with h's
// CRL when one is held, else with the error of that fetch.
func (f *Fetcher) recentFailure(fk [32]byte, h *heldCRL, now time.Time) (*smx509.RevocationList, error, bool) {
	f.mu.RLock()
	fl, ok := f.failed[fk]
	f.mu.RUnlock()
	if !ok || !now.Before(fl.until) {
		return nil, nil, false
	}
	if h != nil {
		return h.crl, nil, true
	}
	return nil, fl.err, true
}

func (f *Fetcher) heldOf(ik [32]byte) *heldCRL {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.held[ik]
}

// fetch runs once for all concurrent callers with the same issuer and urls.
func (f *Fetcher) fetch(issuer *smx509.Certificate, ik, fk [32]byte, urls []string) (*smx509.RevocationList, error) {
	const op = "revocation.CRL"
	subject := issuer.Subject.String()
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, &Error{Kind: errs.Closed, Op: op, Issuer: subject}
	}
	f.wg.Add(1)
	f.mu.Unlock()
	defer f.wg.Done()

	// A fetch that ended just before this one started may have settled the question.
	now := f.now()
	h := f.heldOf(ik)
	if h != nil && fresh(h.crl, now) {
		return h.crl, nil
	}
	if l, err, ok := f.recentFailure(fk, h, now); ok {
		return l, err
	}

	var tries attempts
	for i, raw := range urls {
		if i == maxURLs {
			tries = append(tries, fmt.Errorf("%d further distribution points not tried", len(urls)-maxURLs))
			break
		}
		l, name, err := f.get(issuer, raw)
		if err != nil {
			tries = append(tries, err)
			continue
		}
		cur, changed, err := f.install(f.base, issuer, ik, l)
		if err != nil {
			f.log.Warn("CRL taken but not kept in the store", "issuer", subject, "url", name, "error", err)
		}
		if changed {
			f.log.Info("CRL taken", "issuer", subject, "url", name, "crl", describe(l))
			if f.onNew != nil {
				f.onNew(issuer)
			}
		}
		if fresh(cur, f.now()) {
			f.mu.Lock()
			delete(f.failed, fk)
			f.mu.Unlock()
			return cur, nil
		}
		var why string
		switch {
		case changed:
			why = "served a CRL already past its nextUpdate (" + describe(l) + ")"
		case newer(l, cur) < 0:
			why = "served a CRL older than the one held (" + describe(l) + "), not taken"
		default:
			why = "served the CRL held already, past its nextUpdate (" + describe(l) + ")"
		}
		tries = append(tries, &Error{Kind: errs.Unavailable, URL: name, Detail: why})
	}

	h = f.heldOf(ik)
	kind := errs.Unavailable
	for _, t := range tries {
		if k := errKind(t); severity(k) > severity(kind) {
			kind = k
		}
	}
	if f.base.Err() != nil {
		return nil, &Error{Kind: errs.Closed, Op: op, Issuer: subject, Detail: "closed during the fetch", Err: tries}
	}
	e := &Error{Kind: kind, Op: op, Issuer: subject, Detail: "no fresh CRL could be fetched"}
	switch {
	case len(urls) == 0:
		e.Detail = "no distribution point is named"
	case len(tries) > 0:
		e.Err = tries
	}
	if f.backoff > 0 {
		f.mu.Lock()
		if len(f.failed) >= maxFailures {
			for k, fl := range f.failed {
				if !now.Before(fl.until) {
					delete(f.failed, k)
				}
			}
		}
		f.failed[fk] = failure{until: f.now().Add(f.backoff), err: e}
		f.mu.Unlock()
	}
	if h != nil {
		f.log.Warn("no fresh CRL fetched; the one held is past its nextUpdate", "issuer", subject, "crl", describe(h.crl), "error", e)
		return h.crl, nil
	}
	f.log.Warn("no CRL fetched", "issuer", subject, "error", e)
	return nil, e
}

// get fetches and checks the CRL of issuer at raw, and returns it with the URL as it may
// be shown (without password).
func (f *Fetcher) get(issuer *smx509.Certificate, raw string) (*smx509.RevocationList, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// Not named: what does not parse cannot be stripped of a password.
		const name = "a distribution point"
		return nil, name, &Error{Kind: errs.Unavailable, URL: name, Detail: "skipped: not a URL"}
	}
	name := clip(u.Redacted(), 300)
	skip := func(why string) (*smx509.RevocationList, string, error) {
		return nil, name, &Error{Kind: errs.Unavailable, URL: name, Detail: "skipped: " + why}
	}
	switch s := strings.ToLower(u.Scheme); {
	case s == "ldap" || s == "ldaps":
		return skip("LDAP distribution points are not supported")
	case !f.schemes[s]:
		return skip(fmt.Sprintf("the scheme %q is not allowed", clip(s, 20)))
	case u.Host == "":
		return skip("no host")
	}
	fail := func(kind errs.Kind, cause error, format string, args ...any) (*smx509.RevocationList, string, error) {
		e := errorf(kind, cause, format, args...)
		e.URL = name
		return nil, name, e
	}
	ctx, cancel := context.WithTimeout(f.base, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(errs.Unavailable, err, "skipped: cannot make a request")
	}
	req.Header.Set("Accept", "application/pkix-crl")
	resp, err := f.client.Do(req)
	if err != nil {
		return fail(f.netKind(), f.netCause(ctx, err), "cannot fetch")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(errs.Unavailable, nil, "the server answered HTTP %s", clip(resp.Status, 80))
	}
	if resp.ContentLength > f.maxBytes {
		return fail(errs.LimitExceeded, nil, "the server announced %d bytes, more than the limit of %d", resp.ContentLength, f.maxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		return fail(f.netKind(), f.netCause(ctx, err), "reading the body after %d bytes", len(body))
	}
	if int64(len(body)) > f.maxBytes {
		return fail(errs.LimitExceeded, nil, "the body is longer than the limit of %d bytes", f.maxBytes)
	}
	l, err := parseCRL(body)
	if err == nil {
		err = checkCRL(l, issuer)
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.URL = name
		}
		return nil, name, err
	}
	return l, name, nil
}

// netKind is the kind of a failed request: Closed when the Fetcher was closed under it.
func (f *Fetcher) netKind() errs.Kind {
	if f.base.Err() != nil {
		return errs.Closed
	}
	return errs.Unavailable
}

// netCause says why a request failed, without repeating its URL.
func (f *Fetcher) netCause(ctx context.Context, err error) error {
	if f.base.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no complete answer within %s: %w", f.timeout, context.DeadlineExceeded)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// install makes l the CRL held for issuer, in memory and in the store, unless the one held
// is as new or newer. It returns the CRL held afterwards and whether it changed; err is a
// failure to write the store, l being held in memory all the same.
func (f *Fetcher) install(ctx context.Context, issuer *smx509.Certificate, ik [32]byte, l *smx509.RevocationList) (cur *smx509.RevocationList, changed bool, err error) {
	f.installMu.Lock()
	defer f.installMu.Unlock()
	if h := f.heldOf(ik); h != nil && newer(l, h.crl) <= 0 {
		return h.crl, false, nil
	}
	if f.kv != nil {
		err = f.kv.Set(ctx, ik[:], encodeRecord(issuer.Raw, l.Raw))
	}
	f.mu.Lock()
	f.held[ik] = &heldCRL{issuer: issuer, crl: l}
	f.mu.Unlock()
	f.gen.Add(1) // after the CRL is held, before OnNew
	return l, true, err
}

// CRLGeneration counts the changes of the CRLs held: it moves each time a newer CRL is
// held for an issuer, after that CRL is returned by CRL and before Config.OnNew is called.
// A cache of answers built from the CRLs compares it to the count read before the CRL was
// asked for, so that an answer built from a CRL replaced meanwhile (after OnNew dropped the
// cache) is not kept.
func (f *Fetcher) CRLGeneration() uint64 { return f.gen.Load() }

// Put takes der, a CRL in DER or PEM form from a file or handed over by its CA, as the CRL
// of issuer, with the checks a fetched CRL passes. A CRL as new as the one held changes
// nothing; an older one is refused (errs.Conflict), so that a held CRL is never rolled
// back. An error of kind errs.Unavailable means the CRL is held but could not be kept in
// the store.
func (f *Fetcher) Put(ctx context.Context, issuer *smx509.Certificate, der []byte) error {
	const op = "revocation.Put"
	if issuer == nil {
		return &Error{Kind: errs.InvalidInput, Op: op, Detail: "no issuer certificate"}
	}
	subject := issuer.Subject.String()
	f.mu.RLock()
	closed := f.closed
	f.mu.RUnlock()
	if closed {
		return &Error{Kind: errs.Closed, Op: op, Issuer: subject}
	}
	if int64(len(der)) > f.maxBytes {
		return &Error{Kind: errs.LimitExceeded, Op: op, Issuer: subject, Detail: fmt.Sprintf("%d bytes, more than the limit of %d", len(der), f.maxBytes)}
	}
	l, err := parseCRL(der)
	if err == nil {
		err = checkCRL(l, issuer)
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Op, e.Issuer = op, subject
		}
		return err
	}
	ik := issuerKey(issuer)
	cur, changed, err := f.install(ctx, issuer, ik, l)
	if changed {
		f.log.Info("CRL taken", "issuer", subject, "crl", describe(l))
		if f.onNew != nil {
			f.onNew(issuer)
		}
	}
	switch {
	case err != nil:
		return &Error{Kind: errs.Unavailable, Op: op, Issuer: subject, Detail: "held, but not kept in the store", Err: err}
	case !changed && newer(l, cur) < 0:
		return &Error{Kind: errs.Conflict, Op: op, Issuer: subject, Detail: "older than the CRL held (" + describe(cur) + "): not taken"}
	}
	return nil
}

// Held returns the CRL held for issuer, fresh or not, or nil.
func (f *Fetcher) Held(issuer *smx509.Certificate) *smx509.RevocationList {
	if issuer == nil {
		return nil
	}
	if h := f.heldOf(issuerKey(issuer)); h != nil {
		return h.crl
	}
	return nil
}

// Close stops the fetches under way, waits for them to end and releases idle connections.
// Afterwards CRL and Put fail with errs.Closed; Held still answers. Closing twice is
// harmless.
func (f *Fetcher) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.cancel()
	f.mu.Unlock()
	f.wg.Wait()
	if f.own != nil {
		f.own.CloseIdleConnections()
	}
	return nil
}
