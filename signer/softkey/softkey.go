// Package softkey is eseal's embedded key store: SM2 private keys kept in
// the Pebble store, each wrapped with SM4-GCM under a key-encryption key
// (KEK) that comes from configuration (see LoadKEK).
//
// # Record format
//
// One JSON record per label in the store keyspace: algorithm, uncompressed
// public point, KEK fingerprint, GCM nonce and ciphertext of the 32-byte
// private scalar. The label, algorithm and public point are bound in as
// additional data, so a record moved to another label or with a swapped
// public key fails to open.
//
// # Key material in memory
//
// A key is unwrapped once, on first use, and kept as an *sm2.PrivateKey
// until Delete or Close, which zero the scalar. Temporary buffers holding
// the scalar are zeroed after use. Go cannot guarantee that no copy
// remains (the garbage collector moves nothing, but gmsm keeps an internal
// precomputed form of the key); HSMs are the answer where that matters.
package softkey

import (
	"bytes"
	"context"
	"crypto"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm4"

	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/store"
)

// Options configure New; the zero value is the default.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
}

// Store is the software KeyStore. It is safe for concurrent use.
type Store struct {
	kv    store.KV
	aead  cipher.AEAD
	kekID string
	log   *slog.Logger
	now   func() time.Time

	mu     sync.Mutex // serialises Generate/Delete/Close and the caching of unwrapped keys
	keys   sync.Map   // label -> *Key (unwrapped); written only under mu
	closed bool
}

var (
	_ signer.KeyStore = (*Store)(nil)
	_ signer.Readier  = (*Store)(nil)
)

// New returns a Store over kv (give it its own keyspace, e.g.
// store.MustSpace(db, "softkey")) with the given KEK (16 bytes, copied;
// the caller may zero its slice afterwards).
func New(kv store.KV, kek []byte, opts Options) (*Store, error) {
	if len(kek) != KEKSize {
		return nil, signer.Errorf(signer.ErrConfig, "softkey.New", "", nil, "KEK must be %d bytes, got %d", KEKSize, len(kek))
	}
	if bytes.Equal(kek, make([]byte, KEKSize)) {
		return nil, signer.Errorf(signer.ErrConfig, "softkey.New", "", nil, "KEK is all zero")
	}
	block, err := sm4.NewCipher(kek)
	if err != nil {
		return nil, signer.Errorf(signer.ErrConfig, "softkey.New", "", err, "SM4 key")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, signer.Errorf(signer.ErrConfig, "softkey.New", "", err, "SM4-GCM")
	}
	s := &Store{kv: kv, aead: aead, kekID: kekID(kek), log: opts.Logger, now: opts.Now}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "signer.softkey")
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

type record struct {
	V       int              `json:"v"`
	Alg     signer.Algorithm `json:"alg"`
	Pub     []byte           `json:"pub"` // uncompressed point 04‖X‖Y
	KEK     string           `json:"kek"`
	Nonce   []byte           `json:"nonce"`
	Wrapped []byte           `json:"wrapped"`
	Created time.Time        `json:"created"`

	raw []byte // the stored bytes this record was read from
}

func aad(label string, alg signer.Algorithm, pub []byte) []byte {
	b := []byte("eseal-softkey-v1\x00" + label + "\x00" + string(alg) + "\x00")
	return append(b, pub...)
}

func (s *Store) check(op, label string) error {
	if err := signer.CheckLabel(op, label); err != nil {
		return err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return signer.Errorf(signer.ErrClosed, op, label, nil, "key store closed")
	}
	return nil
}

