package appliance

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/cache"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/revocation"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/signer/pkcs11"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/trust"
	"github.com/eseal/eseal/verifier"
)

// AuditHeadKeyLabel is the label, in the key store, of the platform key that signs the audit
// log's chain heads. It is generated on the first start (in the HSM on the pkcs11 backend)
// and found again on every later one.
const AuditHeadKeyLabel = "audit-head"

// Files the first start writes into the data directory, mode 0600.
const (
	// KEKFileName holds the software key store's KEK when keys.softkey names no other.
	KEKFileName = "kek"
	// IDKeyFileName holds the registry's identity-hash key when registry.id_key_file is empty.
	IDKeyFileName = "idkey"
	// AdminKeyFileName holds the bootstrap admin API key (see Bootstrap).
	AdminKeyFileName = "admin.key"
)

// OpenOptions tune Open; the zero value is the default.
type OpenOptions struct {
	// Logger receives every part's lines; nil means a logger made from cfg.Log writing to
	// standard error.
	Logger *slog.Logger
}

// extras are what a Services holds beyond its fields, released by Close.
type extras struct {
	closers []func() error // in the order to run
	// caches are the verifier's caches by name (certs, seals, chains, revocation), for
	// /metrics; a cache turned off is absent.
	caches map[string]*cache.Cache[any]
	once   sync.Once
	err    error
}

// opened maps each *Services made by Open to its extras.
var opened sync.Map

