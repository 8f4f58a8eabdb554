package softkey

import (
	"os"
	"testing"
)

// TestLoadKEKUnsetsEnv: the KEK's environment variable is gone once read,
// whether it held a good key or not.
func TestLoadKEKUnsetsEnv(t *testing.T) {
	for _, v := range []string{"ffeeddccbbaa99887766554433221100", "short"} {
		t.Setenv("ESEAL_TEST_KEK_ONCE", v)
		_, _ = LoadKEK("", "ESEAL_TEST_KEK_ONCE")
		if _, ok := os.LookupEnv("ESEAL_TEST_KEK_ONCE"); ok {
			t.Fatalf("KEK variable (%d bytes) still set after LoadKEK", len(v))
		}
	}
}
