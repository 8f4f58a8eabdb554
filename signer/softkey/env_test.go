package softkey

import (
	"errors"
	"os"
	"testing"

	"github.com/eseal/eseal/signer"
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

func TestReady(t *testing.T) {
	s, _ := newStore(t)
	var r signer.Readier = &signer.Protected{KeyStore: s}
	if err := r.Ready(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := r.Ready(); !errors.Is(err, signer.ErrClosed) {
		t.Fatalf("Ready after Close: %v", err)
	}
}