// Generate implements signer.KeyStore. Only signer.SM2 is supported.
func (s *Store) Generate(ctx context.Context, label string, alg signer.Algorithm) (signer.KeyInfo, error) {
	const op = "softkey.Generate"
	if err := s.check(op, label); err != nil {
		return signer.KeyInfo{}, err
	}
	if alg != signer.SM2 {
		return signer.KeyInfo{}, signer.Errorf(signer.ErrUnsupported, op, label, nil, "algorithm %q (softkey keeps SM2 keys only)", alg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.kv.Get(ctx, []byte(label)); err == nil {
		return signer.KeyInfo{}, signer.Errorf(signer.ErrKeyExists, op, label, nil, "label already in use")
	} else if !errors.Is(err, store.ErrNotFound) {
		return signer.KeyInfo{}, signer.Errorf(signer.ErrUnavailable, op, label, err, "reading store")
	}
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return signer.KeyInfo{}, signer.Errorf(signer.ErrUnavailable, op, label, err, "generating SM2 key")
	}
	d := priv.D.FillBytes(make([]byte, 32))
	defer clear(d)
	pub := marshalPoint(&priv.PublicKey)
	r := record{V: 1, Alg: alg, Pub: pub, KEK: s.kekID, Nonce: make([]byte, s.aead.NonceSize()), Created: s.now().UTC().Truncate(time.Second)}
	if _, err := rand.Read(r.Nonce); err != nil {
		return signer.KeyInfo{}, err
	}
	r.Wrapped = s.aead.Seal(nil, r.Nonce, d, aad(label, alg, pub))
	b, err := json.Marshal(&r)
	if err != nil {
		return signer.KeyInfo{}, err
	}
	if err := s.kv.Set(ctx, []byte(label), b); err != nil {
		return signer.KeyInfo{}, signer.Errorf(signer.ErrUnavailable, op, label, err, "writing store")
	}
	s.keys.Store(label, &Key{label: label, priv: priv})
	s.log.InfoContext(ctx, "key generated", "key", label, "alg", string(alg))
	return signer.KeyInfo{Label: label, Algorithm: alg, Public: &priv.PublicKey, Backend: "softkey", Created: r.Created}, nil
}

// marshalPoint returns the uncompressed point 04‖X‖Y, or nil when pub is
// not a point on the SM2 curve (never for a key from sm2.GenerateKey).
func marshalPoint(pub *ecdsa.PublicKey) []byte {
	k, err := sm2.PublicKeyToECDH(pub)
	if err != nil {
		return nil
	}
	return k.Bytes()
}

func (s *Store) load(ctx context.Context, op, label string) (*record, *ecdsa.PublicKey, error) {
	b, err := s.kv.Get(ctx, []byte(label))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, signer.Errorf(signer.ErrKeyNotFound, op, label, nil, "no such key in the software key store")
	}
	if err != nil {
		return nil, nil, signer.Errorf(signer.ErrUnavailable, op, label, err, "reading store")
	}
	r := &record{raw: b}
	if err := json.Unmarshal(b, r); err != nil || r.V != 1 {
		return nil, nil, signer.Errorf(signer.ErrCorrupt, op, label, nil, "key record unreadable")
	}
	if r.Alg != signer.SM2 {
		return nil, nil, signer.Errorf(signer.ErrCorrupt, op, label, nil, "key record has algorithm %q", r.Alg)
	}
	pub, err := sm2.NewPublicKey(r.Pub)
	if err != nil {
		return nil, nil, signer.Errorf(signer.ErrCorrupt, op, label, nil, "stored public key invalid")
	}
	return r, pub, nil
}

func (s *Store) info(label string, r *record, pub *ecdsa.PublicKey) signer.KeyInfo {
	return signer.KeyInfo{Label: label, Algorithm: r.Alg, Public: pub, Backend: "softkey", Created: r.Created}
}

// Find implements signer.KeyStore.
func (s *Store) Find(ctx context.Context, label string) (signer.KeyInfo, error) {
	if err := s.check("softkey.Find", label); err != nil {
		return signer.KeyInfo{}, err
	}
	r, pub, err := s.load(ctx, "softkey.Find", label)
	if err != nil {
		return signer.KeyInfo{}, err
	}
	return s.info(label, r, pub), nil
}

// PublicKey implements signer.KeyStore.
func (s *Store) PublicKey(ctx context.Context, label string) (crypto.PublicKey, error) {
	ki, err := s.Find(ctx, label)
	if err != nil {
		return nil, err
	}
	return ki.Public, nil
}

// Signer implements signer.KeyStore. The key is unwrapped on first use
// and kept in memory until Delete or Close.
func (s *Store) Signer(ctx context.Context, label string) (crypto.Signer, error) {
	const op = "softkey.Signer"
	if err := s.check(op, label); err != nil {
		return nil, err
	}
	if k, ok := s.keys.Load(label); ok {
		return k.(*Key), nil
	}
	r, pub, err := s.load(ctx, op, label)
	if err != nil {
		return nil, err
	}
	if r.KEK != s.kekID {
		return nil, signer.Errorf(signer.ErrConfig, op, label, nil, "key is wrapped under another KEK (id %s, configured %s)", r.KEK, s.kekID)
	}
	if len(r.Nonce) != s.aead.NonceSize() {
		return nil, signer.Errorf(signer.ErrCorrupt, op, label, nil, "bad nonce length")
	}
	d, err := s.aead.Open(nil, r.Nonce, r.Wrapped, aad(label, r.Alg, r.Pub))
	if err != nil {
		return nil, signer.Errorf(signer.ErrCorrupt, op, label, nil, "wrapped key failed authentication")
	}
	defer clear(d)
	priv, err := sm2.NewPrivateKey(d)
	if err != nil {
		return nil, signer.Errorf(signer.ErrCorrupt, op, label, nil, "unwrapped key invalid")
	}
	if !priv.PublicKey.Equal(pub) {
		zeroKey(priv)
		return nil, signer.Errorf(signer.ErrCorrupt, op, label, nil, "private key does not match stored public key")
	}
	// Publish the key only if the record we unwrapped is still the one
	// stored, under the lock Delete holds from removing the record to
	// dropping the cached key: a key that a concurrent Delete removed is
	// never cached again nor handed out after Delete returns.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		zeroKey(priv)
		return nil, signer.Errorf(signer.ErrClosed, op, label, nil, "key store closed")
	}
	cur, err := s.kv.Get(ctx, []byte(label))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		zeroKey(priv)
		return nil, signer.Errorf(signer.ErrUnavailable, op, label, err, "reading store")
	}
	if err != nil || !bytes.Equal(cur, r.raw) {
		zeroKey(priv)
		return nil, signer.Errorf(signer.ErrKeyNotFound, op, label, nil, "key was deleted or replaced while it was being loaded")
	}
	k, loaded := s.keys.LoadOrStore(label, &Key{label: label, priv: priv})
	if loaded {
		zeroKey(priv)
	}
	return k.(*Key), nil
}

