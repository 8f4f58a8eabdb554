// Package benchratio measures one implementation against the primitive it rests on, in the
// same benchmark run: the two alternate in rounds, so that load from other processes on a
// shared machine falls on both alike.
package benchratio

import (
	"sort"
	"testing"
	"time"
)

// Side is one of the two things compared: run does n operations.
type Side struct {
	Name string
	Run  func(n int) error
}

// Interleave runs b.N operations of each side in alternating rounds of round operations and
// reports NAME-ns/op for both, and ours/base as the ratio of throughputs over the whole run
// (-total) and the median of the rounds (-median). A ratio of 1 means ours is as fast as base.
func Interleave(b *testing.B, round int, base, ours Side) {
	b.Helper()
	var tBase, tOurs time.Duration
	var ratios []float64
	b.ResetTimer()
	for done := 0; done < b.N; done += round {
		n := min(round, b.N-done)
		t0 := time.Now()
		if err := base.Run(n); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := ours.Run(n); err != nil {
			b.Fatal(err)
		}
		dBase, dOurs := t1.Sub(t0), time.Since(t1)
		tBase += dBase
		tOurs += dOurs
		ratios = append(ratios, float64(dBase)/float64(dOurs))
	}
	b.StopTimer()
	sort.Float64s(ratios)
	b.ReportMetric(float64(tBase.Nanoseconds())/float64(b.N), base.Name+"-ns/op")
	b.ReportMetric(float64(tOurs.Nanoseconds())/float64(b.N), ours.Name+"-ns/op")
	b.ReportMetric(float64(tBase)/float64(tOurs), ours.Name+"/"+base.Name+"-total")
	b.ReportMetric(ratios[len(ratios)/2], ours.Name+"/"+base.Name+"-median")
}
