package appliance

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/trust"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// testConfig is the default configuration over a fresh data directory.
func testConfig(t *testing.T) *Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Data.Dir = filepath.Join(t.TempDir(), "data")
	cfg.Registry.PINIterations = signer.MinPINIterations
	cfg.Revocation.Fetch = false
	return cfg
}

func openTest(t *testing.T, cfg *Config) *Services {
	t.Helper()
	svc, err := OpenWith(context.Background(), cfg, OpenOptions{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpenFreshThenReopen: the first start makes the KEK and identity-hash key files (0600),
// the CA, the audit head key and the default trust set; a restart keeps all of them, and
// the audit chain goes on where it was.
func TestOpenFreshThenReopen(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.Revocation.Fetch = true // wired, with our CA's CRL held
	svc, err := OpenWith(ctx, cfg, OpenOptions{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	kekPath, idPath := filepath.Join(cfg.Data.Dir, KEKFileName), filepath.Join(cfg.Data.Dir, IDKeyFileName)
	for _, p := range []string{kekPath, idPath} {
		if m := fileMode(t, p); m != 0o600 {
			t.Fatalf("%s: mode %04o, want 0600", filepath.Base(p), m)
		}
	}
	kek, idKey := readFile(t, kekPath), readFile(t, idPath)
	root := svc.CA.Root().Raw
	if err := svc.Ready(ctx); err != nil {
		t.Fatalf("not ready: %v", err)
	}
	set, _, err := svc.Trust.TrustSet(trust.DefaultName)
	if err != nil || len(set.Roots) != 1 || !bytes.Equal(set.Roots[0].Raw, root) || len(set.Makers) != 1 || !bytes.Equal(set.Makers[0].Raw, svc.CA.Maker().Raw) {
		t.Fatalf("default trust set: %+v, %v", set, err)
	}
	if svc.CRLs == nil || svc.CRLs.Held(svc.CA.Root()) == nil {
		t.Fatal("the built-in CA's CRL is not held by the fetcher")
	}
	if _, err := svc.Keys.Find(ctx, AuditHeadKeyLabel); err != nil {
		t.Fatalf("audit head key: %v", err)
	}
	// The verifier judges our own seal maker by the default set: a bare seal is checked at
	// least far enough to name it (the CA's maker certificate is trusted).
	if svc.Verifier.TrustSetName() != trust.DefaultName {
		t.Fatalf("verifier set %q", svc.Verifier.TrustSetName())
	}
	seq, err := svc.Audit.Append(ctx, audit.Record{Actor: "test", Action: audit.ActionBackup, Outcome: audit.OutcomeOK})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := svc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := svc.Ready(ctx); err == nil {
		t.Fatal("ready after Close")
	}

	svc2 := openTest(t, cfg)
	if !bytes.Equal(svc2.CA.Root().Raw, root) {
		t.Fatal("the CA root changed on restart")
	}
	if !bytes.Equal(readFile(t, kekPath), kek) || !bytes.Equal(readFile(t, idPath), idKey) {
		t.Fatal("the KEK or identity-hash key file changed on restart")
	}
	if tail, _ := svc2.Audit.Tail(); tail < seq {
		t.Fatalf("audit tail %d after restart, record %d was written", tail, seq)
	}
	rep, err := svc2.Audit.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("audit chain after restart: %+v, %v", rep, err)
	}
	if err := svc2.Ready(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesMissingSecrets: a KEK or identity-hash key file missing beside a store that
// holds data is an error, never a new file; without generation a first start needs the KEK.
func TestOpenRefusesMissingSecrets(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	svc := openTest(t, cfg)
	makePersonalSeal(t, svc, residentID("11010519491231002"), []byte("246810")) // an identity hashed
	svc.Close()

	for _, name := range []string{KEKFileName, IDKeyFileName} {
		p := filepath.Join(cfg.Data.Dir, name)
		saved := readFile(t, p)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		_, err := OpenWith(ctx, cfg, OpenOptions{Logger: quietLog})
		if err == nil || !strings.Contains(err.Error(), "restore") || !errors.Is(err, errs.Config) {
			t.Fatalf("%s missing: %v", name, err)
		}
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s was made again", name)
		}
		if err := os.WriteFile(p, saved, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The store was released by the failed opens: it opens again.
	openTest(t, cfg)

	cfg = testConfig(t)
	cfg.Keys.SoftKey.Generate = false
	if _, err := OpenWith(ctx, cfg, OpenOptions{Logger: quietLog}); err == nil || !strings.Contains(err.Error(), "generate is off") {
		t.Fatalf("no KEK, no generation: %v", err)
	}
}

func TestOpenKEKChecks(t *testing.T) {
	ctx := context.Background()
	// A KEK file others may read is refused.
	cfg := testConfig(t)
	kek := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(kek, []byte(strings.Repeat("ab", 16)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Keys.SoftKey.KEKFile, cfg.Keys.SoftKey.Generate = kek, false
	if _, err := OpenWith(ctx, cfg, OpenOptions{Logger: quietLog}); err == nil {
		t.Fatal("a KEK file of mode 0644 was used")
	}
	if err := os.Chmod(kek, 0o600); err != nil {
		t.Fatal(err)
	}
	openTest(t, cfg)

	// A KEK from the environment is read and the variable unset.
	cfg = testConfig(t)
	cfg.Keys.SoftKey.KEKEnv, cfg.Keys.SoftKey.Generate = EnvKEK, false
	t.Setenv(EnvKEK, strings.Repeat("cd", 16))
	openTest(t, cfg)
	if _, ok := os.LookupEnv(EnvKEK); ok {
		t.Fatal("the KEK variable is still set")
	}
	if _, err := os.Stat(filepath.Join(cfg.Data.Dir, KEKFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a KEK file was written although the KEK came from the environment")
	}
}

// TestOpenTrustSetsFromFiles: configured sets are loaded at start; a bad file names the set.
func TestOpenTrustSetsFromFiles(t *testing.T) {
	ctx := context.Background()
	first := openTest(t, testConfig(t))
	dir := t.TempDir()
	roots := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(roots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: first.CA.Root().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Verification.TrustSets = map[string]TrustSetFiles{"gd-province": {Roots: roots}}
	svc := openTest(t, cfg)
	set, _, err := svc.Trust.TrustSet("gd-province")
	if err != nil || len(set.Roots) != 1 || !bytes.Equal(set.Roots[0].Raw, first.CA.Root().Raw) {
		t.Fatalf("gd-province: %+v, %v", set, err)
	}
	v, err := svc.Verifier.Using("gd-province")
	if err != nil || v.TrustSetName() != "gd-province" {
		t.Fatalf("verifier on gd-province: %v", err)
	}
	svc.Close()

	cfg.Verification.TrustSets = map[string]TrustSetFiles{"bad": {Roots: filepath.Join(dir, "missing.pem")}}
	if _, err := OpenWith(ctx, cfg, OpenOptions{Logger: quietLog}); err == nil || !strings.Contains(err.Error(), "verification.trust_sets.bad") {
		t.Fatalf("missing roots file: %v", err)
	}
}

func TestOpenBadConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.Registry.FontPath = filepath.Join(t.TempDir(), "no-font.ttc")
	_, err := OpenWith(context.Background(), cfg, OpenOptions{Logger: quietLog})
	if err == nil || !strings.Contains(err.Error(), "registry.font_path") {
		t.Fatalf("missing font: %v", err)
	}
	cfg.Registry.FontPath = DefaultConfig().Registry.FontPath
	openTest(t, cfg) // the failed open released the store

	cfg = testConfig(t)
	cfg.Log.Level = "chatty"
	if _, err := Open(context.Background(), cfg); err == nil || !errors.Is(err, errs.Config) {
		t.Fatalf("invalid configuration opened: %v", err)
	}
}

// TestBootstrapWithoutAPIKeys: while the API keys cannot be counted or made, Bootstrap fails
// with an error saying so and writes no file.
func TestBootstrapAdminKeyReal(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	svc := openTest(t, cfg)
	path, err := Bootstrap(ctx, svc, cfg.Data.Dir)
	if err != nil || path != filepath.Join(cfg.Data.Dir, AdminKeyFileName) {
		t.Fatalf("Bootstrap: %q, %v", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.key: %v %v", fi, err)
	}
	secret, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := svc.APIKeys.Authenticate(ctx, strings.TrimSpace(string(secret)))
	if err != nil || !a.Has(registry.RoleAdmin) {
		t.Fatalf("the bootstrap key authenticates as %+v, %v", a, err)
	}
	// A second start makes no key and leaves the file as it was.
	if again, err := Bootstrap(ctx, svc, cfg.Data.Dir); err != nil || again != "" {
		t.Fatalf("second Bootstrap: %q, %v", again, err)
	}
	if b, _ := os.ReadFile(path); string(b) != string(secret) {
		t.Fatal("admin.key changed on a second start")
	}
}

// fakeKeys is an API key table in memory.
type fakeKeys struct {
	created   []string
	createErr error
}

func (f *fakeKeys) Count(context.Context) (int, error) { return len(f.created), nil }
func (f *fakeKeys) Create(_ context.Context, name string, roles []registry.Role, seals []string) (string, error) {
	if f.createErr != nil {
		return "", f.createErr
	}
	if name != BootstrapAdminName || len(roles) != 1 || roles[0] != registry.RoleAdmin || seals != nil {
		return "", errors.New("unexpected key asked for")
	}
	s := "esk_" + randomHex(32)
	f.created = append(f.created, s)
	return s, nil
}

// TestBootstrapAdminKey: the first start writes the admin key's secret to admin.key, 0600;
// a later start makes no key and leaves the file; a stale file of a start whose key was not
// stored is replaced; a refused Create leaves nothing.
func TestBootstrapAdminKey(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	keys := &fakeKeys{}
	path, err := bootstrapAdmin(ctx, keys, dir)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, AdminKeyFileName) || len(keys.created) != 1 {
		t.Fatalf("path %q, %d keys", path, len(keys.created))
	}
	if m := fileMode(t, path); m != 0o600 {
		t.Fatalf("admin.key mode %04o", m)
	}
	if got := strings.TrimSpace(string(readFile(t, path))); got != keys.created[0] {
		t.Fatal("admin.key does not hold the key made")
	}
	again, err := bootstrapAdmin(ctx, keys, dir)
	if err != nil || again != "" || len(keys.created) != 1 {
		t.Fatalf("second start: %q, %v, %d keys", again, err, len(keys.created))
	}
	if got := strings.TrimSpace(string(readFile(t, path))); got != keys.created[0] {
		t.Fatal("admin.key changed on the second start")
	}

	// A stale admin.key (no key in the store) is replaced.
	keys2 := &fakeKeys{}
	if _, err := bootstrapAdmin(ctx, keys2, dir); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(readFile(t, path))); got != keys2.created[0] || fileMode(t, path) != 0o600 {
		t.Fatal("a stale admin.key was not replaced")
	}

	// Create refused: no file, no temporary left.
	dir2 := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir2, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := bootstrapAdmin(ctx, &fakeKeys{createErr: errors.New("store down")}, dir2); err == nil || !strings.Contains(err.Error(), "store down") {
		t.Fatalf("refused Create: %v", err)
	}
	if left, _ := os.ReadDir(dir2); len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
	// A directory that cannot take the file fails before a key is made.
	keys3 := &fakeKeys{}
	if _, err := bootstrapAdmin(ctx, keys3, filepath.Join(dir2, "missing")); err == nil || len(keys3.created) != 0 {
		t.Fatalf("unwritable directory: %v, %d keys made", err, len(keys3.created))
	}
}

// TestCloseLeavesNoGoroutine: Close stops every part Open started (the audit writer, the
// caches, the verification pool, the CRL fetcher, the store).
func TestCloseLeavesNoGoroutine(t *testing.T) {
	cfg := testConfig(t)
	cfg.Revocation.Fetch = true
	before := runtime.NumGoroutine()
	svc, err := OpenWith(context.Background(), cfg, OpenOptions{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	if runtime.NumGoroutine() <= before {
		t.Fatal("Open started no goroutine: the test proves nothing")
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// TestOpenAfterImpressionsImported: impressions imported into a new data directory before the
// first start (eseal impressions import) do not stop the first start from generating the
// KEK and identity-hash key files.
func TestOpenAfterImpressionsImported(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	db, err := store.Open(cfg.Data.Dir, &store.Options{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	pics, err := sealimg.New(sealimg.Options{DPI: 96})
	if err != nil {
		t.Fatal(err)
	}
	png, err := pics.PNG(sealimg.Seal{Kind: sealimg.Official, Name: "海南示例科技有限公司", Code: "460100200077"})
	if err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(map[string]string{"code": "460100200077", "picture": base64.StdEncoding.EncodeToString(png), "type": "png"})
	if res, err := registry.NewImpressionStore(db, registry.ImpressionOptions{}).Import(ctx, bytes.NewReader(append(line, '\n'))); err != nil || res.Added != 1 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	db.Close()

	svc := openTest(t, cfg)
	for _, name := range []string{KEKFileName, IDKeyFileName} {
		if m := fileMode(t, filepath.Join(cfg.Data.Dir, name)); m != 0o600 {
			t.Fatalf("%s: mode %04o", name, m)
		}
	}
	if err := svc.Ready(ctx); err != nil {
		t.Fatal(err)
	}
}
