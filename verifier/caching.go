package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ses"
)

// Caches are the verifier's caches, each bounded by its own budget (package cache makes them).
// A nil field means that kind of result is computed every time.
type Caches struct {
	// Certs holds parsed certificates, keyed by their DER.
	Certs Cache
	// Seals holds the outcome of checking a seal's maker signature, keyed by the seal's DER,
	// so that a seal is checked once, not once per signature made with it.
	Seals Cache
	// Chains holds the certificate paths built to the anchors of a trust set, per set and
	// generation of the set: a changed set is never answered from the old one's results.
	Chains Cache
	// Revocation holds what the CRLs say of a certificate, until the CRL's nextUpdate;
	// InvalidateRevocation drops it all (a new CRL arrived).
	Revocation Cache
}

// The namespaces of the caches.
const (
	nsCerts      = "verifier/certs"
	nsSeals      = "verifier/seals"
	nsRevocation = "verifier/revocation"
)

// nsChains is the namespace of a trust set's chain results.
func nsChains(set string) string { return "verifier/chains/" + set }

// Kinds of cache keys, so that one object's keys for different purposes never meet.
const (
	keyCert byte = iota + 1
	keySeal
	keyChain
	keyRevocation
)

// keyer makes cache keys. A key is a seeded 64-bit hash of the bytes, their length, the kind
// and a salt; the seed is random per process, so nobody outside can aim at a collision. Keys
// are not trusted alone: every cached value holds the bytes it was computed from and a hit is
// confirmed by comparing them, so a collision costs a recomputation, never a wrong answer. The
// hash runs at memory speed, where an SM3 digest of a 20 KB seal would cost nearly as much as
// the SM2 verification the cache saves.
type keyer struct{ seed maphash.Seed }

func newKeyer() keyer { return keyer{maphash.MakeSeed()} }

func (k keyer) key(kind byte, salt uint64, b []byte) [32]byte {
	var out [32]byte
	binary.LittleEndian.PutUint64(out[0:], maphash.Bytes(k.seed, b))
	binary.LittleEndian.PutUint64(out[16:], uint64(len(b)))
	binary.LittleEndian.PutUint64(out[24:], salt<<8|uint64(kind))
	return out
}

// pair is the key of two objects together (a certificate and its issuer).
func (k keyer) pair(kind byte, a, b []byte) [32]byte {
	ka, kb := k.key(kind, 0, a), k.key(kind, 0, b)
	for i := range ka {
		ka[i] ^= kb[i]*31 + byte(i)
	}
	binary.LittleEndian.PutUint64(ka[16:], uint64(len(a))<<32|uint64(len(b)))
	return ka
}

// Costs of cached values besides the bytes they hold: the parsed structures and their
// bookkeeping, estimated generously so that the budgets hold.
const (
	certCostFactor = 6 // a parsed certificate is a few times its DER
	sealCost       = 128
	chainCost      = 256
	revCost        = 192
)

// cert parses a certificate once per distinct DER (while the cache holds it).
func (v *Verifier) cert(der []byte) parsedCert {
	parse := func(b []byte) *parsedCert {
		c, note, lenient, err := parseCert(b)
		return &parsedCert{cert: c, note: note, lenient: lenient, err: err, raw: b}
	}
	if v.caches.Certs == nil || len(der) > maxCachedObject {
		return *parse(der)
	}
	x, err := v.load(v.caches.Certs, nsCerts, v.keys.key(keyCert, 0, der), func() (any, int64, time.Time, error) {
		own := bytes.Clone(der) // the caller's buffer may be reused; a parsed certificate points into its DER
		return parse(own), int64(len(own)) * certCostFactor, time.Time{}, nil
	})
	if pc, ok := x.(*parsedCert); ok && err == nil && bytes.Equal(pc.raw, der) {
		return *pc
	}
	return *parse(bytes.Clone(der))
}

