package appliance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/eseal/eseal/errs"
)

// # The admin listener
//
// Profiles of the running server (pprof: CPU, heap, allocations, goroutines, blocking,
// mutexes, execution traces) are served on a listener of their own, on a loopback address,
// off unless configured, and never on the public listener (whose router knows no
// /debug/pprof/ path and answers it 404). They carry no secret but describe the process in
// detail, and a CPU profile or trace costs the server while it runs: an operator reaches
// them through the machine, for instance
//
//	go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=30
//	go tool pprof -sample_index=alloc_space http://127.0.0.1:6060/debug/pprof/allocs

// AdminConfig configures the admin listener (the "admin" section of the configuration).
type AdminConfig struct {
	// Listen is the loopback address of the admin listener ("127.0.0.1:6060"); empty, the
	// default, turns it off. A host other than a loopback address or "localhost" is refused.
	Listen string `yaml:"listen"`
}

// Validate refuses an address that is not on the loopback interface.
func (a AdminConfig) Validate() error {
	if a.Listen == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(a.Listen)
	if err != nil {
		return fmt.Errorf("admin.listen %q: not host:port: %w", a.Listen, errs.Config)
	}
	if port == "" {
		return fmt.Errorf("admin.listen %q: no port: %w", a.Listen, errs.Config)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("admin.listen %q: profiles are served on a loopback address only (127.0.0.1, ::1, localhost): %w", a.Listen, errs.Config)
	}
	return nil
}

// AdminServer serves the profiles on the admin listener.
type AdminServer struct {
	http *http.Server
	log  *slog.Logger
}

// NewAdminServer returns the admin server of cfg (which must name an address), logging to
// log (nil means slog.Default()).
func NewAdminServer(cfg AdminConfig, log *slog.Logger) (*AdminServer, error) {
	if cfg.Listen == "" {
		return nil, fmt.Errorf("appliance: the admin listener is off (admin.listen is empty): %w", errs.Config)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("appliance: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &AdminServer{log: log, http: &http.Server{
		Handler:           loopbackOnly(mux),
		ReadHeaderTimeout: 10 * time.Second,
		// A CPU profile or a trace runs for as long as it was asked (seconds=N).
		WriteTimeout: 10 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}, nil
}

// loopbackOnly refuses callers not on the loopback interface (the listener should have none).
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			http.Error(w, "profiles are served to loopback callers only", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Serve serves the profiles on ln until Shutdown; then it returns nil.
func (a *AdminServer) Serve(ln net.Listener) error {
	a.log.Info("admin listener: profiles at /debug/pprof/", "addr", ln.Addr().String())
	if err := a.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("appliance: admin listener: %w", err)
	}
	return nil
}

// Shutdown stops the admin listener, waiting until ctx is done for profiles being taken.
func (a *AdminServer) Shutdown(ctx context.Context) error {
	if err := a.http.Shutdown(ctx); err != nil {
		return fmt.Errorf("appliance: admin listener shutdown: %w", err)
	}
	return nil
}

// ListenAdmin listens on cfg.Listen and serves the profiles there in the background; it
// returns nil and no error when the listener is off. Stop it with Shutdown.
func ListenAdmin(cfg AdminConfig, log *slog.Logger) (*AdminServer, net.Addr, error) {
	if cfg.Listen == "" {
		return nil, nil, nil
	}
	a, err := NewAdminServer(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("appliance: admin listener: %w", err)
	}
	go func() {
		if err := a.Serve(ln); err != nil {
			a.log.Error("admin listener stopped", "err", err)
		}
	}()
	return a, ln.Addr(), nil
}
