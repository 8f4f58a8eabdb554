package trust

import (
	"path/filepath"
	"testing"
)

// BenchmarkTrustSet is the look-up every verification makes, from parallel goroutines.
func BenchmarkTrustSet(b *testing.B) {
	db, err := openStore(filepath.Join(b.TempDir(), "db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := Open(ctx, kvOf(db), Options{Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Put(ctx, "bench", newPKI(b, "Bench").input()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.TrustSet("bench"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
