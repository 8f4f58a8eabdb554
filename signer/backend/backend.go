// Package backend opens the configured key store: the one place that knows
// both backends, so that the appliance wiring picks one by configuration.
//
//	{"backend": "softkey", "softkey": {"kek_file": "/etc/eseal/kek"}}
//	{"backend": "pkcs11", "pkcs11": {"module": "/usr/lib/vendor/libupkcs11.so",
//	  "token_label": "seal-hsm", "pin_env": "ESEAL_HSM_PIN", "profile": "sansec"}}
//
// Secrets never sit in the configuration: the KEK comes from a file or an
// environment variable, the HSM user PIN from an environment variable.
package backend

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/signer/pkcs11"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
)

// Config selects and configures a backend.
type Config struct {
	// Backend is "softkey" (default) or "pkcs11".
	Backend string        `json:"backend"`
	SoftKey SoftKeyConfig `json:"softkey"`
	PKCS11  PKCS11Config  `json:"pkcs11"`
}

// SoftKeyConfig: where the key-encryption key comes from.
type SoftKeyConfig struct {
	KEKFile string `json:"kek_file"`
	KEKEnv  string `json:"kek_env"`
}

// PKCS11Config is pkcs11.Config without the PIN, which comes from PINEnv.
type PKCS11Config struct {
	Module      string          `json:"module"`
	TokenLabel  string          `json:"token_label"`
	PINEnv      string          `json:"pin_env"`
	Profile     string          `json:"profile"`
	Custom      *pkcs11.Profile `json:"custom_profile,omitempty"`
	Sessions    int             `json:"sessions"`
	WaitTimeout time.Duration   `json:"wait_timeout"`
}

// Validate checks the configuration without opening anything.
func (c *Config) Validate() error {
	switch c.Backend {
	case "", "softkey":
		if c.SoftKey.KEKFile == "" && c.SoftKey.KEKEnv == "" {
			return signer.Errorf(signer.ErrConfig, "backend", "", nil, "softkey needs kek_file or kek_env")
		}
	case "pkcs11":
		if c.PKCS11.PINEnv == "" {
			return signer.Errorf(signer.ErrConfig, "backend", "", nil, "pkcs11 needs pin_env (the name of the variable holding the user PIN)")
		}
		pc := c.PKCS11.config("")
		return pc.Validate()
	default:
		return signer.Errorf(signer.ErrConfig, "backend", "", nil, "unknown key store backend %q (want softkey or pkcs11)", c.Backend)
	}
	return nil
}

func (p PKCS11Config) config(pin string) pkcs11.Config {
	return pkcs11.Config{Module: p.Module, TokenLabel: p.TokenLabel, PIN: pkcs11.NewSecret(pin), Profile: p.Profile,
		CustomProfile: p.Custom, Sessions: p.Sessions, WaitTimeout: p.WaitTimeout}
}

// Open opens the configured KeyStore. kv is the keyspace for softkey
// records (unused by pkcs11).
func Open(cfg Config, kv store.KV, log *slog.Logger) (signer.KeyStore, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Backend == "pkcs11" {
		pin, ok := os.LookupEnv(cfg.PKCS11.PINEnv)
		_ = os.Unsetenv(cfg.PKCS11.PINEnv) // read once; children do not inherit it
		if !ok || pin == "" {
			return nil, signer.Errorf(signer.ErrConfig, "backend", "", nil, "environment variable %s (HSM user PIN) is not set", cfg.PKCS11.PINEnv)
		}
		pc := cfg.PKCS11.config(pin)
		pc.Logger = log
		s, err := pkcs11.Open(pc)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	if kv == nil {
		return nil, fmt.Errorf("backend: softkey needs a store")
	}
	kek, err := softkey.LoadKEK(cfg.SoftKey.KEKFile, cfg.SoftKey.KEKEnv)
	if err != nil {
		return nil, err
	}
	defer clear(kek)
	return softkey.New(kv, kek, softkey.Options{Logger: log})
}
