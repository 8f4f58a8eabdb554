package bench

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
	"time"
)

func fakeResult(op string, c int, ops int64, lat time.Duration, b *Baseline) *Result {
	h := NewHistogram()
	for range ops {
		h.Record(lat)
	}
	return &Result{Op: op, Concurrency: c, Batch: 1, Items: 1, Duration: time.Second, Ops: ops, Latency: h,
		Errors: map[string]int64{}, Baseline: b}
}

// TestSweepReportAndPlot: the report has the machine in its header and a row per point
// with its ratio; the plot is a PNG.
func TestSweepReportAndPlot(t *testing.T) {
	b := &Baseline{MessageLen: 5000, SignPerSec: 1000, VerifyPerSec: 500, Workers: 2}
	s := &Sweep{Date: time.Date(2026, 12, 1, 17, 0, 0, 0, time.UTC), CPU: "Test CPU", Cores: 2, GoVersion: "go1.26",
		Duration: time.Second, PeakRSS: 150 << 20}
	for _, c := range []int{1, 2, 256} {
		s.Results = append(s.Results, fakeResult(OpVerify, c, int64(100*c), time.Duration(c)*time.Millisecond, b))
		s.RSS = append(s.RSS, int64(c)<<20)
	}
	bad := fakeResult(OpSign, 1, 0, 0, b)
	bad.Errors["BUSY"] = 3
	s.Results = append(s.Results, bad)
	s.RSS = append(s.RSS, 0)
	var md bytes.Buffer
	if err := s.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2026-12-01", "Test CPU", "cores: 2", "go1.26",
		"| verify | 256 | 1 | 25600.0 | 25600.0 |", "| 51.200 | 256 |", "BUSY 3", "150 MiB at its peak", "256 MiB after verify at 256 connections"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
	var img bytes.Buffer
	if err := s.WritePlot(&img); err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(&img)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width < 800 || cfg.Height < 300 {
		t.Fatalf("plot %dx%d", cfg.Width, cfg.Height)
	}
	// A sweep with nothing answered has nothing to draw.
	if err := (&Sweep{Results: []*Result{bad}}).WritePlot(&img); err == nil {
		t.Fatal("an empty plot was drawn")
	}
}

// TestRatio divides by the primitive each operation needs.
func TestRatio(t *testing.T) {
	b := &Baseline{SignPerSec: 1000, VerifyPerSec: 2000, FloorPerSec: 50}
	for _, c := range []struct {
		op    string
		items int
		want  float64
	}{{OpSign, 1, 0.5}, {OpSignBatch, 10, 5}, {OpVerify, 1, 0.25}, {OpVerifyBatch, 10, 2.5}, {OpOFDVerify, 2, 0.5}, {OpOFDSign, 1, 10}} {
		r := fakeResult(c.op, 1, 500, time.Millisecond, b)
		r.Items = c.items
		if got := r.Ratio(); got != c.want {
			t.Errorf("%s: ratio %v, want %v", c.op, got, c.want)
		}
	}
}
