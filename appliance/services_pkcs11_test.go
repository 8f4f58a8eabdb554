//go:build cgo

package appliance

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eseal/eseal/verifier"
)

// hsmConfig is configs/hsm.yaml pointed, through the environment as an operator would, at
// the SM2 test token scripts/hsm/setup.sh builds (the 0x8000 family: profile sansec).
// Without the token the test is skipped, unless ESEAL_PKCS11_REQUIRED=1 (make test) makes
// that a failure.
func hsmConfig(t *testing.T) (*Config, string) {
	t.Helper()
	module, label, pin := os.Getenv("ESEAL_SM2_TOKEN_MODULE"), os.Getenv("ESEAL_SM2_TOKEN_LABEL"), os.Getenv("ESEAL_SM2_TOKEN_PIN")
	if module == "" || label == "" || pin == "" {
		msg := `the SM2 test token is not set up; run eval "$(scripts/hsm/setup.sh DIR)" first`
		if os.Getenv("ESEAL_PKCS11_REQUIRED") == "1" {
			t.Fatal("PKCS#11 tests required (ESEAL_PKCS11_REQUIRED=1) but " + msg)
		}
		t.Skip(msg)
	}
	cfg, err := LoadConfig(filepath.Join("..", "configs", "hsm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.ApplyEnv([]string{"ESEAL_KEYS_PKCS11_MODULE=" + module, "ESEAL_KEYS_PKCS11_TOKEN_LABEL=" + label,
		"ESEAL_KEYS_PKCS11_SESSIONS=4", "ESEAL_REVOCATION_FETCH=false", "ESEAL_REGISTRY_PIN_ITERATIONS=1000",
		"ESEAL_DATA_DIR=" + filepath.Join(t.TempDir(), "data")}); err != nil {
		t.Fatal(err)
	}
	return cfg, pin
}

// TestOpenPKCS11: configs/hsm.yaml opens against the token with the PIN from ESEAL_KEYS_PIN
// (unset once read): the CA's and the audit log's keys are made in the token, no KEK file
// is written, a seal made and used there verifies, and a restart finds the same CA. A wrong
// PIN fails without being shown; a PIN file works as well.
func TestOpenPKCS11(t *testing.T) {
	ctx := context.Background()
	cfg, pin := hsmConfig(t)
	t.Setenv(EnvPIN, pin)
	svc, err := OpenWith(ctx, cfg, OpenOptions{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := os.LookupEnv(EnvPIN); ok {
		t.Fatal("ESEAL_KEYS_PIN is still set after Open")
	}
	if _, err := os.Stat(filepath.Join(cfg.Data.Dir, KEKFileName)); !os.IsNotExist(err) {
		t.Fatal("a KEK file was written on the HSM backend")
	}
	if err := svc.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	holderID := residentID("11010519491231002")
	seal := makePersonalSeal(t, svc, holderID, []byte("246810"))
	data := []byte("licence HSM-0001")
	sig := signWith(t, svc, seal.Code, holderID, []byte("246810"), data)
	if rep := svc.Verifier.VerifySignature(sig, data); rep.Indication != verifier.TotalPassed {
		t.Fatalf("signature made in the token: %s/%s %+v", rep.Indication, rep.SubIndication, rep.Checks)
	}
	root := svc.CA.Root().Raw
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}

	// The PIN from a file, on the same data directory.
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Keys.PKCS11.PINEnv, cfg.Keys.PKCS11.PINFile = "", pinFile
	svc2, err := OpenWith(ctx, cfg, OpenOptions{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(svc2.CA.Root().Raw, root) {
		t.Fatal("the CA root changed on restart")
	}
	if rep := svc2.Verifier.VerifySignature(sig, data); rep.Indication != verifier.TotalPassed {
		t.Fatalf("after a restart: %s/%s", rep.Indication, rep.SubIndication)
	}
	svc2.Close()

	// A wrong PIN: refused, and not shown.
	wrong := "9" + pin + "9"
	if err := os.WriteFile(pinFile, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = OpenWith(ctx, cfg, OpenOptions{Logger: quietLog})
	if err == nil {
		t.Fatal("a wrong PIN opened the token")
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), pin) {
		t.Fatalf("the error shows the PIN: %v", err)
	}
	// Without the variable: an error naming it.
	cfg.Keys.PKCS11.PINEnv, cfg.Keys.PKCS11.PINFile = EnvPIN, ""
	if _, err := OpenWith(ctx, cfg, OpenOptions{Logger: quietLog}); err == nil || !strings.Contains(err.Error(), EnvPIN) {
		t.Fatalf("no PIN variable: %v", err)
	}
}