// front is a small direct-mapped table in front of the caches (parsed certificates, checked
// seals, chains under one view of a trust set, and CRL answers, which carry their own time
// limit and are dropped with InvalidateRevocation): a seal used for
// thousands of signatures in a row is found without touching the shared cache, whose locks
// and counters two cores reading one hot entry would contend on. Each slot holds the last
// value loaded for a key that maps to it; callers confirm every hit by comparing bytes, as
// they do for the caches. It holds at most frontSlots values, a fixed overhead beside the
// caches' budgets.
type front struct {
	slots [frontSlots]atomic.Pointer[frontEntry]
}

type frontEntry struct {
	key [32]byte
	val any
}

const frontSlots = 64

// clear empties every slot.
func (f *front) clear() {
	for i := range f.slots {
		f.slots[i].Store(nil)
	}
}

func (f *front) get(key [32]byte) (any, bool) {
	if e := f.slots[binary.LittleEndian.Uint64(key[:8])%frontSlots].Load(); e != nil && e.key == key {
		return e.val, true
	}
	return nil, false
}

// load is c.Load through the front table: a front hit makes no call to the cache; a value
// the cache gives is put in front.
func (v *Verifier) load(c Cache, ns string, key [32]byte, load func() (any, int64, time.Time, error)) (any, error) {
	if x, ok := v.front.get(key); ok {
		return x, nil
	}
	x, err := c.Load(ns, key, load)
	if err == nil && x != nil {
		v.front.slots[binary.LittleEndian.Uint64(key[:8])%frontSlots].Store(&frontEntry{key, x})
	}
	return x, err
}

// maxCachedObject bounds what is cached: a larger certificate or seal is not worth its room.
const maxCachedObject = 1 << 20

// sealCheck is a cached maker-signature check, with the seal parsed from raw, which later
// signatures carrying the same seal reuse instead of parsing it again.
type sealCheck struct {
	raw   []byte
	check ses.SigCheck
	seal  *ses.Seal // nil when raw did not parse on its own
}

// sealKey is the cache key of a seal's bytes: their length and their last sealTail bytes,
// which hold the maker's signature value (the last element of a v4 SESeal, and of a v1
// seal's signInfo). Hashing tens of bytes instead of tens of kilobytes; the key only finds
// the entry, and the comparison of every byte decides whether it answers (two seals ending
// alike are a miss).
func (v *Verifier) sealKey(raw []byte) [32]byte {
	return v.keys.key(keySeal, uint64(len(raw)), raw[len(raw)-min(len(raw), sealTail):])
}

const sealTail = 96

// errNotCached is what a lookup that must not compute answers a cache miss with.
var errNotCached = errors.New("verifier: not cached")

// sealSignature checks a seal's maker signature under the maker certificate held in the seal;
// the outcome depends only on the seal's bytes.
func (v *Verifier) sealSignature(seal *ses.Seal, maker *smx509.Certificate) ses.SigCheck {
	check := func() ses.SigCheck { return seal.CheckSignature(maker.PublicKey.(*ecdsa.PublicKey)) }
	if v.caches.Seals == nil || len(seal.Raw) > maxCachedObject {
		return check()
	}
	x, err := v.load(v.caches.Seals, nsSeals, v.sealKey(seal.Raw), func() (any, int64, time.Time, error) {
		raw := bytes.Clone(seal.Raw)
		sc := &sealCheck{raw: raw, check: check()}
		if p, err := ses.ParseSeal(raw); err == nil && bytes.Equal(p.Raw, raw) {
			sc.seal = p
		}
		return sc, int64(len(raw))*2 + sealCost, time.Time{}, nil
	})
	if sc, ok := x.(*sealCheck); ok && err == nil && bytes.Equal(sc.raw, seal.Raw) {
		return sc.check
	}
	return check()
}

// parsedSeal is the reuse function of ses.ParseSignatureReusing: the seal parsed when the
// maker signature of these bytes was checked and cached, or nil. It never parses or checks
// anything itself (a miss is left to the parser), and ses uses the answer only when its bytes
// equal raw.
func (v *Verifier) parsedSeal(raw []byte) *ses.Seal {
	if v.caches.Seals == nil || len(raw) > maxCachedObject {
		return nil
	}
	x, err := v.load(v.caches.Seals, nsSeals, v.sealKey(raw), func() (any, int64, time.Time, error) {
		return nil, 0, time.Time{}, errNotCached
	})
	if sc, ok := x.(*sealCheck); ok && err == nil {
		return sc.seal
	}
	return nil
}

