package pkcs11

import (
	"errors"
	"strings"
	"testing"

	"github.com/eseal/eseal/signer"
)

func TestProfiles(t *testing.T) {
	for _, name := range ProfileNames() {
		p, err := LookupProfile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if p.Name != name {
			t.Errorf("%s: Name = %q", name, p.Name)
		}
	}
	want := map[string][3]uint{ // keygen, sign, key type
		"ecdsa-p256": {0x1040, 0x1041, 0x3},
		"sansec":     {0x80008001, 0x80008104, 0x80000004},
		"sansec-sm3": {0x80008001, 0x80008100, 0x80000004},
		"luna":       {0x80000B20, 0x80000B21, 0x80000016},
		"ibm":        {0x8005000A, 0x8005000B, 0x80050002},
	}
	for name, w := range want {
		p, _ := LookupProfile(name)
		if [3]uint{p.KeyGenMech, p.SignMech, p.KeyType} != w {
			t.Errorf("%s: got %#x %#x %#x", name, p.KeyGenMech, p.SignMech, p.KeyType)
		}
	}
	if p, _ := LookupProfile("sansec-sm3"); !p.HashInside || p.Output != DER {
		t.Error("sansec-sm3 must hash inside and return DER")
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Module: "/m.so", TokenLabel: "t", Profile: "sansec"}
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"no profile", func(c *Config) { c.Profile = "" }, "no mechanism profile"},
		{"bad custom alg", func(c *Config) { c.CustomProfile = &Profile{Name: "x", Algorithm: "RSA", SignMech: 1} }, `algorithm "RSA"`},
		{"custom no sign", func(c *Config) { c.CustomProfile = &Profile{Name: "x", Algorithm: signer.SM2, KeyGenMech: 1} }, "no sign mechanism"},
		{"hash inside ecdsa", func(c *Config) {
			c.CustomProfile = &Profile{Name: "x", Algorithm: signer.ECDSAP256, SignMech: 1, HashInside: true}
		}, "SM2 only"},
		{"negative sessions", func(c *Config) { c.Sessions = -1 }, "negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.mod(&cfg)
			err := cfg.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, signer.ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrConfig mentioning %q", err, c.want)
			}
		})
	}
}
