package backend

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"

	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/store"
)

func TestOpenSoftKey(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t.Setenv("ESEAL_TEST_BACKEND_KEK", "00112233445566778899aabbccddeeff")
	ks, err := Open(Config{SoftKey: SoftKeyConfig{KEKEnv: "ESEAL_TEST_BACKEND_KEK"}}, store.MustSpace(db, "softkey"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	ctx := context.Background()
	ki, err := ks.Generate(ctx, "k", signer.SM2)
	if err != nil {
		t.Fatal(err)
	}
	sg, _ := ks.Signer(ctx, "k")
	sig, err := sg.Sign(rand.Reader, []byte("m"), sm2.DefaultSM2SignerOpts)
	if err != nil || !sm2.VerifyASN1WithSM2(ki.Public.(*ecdsa.PublicKey), nil, []byte("m"), sig) {
		t.Fatalf("sign: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown backend", Config{Backend: "tpm"}, `unknown key store backend "tpm"`},
		{"softkey without KEK", Config{}, "kek_file or kek_env"},
		{"pkcs11 without PIN env", Config{Backend: "pkcs11"}, "pin_env"},
		{"pkcs11 without module", Config{Backend: "pkcs11", PKCS11: PKCS11Config{PINEnv: "X", TokenLabel: "t", Profile: "sansec"}}, "module path"},
		{"pkcs11 PIN env unset", Config{Backend: "pkcs11", PKCS11: PKCS11Config{PINEnv: "ESEAL_TEST_UNSET_PIN", Module: "/m.so", TokenLabel: "t", Profile: "sansec"}}, "ESEAL_TEST_UNSET_PIN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			os.Unsetenv("ESEAL_TEST_UNSET_PIN")
			_, err := Open(c.cfg, nil, nil)
			if !errors.Is(err, signer.ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrConfig mentioning %q", err, c.want)
			}
		})
	}
}

// TestSecretsLeaveEnv: the KEK and HSM PIN variables are unset once read.
func TestSecretsLeaveEnv(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t.Setenv("ESEAL_TEST_ENV_KEK", "00112233445566778899aabbccddeeff")
	ks, err := Open(Config{SoftKey: SoftKeyConfig{KEKEnv: "ESEAL_TEST_ENV_KEK"}}, store.MustSpace(db, "softkey"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ks.Close()
	if _, ok := os.LookupEnv("ESEAL_TEST_ENV_KEK"); ok {
		t.Fatal("KEK variable still set after Open")
	}
	t.Setenv("ESEAL_TEST_ENV_PIN", "12345678")
	// The module does not exist: Open fails, but the PIN was read.
	_, err = Open(Config{Backend: "pkcs11", PKCS11: PKCS11Config{PINEnv: "ESEAL_TEST_ENV_PIN", Module: filepath.Join(t.TempDir(), "none.so"), TokenLabel: "t", Profile: "sansec"}}, nil, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("Open with a missing module succeeded")
	}
	if strings.Contains(err.Error(), "12345678") {
		t.Fatalf("error shows the PIN: %v", err)
	}
	if _, ok := os.LookupEnv("ESEAL_TEST_ENV_PIN"); ok {
		t.Fatal("PIN variable still set after Open")
	}
}
