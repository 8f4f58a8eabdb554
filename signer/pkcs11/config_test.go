package pkcs11

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestConfigRedactsPIN: no way of printing a Config, or a struct that
// holds one (exported or not, by value or pointer), shows the PIN.
func TestConfigRedactsPIN(t *testing.T) {
	const pin = "s3cr3t-PIN-4711"
	cfg := Config{Module: "/usr/lib/x.so", TokenLabel: "seal-hsm", PIN: NewSecret(pin), Profile: "sansec", Sessions: 4}
	type outer struct {
		Cfg Config
		cfg Config
		Ptr *Config
		ptr *Config
		Pin Secret
		pin Secret
	}
	values := []any{cfg, &cfg, cfg.PIN, &cfg.PIN, outer{cfg, cfg, &cfg, &cfg, cfg.PIN, cfg.PIN}, &outer{Cfg: cfg, cfg: cfg}, []Config{cfg}, map[string]Config{"a": cfg}}
	leaks := func(s string) bool {
		return strings.Contains(s, pin) || strings.Contains(strings.ToLower(s), hex.EncodeToString([]byte(pin)))
	}
	for i, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %[1]v"} {
			if s := fmt.Sprintf(verb, v); leaks(s) {
				t.Errorf("value %d printed with %s shows the PIN: %s", i, verb, s)
			}
		}
		if s := fmt.Sprint(v) + fmt.Sprintln(v); leaks(s) {
			t.Errorf("value %d printed with Sprint shows the PIN: %s", i, s)
		}
	}
	if s := cfg.String(); !strings.Contains(s, "[redacted]") || !strings.Contains(s, "seal-hsm") {
		t.Fatalf("String() = %s; want the token label and the PIN redacted", s)
	}
	if s := (Config{}).String(); !strings.Contains(s, "PIN: none") {
		t.Fatalf("String() without a PIN = %s", s)
	}
	b, err := json.Marshal(outer{Cfg: cfg, Pin: cfg.PIN})
	if err != nil || leaks(string(b)) {
		t.Fatalf("JSON shows the PIN: %s %v", b, err)
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("opening", "cfg", cfg, "pin", cfg.PIN, "ptr", &cfg)
	}
	if leaks(buf.String()) {
		t.Fatalf("log shows the PIN: %s", buf.String())
	}
	if cfg.PIN.value() != pin || cfg.PIN.IsZero() || !(Secret{}).IsZero() || !NewSecret("").IsZero() {
		t.Fatal("Secret does not keep its value")
	}
}
