package appliance

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/internal/genmemo"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/store"
)

// SecretPrefix starts every API key's secret, so that a secret pasted where it should not
// be (a log, a ticket) can be recognised and searched for.
const SecretPrefix = "esk_"

// secretBytes is the entropy of a secret.
const secretBytes = 32

// maxKeyName bounds a key's name.
const maxKeyName = 128

// APIKeys are the API keys, kept in the store (space "apikey") as the SM3 hash of their
// secret with the key's name, roles, seals and creation time. A secret is 32 random bytes,
// so its hash cannot be reversed by trying secrets; the secret itself is shown once, by
// Create, and never stored. Keys are found by the hash of the secret presented; the stored
// hash is then compared in constant time.
//
// Keys live under "h/<hex SM3 of the secret>" (the record) and "n/<name>" (the hash, so
// that names are unique and a key can be revoked or matched by name). Safe for concurrent
// use.
type APIKeys struct {
	kv  store.KV
	now func() time.Time
	// known remembers the keys found by Authenticate (by the hash of their secret); every
	// write (a key made or revoked) moves it on, so a revocation refuses the next request.
	known *genmemo.Table[keyRecord]
}

// knownKeys is how many API keys Authenticate remembers.
const knownKeys = 256

// APIKey describes a key, without its secret.
type APIKey struct {
	Name    string          `json:"name"`
	Roles   []registry.Role `json:"roles"`
	Seals   []string        `json:"seals,omitempty"`
	Created time.Time       `json:"created"`
}

// keyRecord is the stored form: the description and the hash of the secret.
type keyRecord struct {
	APIKey
	Hash []byte `json:"hash"`
}

// NewAPIKeys returns the API keys kept in kv (usually the store itself; they take the
// space "apikey").
func NewAPIKeys(kv store.KV) *APIKeys {
	return &APIKeys{kv: store.MustSpace(kv, "apikey"), now: func() time.Time { return time.Now().UTC() },
		known: genmemo.New[keyRecord](knownKeys)}
}

func hashSecret(secret string) []byte {
	h := sm3.Sum([]byte(secret))
	return h[:]
}

func hashKey(h []byte) []byte    { return []byte("h/" + hex.EncodeToString(h)) }
func nameKey(name string) []byte { return []byte("n/" + name) }

// validRoles are the roles a key may carry.
var validRoles = []registry.Role{
	registry.RoleAdmin, registry.RoleReviewer, registry.RoleMaker, registry.RoleSigner,
	registry.RoleApplicant, RoleVerifier, RoleAuditor,
}

func checkName(name string) error {
	if name == "" || len(name) > maxKeyName {
		return &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("an API key's name has 1 to %d bytes", maxKeyName)}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return &Error{Kind: errs.InvalidInput, Message: "an API key's name has no control characters"}
		}
	}
	return nil
}

// Create makes a key for name with roles (and, for a signer, the seals it may use) and
// returns its secret, which is shown once and never stored. A name is unique: a second key
// under a name in use is an errs.KeyExists error.
func (k *APIKeys) Create(ctx context.Context, name string, roles []registry.Role, seals []string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if len(roles) == 0 {
		return "", &Error{Kind: errs.InvalidInput, Message: "an API key needs at least one role"}
	}
	for _, r := range roles {
		if !slices.Contains(validRoles, r) {
			return "", &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("unknown role %q", r)}
		}
	}
	for _, s := range seals {
		if s == "" || len(s) > 64 {
			return "", &Error{Kind: errs.InvalidInput, Message: "a seal code of an API key has 1 to 64 bytes"}
		}
	}
	raw := make([]byte, secretBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("appliance: API key %s: random secret: %w", name, err)
	}
	secret := SecretPrefix + base64.RawURLEncoding.EncodeToString(raw)
	rec := keyRecord{
		APIKey: APIKey{Name: name, Roles: slices.Clone(roles), Seals: slices.Clone(seals), Created: k.now()},
		Hash:   hashSecret(secret),
	}
	val, err := json.Marshal(rec)
	if err != nil {
		return "", fmt.Errorf("appliance: API key %s: %w", name, err)
	}
	b := k.kv.NewBatch()
	defer b.Close()
	for _, op := range []error{
		b.Expect(nameKey(name), nil),
		b.Expect(hashKey(rec.Hash), nil),
		b.Set(nameKey(name), rec.Hash),
		b.Set(hashKey(rec.Hash), val),
	} {
		if op != nil {
			return "", fmt.Errorf("appliance: API key %s: %w", name, op)
		}
	}
	err = b.Commit(ctx)
	k.known.Bump()
	if err != nil {
		if errors.Is(err, errs.Conflict) {
			return "", &Error{Kind: errs.KeyExists, Message: fmt.Sprintf("an API key named %q exists already", name)}
		}
		return "", fmt.Errorf("appliance: API key %s: store: %w", name, err)
	}
	return secret, nil
}

