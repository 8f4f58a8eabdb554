package revocation

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCRLHeld measures the common case: the CRL asked for is held and fresh.
func BenchmarkCRLHeld(b *testing.B) {
	ca := newCA(b, "eseal test root")
	f := newFetcher(b, nil, Config{Now: newClock(t0).nowFunc(), Logger: quiet})
	if err := f.Put(context.Background(), ca.cert, ca.crl(b, 1, t0, t0.Add(time.Hour))); err != nil {
		b.Fatal(err)
	}
	urls := []string{"http://ca.example/root.crl"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.CRL(context.Background(), ca.cert, urls); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
