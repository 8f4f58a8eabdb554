// Package signer is eseal's key custody layer. Every seal key, wherever it
// lives, is reached through a KeyStore that hands out crypto.Signer values.
//
// Backends:
//
//   - signer/softkey: SM2 keys kept in the store, each wrapped with SM4-GCM
//     under a key-encryption key from configuration (the embedded default).
//   - signer/pkcs11: keys inside an HSM reached through PKCS#11, with a
//     bounded session pool (cgo only).
//
// The PIN layer (Guard, Protected) sits above any KeyStore and enforces the
// seal's protection password (art. 18 of the measures): a salted slow hash is
// stored, five wrong tries in a row (or twenty within a day, right ones between
// them or not) lock the key until an admin unlocks it.
// The failure count lives in the store, updated by compare-and-swap, so it
// survives a restart and is shared by every process over the same store.
//
// # SM2 signing convention
//
// SM2 signers follow gmsm: Sign(rand, msg, sm2.DefaultSM2SignerOpts) (or any
// *sm2.SM2SignerOption with forceGMSign) treats its input as the message and
// computes e = SM3(Z‖M) with the option's user ID; any other opts treat the
// input as the 32-byte e already computed. SignMessage always takes the
// message. Signatures are DER SEQUENCE{r, s}.
//
// # Errors
//
// Every error returned by this package and its backends matches one Kind with
// errors.Is (ErrKeyNotFound, ErrWrongPIN, ErrLocked, ErrBusy, ...). Messages
// name the label, module or token concerned and never contain a PIN or key.
package signer

import (
	"context"
	"crypto"
	"io"
	"time"
)

// Algorithm names a key algorithm a KeyStore can generate.
type Algorithm string

const (
	// SM2 is GB/T 32918 SM2 on the sm2p256v1 curve, signing with SM3.
	SM2 Algorithm = "SM2"
	// ECDSAP256 is ECDSA on NIST P-256 (for HSM plumbing and interop).
	ECDSAP256 Algorithm = "ECDSA-P256"
)

// KeyInfo describes a stored key. It never carries private material.
type KeyInfo struct {
	Label     string
	Algorithm Algorithm
	Public    crypto.PublicKey
	// Backend is "softkey" or "pkcs11" (plus the token label for pkcs11).
	Backend string
	Created time.Time // zero when the backend does not record it
}

// KeyStore is the one interface for key custody. registry/, pki/ and
// appliance/ use only this. Implementations are safe for concurrent use.
//
// Labels are 1..128 bytes of printable ASCII without '/' (see ValidLabel).
type KeyStore interface {
	// Generate creates a new key under label. It fails with ErrKeyExists
	// when the label is taken.
	Generate(ctx context.Context, label string, alg Algorithm) (KeyInfo, error)
	// Find returns the key's description, or ErrKeyNotFound.
	Find(ctx context.Context, label string) (KeyInfo, error)
	// PublicKey returns the key's public half (*ecdsa.PublicKey, on the
	// SM2 curve for SM2 keys), or ErrKeyNotFound.
	PublicKey(ctx context.Context, label string) (crypto.PublicKey, error)
	// Signer returns a signer for the key, or ErrKeyNotFound. The signer
	// stays valid until the key is deleted or the store is closed.
	Signer(ctx context.Context, label string) (crypto.Signer, error)
	// List returns all keys, sorted by label.
	List(ctx context.Context) ([]KeyInfo, error)
	// Delete removes the key, or returns ErrKeyNotFound.
	Delete(ctx context.Context, label string) error
	// Close releases the backend (sessions, module, cached key material).
	Close() error
}

// Readier is implemented by key stores that can tell whether they serve
// right now (an HSM whose login was lost, say). Ready returns nil when they
// do, else an error of Kind ErrUnavailable (or ErrClosed) saying why; the
// appliance's readiness probe reports it.
type Readier interface {
	Ready() error
}

// ContextSigner is implemented by signers whose operation may wait (for an
// HSM session, say). Callers that hold a request context should prefer it;
// plain Sign uses the backend's default wait bound.
type ContextSigner interface {
	crypto.Signer
	SignContext(ctx context.Context, rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

// MessageSigner is crypto.MessageSigner (gmsm's message-signing path): SM2
// signers implement it so callers pass the message, never a digest.
type MessageSigner interface {
	crypto.Signer
	SignMessage(rand io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error)
}

// PINStore is the protection-password layer (see Guard). Admin operations
// (SetPIN on an existing PIN, Unlock) are for the seal authority only; the
// caller is responsible for authorising them.
type PINStore interface {
	// SetPIN sets or replaces the PIN of label and clears any lock.
	SetPIN(ctx context.Context, label string, pin []byte) error
	// ChangePIN replaces the PIN when old is right (counts as a try).
	ChangePIN(ctx context.Context, label string, old, pin []byte) error
	// Verify checks pin: nil, ErrWrongPIN, ErrLocked, ErrNoPIN (no PIN set)
	// or ErrPINRequired (none given).
	Verify(ctx context.Context, label string, pin []byte) error
	// Unlock clears the lock and the failure count (admin).
	Unlock(ctx context.Context, label string) error
	// Status reports the failure count and whether the key is locked.
	Status(ctx context.Context, label string) (PINStatus, error)
	// Remove forgets the PIN record of label.
	Remove(ctx context.Context, label string) error
}

// PINStatus is what may be shown about a PIN: never the PIN or its hash.
type PINStatus struct {
	Set      bool
	Failures int
	Locked   bool
}

// PoolStats describe a key store's pool of sessions (a PKCS#11 token's): its size, the
// sessions idle now, and since it opened how many operations took a session, how many had to
// wait for one, for how long in all, and how many gave up waiting (answered busy).
type PoolStats struct {
	Sessions, Idle            int
	Acquires, Waits, Timeouts uint64
	Waited                    time.Duration
}

// Pooled is a key store with a pool of sessions (package pkcs11's Store).
type Pooled interface {
	PoolStats() PoolStats
}