// errNoKey is the answer to any secret that names no key, whatever the reason.
var errNoKey = &Error{Kind: errs.Unauthenticated, Message: "the API key is not valid"}

// Authenticate returns the actor of a key's secret: an errs.Unauthenticated error when the
// secret is not that of a key (the error never repeats the secret).
func (k *APIKeys) Authenticate(ctx context.Context, secret string) (registry.Actor, error) {
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) > 128 {
		return registry.Actor{}, errNoKey
	}
	h := hashSecret(secret)
	if rec, ok := k.known.Get(string(h)); ok && subtle.ConstantTimeCompare(rec.Hash, h) == 1 {
		return rec.actor(), nil
	}
	gen := k.known.Gen()
	val, err := k.kv.Get(ctx, hashKey(h))
	if errors.Is(err, errs.NotFound) {
		return registry.Actor{}, errNoKey
	}
	if err != nil {
		return registry.Actor{}, fmt.Errorf("appliance: API key: store: %w", err)
	}
	var rec keyRecord
	if err := json.Unmarshal(val, &rec); err != nil {
		return registry.Actor{}, fmt.Errorf("appliance: API key %s: stored record: %w", rec.Name, errs.Corrupt)
	}
	if subtle.ConstantTimeCompare(rec.Hash, h) != 1 {
		return registry.Actor{}, errNoKey
	}
	k.known.Put(string(h), gen, rec)
	return rec.actor(), nil
}

func (r keyRecord) actor() registry.Actor {
	return registry.Actor{Name: r.Name, Roles: slices.Clone(r.Roles), Seals: slices.Clone(r.Seals)}
}

// ByName returns the actor of the key named name (a mutual-TLS client presents the name as
// its certificate's common name): an errs.Unauthenticated error when there is none.
func (k *APIKeys) ByName(ctx context.Context, name string) (registry.Actor, error) {
	if checkName(name) != nil {
		return registry.Actor{}, errNoKey
	}
	h, err := k.kv.Get(ctx, nameKey(name))
	if errors.Is(err, errs.NotFound) {
		return registry.Actor{}, errNoKey
	}
	if err != nil {
		return registry.Actor{}, fmt.Errorf("appliance: API key %s: store: %w", name, err)
	}
	val, err := k.kv.Get(ctx, hashKey(h))
	if errors.Is(err, errs.NotFound) {
		return registry.Actor{}, errNoKey
	}
	if err != nil {
		return registry.Actor{}, fmt.Errorf("appliance: API key %s: store: %w", name, err)
	}
	var rec keyRecord
	if err := json.Unmarshal(val, &rec); err != nil || rec.Name != name {
		return registry.Actor{}, fmt.Errorf("appliance: API key %s: stored record: %w", name, errs.Corrupt)
	}
	return rec.actor(), nil
}

// Count is how many keys there are (zero before the bootstrap).
func (k *APIKeys) Count(ctx context.Context) (int, error) {
	n := 0
	err := k.kv.Scan(ctx, []byte("n/"), func(_, _ []byte) error { n++; return nil })
	if err != nil {
		return 0, fmt.Errorf("appliance: count API keys: %w", err)
	}
	return n, nil
}

// List describes every key, by name, without secrets or hashes.
func (k *APIKeys) List(ctx context.Context) ([]APIKey, error) {
	var out []APIKey
	err := k.kv.Scan(ctx, []byte("h/"), func(_, v []byte) error {
		var rec keyRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("stored record: %w", errs.Corrupt)
		}
		out = append(out, rec.APIKey)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("appliance: list API keys: %w", err)
	}
	slices.SortFunc(out, func(a, b APIKey) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Revoke deletes the key named name: its secret authenticates nobody from then on. An
// unknown name is an errs.NotFound error.
func (k *APIKeys) Revoke(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	h, err := k.kv.Get(ctx, nameKey(name))
	if errors.Is(err, errs.NotFound) {
		return &Error{Kind: errs.NotFound, Message: fmt.Sprintf("no API key is named %q", name)}
	}
	if err != nil {
		return fmt.Errorf("appliance: revoke API key %s: %w", name, err)
	}
	b := k.kv.NewBatch()
	defer b.Close()
	for _, op := range []error{
		b.Expect(nameKey(name), h),
		b.Delete(nameKey(name)),
		b.Delete(hashKey(h)),
	} {
		if op != nil {
			return fmt.Errorf("appliance: revoke API key %s: %w", name, op)
		}
	}
	err = b.Commit(ctx)
	k.known.Bump()
	if err != nil {
		return fmt.Errorf("appliance: revoke API key %s: %w", name, err)
	}
	return nil
}