// chainEntry is a cached path building: the paths found, good for any time within every
// certificate's validity on them.
type chainEntry struct {
	raw      []byte
	paths    [][]*smx509.Certificate
	from, to time.Time
}

// buildChains finds the paths of cert to the anchors of tv at t, from the cache when a path
// built earlier is valid at t too. Only successes are cached: a failure depends on t in ways a
// window does not capture, and is rare.
func (v *Verifier) buildChains(tv *trustView, cert *smx509.Certificate, t time.Time) ([][]*smx509.Certificate, error) {
	build := func() ([][]*smx509.Certificate, error) {
		return cert.Verify(smx509.VerifyOptions{
			Roots: tv.roots, Intermediates: tv.inters, CurrentTime: t,
			KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny},
		})
	}
	if v.caches.Chains == nil {
		return build()
	}
	var fresh [][]*smx509.Certificate
	var freshErr error
	x, err := v.load(v.caches.Chains, nsChains(tv.name), v.keys.key(keyChain, tv.id, cert.Raw), func() (any, int64, time.Time, error) {
		fresh, freshErr = build()
		if freshErr != nil {
			return nil, 0, time.Time{}, freshErr
		}
		e := &chainEntry{raw: cert.Raw, paths: fresh}
		e.from, e.to = cert.NotBefore, cert.NotAfter
		cost := int64(chainCost)
		for _, p := range fresh {
			for _, c := range p {
				e.from, e.to = later(e.from, c.NotBefore), earlier(e.to, c.NotAfter)
				cost += 16
			}
		}
		return e, cost + int64(len(cert.Raw)), time.Time{}, nil
	})
	if freshErr != nil || fresh != nil {
		return fresh, freshErr // this call built them
	}
	if e, ok := x.(*chainEntry); ok && err == nil && bytes.Equal(e.raw, cert.Raw) && !t.Before(e.from) && !t.After(e.to) {
		return e.paths, nil
	}
	return build()
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// InvalidateRevocation drops every cached revocation result: call it when a newer CRL has
// arrived (the CRL source's hook) so that the next verification reads it.
func (v *Verifier) InvalidateRevocation() {
	if v.caches.Revocation != nil {
		v.caches.Revocation.Invalidate(nsRevocation)
	}
	v.front.clear() // the front holds revocation answers too
}

// subjects remembers the distinguished names of certificates as text, by their DER: a report
// names the same few certificates in most of its details, and writing a name out costs
// microseconds. It holds copies of the names, never the certificates (which may point into a
// caller's buffer), and forgets everything when it is full, which bounds it. Readers take no
// lock (two cores reading one lock's counter slow each other); a new name copies the map.
var subjects = struct {
	mu sync.Mutex                        // serialises writers
	m  atomic.Pointer[map[string]string] // RawSubject -> text; copied on write, read without a lock
}{}

const maxSubjects = 1024

// subjectOf returns c's subject as text (RFC 2253, as pkix.Name.String writes it).
func subjectOf(c *smx509.Certificate) string {
	if m := subjects.m.Load(); m != nil {
		if s, ok := (*m)[string(c.RawSubject)]; ok {
			return s
		}
	}
	s := c.Subject.String()
	subjects.mu.Lock()
	defer subjects.mu.Unlock()
	next := map[string]string{}
	if m := subjects.m.Load(); m != nil && len(*m) < maxSubjects {
		next = maps.Clone(*m)
	}
	next[string(c.RawSubject)] = s
	subjects.m.Store(&next)
	return s
}

// cacheUntil turns a time on the verifier's clock into one on the wall clock, which the
// caches keep time by: a value good until until (verifier time) is kept as long from now.
func (v *Verifier) cacheUntil(until, now time.Time) time.Time {
	return time.Now().Add(until.Sub(now))
}
