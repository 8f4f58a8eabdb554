package appliance

import (
	"context"
	"errors"
	"net"
	"time"
)

// ServerConfig configures the HTTP server (the "server" section of the configuration).
type ServerConfig struct {
	// Listen is the address to listen on ("127.0.0.1:8080").
	Listen string `yaml:"listen"`
	// MaxBodyBytes bounds a request body; zero means DefaultMaxBodyBytes.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// ReadTimeout and WriteTimeout bound reading a request and writing its answer.
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout bounds a keep-alive connection waiting for its next request.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxConcurrent bounds the requests served at once; more wait in the kernel's queue.
	MaxConcurrent int `yaml:"max_concurrent"`
	// ShutdownTimeout is how long a graceful shutdown waits for requests in flight.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// AnonymousVerify opens the verification routes to callers without a key.
	AnonymousVerify bool `yaml:"anonymous_verify"`
	// BatchMax bounds the items of one sign or verify batch.
	BatchMax int `yaml:"batch_max"`
	// TLS, when Cert and Key are set, serves HTTPS; with ClientCA, client certificates
	// issued under it authenticate departments' systems (mutual TLS).
	TLS TLSConfig `yaml:"tls"`
}

// TLSConfig names the server's certificate and key and, for mutual TLS, the CA of clients.
type TLSConfig struct {
	Cert     string `yaml:"cert"`
	Key      string `yaml:"key"`
	ClientCA string `yaml:"client_ca"`
}

// DefaultMaxBodyBytes bounds a request body when ServerConfig.MaxBodyBytes is zero: an OFD
// document of 64 MiB.
const DefaultMaxBodyBytes = 64 << 20

// Server serves the API.
type Server struct {
	svc *Services
	cfg ServerConfig
}

// NewServer returns a server of the routes over svc.
func NewServer(svc *Services, cfg ServerConfig) (*Server, error) {
	return nil, errors.New("appliance: the server is not built yet")
}

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	return errors.New("appliance: the server is not built yet")
}

// Shutdown stops accepting connections and waits, at most until ctx is done, for the
// requests in flight to finish.
func (s *Server) Shutdown(ctx context.Context) error { return nil }
