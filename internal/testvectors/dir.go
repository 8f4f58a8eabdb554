// Package testvectors finds the conformance vectors for tests: real files from many producers,
// with their provenance (PROVENANCE.md) and what verifying them gives (EXPECTED_RESULTS.json),
// kept in the repository under testdata/vectors.
package testvectors

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the vectors folder: $ESEAL_VECTORS if set, else testdata/vectors at the root of
// the module (found by walking up from the working directory to go.mod). Missing vectors fail
// the test: they are part of the project, not an optional extra.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("ESEAL_VECTORS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "testdata", "vectors")
			if _, err := os.Stat(filepath.Join(d, "EXPECTED_RESULTS.json")); err != nil {
				t.Fatalf("conformance vectors missing from the repository: %v", err)
			}
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("conformance vectors not found: no go.mod above the working directory and ESEAL_VECTORS unset")
		}
		dir = parent
	}
}

// Read returns the bytes of a vector file, by its path inside the vectors folder.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