// Open wires the services of cfg over its data directory, creating what a first start needs:
// the store, the KEK file and the identity-hash key file (on the software key store with
// generation on), the built-in CA's keys and certificates, the audit head key and the
// default trust set (our root and seal maker). On an existing data directory nothing is
// made again: the same KEK, keys, CA and audit chain are used. A KEK file missing while the
// store holds keys wrapped under it, or an identity-hash key file missing while the store
// holds identities hashed under it, is an error: such a file is never replaced.
//
// Bootstrap, called after Open, makes the first admin API key. Close releases everything.
func Open(ctx context.Context, cfg *Config) (*Services, error) {
	return OpenWith(ctx, cfg, OpenOptions{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, cfg *Config, opts OpenOptions) (svc *Services, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lg := opts.Logger
	if lg == nil {
		if lg, err = cfg.Log.Logger(os.Stderr); err != nil {
			return nil, err
		}
	}
	ex := &extras{caches: map[string]*cache.Cache[any]{}}
	// On failure, undo what was opened, newest first.
	var undo []func() error
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				_ = undo[i]()
			}
		}
	}()
	push := func(f func() error) { undo = append(undo, f) }

	dir := cfg.Data.Dir
	db, err := store.Open(dir, &store.Options{Logger: lg})
	if err != nil {
		return nil, fmt.Errorf("appliance: open the store: %w", err)
	}
	push(db.Close)
	// What the generated files protect: keys wrapped under the KEK, identity numbers hashed
	// under the identity-hash key. A store without them (new, or holding only impressions
	// imported before the first start) may have the files generated.
	noWrapped, err := storeEmpty(ctx, db, "softkey/")
	if err != nil {
		return nil, fmt.Errorf("appliance: read the store: %w", err)
	}
	noIDs, err := storeEmpty(ctx, db, registry.Prefix+"app/", registry.Prefix+"seal/")
	if err != nil {
		return nil, fmt.Errorf("appliance: read the store: %w", err)
	}
	fresh, err := storeEmpty(ctx, db, "")
	if err != nil {
		return nil, fmt.Errorf("appliance: read the store: %w", err)
	}

	// What can fail without writing comes first, and the files a first start generates are
	// written before anything goes into the store, so that a first start that fails leaves
	// a directory the next one completes.
	pics, err := sealimg.New(sealimg.Options{FontPath: cfg.Registry.FontPath, DPI: cfg.Registry.PictureDPI})
	if err != nil {
		return nil, fmt.Errorf("appliance: registry.font_path: %w", err)
	}
	idKey, err := loadIDKey(cfg, noIDs)
	if err != nil {
		return nil, err
	}
	defer clear(idKey)
	keys, err := openKeyStore(ctx, cfg, db, noWrapped, lg)
	if err != nil {
		return nil, err
	}
	push(keys.Close)

	crlURL, err := cfg.CA.crlURL(cfg.Server)
	if err != nil {
		return nil, err
	}
	ca, err := pki.Open(ctx, pki.Options{Store: db, Keys: keys, Logger: lg, CRLURL: crlURL,
		Organisation: cfg.CA.Organisation, OrgCode: cfg.CA.OrgCode, RootCommonName: cfg.CA.RootCommonName,
		RootValidity: cfg.CA.RootValidity, MakerValidity: cfg.CA.MakerValidity,
		CRLRefresh: cfg.CA.CRLRefresh, CRLValidity: cfg.CA.CRLValidity})
	if err != nil {
		return nil, fmt.Errorf("appliance: open the CA: %w", err)
	}
	push(ca.Close)

	head, err := auditHeadSigner(ctx, keys)
	if err != nil {
		return nil, err
	}
	alog, err := audit.Open(ctx, db, audit.Options{HeadSigner: head, Logger: lg})
	if err != nil {
		return nil, fmt.Errorf("appliance: open the audit log: %w", err)
	}
	push(alog.Close)

	guard, err := signer.NewGuard(store.MustSpace(db, "pin"), signer.GuardOptions{Iterations: cfg.Registry.PINIterations, Logger: lg})
	if err != nil {
		return nil, fmt.Errorf("appliance: open the PIN guard: %w", err)
	}
	outbox, err := registry.NewOutbox(ctx, db, registry.OutboxOptions{})
	if err != nil {
		return nil, fmt.Errorf("appliance: open the outbox: %w", err)
	}
	reg, err := registry.New(registry.Config{State: registry.NewState(db, alog), Keys: keys, CA: ca, Guard: guard,
		Pictures: pics, Impressions: registry.NewImpressionStore(db, registry.ImpressionOptions{}), Events: outbox,
		Division: cfg.Registry.Division, IDKey: idKey, VendorID: cfg.Registry.VendorID, Logger: lg})
	if err != nil {
		return nil, fmt.Errorf("appliance: open the registry: %w", err)
	}

	sets, err := trust.Open(ctx, store.MustSpace(db, trust.SpaceName), trust.Options{Logger: lg,
		Default: &trust.TrustSetInput{Roots: [][]byte{ca.Root().Raw}, Makers: [][]byte{ca.Maker().Raw}}})
	if err != nil {
		return nil, fmt.Errorf("appliance: open the trust sets: %w", err)
	}
	for name, files := range cfg.Verification.TrustSets {
		if _, err := sets.LoadFiles(ctx, name, files.Roots, files.Intermediates, files.Makers); err != nil {
			return nil, fmt.Errorf("appliance: verification.trust_sets.%s: %w", name, err)
		}
	}

	var caches verifier.Caches
	for _, c := range []struct {
		name   string
		budget int64
		dst    *verifier.Cache
	}{{"certs", cfg.Caches.Certs, &caches.Certs}, {"seals", cfg.Caches.Seals, &caches.Seals},
		{"chains", cfg.Caches.Chains, &caches.Chains}, {"revocation", cfg.Caches.Revocation, &caches.Revocation}} {
		if c.budget == 0 {
			continue
		}
		cc, err := cache.New[any](cache.Config{MaxBytes: c.budget})
		if err != nil {
			return nil, fmt.Errorf("appliance: caches: %w", err)
		}
		push(func() error { cc.Close(); return nil })
		*c.dst = cc
		ex.caches[c.name] = cc
	}

	var ver atomic.Pointer[verifier.Verifier]
	var crls *revocation.Fetcher
	vopts := verifier.Options{TrustSets: sets, TrustSet: trust.DefaultName, Status: reg,
		TimeProof: verifier.ProofFunc(alog.ProveExistence), Caches: caches}
	if cfg.Revocation.Fetch {
		schemes := []string{"http"}
		if cfg.Revocation.AllowHTTPS {
			schemes = append(schemes, "https")
		}
		crls, err = revocation.New(db, revocation.Config{Timeout: cfg.Revocation.Timeout, MaxBytes: cfg.Revocation.MaxBytes,
			AllowedSchemes: schemes, Logger: lg, OnNew: func(*smx509.Certificate) {
				if v := ver.Load(); v != nil {
					v.InvalidateRevocation()
				}
			}})
		if err != nil {
			return nil, fmt.Errorf("appliance: open the CRL fetcher: %w", err)
		}
		push(crls.Close)
		// Our own CA's CRL is held from the start, so that verifying our seals never
		// fetches it from this very server.
		if der, err := ca.CRL(ctx); err != nil {
			lg.Warn("the built-in CA's CRL could not be made", "err", err)
		} else if err := crls.Put(ctx, ca.Root(), der); err != nil && !errors.Is(err, errs.Conflict) {
			lg.Warn("the built-in CA's CRL could not be held", "err", err)
		}
		vopts.CRLSource = crls
	}
	v := verifier.New(vopts)
	ver.Store(v)
	pool := verifier.NewPool(v, verifier.PoolOptions{Workers: cfg.Verification.Workers, Queue: cfg.Verification.Queue})
	push(func() error { pool.Close(); return nil })

	svc = &Services{DB: db, Keys: keys, CA: ca, Registry: reg, Audit: alog, Verifier: v, Pool: pool,
		Trust: sets, CRLs: crls, APIKeys: NewAPIKeys(db), Log: lg}
	svc.Ready = func(ctx context.Context) error { return ready(ctx, db, keys) }
	// Close runs in the order of undo reversed: the pool, the fetcher, the caches, the
	// audit log (its last head needs the key store), the CA, the key store, the store.
	for i := len(undo) - 1; i >= 0; i-- {
		ex.closers = append(ex.closers, undo[i])
	}
	opened.Store(svc, ex)
	if fresh {
		lg.Info("first start: data directory set up", "dir", dir, "backend", cfg.Keys.Backend)
	}
	return svc, nil
}

