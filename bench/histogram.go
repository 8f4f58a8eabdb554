package bench

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies recorded by a histogram: from 1 µs to 10 minutes, at three significant digits.
const (
	minLatency = time.Microsecond
	maxLatency = 10 * time.Minute
)

// Histogram records latencies in an HDR histogram (microseconds, 3 significant digits),
// so that the high percentiles are exact to 0.1% whatever the spread. It is not safe for
// concurrent use: each worker keeps one, and they are merged at the end.
type Histogram struct {
	h *hdrhistogram.Histogram
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdrhistogram.New(int64(minLatency/time.Microsecond), int64(maxLatency/time.Microsecond), 3)}
}

// Record adds one latency; below 1 µs counts as 1 µs and above 10 minutes as 10 minutes.
func (h *Histogram) Record(d time.Duration) {
	us := max(int64(d/time.Microsecond), int64(minLatency/time.Microsecond))
	us = min(us, int64(maxLatency/time.Microsecond))
	// In range by construction, so RecordValue cannot fail.
	_ = h.h.RecordValue(us)
}

// Merge adds every latency of o.
func (h *Histogram) Merge(o *Histogram) { h.h.Merge(o.h) }

// Count is the number of latencies recorded.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Percentile is the latency at or below which q percent (0 < q ≤ 100) of those recorded
// fall; zero when none was recorded.
func (h *Histogram) Percentile(q float64) time.Duration {
	if h.h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.h.ValueAtQuantile(q)) * time.Microsecond
}

// Max is the largest latency recorded (to the histogram's precision).
func (h *Histogram) Max() time.Duration { return time.Duration(h.h.Max()) * time.Microsecond }

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
