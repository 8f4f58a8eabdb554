package appliance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eseal/eseal/errs"
	"github.com/valyala/fasthttp"
)

// ServerConfig configures the HTTP server (the "server" section of the configuration).
// Zero values take the defaults named below.
type ServerConfig struct {
	// Listen is the address to listen on ("127.0.0.1:8080").
	Listen string `yaml:"listen"`
	// MaxBodyBytes bounds a request body; zero means DefaultMaxBodyBytes. A larger body is
	// answered 413 with code LIMIT_EXCEEDED.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// ReadTimeout and WriteTimeout bound reading a request and writing its answer; zero means
	// DefaultReadTimeout and DefaultWriteTimeout.
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout bounds a keep-alive connection waiting for its next request; zero means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxConcurrent bounds the connections served at once, and so the requests (a connection
	// carries one request at a time); zero means DefaultMaxConcurrent. A connection beyond it
	// is answered 503 and closed.
	MaxConcurrent int `yaml:"max_concurrent"`
	// ShutdownTimeout is how long a graceful shutdown waits for requests in flight; zero
	// means DefaultShutdownTimeout. It is for the caller of Shutdown, which takes a context.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// AnonymousVerify opens the verification routes to callers without a key.
	AnonymousVerify bool `yaml:"anonymous_verify"`
	// BatchMax bounds the digests of one sign batch; zero means DefaultBatchMax.
	BatchMax int `yaml:"batch_max"`
	// VerifyBatchMax bounds the signatures of one verify batch; zero means
	// DefaultVerifyBatchMax.
	VerifyBatchMax int `yaml:"verify_batch_max"`
	// TLS, when Cert and Key are set, serves HTTPS; with ClientCA, client certificates
	// issued under it authenticate departments' systems (mutual TLS).
	TLS TLSConfig `yaml:"tls"`
}

// TLSConfig names the server's certificate and key and, for mutual TLS, the CA of clients.
//
// A client certificate is asked for but not required. One that chains to ClientCA
// authenticates its caller as the API key whose name is the certificate's subject common
// name, with that key's roles and seals (so a department's system gets a key created for
// it, whose secret it need never use); a certificate whose name has no key is refused 401.
// An Authorization header, when given, takes precedence over the certificate.
type TLSConfig struct {
	Cert     string `yaml:"cert"`
	Key      string `yaml:"key"`
	ClientCA string `yaml:"client_ca"`
}

// The defaults of a zero ServerConfig field.
const (
	// DefaultMaxBodyBytes bounds a request body when ServerConfig.MaxBodyBytes is zero: an
	// OFD document of 64 MiB.
	DefaultMaxBodyBytes = 64 << 20
	// DefaultReadTimeout is ServerConfig.ReadTimeout's default: long enough to upload the
	// largest body on a slow link.
	DefaultReadTimeout = 60 * time.Second
	// DefaultWriteTimeout is ServerConfig.WriteTimeout's default: a batch of signatures or
	// a large OFD verification, and its answer.
	DefaultWriteTimeout = 120 * time.Second
	// DefaultIdleTimeout is ServerConfig.IdleTimeout's default.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultMaxConcurrent is ServerConfig.MaxConcurrent's default.
	DefaultMaxConcurrent = 1024
	// DefaultShutdownTimeout is ServerConfig.ShutdownTimeout's default.
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultBatchMax is ServerConfig.BatchMax's default: the most items of one sign batch.
	// The registry allows one use of up to registry.MaxBatchDigests digests; a request of a
	// thousand items stays well under the default body limit and answers within seconds.
	DefaultBatchMax = 1000
)

// WithDefaults returns c with every zero field set to its default.
func (c ServerConfig) WithDefaults() ServerConfig {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.BatchMax <= 0 {
		c.BatchMax = DefaultBatchMax
	}
	if c.VerifyBatchMax <= 0 {
		c.VerifyBatchMax = DefaultVerifyBatchMax
	}
	return c
}

// Server serves the API.
//
// # Concurrency and limits
//
// Each connection is served by one goroutine, one request at a time; MaxConcurrent bounds
// the connections. Bodies beyond MaxBodyBytes are refused before they are read whole. A body
// is read only once its caller is authenticated and may call the route, and the bodies held
// at once, all requests together, are bounded by 16 times MaxBodyBytes (beyond it a request
// is answered BUSY).
// Shutdown closes the listener, lets the requests in flight finish, then closes idle
// connections.
type Server struct {
	svc    *Services
	cfg    ServerConfig
	log    *slog.Logger
	router *router
	routes []Route
	http   *fasthttp.Server
	tls    *tls.Config
	met    *serverMetrics
	idem   *idempotency
	bodies *bodyBudget

	stopOnce sync.Once
	stop     chan struct{}
	draining atomic.Bool
	lnMu     sync.Mutex
	lns      []*onceCloseListener

	apiOnce sync.Once
	apiDoc  []byte
	apiErr  error
}

// NewServer returns a server of the routes over svc, with cfg's zero fields set to their
// defaults. The TLS files, when named, are read now, so that a bad one stops the start.
func NewServer(svc *Services, cfg ServerConfig) (*Server, error) {
	return newServer(svc, cfg, nil)
}

// newServer is NewServer with extra routes after the API's own (tests add theirs).
func newServer(svc *Services, cfg ServerConfig, extra []Route) (*Server, error) {
	if svc == nil {
		return nil, errors.New("appliance: no services")
	}
	cfg = cfg.WithDefaults()
	s := &Server{svc: svc, cfg: cfg, log: svc.Log, stop: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.routes = append(routes(), extra...)
	r, err := newRouter(s.routes)
	if err != nil {
		return nil, err
	}
	s.router = r
	s.met = newServerMetrics(svc)
	s.bodies = &bodyBudget{limit: int64(bodyMemoryBodies) * int64(cfg.MaxBodyBytes)}
	if svc.DB != nil {
		s.idem = newIdempotency(svc.DB)
	}
	if err := s.loadTLS(); err != nil {
		return nil, err
	}
	s.http = &fasthttp.Server{
		Handler:            s.serve,
		ErrorHandler:       s.transportError,
		Name:               "eseal",
		Concurrency:        cfg.MaxConcurrent,
		MaxRequestBodySize: cfg.MaxBodyBytes,
		// A body is read only once its caller is known (Call.readBody), into memory that grows
		// with what arrives: read before, it took the whole length its headers announced, for
		// anyone who sent them.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		ReadTimeout:                  cfg.ReadTimeout,
		WriteTimeout:                 cfg.WriteTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		NoDefaultContentType:         true,
		SecureErrorLogMessage:        true,
		Logger:                       fasthttpLogger{s.log},
	}
	return s, nil
}

func (s *Server) loadTLS() error {
	t := s.cfg.TLS
	if t.Cert == "" && t.Key == "" {
		if t.ClientCA != "" {
			return fmt.Errorf("appliance: tls.client_ca needs tls.cert and tls.key: %w", errs.Config)
		}
		return nil
	}
	if t.Cert == "" || t.Key == "" {
		return fmt.Errorf("appliance: tls.cert and tls.key go together: %w", errs.Config)
	}
	pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		// The error names the files, never the key's content.
		return fmt.Errorf("appliance: TLS certificate %s and key %s: %w", t.Cert, t.Key, errs.Config)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if t.ClientCA != "" {
		pem, err := os.ReadFile(t.ClientCA)
		if err != nil {
			return fmt.Errorf("appliance: tls.client_ca: %w", errors.Join(errs.Config, err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("appliance: tls.client_ca %s holds no PEM certificate: %w", t.ClientCA, errs.Config)
		}
		conf.ClientCAs = pool
		conf.ClientAuth = tls.VerifyClientCertIfGiven
	}
	s.tls = conf
	return nil
}

// Serve serves on ln until Shutdown (then it returns nil at once: wait for Shutdown to
// return before the process ends). With TLS configured, ln carries TLS.
func (s *Server) Serve(ln net.Listener) error {
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
	}
	ol := &onceCloseListener{Listener: ln}
	s.lnMu.Lock()
	s.lns = append(s.lns, ol)
	s.lnMu.Unlock()
	ln = ol
	if s.idem != nil {
		go s.idem.sweep(s.stop, time.Hour, s.log)
	}
	return s.http.Serve(ln)
}

// Shutdown stops accepting connections and waits, at most until ctx is done (or, when ctx
// has no deadline, for ServerConfig.ShutdownTimeout), for the requests in flight to finish;
// idle connections are closed. It returns ctx's error when requests were still running.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
		defer cancel()
	}
	// First stop accepting and let the requests in flight finish with their contexts
	// intact (fasthttp cancels every request's context once its own shutdown begins);
	// answers given meanwhile close their connections.
	s.draining.Store(true)
	s.lnMu.Lock()
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.lnMu.Unlock()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.met.inFlight.Load() > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	if err := s.http.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("appliance: shutdown: requests still in flight: %w", err)
	}
	return nil
}

