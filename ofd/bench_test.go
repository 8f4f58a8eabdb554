package ofd

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkOpenSignatures opens a real signed invoice and checks its
// signature references (17 of them).
func BenchmarkOpenSignatures(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(vectorsDir(b), "OfdSharp", "src", "UnitTests", "Files", "test.ofd"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := Open(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		sigs, err := p.Signatures()
		if err != nil || len(sigs) != 1 || sigs[0].Err != nil {
			b.Fatal(err)
		}
	}
}
