package registry

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/internal/genmemo"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/signer"
)

// Limits of an application.
const (
	// DefaultMaxMaterialSize bounds one proof material (Config.MaxMaterialSize).
	DefaultMaxMaterialSize = 8 << 20
	// MaxMaterials is the most proof materials one request carries.
	MaxMaterials = 32
	// MaxTextLen bounds names and reasons, in characters.
	MaxTextLen = 160
	// MinIDKeyLen is the shortest Config.IDKey.
	MinIDKeyLen = 16
	// DefaultApprovalTTL is how long a use approval lasts when its grant names no time.
	DefaultApprovalTTL = 24 * time.Hour
	// MaxBatchDigests bounds the digests of one use (a bulk signing).
	MaxBatchDigests = 4096
)

// Config wires a Registry to the platform's parts.
type Config struct {
	// State holds the lifecycle state and commits it with its audit records (NewState).
	State State
	// Keys is where seal keys are generated; CA issues their signer certificates and holds
	// the seal maker's key (pki.MakerKeyLabel) in Keys.
	Keys signer.KeyStore
	CA   *pki.CA
	// Guard keeps the seals' protection PINs.
	Guard *signer.Guard
	// Pictures draws the generated pictures (business entities' and personal seals).
	Pictures *sealimg.Renderer
	// Impressions gives the filed impressions of physical seal codes; nil means none filed.
	Impressions ImpressionSource
	// Events turns lifecycle events into outbox writes; nil means no outbox writes.
	Events EventSink
	// Division is the 6-digit administrative division code that starts the seal codes the
	// platform assigns.
	Division string
	// IDKey keys the hash by which identity numbers are compared (HMAC-SM3); at least
	// MinIDKeyLen bytes, kept secret and stable for the registry's life.
	IDKey []byte
	// VendorID is the vid written into the seals; empty means "eseal".
	VendorID string
	// MaxMaterialSize bounds one proof material; 0 means DefaultMaxMaterialSize.
	MaxMaterialSize int
	// Clock gives the time; nil means time.Now.
	Clock func() time.Time
	// Logger receives one line per lifecycle step (no PIN, key or identity number); nil
	// means slog.Default().
	Logger *slog.Logger
}

// Registry is the seal lifecycle of the measures. It is safe for concurrent use.
type Registry struct {
	cfg Config
	// mu serialises the read-check-commit of lifecycle steps.
	mu sync.Mutex
	// statuses remembers SealStatus's answers and inUse the seals signing reads; every
	// commit moves both on.
	statuses *genmemo.Table[sealStatus]
	inUse    *genmemo.Table[*inUse]
	// destroyed holds the labels of the keys this process destroyed (or found gone): a
	// refused use of a revoked seal asks the key store to destroy its key only until then.
	destroyed sync.Map
}

