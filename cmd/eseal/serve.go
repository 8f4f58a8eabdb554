package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/eseal/eseal/appliance"
)

const serveSynopsis = "eseal serve [--config FILE] [--data DIR] [--listen ADDR]"

// defaultConfigFile is read by serve when --config is not given and it exists (run from the
// repository); otherwise the built-in defaults, the same values, are used.
const defaultConfigFile = "configs/eseal.yaml"

// serveOptions are serve's flags.
type serveOptions struct {
	config, data, listen string
}

// cmdServe runs the appliance until SIGTERM or SIGINT, then shuts it down gracefully.
func cmdServe(args []string, stdout, stderr io.Writer) int {
	cfg, code, ok := serveConfig(args, os.Environ(), stdout, stderr)
	if !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serve(ctx, cfg, stdout); err != nil {
		fmt.Fprintf(stderr, "eseal serve: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// serveConfig parses serve's flags and resolves the configuration: the file (--config, else
// configs/eseal.yaml when present, else the built-in defaults), then the environment's
// ESEAL_<SECTION>_<KEY> overrides, then --data and --listen. ok is false when the caller
// must exit with code (help, or a usage or configuration error, named on stderr).
func serveConfig(args, environ []string, stdout, stderr io.Writer) (cfg *appliance.Config, code int, ok bool) {
	var o serveOptions
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&o.config, "config", "", "the configuration `FILE` (YAML); default "+defaultConfigFile+" when present, else the built-in defaults")
	fs.StringVar(&o.data, "data", "", "the data `DIR`, overriding data.dir")
	fs.StringVar(&o.listen, "listen", "", "the `ADDR` (host:port) to listen on, overriding server.listen")
	rest, code, ok := parseCommand(fs, serveSynopsis, args, stdout, stderr)
	if !ok {
		return nil, code, false
	}
	fail := func(err error) (*appliance.Config, int, bool) {
		fmt.Fprintf(stderr, "eseal serve: %v\n", err)
		return nil, exitUsage, false
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "eseal serve: unexpected argument %q\nusage: %s\n", rest[0], serveSynopsis)
		return nil, exitUsage, false
	}
	var err error
	switch {
	case o.config != "":
		cfg, err = appliance.LoadConfig(o.config)
	default:
		if _, statErr := os.Stat(defaultConfigFile); statErr == nil {
			cfg, err = appliance.LoadConfig(defaultConfigFile)
		} else {
			cfg = appliance.DefaultConfig()
		}
	}
	if err != nil {
		return fail(err)
	}
	if err := cfg.ApplyEnv(environ); err != nil {
		return fail(err)
	}
	if o.data != "" {
		cfg.Data.Dir = o.data
	}
	if o.listen != "" {
		cfg.Server.Listen = o.listen
	}
	if err := cfg.Validate(); err != nil {
		return fail(err)
	}
	return cfg, 0, true
}

// serve opens the services, makes the first admin key on a new data directory, and serves
// until ctx ends; then it shuts down within server.shutdown_timeout and closes everything.
func serve(ctx context.Context, cfg *appliance.Config, stdout io.Writer) (err error) {
	svc, err := appliance.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := svc.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	path, err := appliance.Bootstrap(ctx, svc, cfg.Data.Dir)
	if err != nil {
		return err
	}
	if path != "" {
		fmt.Fprintf(stdout, "eseal serve: first start: the admin API key is in %s (mode 0600)\n", path)
	}
	srv, err := appliance.NewServer(svc, cfg.ServerSettings())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(stdout, "eseal serve: listening on %s, data in %s\n", ln.Addr(), cfg.Data.Dir)
	admin, adminAddr, err := appliance.ListenAdmin(cfg.Admin, svc.Log)
	if err != nil {
		ln.Close()
		return err
	}
	if admin != nil {
		fmt.Fprintf(stdout, "eseal serve: profiles on http://%s/debug/pprof/ (admin listener)\n", adminAddr)
		defer func() {
			actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = admin.Shutdown(actx)
		}()
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
