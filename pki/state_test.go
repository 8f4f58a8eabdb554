package pki

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"testing"
)

func TestOpenAdoptsExistingKeys(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.newKey(t, RootKeyLabel) // made beforehand, as in an HSM key ceremony
	pub, err := e.keys.PublicKey(ctx, RootKeyLabel)
	if err != nil {
		t.Fatal(err)
	}
	ca := e.open(t)
	if !pub.(*ecdsa.PublicKey).Equal(ca.Root().PublicKey) {
		t.Fatal("root certificate does not hold the existing root key")
	}
}

func TestOpenRefusesCorruptState(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		spoil func(t *testing.T, e *env, ca *CA)
	}{
		{"unknown state version", func(t *testing.T, e *env, ca *CA) {
			if err := ca.kv.Set(ctx, keyVersion, []byte("9")); err != nil {
				t.Fatal(err)
			}
		}},
		{"CRL missing", func(t *testing.T, e *env, ca *CA) {
			if err := ca.kv.Delete(ctx, keyCRL); err != nil {
				t.Fatal(err)
			}
		}},
		{"CRL number out of step", func(t *testing.T, e *env, ca *CA) {
			if err := ca.kv.Set(ctx, keyCRLNum, u64(7)); err != nil {
				t.Fatal(err)
			}
		}},
		{"maker from another CA", func(t *testing.T, e *env, ca *CA) {
			other := newEnv(t).open(t)
			if err := ca.kv.Set(ctx, keyMaker, other.Maker().Raw); err != nil {
				t.Fatal(err)
			}
		}},
		{"root certificate garbled", func(t *testing.T, e *env, ca *CA) {
			if err := ca.kv.Set(ctx, keyRoot, []byte{0x30, 0x03, 0x02, 0x01, 0x01}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ca := e.open(t)
			tt.spoil(t, e, ca)
			ca.Close()
			_, err := Open(ctx, e.options())
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
		})
	}
}
