package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/eseal/eseal/appliance"
	"github.com/eseal/eseal/bench"
)

const benchSynopsis = "eseal bench [--target URL] --op OP [--concurrency N] [--duration D] [--warmup W] [--batch B]\n" +
	"         [--rate R] [--key-file F] [--ofd FILE [--page N --x MM --y MM] [--force]] [--baseline] [--json]\n" +
	"  eseal bench --sweep [--target URL] [--duration D] [--warmup W] [--pid PID] [--out DIR] [--ops LIST]"

// The documents the ofd operations send when --ofd is not given (run from the repository):
// a signed vector for ofd-verify, the unsigned one for ofd-sign.
const (
	defaultOFDVerifyFile = "testdata/vectors/ofdrw/ofdrw-reader/src/test/resources/SESV4SignDoc.ofd"
	defaultOFDSignFile   = "testdata/vectors/ofdrw/ofdrw-sign/src/test/resources/helloworld.ofd"
)

// maxOFDFile bounds the document read for the ofd operations (the server's default body
// limit).
const maxOFDFile = appliance.DefaultMaxBodyBytes

type benchOptions struct {
	target, op, keyFile, ofdFile, out, ops string
	concurrency, batch, pid                int
	duration, warmup                       time.Duration
	rate                                   float64
	baseline, json, sweep, force           bool
	page                                   int
	x, y                                   float64
}

