package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// JSON is the object `eseal bench --json` prints: these fields exactly, the last three only
// when the baseline was measured.
type JSON struct {
	Op          string           `json:"op"`
	Concurrency int              `json:"concurrency"`
	Batch       int              `json:"batch"`
	DurationS   float64          `json:"duration_s"`
	Ops         int64            `json:"ops"`
	OpsPerSec   float64          `json:"ops_per_sec"`
	P50ms       float64          `json:"p50_ms"`
	P90ms       float64          `json:"p90_ms"`
	P99ms       float64          `json:"p99_ms"`
	P999ms      float64          `json:"p999_ms"`
	Errors      map[string]int64 `json:"errors"`
	// With the baseline.
	RawSignPerSec   *float64 `json:"raw_sign_per_sec,omitempty"`
	RawVerifyPerSec *float64 `json:"raw_verify_per_sec,omitempty"`
	Ratio           *float64 `json:"ratio,omitempty"`
}

// JSON is r as `eseal bench --json` prints it.
func (r *Result) JSON() JSON {
	j := JSON{Op: r.Op, Concurrency: r.Concurrency, Batch: r.Batch, DurationS: r.Duration.Seconds(),
		Ops: r.Ops, OpsPerSec: r.OpsPerSec(),
		P50ms: ms(r.Latency.Percentile(50)), P90ms: ms(r.Latency.Percentile(90)),
		P99ms: ms(r.Latency.Percentile(99)), P999ms: ms(r.Latency.Percentile(99.9)),
		Errors: maps.Clone(r.Errors)}
	if j.Errors == nil {
		j.Errors = map[string]int64{}
	}
	if b := r.Baseline; b != nil {
		s, v, ratio := b.SignPerSec, b.VerifyPerSec, r.Ratio()
		j.RawSignPerSec, j.RawVerifyPerSec, j.Ratio = &s, &v, &ratio
	}
	return j
}

// WriteJSON writes r's JSON object on one line.
func (r *Result) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r.JSON())
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteTable writes r for people: throughput, latency percentiles, errors by code and, with
// the baseline, the raw primitives and the ratio.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	mode := "closed loop (each worker sends when answered)"
	if r.Rate > 0 {
		mode = fmt.Sprintf("fixed rate %.0f req/s (latency from the intended start)", r.Rate)
	}
	fmt.Fprintf(tw, "operation\t%s\n", r.Op)
	fmt.Fprintf(tw, "concurrency\t%d\n", r.Concurrency)
	if r.Batch > 1 {
		fmt.Fprintf(tw, "batch\t%d\n", r.Batch)
	}
	fmt.Fprintf(tw, "load\t%s\n", mode)
	fmt.Fprintf(tw, "duration\t%v\n", r.Duration)
	fmt.Fprintf(tw, "requests\t%d\n", r.Ops)
	fmt.Fprintf(tw, "requests/s\t%.1f\n", r.OpsPerSec())
	if r.Items != 1 {
		fmt.Fprintf(tw, "%s/s\t%.1f\n", r.itemName(), r.ItemsPerSec())
	}
	for _, p := range []struct {
		name string
		q    float64
	}{{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}} {
		fmt.Fprintf(tw, "latency %s\t%.3f ms\n", p.name, ms(r.Latency.Percentile(p.q)))
	}
	if len(r.Errors) == 0 {
		fmt.Fprintf(tw, "errors\tnone\n")
	} else {
		for _, c := range slices.Sorted(maps.Keys(r.Errors)) {
			fmt.Fprintf(tw, "errors %s\t%d\n", c, r.Errors[c])
		}
	}
	if b := r.Baseline; b != nil {
		fmt.Fprintf(tw, "raw sm2 sign/s\t%.1f (%d cores, %d-byte TBS_Sign)\n", b.SignPerSec, b.Workers, b.MessageLen)
		fmt.Fprintf(tw, "raw sm2 verify/s\t%.1f\n", b.VerifyPerSec)
		if r.Op == OpOFDSign {
			fmt.Fprintf(tw, "ofd-sign floor/s\t%.1f (inflate and SM3 of the protected files, one SM2 signature)\n", b.FloorPerSec)
		}
		fmt.Fprintf(tw, "ratio\t%.3f (%s)\n", r.Ratio(), r.ratioText())
	}
	return tw.Flush()
}

func (r *Result) itemName() string {
	switch r.Op {
	case OpSign, OpSignBatch:
		return "signatures made"
	case OpOFDSign:
		return "documents signed"
	}
	return "signatures verified"
}

func (r *Result) ratioText() string {
	switch r.Op {
	case OpSign, OpSignBatch:
		return "signatures made/s ÷ raw signs/s"
	case OpOFDSign:
		return "documents/s ÷ the in-process floor's"
	}
	return "signatures verified/s ÷ raw verifies/s"
}

// errorsText is r's errors as "CODE n, CODE n", or "none".
func (r *Result) errorsText() string {
	if len(r.Errors) == 0 {
		return "none"
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(r.Errors)) {
		parts = append(parts, fmt.Sprintf("%s %d", c, r.Errors[c]))
	}
	return strings.Join(parts, ", ")
}