// Close releases everything Open opened, in order: the verification pool, the CRL fetcher,
// the caches, the audit log (which signs a last head), the CA, the key store and the store.
// It returns the first error; closing twice is harmless. It does nothing for Services not
// made by Open.
func (s *Services) Close() error {
	v, ok := opened.Load(s)
	if !ok {
		return nil
	}
	ex := v.(*extras)
	ex.once.Do(func() {
		for _, c := range ex.closers {
			if err := c(); err != nil && ex.err == nil {
				ex.err = err
			}
		}
		opened.Delete(s)
	})
	return ex.err
}

// caches are the verifier caches Open made for s, by name; none for Services not made by
// Open (or once closed).
func (s *Services) caches() map[string]*cache.Cache[any] {
	v, ok := opened.Load(s)
	if !ok {
		return nil
	}
	return v.(*extras).caches
}

// ready checks the store and the key store.
func ready(ctx context.Context, db store.KV, keys signer.KeyStore) error {
	if _, err := db.Get(ctx, []byte("ready-probe")); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("store: %w", err)
	}
	if r, ok := keys.(signer.Readier); ok {
		if err := r.Ready(); err != nil {
			return fmt.Errorf("key store: %w", err)
		}
	}
	return nil
}

// storeEmpty reports whether the store holds no key under any of the prefixes ("" for the
// whole store).
func storeEmpty(ctx context.Context, db store.KV, prefixes ...string) (bool, error) {
	empty := true
	for _, p := range prefixes {
		if err := db.Scan(ctx, []byte(p), func(_, _ []byte) error { empty = false; return store.ErrStop }); err != nil {
			return false, err
		}
	}
	return empty, nil
}

// openKeyStore opens the configured key store. On the software store a missing KEK file is
// generated only while the store holds no wrapped key, with keys.softkey.generate.
func openKeyStore(ctx context.Context, cfg *Config, db *store.Pebble, noWrapped bool, lg *slog.Logger) (signer.KeyStore, error) {
	if cfg.Keys.Backend == BackendPKCS11 {
		p := cfg.Keys.PKCS11
		pin, err := readPIN(p)
		if err != nil {
			return nil, err
		}
		s, err := pkcs11.Open(pkcs11.Config{Module: p.Module, TokenLabel: p.TokenLabel, PIN: pkcs11.NewSecret(pin),
			Profile: p.Profile, Sessions: p.Sessions, WaitTimeout: p.WaitTimeout, Logger: lg})
		if err != nil {
			return nil, fmt.Errorf("appliance: open the HSM: %w", err)
		}
		return s, nil
	}
	sk := cfg.Keys.SoftKey
	file := sk.KEKFile
	if file == "" && sk.KEKEnv == "" {
		file = filepath.Join(cfg.Data.Dir, KEKFileName)
	}
	if file != "" {
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			switch {
			case !noWrapped:
				return nil, configErr("", "keys.softkey.kek_file", "%s is missing, and the store already holds data wrapped under a KEK: restore the KEK file", file)
			case !sk.Generate:
				return nil, configErr("", "keys.softkey.kek_file", "%s is missing (keys.softkey.generate is off)", file)
			}
			if err := writeSecretFile(file, []byte(randomHex(softkey.KEKSize)+"\n"), false); err != nil {
				return nil, fmt.Errorf("appliance: generate the KEK: %w", err)
			}
			lg.Info("first start: KEK generated", "file", file)
		}
	}
	kek, err := softkey.LoadKEK(file, sk.KEKEnv)
	if err != nil {
		return nil, fmt.Errorf("appliance: load the KEK: %w", err)
	}
	defer clear(kek)
	s, err := softkey.New(store.MustSpace(db, "softkey"), kek, softkey.Options{Logger: lg})
	if err != nil {
		return nil, fmt.Errorf("appliance: open the key store: %w", err)
	}
	return s, nil
}

