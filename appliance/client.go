package appliance

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Client calls the API over keep-alive connections to one server: it is what load
// generators and batch tools use (this package being the only one that imports fasthttp).
// It is safe for concurrent use; each concurrent caller gets a connection of its own, up
// to the number of connections it was made with.
type Client struct {
	hc   *fasthttp.HostClient
	host string
}

// ClientOptions configure a Client. Zero values take the defaults named.
type ClientOptions struct {
	// Conns bounds the open connections; zero means 64.
	Conns int
	// Timeout bounds one call, from sending the request to the end of its answer; zero
	// means 2 minutes (a large batch or OFD document).
	Timeout time.Duration
	// MaxAnswerBytes bounds an answer's body; zero means DefaultMaxBodyBytes.
	MaxAnswerBytes int
	// TLS configures HTTPS targets; nil means the system's roots.
	TLS *tls.Config
}

// NewClient returns a client of the server at target, an http or https URL with no path
// ("http://127.0.0.1:8080").
func NewClient(target string, o ClientOptions) (*Client, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("appliance: target %q: %w", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("appliance: target %q: the scheme must be http or https", target)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("appliance: target %q names no host", target)
	}
	if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("appliance: target %q: give the server's root, without a path or query", target)
	}
	if o.Conns <= 0 {
		o.Conns = 64
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.MaxAnswerBytes <= 0 {
		o.MaxAnswerBytes = DefaultMaxBodyBytes
	}
	addr := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	hc := &fasthttp.HostClient{
		Addr:                addr,
		Name:                "eseal-client",
		IsTLS:               u.Scheme == "https",
		TLSConfig:           o.TLS,
		MaxConns:            o.Conns,
		MaxConnWaitTimeout:  o.Timeout,
		ReadTimeout:         o.Timeout,
		WriteTimeout:        o.Timeout,
		MaxResponseBodySize: o.MaxAnswerBytes,
		MaxIdleConnDuration: time.Minute,
		// Calls are counted as made; a failed one is not retried behind the caller's back.
		RetryIfErr:                    func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
	}
	return &Client{hc: hc, host: u.Host}, nil
}

// ErrClientTimeout is the error of a call that got no whole answer within the timeout (or
// no connection in that time); its Timeout method says true.
var ErrClientTimeout error = clientTimeout{}

type clientTimeout struct{}

func (clientTimeout) Error() string { return "appliance: no answer within the timeout" }
func (clientTimeout) Timeout() bool { return true }

// Do makes one call: method on path (with its query), the header's names and values in
// pairs (name, value, name, value...), the body (none when nil). The answer's body is
// appended to dst[:0] and returned with the status. An error means no answer was read (the
// connection failed or timed out).
func (c *Client) Do(method, path string, header []string, body, dst []byte) (status int, answer []byte, err error) {
	if len(header)%2 != 0 {
		return 0, dst, fmt.Errorf("appliance: header %q: names and values go in pairs", header)
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.Header.SetHost(c.host)
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if body != nil {
		req.SetBodyRaw(body)
	}
	if err := c.hc.Do(req, resp); err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrNoFreeConns) {
			return 0, dst, fmt.Errorf("%w: %s %s: %v", ErrClientTimeout, method, path, err)
		}
		return 0, dst, fmt.Errorf("appliance: %s %s: %w", method, path, err)
	}
	return resp.StatusCode(), append(dst[:0], resp.Body()...), nil
}

// Close closes the idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }
