package appliance

import (
	"bytes"
	"context"
	"time"

	"github.com/eseal/eseal/errs"
	"github.com/valyala/fasthttp"
)

// serverKey is the user value under which a request carries its server, for the routes that
// describe the server itself (metrics, the OpenAPI document).
const serverKey = "eseal.server"

// server is the server serving c; nil when the call was built outside one.
func (c *Call) server() *Server {
	s, _ := c.ctx.UserValue(serverKey).(*Server)
	return s
}

// readyTimeout bounds a readiness check.
const readyTimeout = 5 * time.Second

// Health is the answer of /healthz and /readyz.
type Health struct {
	Status string `json:"status"`
}

// opsRoutes are the ops routes: liveness, readiness, metrics and the OpenAPI document. They
// need no key.
func opsRoutes() []Route {
	return []Route{
		{
			Method: fasthttp.MethodGet, Path: "/healthz", Anonymous: AlwaysAnonymous,
			Summary:  "Liveness: 200 while the server serves.",
			Response: Health{},
			Handle:   func(c *Call) error { return c.JSON(fasthttp.StatusOK, Health{Status: "ok"}) },
		},
		{
			Method: fasthttp.MethodGet, Path: "/readyz", Anonymous: AlwaysAnonymous,
			Summary:  "Readiness: 200 when the store, the key store and the HSM pool answer, else 503 UNAVAILABLE.",
			Response: Health{},
			Handle:   handleReady,
		},
		{
			Method: fasthttp.MethodGet, Path: "/metrics", Anonymous: AlwaysAnonymous,
			Summary: "Metrics in the Prometheus text format.",
			Handle:  handleMetrics,
		},
		{
			Method: fasthttp.MethodGet, Path: "/openapi.json", Anonymous: AlwaysAnonymous,
			Summary: "This API described in OpenAPI 3.0.",
			Handle:  handleOpenAPI,
		},
	}
}

func handleReady(c *Call) error {
	if c.svc.Ready != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Context()), readyTimeout)
		defer cancel()
		if err := c.svc.Ready(ctx); err != nil {
			// The cause is logged, not shown: it may name files or devices.
			c.svc.logger().Warn("not ready", "error", err.Error())
			return &Error{Kind: errs.Unavailable, Message: "not ready: " + errs.KindOf(err).Error()}
		}
	}
	return c.JSON(fasthttp.StatusOK, Health{Status: "ready"})
}

func handleMetrics(c *Call) error {
	s := c.server()
	if s == nil {
		return &Error{Kind: errs.Unavailable, Message: "no server"}
	}
	var b bytes.Buffer
	s.met.write(&b)
	return c.Bytes(fasthttp.StatusOK, "text/plain; version=0.0.4; charset=utf-8", b.Bytes())
}

func handleOpenAPI(c *Call) error {
	s := c.server()
	if s == nil {
		return &Error{Kind: errs.Unavailable, Message: "no server"}
	}
	doc, err := s.openAPI()
	if err != nil {
		return err
	}
	return c.Bytes(fasthttp.StatusOK, "application/json; charset=utf-8", doc)
}