// List implements signer.KeyStore.
func (s *Store) List(ctx context.Context) ([]signer.KeyInfo, error) {
	var out []signer.KeyInfo
	err := s.kv.Scan(ctx, nil, func(k, v []byte) error {
		label := string(k)
		r := new(record)
		if err := json.Unmarshal(v, r); err != nil {
			return signer.Errorf(signer.ErrCorrupt, "softkey.List", label, nil, "key record unreadable")
		}
		pub, err := sm2.NewPublicKey(r.Pub)
		if err != nil {
			return signer.Errorf(signer.ErrCorrupt, "softkey.List", label, nil, "stored public key invalid")
		}
		out = append(out, s.info(label, r, pub))
		return nil
	})
	if err != nil {
		if signer.KindOf(err) != 0 {
			return nil, err
		}
		return nil, signer.Errorf(signer.ErrUnavailable, "softkey.List", "", err, "reading store")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out, nil
}

// Delete implements signer.KeyStore. The stored record is removed and the
// in-memory key zeroed; signers already handed out stop working.
func (s *Store) Delete(ctx context.Context, label string) error {
	const op = "softkey.Delete"
	if err := s.check(op, label); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.kv.Get(ctx, []byte(label)); errors.Is(err, store.ErrNotFound) {
		return signer.Errorf(signer.ErrKeyNotFound, op, label, nil, "no such key in the software key store")
	} else if err != nil {
		return signer.Errorf(signer.ErrUnavailable, op, label, err, "reading store")
	}
	if err := s.kv.Delete(ctx, []byte(label)); err != nil {
		return signer.Errorf(signer.ErrUnavailable, op, label, err, "writing store")
	}
	if k, ok := s.keys.LoadAndDelete(label); ok {
		k.(*Key).destroy()
	}
	s.log.InfoContext(ctx, "key deleted", "key", label)
	return nil
}

// Ready implements signer.Readier: the software store serves until Close.
func (s *Store) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return signer.Errorf(signer.ErrClosed, "softkey.Ready", "", nil, "key store closed")
	}
	return nil
}

// Close zeroes every unwrapped key. The store (kv) is not closed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.keys.Range(func(k, v any) bool {
		v.(*Key).destroy()
		s.keys.Delete(k)
		return true
	})
	return nil
}

// Key is an unwrapped software SM2 key: a crypto.Signer, crypto
// MessageSigner and signer.ContextSigner.
type Key struct {
	label string
	mu    sync.RWMutex
	priv  *sm2.PrivateKey // nil once destroyed
}

var (
	_ signer.ContextSigner = (*Key)(nil)
	_ signer.MessageSigner = (*Key)(nil)
)

// Public implements crypto.Signer.
func (k *Key) Public() crypto.PublicKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.priv == nil {
		return nil
	}
	pub := k.priv.PublicKey
	return &pub
}

// Sign implements crypto.Signer with gmsm's SM2 convention (see package
// signer): with sm2.DefaultSM2SignerOpts digest is the message; otherwise
// it must be e = SM3(Z‖M). The result is DER.
func (k *Key) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if o, ok := opts.(*sm2.SM2SignerOption); !ok || !signer.IsGMSign(o) {
		if len(digest) != 32 {
			_, err := signer.SM2Digest(nil, digest, opts)
			return nil, err
		}
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.priv == nil {
		return nil, signer.Errorf(signer.ErrKeyNotFound, "softkey.Sign", k.label, nil, "key was deleted or the store closed")
	}
	return k.priv.Sign(rnd, digest, opts)
}

// SignsDigest tells ses.Sign that the key signs a digest e = SM3(Z‖M) it is handed.
func (k *Key) SignsDigest() bool { return true }

// SignContext implements signer.ContextSigner (software signing never
// waits; ctx is checked once).
func (k *Key) SignContext(ctx context.Context, rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return k.Sign(rnd, digest, opts)
}

// SignMessage implements crypto.MessageSigner: SM2 over SM3(Z‖msg) with
// the UID in opts (*sm2.SM2SignerOption) or the default UID.
func (k *Key) SignMessage(rnd io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	o, ok := opts.(*sm2.SM2SignerOption)
	if !ok || !signer.IsGMSign(o) {
		o = sm2.DefaultSM2SignerOpts
	}
	return k.Sign(rnd, msg, o)
}

func (k *Key) destroy() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.priv != nil {
		zeroKey(k.priv)
		k.priv = nil
	}
}

func zeroKey(p *sm2.PrivateKey) {
	if p.D != nil {
		w := p.D.Bits()
		clear(w)
		p.D.SetInt64(0)
	}
}