// New checks cfg and returns a Registry over it.
func New(cfg Config) (*Registry, error) {
	switch {
	case cfg.State == nil:
		return nil, configErr("no state")
	case cfg.Keys == nil || cfg.CA == nil:
		return nil, configErr("no key store or CA")
	case cfg.Guard == nil:
		return nil, configErr("no PIN guard")
	case cfg.Pictures == nil:
		return nil, configErr("no picture renderer")
	case !isDigits(cfg.Division, 6):
		return nil, configErr("the division code must be 6 digits")
	case len(cfg.IDKey) < MinIDKeyLen:
		return nil, configErr(fmt.Sprintf("the identity hash key must have at least %d bytes", MinIDKeyLen))
	}
	if cfg.VendorID == "" {
		cfg.VendorID = "eseal"
	}
	if cfg.MaxMaterialSize <= 0 {
		cfg.MaxMaterialSize = DefaultMaxMaterialSize
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.IDKey = append([]byte(nil), cfg.IDKey...)
	return &Registry{cfg: cfg, statuses: genmemo.New[sealStatus](sealStatusMemo), inUse: genmemo.New[*inUse](sealsInUse)}, nil
}

func configErr(msg string) error {
	return &Error{Kind: errs.Config, Op: "new", Msg: msg}
}

func (r *Registry) now() time.Time { return r.cfg.Clock().UTC() }

// Identity is a person as the registry keeps them: the name, the identity number masked, and
// its keyed hash for comparison. The whole number is never stored.
type Identity struct {
	Name   string `json:"name"`
	Masked string `json:"id_masked"`
	Hash   string `json:"id_hash"`
}

// Person is a person as a request names them.
type Person struct {
	Name string
	// ID is the identity number (an 18-character resident identity number, GB 11643).
	ID string
}

func (r *Registry) identity(op, field string, p Person) (Identity, error) {
	if err := checkText(op, field+" name", p.Name, true); err != nil {
		return Identity{}, err
	}
	if err := checkPersonID(op, field+" identity number", p.ID); err != nil {
		return Identity{}, err
	}
	return Identity{Name: p.Name, Masked: maskID(p.ID), Hash: r.idHash(p.ID)}, nil
}

// idHash is HMAC-SM3 of the identity number under IDKey, hex.
func (r *Registry) idHash(id string) string {
	m := hmac.New(sm3.New, r.cfg.IDKey)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

// maskID keeps the first 6 and the last 4 characters of an identity number.
func maskID(id string) string {
	if len(id) <= 10 {
		return "****"
	}
	b := []byte(id)
	for i := 6; i < len(b)-4; i++ {
		b[i] = '*'
	}
	return string(b)
}

func checkText(op, field, s string, required bool) error {
	switch {
	case s == "" && required:
		return refuse(errs.InvalidInput, op, "", "%s is missing", field)
	case !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxTextLen:
		return refuse(errs.InvalidInput, op, "", "%s is not valid UTF-8 of at most %d characters", field, MaxTextLen)
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return refuse(errs.InvalidInput, op, "", "%s holds a control character", field)
		}
	}
	return nil
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validCode reports whether s can be a seal code: 1..32 digits and capital letters.
func validCode(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

func need(op string, a Actor, roles ...Role) error {
	for _, ro := range roles {
		if a.Has(ro) {
			return nil
		}
	}
	return refuse(errs.WrongRole, op, "", "%q lacks the role %s", a.Name, roles[0])
}

func checkActor(op string, a Actor) error {
	if a.Name == "" || len(a.Name) > audit.MaxActorLen || audit.HasResidentID(a.Name) {
		return refuse(errs.InvalidInput, op, "", "the actor needs an account name (no identity number)")
	}
	return nil
}

// Store keys.
func appKey(id string) string       { return Prefix + "app/" + id }
func sealKey(code string) string    { return Prefix + "seal/" + code }
func useKey(id string) string       { return Prefix + "use/" + id }
func blobKey(sum string) string     { return Prefix + "blob/" + sum }
func counterKey(name string) string { return Prefix + "seq/" + name }

// newKeyLabel is the label of a new key for the seal code: the code and 8 random hex digits.
// The random part keeps a key store shared with another installation, or kept from an
// earlier one (a PKCS#11 token outlives a data directory, and codes start again from the
// same sequence), from ever handing this registry a key it did not make: an existing label
// is refused, never taken over. A making that fails after Generate leaves an unused key
// behind (listed by the key store, harmless).
func newKeyLabel(code string) (string, error) {
	var b [4]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return "", fmt.Errorf("random key label: %w", err)
	}
	return "seal-" + code + "-" + hex.EncodeToString(b[:]), nil
}
func jsonWrite(key string, v any) audit.Write {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the registry's own records always encode
	}
	return audit.Write{Key: []byte(key), Value: b}
}

func (r *Registry) load(ctx context.Context, op, key, what string, v any) error {
	b, err := r.cfg.State.Get(ctx, key)
	if errors.Is(err, errs.NotFound) {
		return refuse(errs.NotFound, op, what, "no such record")
	}
	if err != nil {
		return wrap(op, what, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &Error{Kind: errs.Corrupt, Op: op, Subject: what, Msg: "stored record unreadable", Err: err}
	}
	return nil
}

// commit is one lifecycle step: writes (plus the event's outbox writes) and the audit
// record, in one atomic synced batch.
func (r *Registry) commit(ctx context.Context, op string, rec audit.Record, writes []audit.Write, events ...Event) error {
	if r.cfg.Events != nil {
		for _, ev := range events {
			ws, err := r.cfg.Events.EventWrites(ctx, ev)
			if err != nil {
				return wrap(op, ev.SealCode, fmt.Errorf("outbox: %w", err))
			}
			writes = append(writes, ws...)
		}
	}
	if rec.Outcome == "" {
		rec.Outcome = audit.OutcomeOK
	}
	_, err := r.cfg.State.Commit(ctx, rec, writes)
	// What was written (or maybe written) is read again by the next SealStatus and signing.
	r.statuses.Bump()
	r.inUse.Bump()
	if err != nil {
		return wrap(op, rec.SealCode, err)
	}
	r.cfg.Logger.Info("registry", "op", op, "actor", rec.Actor, "seal", rec.SealCode, "outcome", rec.Outcome)
	return nil
}

// refusal records a refused act in the audit log (best effort: the refusal is returned
// whatever the log says) and returns err.
func (r *Registry) refusal(ctx context.Context, a Actor, action, code string, digest []byte, err error) error {
	details := map[string]string{"code": errs.KindOf(err).Code()}
	rec := audit.Record{Actor: a.Name, Action: action, SealCode: code, Outcome: audit.OutcomeRefused, Details: details}
	if len(digest) <= 64 {
		rec.Digest = digest
	}
	if _, aerr := r.cfg.State.Commit(ctx, rec, nil); aerr != nil {
		r.cfg.Logger.Warn("registry: refusal not recorded", "action", action, "seal", code, "err", aerr)
	}
	return err
}
