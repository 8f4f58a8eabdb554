package appliance

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/store"
)

func openStore(t *testing.T) *store.Pebble {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "data"), &store.Options{NoSync: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAPIKeys(t *testing.T) {
	db := openStore(t)
	k := NewAPIKeys(db)
	ctx := context.Background()
	if n, err := k.Count(ctx); err != nil || n != 0 {
		t.Fatalf("count of none: %d %v", n, err)
	}
	secret, err := k.Create(ctx, "oa-system", []registry.Role{registry.RoleSigner}, []string{"4401000000001"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if !strings.HasPrefix(secret, SecretPrefix) || err != nil || len(raw) != 32 {
		t.Fatalf("secret shape: prefix %v, %d bytes, %v", strings.HasPrefix(secret, SecretPrefix), len(raw), err)
	}
	a, err := k.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "oa-system" || !a.Has(registry.RoleSigner) || a.Has(registry.RoleAdmin) || !slices.Equal(a.Seals, []string{"4401000000001"}) {
		t.Fatalf("actor %+v", a)
	}
	if a, err := k.ByName(ctx, "oa-system"); err != nil || a.Name != "oa-system" || !a.Has(registry.RoleSigner) {
		t.Fatalf("by name: %+v %v", a, err)
	}
	// Near misses.
	for _, s := range []string{"", secret[:len(secret)-1], secret + "A", strings.ToUpper(secret), "Bearer " + secret, strings.TrimPrefix(secret, SecretPrefix)} {
		if _, err := k.Authenticate(ctx, s); !errorsIs(err, errs.Unauthenticated) {
			t.Errorf("authenticate a wrong secret: %v", err)
		}
	}
	if _, err := k.ByName(ctx, "nobody"); !errorsIs(err, errs.Unauthenticated) {
		t.Errorf("by unknown name: %v", err)
	}
	// The store holds neither the secret nor its random part.
	var seen bytes.Buffer
	if err := db.Scan(ctx, nil, func(key, v []byte) error { seen.Write(key); seen.Write(v); return nil }); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(seen.Bytes(), []byte(secret)) || bytes.Contains(seen.Bytes(), raw) || bytes.Contains(seen.Bytes(), []byte(secret[4:20])) {
		t.Fatal("the store holds the secret")
	}
	// Names are unique; roles must be known; a key needs a role.
	if _, err := k.Create(ctx, "oa-system", []registry.Role{registry.RoleSigner}, nil); !errorsIs(err, errs.KeyExists) {
		t.Errorf("second key of a name: %v", err)
	}
	for name, roles := range map[string][]registry.Role{"x": {"root"}, "y": nil, "": {registry.RoleAdmin}, "bad\nname": {registry.RoleAdmin}} {
		if _, err := k.Create(ctx, name, roles, nil); !errorsIs(err, errs.InvalidInput) {
			t.Errorf("create %q %v: %v", name, roles, err)
		}
	}
	s2, err := k.Create(ctx, "auditor-1", []registry.Role{RoleAuditor, RoleVerifier}, nil)
	if err != nil || s2 == secret {
		t.Fatalf("second key: %v", err)
	}
	if n, err := k.Count(ctx); err != nil || n != 2 {
		t.Fatalf("count: %d %v", n, err)
	}
	list, err := k.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "auditor-1" || list[1].Name != "oa-system" || list[1].Created.IsZero() {
		t.Fatalf("list: %+v %v", list, err)
	}
	for range 2 { // the second is answered from what Authenticate remembers
		if a, err := k.Authenticate(ctx, secret); err != nil || a.Name != "oa-system" {
			t.Fatalf("before the revocation: %+v %v", a, err)
		}
	}
	if err := k.Revoke(ctx, "oa-system"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Authenticate(ctx, secret); !errorsIs(err, errs.Unauthenticated) {
		t.Errorf("revoked key: %v", err)
	}
	if err := k.Revoke(ctx, "oa-system"); !errorsIs(err, errs.NotFound) {
		t.Errorf("revoke twice: %v", err)
	}
	if n, _ := k.Count(ctx); n != 1 {
		t.Errorf("count after revoke: %d", n)
	}
	// The name is free again, with a new secret.
	s3, err := k.Create(ctx, "oa-system", []registry.Role{registry.RoleSigner}, nil)
	if err != nil || s3 == secret {
		t.Fatalf("recreate: %v", err)
	}
	// Keys survive a reopening of the store.
	if _, err := NewAPIKeys(db).Authenticate(ctx, s2); err != nil {
		t.Fatal(err)
	}
}

func errorsIs(err error, k errs.Kind) bool { return err != nil && errs.KindOf(err) == k }

// FuzzAuthenticate presents arbitrary Authorization values: none authenticates, none
// panics, and the answer is always UNAUTHENTICATED.
func FuzzAuthenticate(f *testing.F) {
	db, err := store.Open(filepath.Join(f.TempDir(), "data"), &store.Options{NoSync: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	k := NewAPIKeys(db)
	if _, err := k.Create(context.Background(), "k", []registry.Role{registry.RoleAdmin}, nil); err != nil {
		f.Fatal(err)
	}
	f.Add("esk_AAAA")
	f.Add("")
	f.Add("esk_" + strings.Repeat("A", 200))
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := k.Authenticate(context.Background(), s); !errorsIs(err, errs.Unauthenticated) {
			t.Fatalf("authenticate %q: %v", s, err)
		}
	})
}