// Config is the configuration of the server serving the call, with defaults applied (a
// handler reads BatchMax from it); the defaults alone when the call was built outside a
// server.
func (c *Call) Config() ServerConfig {
	if s := c.server(); s != nil {
		return s.cfg
	}
	return ServerConfig{}.WithDefaults()
}

// transportError answers a request fasthttp could not read: a body beyond the limit, a
// timeout, a malformed request.
func (s *Server) transportError(ctx *fasthttp.RequestCtx, err error) {
	var e *Error
	timeout, bigHeader := false, false
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.As(err, &small):
		e = &Error{Kind: errs.LimitExceeded, Message: "the request's headers are too large"}
		bigHeader = true
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		e = &Error{Kind: errs.LimitExceeded, Message: fmt.Sprintf("the request body exceeds the limit of %d bytes", s.cfg.MaxBodyBytes)}
	case isTimeout(err):
		e = &Error{Kind: errs.InvalidInput, Message: "the request was not received in time"}
		timeout = true
	default:
		e = &Error{Kind: errs.InvalidInput, Message: "the request is not well-formed HTTP"}
	}
	id := requestID(ctx)
	ctx.Response.Header.Set(headerRequestID, id)
	writeError(ctx, s.log, id, e)
	switch {
	case timeout:
		ctx.SetStatusCode(fasthttp.StatusRequestTimeout)
	case bigHeader:
		ctx.SetStatusCode(fasthttp.StatusRequestHeaderFieldsTooLarge)
	}
	method := string(ctx.Method())
	s.met.observe(method, "", ctx.Response.StatusCode(), 0)
	s.log.Info("request", "method", method, "route", "", "status", ctx.Response.StatusCode(),
		"request_id", id, "code", e.Kind.Code(), "reason", e.Message)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fasthttpLogger sends fasthttp's own lines to the server's logger.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn(fmt.Sprintf(format, args...), "source", "http")
}

// logger is the services' logger, or slog.Default().
func (svc *Services) logger() *slog.Logger {
	if svc.Log != nil {
		return svc.Log
	}
	return slog.Default()
}

// onceCloseListener closes its listener once; later closes do nothing (Shutdown closes it,
// then fasthttp's own shutdown closes it again).
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
