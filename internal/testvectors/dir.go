// Package testvectors finds the shared conformance vectors for tests.
package testvectors

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared vectors folder: $ESEAL_VECTORS, or shared/vectors in the working
// directory, beside it, or beside one of its parents. Missing vectors fail the test: they are
// part of the project, not an optional extra.
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
		for _, c := range []string{filepath.Join(dir, "shared", "vectors"), filepath.Join(dir, "..", "shared", "vectors")} {
			if _, err := os.Stat(filepath.Join(c, "EXPECTED_RESULTS.json")); err == nil {
				return c
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("conformance vectors not found: set ESEAL_VECTORS or keep shared/vectors beside the repository")
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