// maxSecretFile bounds a PIN or key file.
const maxSecretFile = 4096

// readSecretFile reads a small file that only its owner may read; errors never hold its
// content.
func readSecretFile(key, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, configErr("", key, "%v", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, configErr("", key, "%v", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, configErr("", key, "%s may be read by group or others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, configErr("", key, "read %s: %v", path, err)
	}
	if len(b) > maxSecretFile {
		return nil, configErr("", key, "%s is larger than %d bytes", path, maxSecretFile)
	}
	return b, nil
}

// readPIN reads the HSM user PIN from its file or variable (which is then unset).
func readPIN(p PKCS11Config) (string, error) {
	if p.PINFile != "" {
		b, err := readSecretFile("keys.pkcs11.pin_file", p.PINFile)
		if err != nil {
			return "", err
		}
		pin := string(bytes.TrimSpace(b))
		clear(b)
		if pin == "" {
			return "", configErr("", "keys.pkcs11.pin_file", "%s is empty", p.PINFile)
		}
		return pin, nil
	}
	pin, ok := os.LookupEnv(p.PINEnv)
	_ = os.Unsetenv(p.PINEnv) // read once; children do not inherit it
	if !ok || pin == "" {
		return "", configErr("", "keys.pkcs11.pin_env", "the environment variable %s (the HSM user PIN) is not set", p.PINEnv)
	}
	return pin, nil
}

// loadIDKey reads the identity-hash key, generating DATA/idkey while the store holds no
// application or seal (noIDs).
func loadIDKey(cfg *Config, noIDs bool) ([]byte, error) {
	const key = "registry.id_key_file"
	file := cfg.Registry.IDKeyFile
	if file == "" {
		file = filepath.Join(cfg.Data.Dir, IDKeyFileName)
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			if !noIDs {
				return nil, configErr("", key, "%s is missing, and the store already holds identities hashed under it: restore it", file)
			}
			if err := writeSecretFile(file, []byte(randomHex(32)+"\n"), false); err != nil {
				return nil, fmt.Errorf("appliance: generate the identity-hash key: %w", err)
			}
		}
	}
	b, err := readSecretFile(key, file)
	if err != nil {
		return nil, err
	}
	t := bytes.TrimSpace(b)
	k := make([]byte, len(t)/2)
	if n, err := hex.Decode(k, t); err == nil && len(t)%2 == 0 {
		k = k[:n]
	} else {
		k = append(k[:0], b...) // raw bytes
	}
	clear(b)
	if len(k) < registry.MinIDKeyLen {
		return nil, configErr("", key, "%s holds %d bytes, at least %d are needed", file, len(k), registry.MinIDKeyLen)
	}
	return k, nil
}

// auditHeadSigner finds the audit head key in the key store, generating it on a first start.
func auditHeadSigner(ctx context.Context, keys signer.KeyStore) (crypto.Signer, error) {
	if _, err := keys.Find(ctx, AuditHeadKeyLabel); errors.Is(err, signer.ErrKeyNotFound) {
		if _, err := keys.Generate(ctx, AuditHeadKeyLabel, signer.SM2); err != nil {
			return nil, fmt.Errorf("appliance: generate the audit head key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("appliance: find the audit head key: %w", err)
	}
	s, err := keys.Signer(ctx, AuditHeadKeyLabel)
	if err != nil {
		return nil, fmt.Errorf("appliance: the audit head key: %w", err)
	}
	return s, nil
}
