package signer

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/eseal/eseal/internal/genmemo"
	"github.com/eseal/eseal/store"
)

// PIN protection defaults.
const (
	// MaxPINTries is the number of wrong PINs in a row that locks a key.
	MaxPINTries = 5
	// MaxPINDailyFailures is the number of wrong PINs within a day that locks a key, whatever
	// right PINs come between them (four times the tries in a row; see GuardOptions.MaxTries).
	MaxPINDailyFailures = 4 * MaxPINTries
	// pinFailureWindow is the span over which MaxPINDailyFailures counts.
	pinFailureWindow = 24 * time.Hour
	// DefaultPINIterations is the PBKDF2-HMAC-SM3 iteration count for new
	// PIN hashes (tens of milliseconds on one core).
	DefaultPINIterations = 100_000
	// MinPINIterations is the lowest count accepted from configuration.
	MinPINIterations = 1_000
	// DefaultPINCacheTTL bounds how long a verified PIN is remembered in
	// memory (as a keyed MAC, never in clear) to skip the slow hash.
	DefaultPINCacheTTL = time.Minute
	minPINLen          = 6
	maxPINLen          = 64
)

// GuardOptions configure a Guard; the zero value is the default.
type GuardOptions struct {
	// Iterations for new PIN hashes; 0 means DefaultPINIterations.
	Iterations int
	// MaxTries wrong PINs in a row lock the key, and so do four times as many
	// within a day, right ones between them or not; 0 means MaxPINTries.
	MaxTries int
	// CacheTTL for verified PINs; 0 means DefaultPINCacheTTL, negative
	// disables the cache (every Verify runs the slow hash).
	CacheTTL time.Duration
	// Logger for audit-worthy events (lock, unlock, PIN set). Never gets
	// the PIN. nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Guard keeps PIN records (salted PBKDF2-HMAC-SM3 hashes, failure counts
// and lock flags) in a store keyspace. It implements PINStore.
type Guard struct {
	kv    store.KV
	iter  int
	max   int
	daily int // wrong PINs within pinFailureWindow that lock, right ones between or not
	ttl   time.Duration
	log   *slog.Logger
	now   func() time.Time
	mac   []byte // per-process key for the verified-PIN cache
	locks sync.Map
	cache sync.Map // label -> cacheEntry
	// records remembers the PIN records read, until this Guard writes any: a Guard must
	// be the only writer of its keyspace in its process (the store is one process's).
	records *genmemo.Table[pinRecord]
}

// pinRecordsKept is how many PIN records a Guard remembers.
const pinRecordsKept = 1024

var _ PINStore = (*Guard)(nil)

type cacheEntry struct {
	mac   [32]byte
	until time.Time
}

type pinRecord struct {
	V        int       `json:"v"`
	KDF      string    `json:"kdf"`
	Iter     int       `json:"iter"`
	Salt     []byte    `json:"salt"`
	Hash     []byte    `json:"hash"`
	Failures int       `json:"failures"`
	Locked   bool      `json:"locked"`
	Changed  time.Time `json:"changed"`
	// Since starts the day over which DayFailures counts the wrong PINs, right ones between
	// them or not.
	Since       time.Time `json:"since,omitzero"`
	DayFailures int       `json:"day_failures,omitempty"`
}

const kdfName = "pbkdf2-hmac-sm3"

// NewGuard returns a Guard over kv (give it its own keyspace, e.g.
// store.MustSpace(db, "pin")).
func NewGuard(kv store.KV, opts GuardOptions) (*Guard, error) {
	g := &Guard{kv: kv, iter: opts.Iterations, max: opts.MaxTries, ttl: opts.CacheTTL, log: opts.Logger, now: opts.Now,
		records: genmemo.New[pinRecord](pinRecordsKept)}
	if g.iter == 0 {
		g.iter = DefaultPINIterations
	}
	if g.iter < MinPINIterations {
		return nil, Errorf(ErrConfig, "pin.NewGuard", "", nil, "PIN hash iterations %d below minimum %d", g.iter, MinPINIterations)
	}
	if g.max == 0 {
		g.max = MaxPINTries
	}
	if g.max < 1 || g.max > 100 {
		return nil, Errorf(ErrConfig, "pin.NewGuard", "", nil, "max PIN tries %d out of range 1..100", g.max)
	}
	g.daily = 4 * g.max
	if g.ttl == 0 {
		g.ttl = DefaultPINCacheTTL
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.log = g.log.With("component", "signer.pin")
	if g.now == nil {
		g.now = time.Now
	}
	g.mac = make([]byte, 32)
	if _, err := rand.Read(g.mac); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Guard) lock(label string) func() {
	m, _ := g.locks.LoadOrStore(label, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

func checkPIN(op, label string, pin []byte) error {
	if len(pin) < minPINLen || len(pin) > maxPINLen {
		return Errorf(ErrInvalidInput, op, label, nil, "PIN must be %d..%d bytes (got %d)", minPINLen, maxPINLen, len(pin))
	}
	return nil
}

func (g *Guard) load(ctx context.Context, op, label string) (*pinRecord, error) {
	if r, ok := g.records.Get(label); ok {
		return &r, nil // a copy: callers may change it
	}
	gen := g.records.Gen()
	b, err := g.kv.Get(ctx, []byte(label))
	if errors.Is(err, store.ErrNotFound) {
		return nil, Errorf(ErrNoPIN, op, label, nil, "no protection password set")
	}
	if err != nil {
		return nil, Errorf(ErrUnavailable, op, label, err, "reading PIN record")
	}
	r, err := decodeRecord(op, label, b)
	if err != nil {
		return nil, err
	}
	g.records.Put(label, gen, *r)
	return r, nil
}

func decodeRecord(op, label string, b []byte) (*pinRecord, error) {
	r := new(pinRecord)
	if err := json.Unmarshal(b, r); err != nil || r.V != 1 || r.KDF != kdfName || r.Iter < 1 || len(r.Salt) < 16 || len(r.Hash) != 32 {
		return nil, Errorf(ErrCorrupt, op, label, nil, "PIN record unreadable")
	}
	return r, nil
}

func (g *Guard) save(ctx context.Context, op, label string, r *pinRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return Errorf(ErrCorrupt, op, label, err, "encoding PIN record")
	}
	err = g.kv.Set(ctx, []byte(label), b)
	g.records.Bump()
	if err != nil {
		return Errorf(ErrUnavailable, op, label, err, "writing PIN record")
	}
	return nil
}

// SetPIN implements PINStore. It replaces any PIN and clears the lock.
func (g *Guard) SetPIN(ctx context.Context, label string, pin []byte) error {
	const op = "pin.SetPIN"
	if err := CheckLabel(op, label); err != nil {
		return err
	}
	if err := checkPIN(op, label, pin); err != nil {
		return err
	}
	r := &pinRecord{V: 1, KDF: kdfName, Iter: g.iter, Salt: make([]byte, 16), Changed: g.now().UTC()}
	if _, err := rand.Read(r.Salt); err != nil {
		return err
	}
	r.Hash = pbkdf2SM3(pin, r.Salt, r.Iter)
	defer g.lock(label)()
	g.cache.Delete(label)
	if err := g.save(ctx, op, label, r); err != nil {
		return err
	}
	g.log.InfoContext(ctx, "protection password set", "key", label)
	return nil
}

// ChangePIN implements PINStore.
func (g *Guard) ChangePIN(ctx context.Context, label string, old, pin []byte) error {
	if err := checkPIN("pin.ChangePIN", label, pin); err != nil {
		return err
	}
	if err := g.Verify(ctx, label, old); err != nil {
		return err
	}
	return g.SetPIN(ctx, label, pin)
}

// Verify implements PINStore: nil for the right PIN; ErrWrongPIN (with the
// tries left) otherwise; ErrLocked after MaxTries wrong PINs in a row, or four
// times as many within a day whatever right PINs came between them (else a
// caller could guess between the holder's own uses without end), whatever PIN
// is given, until Unlock.
func (g *Guard) Verify(ctx context.Context, label string, pin []byte) error {
	const op = "pin.Verify"
	if err := CheckLabel(op, label); err != nil {
		return err
	}
	r, err := g.load(ctx, op, label)
	if err != nil {
		return err
	}
	if r.Locked {
		return Errorf(ErrLocked, op, label, nil, "locked after %d wrong PINs; an administrator must unlock it", r.Failures)
	}
	if len(pin) == 0 {
		return Errorf(ErrPINRequired, op, label, nil, "no PIN given (not counted as a try)")
	}
	var mac [32]byte
	if g.ttl > 0 {
		mac = g.cacheMAC(label, r.Salt, pin)
		if e, ok := g.cache.Load(label); ok {
			ce := e.(cacheEntry)
			if subtle.ConstantTimeCompare(ce.mac[:], mac[:]) == 1 && g.now().Before(ce.until) {
				if r.Failures == 0 {
					return nil
				}
				return g.settle(ctx, op, label, r.Salt, true, mac)
			}
		}
	}
	if len(pin) > maxPINLen {
		return g.settle(ctx, op, label, r.Salt, false, mac)
	}
	h := pbkdf2SM3(pin, r.Salt, r.Iter)
	ok := subtle.ConstantTimeCompare(h, r.Hash) == 1
	return g.settle(ctx, op, label, r.Salt, ok, mac)
}

// errUnchanged ends an update that has nothing to write.
var errUnchanged = errors.New("unchanged")

// update applies fn to the PIN record of label by compare-and-swap, so
// that concurrent writers (other goroutines, other processes over the same
// store) never lose a count. fn may run more than once.
func (g *Guard) update(ctx context.Context, op, label string, fn func(r *pinRecord) error) error {
	_, err := store.Update(ctx, g.kv, []byte(label), func(old []byte) ([]byte, error) {
		if old == nil {
			return nil, Errorf(ErrNoPIN, op, label, nil, "no protection password set")
		}
		r, err := decodeRecord(op, label, old)
		if err != nil {
			return nil, err
		}
		if err := fn(r); err != nil {
			return nil, err
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, Errorf(ErrCorrupt, op, label, err, "encoding PIN record")
		}
		return b, nil
	})
	g.records.Bump()
	if err == nil || errors.Is(err, errUnchanged) {
		return nil
	}
	if KindOf(err) != 0 {
		return err
	}
	return Errorf(ErrUnavailable, op, label, err, "writing PIN record")
}

// settle records the outcome of a try in the stored record (see update),
// judged against the record as it is then: a PIN changed meanwhile, or a
// lock set meanwhile, wins.
func (g *Guard) settle(ctx context.Context, op, label string, salt []byte, ok bool, mac [32]byte) error {
	var failures, daily, left int
	var locked bool
	now := g.now()
	err := g.update(ctx, op, label, func(r *pinRecord) error {
		if subtle.ConstantTimeCompare(r.Salt, salt) != 1 {
			// The PIN changed while we hashed; judge against the new one.
			return Errorf(ErrWrongPIN, op, label, nil, "PIN changed during verification; try again")
		}
		if r.Locked {
			return Errorf(ErrLocked, op, label, nil, "locked after %d wrong PINs; an administrator must unlock it", r.Failures)
		}
		if ok {
			if r.Failures == 0 {
				return errUnchanged
			}
			r.Failures = 0
			return nil
		}
		r.Failures++
		if r.Since.IsZero() || now.Sub(r.Since) >= pinFailureWindow || now.Before(r.Since) {
			r.Since, r.DayFailures = now.UTC(), 0
		}
		r.DayFailures++
		if r.Failures >= g.max || r.DayFailures >= g.daily {
			r.Locked = true
		}
		failures, daily, locked = r.Failures, r.DayFailures, r.Locked
		left = min(g.max-r.Failures, g.daily-r.DayFailures)
		return nil
	})
	if err != nil {
		g.cache.Delete(label)
		return err
	}
	if ok {
		if g.ttl > 0 {
			g.cache.Store(label, cacheEntry{mac: mac, until: g.now().Add(g.ttl)})
		}
		return nil
	}
	g.cache.Delete(label)
	if locked {
		g.log.WarnContext(ctx, "key locked after wrong PINs", "key", label, "failures", failures, "day_failures", daily)
		if failures < g.max {
			return Errorf(ErrLocked, op, label, nil, "locked after %d wrong PINs within a day; an administrator must unlock it", daily)
		}
		return Errorf(ErrLocked, op, label, nil, "locked after %d wrong PINs; an administrator must unlock it", failures)
	}
	g.log.InfoContext(ctx, "wrong PIN", "key", label, "failures", failures, "day_failures", daily)
	return Errorf(ErrWrongPIN, op, label, nil, "%d tries left before the key locks", left)
}

// Unlock implements PINStore (admin).
func (g *Guard) Unlock(ctx context.Context, label string) error {
	const op = "pin.Unlock"
	if err := CheckLabel(op, label); err != nil {
		return err
	}
	err := g.update(ctx, op, label, func(r *pinRecord) error {
		r.Locked, r.Failures, r.Since, r.DayFailures = false, 0, time.Time{}, 0
		return nil
	})
	if err != nil {
		return err
	}
	g.log.InfoContext(ctx, "key unlocked by administrator", "key", label)
	return nil
}

// Status implements PINStore.
func (g *Guard) Status(ctx context.Context, label string) (PINStatus, error) {
	r, err := g.load(ctx, "pin.Status", label)
	if KindOf(err) == ErrNoPIN {
		return PINStatus{}, nil
	}
	if err != nil {
		return PINStatus{}, err
	}
	return PINStatus{Set: true, Failures: r.Failures, Locked: r.Locked}, nil
}

// Remove implements PINStore.
func (g *Guard) Remove(ctx context.Context, label string) error {
	defer g.lock(label)()
	g.cache.Delete(label)
	err := g.kv.Delete(ctx, []byte(label))
	g.records.Bump()
	if err != nil {
		return Errorf(ErrUnavailable, "pin.Remove", label, err, "deleting PIN record")
	}
	return nil
}

func (g *Guard) cacheMAC(label string, salt, pin []byte) (out [32]byte) {
	m := hmac.New(sm3.New, g.mac)
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write(salt)
	m.Write(pin)
	m.Sum(out[:0])
	return out
}

// pbkdf2SM3 is PBKDF2 (RFC 8018) with HMAC-SM3 and a 32-byte output (one
// block). It takes the password as bytes so the caller can zero it.
func pbkdf2SM3(password, salt []byte, iter int) []byte {
	prf := hmac.New(sm3.New, password)
	var u, t [32]byte
	prf.Write(salt)
	var blk [4]byte
	binary.BigEndian.PutUint32(blk[:], 1)
	prf.Write(blk[:])
	prf.Sum(u[:0])
	t = u
	for i := 1; i < iter; i++ {
		prf.Reset()
		prf.Write(u[:])
		prf.Sum(u[:0])
		for j := range t {
			t[j] ^= u[j]
		}
	}
	return t[:]
}

// Protected puts the PIN check in front of a KeyStore: Generate and Signer
// without a PIN are refused (ErrPINRequired); GenerateWithPIN sets the PIN
// with the key, SignerWithPIN verifies the PIN first.
type Protected struct {
	KeyStore
	PINs PINStore
}

// GenerateWithPIN generates a key and sets its PIN; if setting the PIN
// fails the key is deleted again.
func (p *Protected) GenerateWithPIN(ctx context.Context, label string, alg Algorithm, pin []byte) (KeyInfo, error) {
	if err := checkPIN("signer.GenerateWithPIN", label, pin); err != nil {
		return KeyInfo{}, err
	}
	ki, err := p.KeyStore.Generate(ctx, label, alg)
	if err != nil {
		return KeyInfo{}, err
	}
	if err := p.PINs.SetPIN(ctx, label, pin); err != nil {
		_ = p.KeyStore.Delete(ctx, label)
		return KeyInfo{}, err
	}
	return ki, nil
}

// Generate refuses: a protected key is made together with its PIN
// (GenerateWithPIN), never without one.
func (p *Protected) Generate(ctx context.Context, label string, alg Algorithm) (KeyInfo, error) {
	return KeyInfo{}, Errorf(ErrPINRequired, "signer.Generate", label, nil, "a protected key needs a PIN: use GenerateWithPIN")
}

// Signer refuses: a protected key is only handed out against its PIN.
func (p *Protected) Signer(ctx context.Context, label string) (crypto.Signer, error) {
	return nil, Errorf(ErrPINRequired, "signer.Signer", label, nil, "a PIN is required for this key")
}

// SignerWithPIN verifies pin and then returns the key's signer.
func (p *Protected) SignerWithPIN(ctx context.Context, label string, pin []byte) (crypto.Signer, error) {
	if err := p.PINs.Verify(ctx, label, pin); err != nil {
		return nil, err
	}
	return p.KeyStore.Signer(ctx, label)
}

// Ready implements Readier for the KeyStore underneath: nil when it does
// not tell.
func (p *Protected) Ready() error {
	if r, ok := p.KeyStore.(Readier); ok {
		return r.Ready()
	}
	return nil
}

// Delete deletes the key and its PIN record.
func (p *Protected) Delete(ctx context.Context, label string) error {
	if err := p.KeyStore.Delete(ctx, label); err != nil {
		return err
	}
	return p.PINs.Remove(ctx, label)
}
