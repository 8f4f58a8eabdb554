package appliance

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eseal/eseal/errs"
)

// TestConfigFilesLoad loads every file in configs/: each parses strictly and validates, and
// eseal.yaml is exactly the built-in default.
func TestConfigFilesLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "configs", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("configs/ holds %d files, want eseal.yaml and hsm.yaml at least", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadConfig(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			switch filepath.Base(f) {
			case "eseal.yaml":
				if !reflect.DeepEqual(cfg, DefaultConfig()) {
					t.Fatalf("configs/eseal.yaml differs from DefaultConfig:\n%+v\n%+v", cfg, DefaultConfig())
				}
			case "hsm.yaml":
				if cfg.Keys.Backend != BackendPKCS11 || cfg.Keys.PKCS11.PINEnv != EnvPIN || cfg.Keys.PKCS11.Profile == "" {
					t.Fatalf("hsm.yaml: keys %+v", cfg.Keys)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig("empty.yaml", []byte("# nothing\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	if cfg.Server.Listen != "127.0.0.1:8080" || cfg.Data.Dir != "./data" || cfg.Keys.Backend != BackendSoftKey || !cfg.Keys.SoftKey.Generate {
		t.Fatalf("defaults: %+v", cfg)
	}
	u, err := cfg.CA.crlURL(cfg.Server)
	if err != nil || u != "http://127.0.0.1:8080/v1/pki/crl" {
		t.Fatalf("CRL URL of the default: %q, %v", u, err)
	}
	// A partial file keeps the defaults of what it does not name.
	cfg, err = ParseConfig("partial.yaml", []byte("server:\n  listen: 10.0.0.1:9000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "10.0.0.1:9000" || cfg.Server.ReadTimeout != 30*time.Second || cfg.Caches.Certs != 32<<20 {
		t.Fatalf("partial: %+v", cfg.Server)
	}
}

func TestConfigStrict(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // in the message
	}{
		{"unknown top-level key", "server:\n  listen: 127.0.0.1:1\nsevrer: {}\n", []string{`"sevrer"`, "line 3"}},
		{"unknown nested key", "keys:\n  backend: softkey\n  softkey:\n    kek_fiel: /x\n", []string{`"kek_fiel"`, "line 4"}},
		{"unknown trust set key", "verification:\n  trust_sets:\n    gd:\n      roots: a.pem\n      root: b.pem\n", []string{`"root"`, "line 5"}},
		{"wrong type", "server:\n  max_body_bytes: lots\n", []string{"line 2"}},
		{"bad duration", "server:\n  read_timeout: soon\n", []string{"server.read_timeout", "line 2"}},
		{"bad nested duration", "keys:\n  pkcs11:\n    wait_timeout: [1]\n", []string{"time.Duration", "line 3"}},
		{"duplicate key", "data:\n  dir: a\n  dir: b\n", []string{"line 3"}},
		{"two documents", "data:\n  dir: a\n---\ndata:\n  dir: b\n", []string{"more than one YAML document"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("test.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, errs.Config) {
				t.Errorf("kind %v, want Config", errs.KindOf(err))
			}
			for _, w := range append(tc.want, "test.yaml") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}
	// Deep nesting is refused before the parser, whose time grows with its square, sees it.
	for _, deep := range []string{strings.Repeat("[", MaxConfigBytes/2), "server: " + strings.Repeat("{a: ", MaxConfigBytes/8),
		strings.Repeat("- ", MaxConfigBytes/4) + "x", deepBlock(MaxConfigDepth + 1)} {
		if _, err := ParseConfig("deep.yaml", []byte(deep)); err == nil || !strings.Contains(err.Error(), "nested deeper than") {
			t.Fatalf("deep nesting (%.20q...): %v", deep, err)
		}
	}
	big := make([]byte, MaxConfigBytes+1)
	if _, err := ParseConfig("big.yaml", big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("oversized file: %v", err)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestConfigEnv(t *testing.T) {
	cfg := DefaultConfig()
	err := cfg.ApplyEnv([]string{
		"PATH=/bin",
		"ESEAL_SERVER_LISTEN=0.0.0.0:9443",
		"ESEAL_SERVER_READ_TIMEOUT=7s",
		"ESEAL_SERVER_TLS_CERT=/etc/eseal/tls.pem",
		"ESEAL_KEYS_BACKEND=pkcs11",
		"ESEAL_KEYS_PKCS11_TOKEN_LABEL=seals",
		"ESEAL_CACHES_CERTS=1048576",
		"ESEAL_REVOCATION_FETCH=false",
		"ESEAL_REGISTRY_PICTURE_DPI=150",
		"ESEAL_VERIFICATION_ANONYMOUS=true",
		"ESEAL_KEYS_PIN=123456",         // the reserved PIN variable: not a setting, not an error
		"ESEAL_SOFTHSM_MODULE=/usr/lib", // not a section of the configuration
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Listen != "0.0.0.0:9443" || cfg.Server.ReadTimeout != 7*time.Second || cfg.Server.TLS.Cert != "/etc/eseal/tls.pem" ||
		cfg.Keys.Backend != BackendPKCS11 || cfg.Keys.PKCS11.TokenLabel != "seals" || cfg.Caches.Certs != 1<<20 ||
		cfg.Revocation.Fetch || cfg.Registry.PictureDPI != 150 || !cfg.ServerSettings().AnonymousVerify {
		t.Fatalf("overrides not applied: %+v", cfg)
	}

	for _, tc := range []struct{ env, want string }{
		{"ESEAL_SERVER_LISTN=x", "ESEAL_SERVER_LISTN: names no setting"},
		{"ESEAL_SERVER_READ_TIMEOUT=secret-value", "ESEAL_SERVER_READ_TIMEOUT: not a duration"},
		{"ESEAL_SERVER_MAX_CONCURRENT=many", "ESEAL_SERVER_MAX_CONCURRENT: not an integer"},
		{"ESEAL_REVOCATION_FETCH=perhaps", "ESEAL_REVOCATION_FETCH: not a boolean"},
	} {
		err := DefaultConfig().ApplyEnv([]string{tc.env})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), strings.SplitN(tc.env, "=", 2)[1]) && !strings.HasSuffix(tc.env, "=x") {
			t.Errorf("%s: the error shows the value: %v", tc.env, err)
		}
	}

	// A variable named by the configuration as the PIN's is not a setting.
	cfg = DefaultConfig()
	cfg.Keys.PKCS11.PINEnv = "ESEAL_KEYS_TOKEN_PIN"
	if err := cfg.ApplyEnv([]string{"ESEAL_KEYS_TOKEN_PIN=1"}); err != nil {
		t.Fatal(err)
	}
}

// TestConfigEnvDocumented: every override variable is listed in config.go's documentation,
// and no two settings share a variable.
func TestConfigEnvDocumented(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Fields(string(src))
	seen := map[string]bool{}
	for _, n := range EnvNames() {
		if seen[n] {
			t.Errorf("two settings share %s", n)
		}
		seen[n] = true
		if !slices.Contains(words, n) {
			t.Errorf("%s is not documented in config.go", n)
		}
	}
	if len(seen) < 40 {
		t.Fatalf("only %d variables", len(seen))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		key    string
	}{
		{"listen not host:port", func(c *Config) { c.Server.Listen = "8080" }, "server.listen"},
		{"negative timeout", func(c *Config) { c.Server.WriteTimeout = -1 }, "server.write_timeout"},
		{"batch too large", func(c *Config) { c.Server.BatchMax = 1 << 20 }, "server.batch_max"},
		{"tls cert without key", func(c *Config) { c.Server.TLS.Cert = "a.pem" }, "server.tls"},
		{"client ca without cert", func(c *Config) { c.Server.TLS.ClientCA = "ca.pem" }, "server.tls.client_ca"},
		{"no data dir", func(c *Config) { c.Data.Dir = " " }, "data.dir"},
		{"unknown backend", func(c *Config) { c.Keys.Backend = "tpm" }, "keys.backend"},
		{"kek file and env", func(c *Config) { c.Keys.SoftKey.KEKFile, c.Keys.SoftKey.KEKEnv = "k", "K" }, "keys.softkey"},
		{"kek env generated", func(c *Config) { c.Keys.SoftKey.KEKEnv = "K" }, "keys.softkey.generate"},
		{"pkcs11 without module", func(c *Config) { c.Keys.Backend = BackendPKCS11 }, "keys.pkcs11.module"},
		{"pkcs11 two pins", func(c *Config) { c.Keys = hsmKeys(); c.Keys.PKCS11.PINFile = "/p" }, "keys.pkcs11"},
		{"pkcs11 no pin", func(c *Config) { c.Keys = hsmKeys(); c.Keys.PKCS11.PINEnv = "" }, "keys.pkcs11"},
		{"pkcs11 unknown profile", func(c *Config) { c.Keys = hsmKeys(); c.Keys.PKCS11.Profile = "acme" }, "keys.pkcs11.profile"},
		{"pkcs11 not sm2", func(c *Config) { c.Keys = hsmKeys(); c.Keys.PKCS11.Profile = "ecdsa-p256" }, "keys.pkcs11.profile"},
		{"bad credit code", func(c *Config) { c.CA.OrgCode = "91350100M000100Y44" }, "ca.org_code"},
		{"no organisation", func(c *Config) { c.CA.Organisation = "" }, "ca.organisation"},
		{"crl url from wildcard listen", func(c *Config) { c.Server.Listen = "0.0.0.0:8080" }, "ca.crl_url"},
		{"crl url from port 0", func(c *Config) { c.Server.Listen = "127.0.0.1:0" }, "ca.crl_url"},
		{"crl url not http", func(c *Config) { c.CA.CRLURL = "ldap://x/crl" }, "ca.crl_url"},
		{"crl validity", func(c *Config) { c.CA.CRLValidity = time.Hour }, "ca.crl_validity"},
		{"division", func(c *Config) { c.Registry.Division = "46010" }, "registry.division"},
		{"pin iterations", func(c *Config) { c.Registry.PINIterations = 10 }, "registry.pin_iterations"},
		{"cache too small", func(c *Config) { c.Caches.Seals = 100 }, "caches.seals"},
		{"revocation timeout", func(c *Config) { c.Revocation.Timeout = 0 }, "revocation.timeout"},
		{"trust set name", func(c *Config) { c.Verification.TrustSets = map[string]TrustSetFiles{"GD": {Roots: "r.pem"}} }, "verification.trust_sets.GD"},
		{"trust set default", func(c *Config) { c.Verification.TrustSets = map[string]TrustSetFiles{"default": {Roots: "r.pem"}} }, "verification.trust_sets.default"},
		{"trust set without roots", func(c *Config) { c.Verification.TrustSets = map[string]TrustSetFiles{"gd": {Makers: "m.pem"}} }, "verification.trust_sets.gd.roots"},
		{"log level", func(c *Config) { c.Log.Level = "loud" }, "log.level"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.change(c)
			err := c.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key {
				t.Fatalf("got %v, want an error about %s", err, tc.key)
			}
			if !errors.Is(err, errs.Config) || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("%v: not a Config error naming %s", err, tc.key)
			}
		})
	}
	var nilCfg *Config
	if err := nilCfg.Validate(); err == nil {
		t.Fatal("a nil configuration validated")
	}
	// Explicit CRL URL with a wildcard listen is fine; so is a valid HSM section.
	c := DefaultConfig()
	c.Server.Listen, c.CA.CRLURL, c.Keys = "0.0.0.0:8080", "https://seal.example.gov.cn/v1/pki/crl", hsmKeys()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func hsmKeys() KeysConfig {
	return KeysConfig{Backend: BackendPKCS11, PKCS11: PKCS11Config{Module: "/lib/x.so", TokenLabel: "t", PINEnv: EnvPIN, Profile: "sansec"}}
}

func TestConfigLogger(t *testing.T) {
	var b strings.Builder
	lg, err := (&LogConfig{Level: "warn", Format: "json"}).Logger(&b)
	if err != nil {
		t.Fatal(err)
	}
	lg.Info("hidden")
	lg.Warn("shown")
	if strings.Contains(b.String(), "hidden") || !strings.Contains(b.String(), `"msg":"shown"`) {
		t.Fatalf("log: %s", b.String())
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"../configs/eseal.yaml", "../configs/hsm.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("server: {listen: [1, 2]}\n"))
	f.Add([]byte("verification:\n  trust_sets:\n    a: {roots: x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz.yaml", data)
		if err != nil {
			if !errors.Is(err, errs.Config) {
				t.Fatalf("error of kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		_ = cfg.Validate()
	})
}

// deepBlock is a block mapping n levels deep.
func deepBlock(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	return b.String()
}

func TestConfigNesting(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want int
	}{
		{"a: 1\nb: 2\n", 1},
		{"a:\n  b:\n    c: 1\nd: 2\n", 3},
		{"a: [1, [2, 3]]\n", 3},
		{"a: \"[[[[\" # [[[[\n", 1},
		{"- - - x\n", 4},
		{"a:\n  - {b: [1]}\n", 5}, // an upper bound: the line's indentation and its dash both count
	} {
		if got := nesting([]byte(tc.yaml)); got != tc.want {
			t.Errorf("%q: %d, want %d", tc.yaml, got, tc.want)
		}
	}
	for _, f := range []string{"../configs/eseal.yaml", "../configs/hsm.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if d := nesting(b); d > 4 {
			t.Errorf("%s: nesting %d", f, d)
		}
	}
}
