package bench_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eseal/eseal/bench"
	"github.com/eseal/eseal/internal/testvectors"
)

// jsonFields are the fields of `eseal bench --json`, exactly; with the baseline, three more.
var (
	jsonFields     = []string{"batch", "concurrency", "duration_s", "errors", "op", "ops", "ops_per_sec", "p50_ms", "p90_ms", "p999_ms", "p99_ms"}
	baselineFields = []string{"ratio", "raw_sign_per_sec", "raw_verify_per_sec"}
)

func jsonKeys(t *testing.T, r *bench.Result) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("--json is not one line: %q", buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRunEveryOpAgainstServer runs each operation for 1 s against the appliance on a
// loopback port: requests answered, none failed, the JSON object's fields exactly those
// listed; with the baseline, the raw primitives and the ratio are positive.
func TestRunEveryOpAgainstServer(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	env, err := bench.Setup(ctx, s.client, s.admin)
	if err != nil {
		t.Fatal(err)
	}
	vectors := testvectors.Dir(t)
	signed, err := os.ReadFile(filepath.Join(vectors, "ofdrw/ofdrw-reader/src/test/resources/SESV4SignDoc.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := os.ReadFile(filepath.Join(vectors, "ofdrw/ofdrw-sign/src/test/resources/helloworld.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range bench.Ops {
		t.Run(op, func(t *testing.T) {
			doc := signed
			if op == bench.OpOFDSign {
				doc = unsigned
			}
			w, err := bench.Prepare(ctx, env, op, bench.Options{Batch: 20, Signatures: 40, Document: doc})
			if err != nil {
				t.Fatal(err)
			}
			if w.TBSLen <= 0 {
				t.Fatalf("TBS_Sign size %d", w.TBSLen)
			}
			if op == bench.OpOFDSign && len(w.Protected) == 0 {
				t.Fatal("ofd-sign: the files the signature protects are unknown")
			}
			if op == bench.OpOFDSign {
				// The floor reads every protected file from the document as signed.
				zr, err := zip.NewReader(bytes.NewReader(w.Signed), int64(len(w.Signed)))
				if err != nil {
					t.Fatalf("ofd-sign: the signed document: %v", err)
				}
				have := map[string]bool{}
				for _, f := range zr.File {
					have[strings.TrimPrefix(path.Clean("/"+f.Name), "/")] = true
				}
				for _, n := range w.Protected {
					if !have[strings.TrimPrefix(path.Clean("/"+n), "/")] {
						t.Fatalf("ofd-sign: %s is protected but not in the signed document", n)
					}
				}
			}
			r, err := bench.Run(ctx, w, bench.Config{Concurrency: 2, Duration: time.Second, Warmup: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if r.Ops == 0 || r.Latency.Count() != r.Ops {
				t.Fatalf("ops %d, latencies %d", r.Ops, r.Latency.Count())
			}
			if len(r.Errors) != 0 {
				t.Fatalf("errors: %v", r.Errors)
			}
			m := jsonKeys(t, r)
			if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, jsonFields) {
				t.Fatalf("JSON fields %v, want %v", got, jsonFields)
			}
			if m["op"] != op || m["ops"].(float64) != float64(r.Ops) || m["p99_ms"].(float64) <= 0 {
				t.Fatalf("JSON %v", m)
			}
			if op == bench.OpVerify || op == bench.OpSignBatch || op == bench.OpOFDSign {
				r.Baseline, err = bench.MeasureBaseline(ctx, w, 200*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				if r.Baseline.SignPerSec <= 0 || r.Baseline.VerifyPerSec <= 0 || r.Ratio() <= 0 ||
					(op == bench.OpOFDSign) != (r.Baseline.FloorPerSec > 0) {
					t.Fatalf("baseline %+v, ratio %v", r.Baseline, r.Ratio())
				}
				m := jsonKeys(t, r)
				want := slices.Sorted(slices.Values(append(slices.Clone(jsonFields), baselineFields...)))
				if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
					t.Fatalf("JSON fields %v, want %v", got, want)
				}
			}
		})
	}
}

// TestPrepareRefusesUnknownOp names the operation.
func TestPrepareRefusesUnknownOp(t *testing.T) {
	_, err := bench.Prepare(context.Background(), &bench.Env{}, "sing", bench.Options{})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(`"sing"`)) {
		t.Fatalf("err = %v", err)
	}
}

// stallingServer is a fake workload: each call takes about pause, except the call numbered
// stallAt, which takes stall (a server that stops answering for a while).
type stallingServer struct {
	pause, stall time.Duration
	stallAt      int64
	calls        atomic.Int64
}

func (f *stallingServer) workload() *bench.Workload {
	return &bench.Workload{Op: "fake", Batch: 1, Items: 1, NewCall: func(int) func() string {
		return func() string {
			if f.calls.Add(1) == f.stallAt {
				time.Sleep(f.stall)
			} else {
				time.Sleep(f.pause)
			}
			return ""
		}
	}}
}

// TestCoordinatedOmissionCorrected: a server stalls once for 300 ms. A closed loop records
// one slow request; at a fixed rate the requests due during the stall are charged the time
// they waited, so the 90th percentile shows the stall.
func TestCoordinatedOmissionCorrected(t *testing.T) {
	const stall = 300 * time.Millisecond
	closed := &stallingServer{pause: time.Millisecond, stall: stall, stallAt: 20}
	r, err := bench.Run(context.Background(), closed.workload(), bench.Config{Concurrency: 1, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Latency.Max(); got < stall {
		t.Fatalf("closed loop: the stall is not recorded: max %v", got)
	}
	if got := r.Latency.Percentile(90); got >= stall/2 {
		t.Fatalf("closed loop: p90 %v; only one request was slow", got)
	}
	fixed := &stallingServer{pause: time.Millisecond, stall: stall, stallAt: 20}
	r, err = bench.Run(context.Background(), fixed.workload(), bench.Config{Concurrency: 1, Duration: time.Second, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	// About 60 of 200 requests were due during the stall, waiting 300 ms down to 0.
	if got := r.Latency.Percentile(90); got < 50*time.Millisecond {
		t.Fatalf("fixed rate: p90 %v; the requests due during the stall were not charged", got)
	}
	// Every request due in the measured time is counted once, answered or not.
	if r.Latency.Count() != 200 || r.Ops > 200 {
		t.Fatalf("fixed rate 200/s for 1 s: %d latencies, %d answered", r.Latency.Count(), r.Ops)
	}
}

// TestCoordinatedOmissionCountsRequestsNeverSent: a server that stops answering for longer
// than the run leaves the requests due meanwhile unsent; each is still counted with the time
// it waited.
func TestCoordinatedOmissionCountsRequestsNeverSent(t *testing.T) {
	f := &stallingServer{pause: time.Millisecond, stall: 1500 * time.Millisecond, stallAt: 2}
	r, err := bench.Run(context.Background(), f.workload(), bench.Config{Concurrency: 1, Duration: time.Second, Rate: 100})
	if err != nil {
		t.Fatal(err)
	}
	if r.Ops > 5 {
		t.Fatalf("%d requests answered by a stalled server", r.Ops)
	}
	if got := r.Latency.Count(); got != 100 {
		t.Fatalf("%d latencies recorded; 100 requests were due", got)
	}
	if got := r.Latency.Percentile(50); got < 300*time.Millisecond {
		t.Fatalf("p50 %v; the unsent requests waited until the end", got)
	}
}

// TestErrorsCountedByCode: a workload whose calls fail are counted by code, not as
// operations.
func TestErrorsCountedByCode(t *testing.T) {
	var n atomic.Int64
	w := &bench.Workload{Op: "fake", NewCall: func(int) func() string {
		return func() string {
			time.Sleep(time.Millisecond)
			switch n.Add(1) % 3 {
			case 0:
				return "BUSY"
			case 1:
				return bench.CodeTransport
			}
			return ""
		}
	}}
	r, err := bench.Run(context.Background(), w, bench.Config{Concurrency: 2, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors["BUSY"] == 0 || r.Errors[bench.CodeTransport] == 0 || r.Ops == 0 || len(r.Errors) != 2 {
		t.Fatalf("ops %d, errors %v", r.Ops, r.Errors)
	}
	if r.Latency.Count() != r.Ops {
		t.Fatalf("%d latencies for %d operations", r.Latency.Count(), r.Ops)
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(table.Bytes(), []byte("errors BUSY")) {
		t.Fatalf("table:\n%s", table.String())
	}
}

// TestConfigValidate names each bad setting.
func TestConfigValidate(t *testing.T) {
	for _, c := range []bench.Config{
		{Concurrency: 0, Duration: time.Second},
		{Concurrency: 1, Duration: 0},
		{Concurrency: 1, Duration: time.Second, Warmup: -1},
		{Concurrency: 1, Duration: time.Second, Rate: -5},
		{Concurrency: 1, Duration: time.Hour, Rate: 1e9},
	} {
		if _, err := bench.Run(context.Background(), &bench.Workload{NewCall: func(int) func() string { return nil }}, c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// TestBaselinePositive: the raw primitives and the OFD signing floor of the unsigned vector
// count calls; bad arguments are errors.
func TestBaselinePositive(t *testing.T) {
	ctx := context.Background()
	signs, verifies, err := bench.RawSM2(ctx, 4000, 100*time.Millisecond, 2)
	if err != nil || signs <= 0 || verifies <= 0 {
		t.Fatalf("raw SM2: %v sign/s, %v verify/s, %v", signs, verifies, err)
	}
	doc, err := os.ReadFile(filepath.Join(testvectors.Dir(t), "ofdrw/ofdrw-sign/src/test/resources/helloworld.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	floor, err := bench.OFDSignFloor(ctx, doc, nil, 4000, 100*time.Millisecond, 2)
	if err != nil || floor <= 0 {
		t.Fatalf("floor %v/s, %v", floor, err)
	}
	floor, err = bench.OFDSignFloor(ctx, doc, []string{"/OFD.xml", "Doc_0/Document.xml"}, 4000, 100*time.Millisecond, 2)
	if err != nil || floor <= 0 {
		t.Fatalf("floor of named files %v/s, %v", floor, err)
	}
	if _, err := bench.OFDSignFloor(ctx, doc, []string{"Doc_0/none.xml"}, 4000, 10*time.Millisecond, 1); err == nil {
		t.Error("the floor of a file the document lacks")
	}
	if _, _, err := bench.RawSM2(ctx, 0, time.Millisecond, 1); err == nil {
		t.Error("raw SM2 over an empty message")
	}
	if _, err := bench.OFDSignFloor(ctx, []byte("not an OFD"), nil, 4000, 10*time.Millisecond, 1); err == nil {
		t.Error("the floor of a document that is not an OFD")
	}
}

// TestClosedLoopCountsRequestsLongerThanWarmup: in a closed loop a request counts when it
// finishes in the measured time, so requests that take longer than the warm-up (large
// batches at high concurrency) are not all lost.
func TestClosedLoopCountsRequestsLongerThanWarmup(t *testing.T) {
	slow := &stallingServer{pause: 700 * time.Millisecond}
	r, err := bench.Run(context.Background(), slow.workload(), bench.Config{Concurrency: 2, Duration: time.Second, Warmup: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Each worker's first request finishes at about 0.7 s, its second at 1.4 s, both in
	// the measured time (0.5 s to 1.5 s).
	if r.Ops < 2 || r.Ops > 4 {
		t.Fatalf("%d requests counted", r.Ops)
	}
}
