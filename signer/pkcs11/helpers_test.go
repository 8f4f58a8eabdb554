//go:build cgo

package pkcs11

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

// tokenEnv is a token provided by scripts/hsm/setup.sh.
type tokenEnv struct {
	module, label, pin, dir string
}

// required reports whether a missing module must fail the tests
// (ESEAL_PKCS11_REQUIRED=1, set by setup.sh and CI) instead of skipping.
func required() bool { return os.Getenv("ESEAL_PKCS11_REQUIRED") == "1" }

func envToken(t testing.TB, moduleVar, labelVar, pinVar string) tokenEnv {
	t.Helper()
	e := tokenEnv{module: os.Getenv(moduleVar), label: os.Getenv(labelVar), pin: os.Getenv(pinVar)}
	missing := ""
	switch {
	case e.module == "":
		missing = moduleVar + " is not set"
	case e.label == "" || e.pin == "":
		missing = labelVar + " or " + pinVar + " is not set"
	default:
		if _, err := os.Stat(e.module); err != nil {
			missing = "module " + e.module + " is missing"
		}
	}
	if missing != "" {
		msg := missing + `; run eval "$(scripts/hsm/setup.sh DIR)" first`
		if required() {
			t.Fatal("PKCS#11 tests required (ESEAL_PKCS11_REQUIRED=1) but " + msg)
		}
		t.Skip(msg)
	}
	return e
}

func softHSM(t testing.TB) tokenEnv {
	t.Helper()
	if os.Getenv("SOFTHSM2_CONF") == "" && !required() {
		t.Skip("SOFTHSM2_CONF is not set")
	}
	return envToken(t, "ESEAL_SOFTHSM_MODULE", "ESEAL_SOFTHSM_TOKEN", "ESEAL_SOFTHSM_PIN")
}

func sm2Token(t testing.TB) tokenEnv {
	t.Helper()
	e := envToken(t, "ESEAL_SM2_TOKEN_MODULE", "ESEAL_SM2_TOKEN_LABEL", "ESEAL_SM2_TOKEN_PIN")
	e.dir = os.Getenv("ESEAL_SM2_TOKEN_DIR")
	return e
}

func openStore(t testing.TB, e tokenEnv, profile string, sessions int) *Store {
	t.Helper()
	s, err := Open(Config{Module: e.module, TokenLabel: e.label, PIN: NewSecret(e.pin), Profile: profile, Sessions: sessions, WaitTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// uniqueLabel gives each test its own key label (token keys persist).
func uniqueLabel(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func genKey(t testing.TB, s *Store, prefix string) string {
	t.Helper()
	label := uniqueLabel(prefix)
	if _, err := s.Generate(context.Background(), label, s.prof.Algorithm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Delete(context.Background(), label) })
	return label
}

// hammer runs sign from goroutines goroutines, perG times each, all at once, and fails the
// test on the first error; then the pool must still hold all of its sessions.
func hammer(t *testing.T, s *Store, goroutines, perG int, sign func(g, i int) error) {
	t.Helper()
	want := len(s.pool)
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				if err := sign(g, i); err != nil {
					errs <- fmt.Errorf("goroutine %d, signature %d: %w", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(s.pool); n != want {
		t.Fatalf("pool has %d sessions after the run, want %d", n, want)
	}
}