// cmdBench runs the load generator (or the sweep) against a running server.
func cmdBench(args []string, stdout, stderr io.Writer) int {
	var o benchOptions
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.target, "target", "http://127.0.0.1:8080", "the server's `URL`")
	fs.StringVar(&o.op, "op", "", "the operation: "+strings.Join(bench.Ops, ", "))
	fs.IntVar(&o.concurrency, "concurrency", 16, "workers, each with its own keep-alive connection")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "the measured time (each point's, with --sweep)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "the warm-up before measuring, not counted")
	fs.IntVar(&o.batch, "batch", bench.DefaultBatch, "items of a sign-batch or verify-batch request")
	fs.Float64Var(&o.rate, "rate", 0, "a fixed arrival rate in requests a second (latency counted from each request's intended start); 0 sends as fast as answered")
	fs.StringVar(&o.keyFile, "key-file", "./data/admin.key", "the admin API key's `file`")
	fs.StringVar(&o.ofdFile, "ofd", "", "the OFD `file` of ofd-verify and ofd-sign (default: a signed vector, the unsigned one)")
	fs.IntVar(&o.page, "page", 1, "ofd-sign: the page to stamp, from 1")
	fs.Float64Var(&o.x, "x", 50, "ofd-sign: the stamp's centre, millimetres from the page's left edge")
	fs.Float64Var(&o.y, "y", 50, "ofd-sign: the stamp's centre, millimetres from the page's top edge")
	fs.BoolVar(&o.force, "force", false, "ofd-sign: sign although the document's existing signatures do not pass on this server")
	fs.BoolVar(&o.baseline, "baseline", false, "also measure the raw SM2 primitives on every core for the same duration, and print the ratio")
	fs.BoolVar(&o.json, "json", false, "print one JSON object instead of the table")
	fs.BoolVar(&o.sweep, "sweep", false, "run every operation at concurrency "+levelsText()+" and write report.md and throughput.png")
	fs.StringVar(&o.ops, "ops", "", "with --sweep: the operations, comma-separated (default all)")
	fs.IntVar(&o.pid, "pid", 0, "with --sweep: the server's process id, to read its resident memory")
	fs.StringVar(&o.out, "out", "bench", "with --sweep: the `DIR` of report.md and throughput.png")
	rest, code, ok := parseCommand(fs, benchSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "eseal bench: "+format+"\n", a...)
		return code
	}
	if len(rest) > 0 {
		return fail(exitUsage, "unexpected argument %q\nusage: %s", rest[0], benchSynopsis)
	}
	if !o.sweep && o.op == "" {
		return fail(exitUsage, "--op is missing (one of %s)\nusage: %s", strings.Join(bench.Ops, ", "), benchSynopsis)
	}
	if !o.sweep && !validOp(o.op) {
		return fail(exitUsage, "--op %q: one of %s", o.op, strings.Join(bench.Ops, ", "))
	}
	if o.sweep && o.rate > 0 {
		return fail(exitUsage, "--rate and --sweep do not go together (a sweep runs closed loops)")
	}
	if o.sweep {
		for _, op := range sweepOps(o.ops) {
			if !validOp(op) {
				return fail(exitUsage, "--ops: %q is not one of %s", op, strings.Join(bench.Ops, ", "))
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	key, err := readKeyFile(o.keyFile)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	conns := o.concurrency
	if o.sweep {
		conns = slicesMax(bench.SweepLevels)
	}
	client, err := appliance.NewClient(o.target, appliance.ClientOptions{Conns: conns + 1})
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	defer client.Close()
	env, err := bench.Setup(ctx, client, key)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	var progress io.Writer
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = f
	}
	opts := bench.Options{Batch: o.batch, Page: o.page, X: o.x, Y: o.y, Force: o.force}
	if o.sweep {
		return runSweep(ctx, env, o, opts, progress, stdout, stderr)
	}
	if o.op == bench.OpOFDVerify || o.op == bench.OpOFDSign {
		if opts.Document, err = readOFD(o.ofdFile, o.op); err != nil {
			return fail(exitUsage, "%v", err)
		}
	}
	w, err := bench.Prepare(ctx, env, o.op, opts)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	r, err := bench.Run(ctx, w, bench.Config{Concurrency: o.concurrency, Duration: o.duration, Warmup: o.warmup,
		Rate: o.rate, Progress: progress})
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	if o.baseline {
		if r.Baseline, err = bench.MeasureBaseline(ctx, w, o.duration); err != nil {
			return fail(exitFailed, "%v", err)
		}
	}
	if o.json {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteTable(stdout)
	}
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	return exitOK
}

func runSweep(ctx context.Context, env *bench.Env, o benchOptions, opts bench.Options, progress io.Writer, stdout, stderr io.Writer) int {
	cfg := bench.SweepConfig{Ops: sweepOps(o.ops), Duration: o.duration, Warmup: o.warmup, Options: opts, Baseline: true,
		ServerPID: o.pid, Progress: progress, Log: stdout, Documents: map[string][]byte{}}
	for _, op := range cfg.Ops {
		if op == bench.OpOFDVerify || op == bench.OpOFDSign {
			doc, err := readOFD(o.ofdFile, op)
			if err != nil {
				fmt.Fprintf(stderr, "eseal bench: %v\n", err)
				return exitUsage
			}
			cfg.Documents[op] = doc
		}
	}
	s, err := bench.RunSweep(ctx, env, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "eseal bench: %v\n", err)
		return exitFailed
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		fmt.Fprintf(stderr, "eseal bench: %v\n", err)
		return exitFailed
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{"report.md", s.WriteMarkdown}, {"throughput.png", s.WritePlot}} {
		path := filepath.Join(o.out, f.name)
		if err := writeFileWith(path, f.write); err != nil {
			fmt.Fprintf(stderr, "eseal bench: %s: %v\n", path, err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "eseal bench: wrote %s\n", path)
	}
	return exitOK
}

// writeFileWith writes a file (mode 0644) through write, replacing it only once written.
func writeFileWith(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bench-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// sweepOps are the operations --ops names, or all.
func sweepOps(list string) []string {
	if list == "" {
		return bench.Ops
	}
	var ops []string
	for op := range strings.SplitSeq(list, ",") {
		ops = append(ops, strings.TrimSpace(op))
	}
	return ops
}

func validOp(op string) bool {
	for _, o := range bench.Ops {
		if o == op {
			return true
		}
	}
	return false
}

func levelsText() string {
	var s []string
	for _, c := range bench.SweepLevels {
		s = append(s, strconv.Itoa(c))
	}
	return strings.Join(s, ", ")
}

func slicesMax(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// readKeyFile reads the admin API key from a file only its owner may read (openSecret); the
// error names the file, never its content.
func readKeyFile(path string) (string, error) {
	f, err := openSecret(path)
	if err != nil {
		return "", fmt.Errorf("--key-file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return "", fmt.Errorf("--key-file %s: %w", path, err)
	}
	if len(b) > 4096 {
		return "", fmt.Errorf("--key-file %s: larger than an API key", path)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("--key-file %s is empty", path)
	}
	return key, nil
}

// readOFD reads the document of an ofd operation: path, or the operation's default vector.
func readOFD(path, op string) ([]byte, error) {
	if path == "" {
		path = defaultOFDVerifyFile
		if op == bench.OpOFDSign {
			path = defaultOFDSignFile
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--ofd: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxOFDFile+1))
	if err != nil {
		return nil, fmt.Errorf("--ofd %s: %w", path, err)
	}
	if len(b) > maxOFDFile {
		return nil, fmt.Errorf("--ofd %s: larger than %d bytes", path, maxOFDFile)
	}
	return b, nil
}
