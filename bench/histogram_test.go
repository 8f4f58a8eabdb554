package bench

import (
	"testing"
	"time"
)

// TestHistogramPercentiles: 1 to 1000 ms, one each: the percentiles are those values to the
// histogram's precision (3 significant digits).
func TestHistogramPercentiles(t *testing.T) {
	h := NewHistogram()
	if h.Percentile(99) != 0 {
		t.Fatal("an empty histogram has a percentile")
	}
	for i := 1000; i >= 1; i-- {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	if h.Count() != 1000 {
		t.Fatalf("count %d", h.Count())
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{50, 500 * time.Millisecond}, {90, 900 * time.Millisecond}, {99, 990 * time.Millisecond}, {99.9, 999 * time.Millisecond}, {100, 1000 * time.Millisecond}} {
		got := h.Percentile(c.q)
		if diff := got - c.want; diff < -c.want/1000 || diff > c.want/1000 {
			t.Errorf("p%v = %v, want %v within 0.1%%", c.q, got, c.want)
		}
	}
	// Out of range values are clamped, not lost.
	h2 := NewHistogram()
	h2.Record(0)
	h2.Record(time.Hour)
	if h2.Count() != 2 || h2.Percentile(100) < 9*time.Minute || h2.Percentile(1) > 2*time.Microsecond {
		t.Fatalf("clamped: count %d, max %v, min %v", h2.Count(), h2.Percentile(100), h2.Percentile(1))
	}
	// Merging adds the counts.
	h.Merge(h2)
	if h.Count() != 1002 {
		t.Fatalf("merged count %d", h.Count())
	}
}

// TestHistogramSkewed: 990 fast and 10 slow requests: p99 is fast, p99.9 slow.
func TestHistogramSkewed(t *testing.T) {
	h := NewHistogram()
	for range 990 {
		h.Record(2 * time.Millisecond)
	}
	for range 10 {
		h.Record(800 * time.Millisecond)
	}
	if p := h.Percentile(99); p > 3*time.Millisecond {
		t.Errorf("p99 %v", p)
	}
	if p := h.Percentile(99.9); p < 790*time.Millisecond {
		t.Errorf("p99.9 %v", p)
	}
}

func TestStatusField(t *testing.T) {
	status := []byte("Name:\teseal\nVmPeak:\t  900 kB\nVmHWM:\t  123456 kB\nVmRSS:\t   65432 kB\n")
	if n, err := statusField(status, "VmHWM"); err != nil || n != 123456<<10 {
		t.Fatalf("VmHWM %d %v", n, err)
	}
	if _, err := statusField(status, "VmSwap"); err == nil {
		t.Fatal("a missing field read")
	}
	if _, err := statusField([]byte("VmRSS: lots\n"), "VmRSS"); err == nil {
		t.Fatal("a malformed field read")
	}
}
