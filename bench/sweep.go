package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// SweepLevels are the concurrencies a sweep runs each operation at.
var SweepLevels = []int{1, 2, 4, 8, 16, 64, 256}

// SweepConfig says what a sweep runs.
type SweepConfig struct {
	// Ops are the operations (default Ops) and Levels the concurrencies (default
	// SweepLevels).
	Ops    []string
	Levels []int
	// Duration and Warmup are each point's.
	Duration, Warmup time.Duration
	// Options prepare the workloads; Documents, when set, give each ofd operation its own
	// document (else Options.Document).
	Options   Options
	Documents map[string][]byte
	// Baseline measures each operation's raw primitives once, after its points, for
	// Duration.
	Baseline bool
	// ServerPID, when positive, is the server's process: its resident memory is read
	// from /proc after each point.
	ServerPID int
	// Progress gets each point's progress bar (a terminal only); Log a line per point.
	Progress, Log io.Writer
}

// Sweep is what a sweep measured, with the machine it ran on.
type Sweep struct {
	Date      time.Time
	CPU       string
	Cores     int
	GoVersion string
	Duration  time.Duration
	Results   []*Result
	// RSS is the server's resident memory after each point, in bytes (as Results), and
	// PeakRSS its high-water mark at the end (VmHWM); zero when unknown.
	RSS     []int64
	PeakRSS int64
	// HalfPeak is verify at a fixed arrival rate of half its peak throughput (the latency
	// goal's point); nil when verify was not swept.
	HalfPeak *Result
}

// halfPeakConns is the connections of the half-peak run: enough that a stall queues
// requests instead of leaving them unsent.
const halfPeakConns = 64

// RunSweep runs every operation at every concurrency against the server env was made on.
func RunSweep(ctx context.Context, env *Env, cfg SweepConfig) (*Sweep, error) {
	if len(cfg.Ops) == 0 {
		cfg.Ops = Ops
	}
	if len(cfg.Levels) == 0 {
		cfg.Levels = SweepLevels
	}
	s := &Sweep{Date: time.Now().UTC(), CPU: cpuModel(), Cores: runtime.NumCPU(), GoVersion: runtime.Version(), Duration: cfg.Duration}
	for _, op := range cfg.Ops {
		o := cfg.Options
		if d, ok := cfg.Documents[op]; ok {
			o.Document = d
		}
		w, err := Prepare(ctx, env, op, o)
		if err != nil {
			return s, err
		}
		var mine []*Result
		for _, c := range cfg.Levels {
			r, err := Run(ctx, w, Config{Concurrency: c, Duration: cfg.Duration, Warmup: cfg.Warmup, Progress: cfg.Progress})
			if err != nil {
				return s, err
			}
			var rss int64
			if cfg.ServerPID > 0 {
				rss, _ = procStatus(cfg.ServerPID, "VmRSS")
			}
			s.Results = append(s.Results, r)
			s.RSS = append(s.RSS, rss)
			mine = append(mine, r)
			if cfg.Log != nil {
				fmt.Fprintf(cfg.Log, "%-12s c=%-4d %9.1f req/s  p99 %8.2f ms  errors: %s\n", op, c, r.OpsPerSec(), ms(r.Latency.Percentile(99)), r.errorsText())
			}
		}
		if op == OpVerify {
			peak := 0.0
			for _, r := range mine {
				peak = max(peak, r.OpsPerSec())
			}
			if peak > 0 {
				r, err := Run(ctx, w, Config{Concurrency: halfPeakConns, Duration: cfg.Duration, Warmup: cfg.Warmup, Rate: peak / 2, Progress: cfg.Progress})
				if err != nil {
					return s, err
				}
				s.HalfPeak = r
				mine = append(mine, r)
				if cfg.Log != nil {
					fmt.Fprintf(cfg.Log, "%-12s rate=%.0f/s (half the peak) p99 %8.2f ms  errors: %s\n", op, r.Rate, ms(r.Latency.Percentile(99)), r.errorsText())
				}
			}
		}
		if cfg.Baseline {
			b, err := MeasureBaseline(ctx, w, cfg.Duration)
			if err != nil {
				return s, err
			}
			for _, r := range mine {
				r.Baseline = b
			}
		}
	}
	if cfg.ServerPID > 0 {
		s.PeakRSS, _ = procStatus(cfg.ServerPID, "VmHWM")
	}
	return s, nil
}

// procStatus reads a memory field (VmRSS, VmHWM) of a process's /proc status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return statusField(b, field)
}

// statusField reads "Field:   1234 kB" from a /proc status text, in bytes.
func statusField(status []byte, field string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("bench: /proc status %s: %q is not a size in kB", field, rest)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 || n > 1<<50 {
			return 0, fmt.Errorf("bench: /proc status %s: %q is not a size in kB", field, rest)
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("bench: /proc status has no %s", field)
}

// cpuModel is the processor's name from /proc/cpuinfo, or runtime.GOARCH.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if name, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
