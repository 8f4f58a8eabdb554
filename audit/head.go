package audit

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// KeyID names a head-signing key: the SM3 of its public key's PKIX (SubjectPublicKeyInfo) DER.
type KeyID [sm3.Size]byte

// Head is a signed chain head: the platform key's statement that the chain's record Seq has
// hash Hash, made at Time. Every record up to Seq is bound by it.
type Head struct {
	Seq  Seq
	Hash Hash
	Time time.Time
	// Key names the key that signed (see KeyID).
	Key KeyID
	// Signature is the DER SM2 signature (user ID 1234567812345678) over SignedBytes.
	Signature []byte
}

const (
	headVersion = 1
	maxSigLen   = 512
	// headDomain starts every signed head message, so that the signature can never be
	// taken for one over anything else.
	headDomain = "eseal audit head v1\x00"
)

// SignedBytes is the message the head's signature covers:
// "eseal audit head v1" 0x00 ‖ seq (8 bytes) ‖ hash (32) ‖ time (Unix ns, 8) ‖ key id (32),
// integers big-endian.
func (h *Head) SignedBytes() []byte {
	b := make([]byte, 0, len(headDomain)+8+HashSize+8+sm3.Size)
	b = append(b, headDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Seq))
	b = append(b, h.Hash[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Time.UnixNano()))
	return append(b, h.Key[:]...)
}

// encode returns the stored form of a head: version 1, seq, hash, time, key id, then the
// signature with a 4-byte length.
func (h *Head) encode() []byte {
	b := make([]byte, 0, 1+8+HashSize+8+sm3.Size+4+len(h.Signature))
	b = append(b, headVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Seq))
	b = append(b, h.Hash[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Time.UnixNano()))
	b = append(b, h.Key[:]...)
	return appendBytes(b, h.Signature)
}

// decodeHead parses a stored head.
func decodeHead(v []byte) (Head, error) {
	if len(v) == 0 || v[0] != headVersion {
		return Head{}, errors.New("audit: head: empty or unknown encoding version")
	}
	d := &reader{b: v[1:]}
	var h Head
	h.Seq = Seq(d.u64("seq"))
	copy(h.Hash[:], d.fixed("hash", HashSize))
	h.Time = time.Unix(0, int64(d.u64("time"))).UTC()
	copy(h.Key[:], d.fixed("key id", sm3.Size))
	h.Signature = bytes.Clone(d.bytes("signature", maxSigLen))
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d bytes after the head", len(d.b))
	}
	if d.err != nil {
		return Head{}, fmt.Errorf("audit: head: %w", d.err)
	}
	return h, nil
}

// sm2Public returns pub as an SM2 public key, or an error naming what it is.
func sm2Public(pub crypto.PublicKey) (*ecdsa.PublicKey, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(k) {
		return nil, fmt.Errorf("audit: head key is %T, not an SM2 public key", pub)
	}
	return k, nil
}

// keyID returns the KeyID and PKIX DER of an SM2 public key.
func keyID(pub crypto.PublicKey) (KeyID, []byte, error) {
	k, err := sm2Public(pub)
	if err != nil {
		return KeyID{}, nil, err
	}
	der, err := smx509.MarshalPKIXPublicKey(k)
	if err != nil {
		return KeyID{}, nil, fmt.Errorf("audit: head key: %w", err)
	}
	return sm3.Sum(der), der, nil
}

// KeyIDOf returns the KeyID of an SM2 public key.
func KeyIDOf(pub crypto.PublicKey) (KeyID, error) {
	id, _, err := keyID(pub)
	return id, err
}

// signHead signs h (whose Key is already set) with s.
func signHead(s crypto.Signer, h *Head) error {
	sig, err := s.Sign(rand.Reader, h.SignedBytes(), sm2.DefaultSM2SignerOpts)
	if err != nil {
		return fmt.Errorf("audit: sign head %d: %w", h.Seq, err)
	}
	h.Signature = sig
	return nil
}

// verifyHead checks h's signature with pub, whose KeyID must be h.Key.
func verifyHead(h *Head, pub *ecdsa.PublicKey) bool {
	return sm2.VerifyASN1WithSM2(pub, nil, h.SignedBytes(), h.Signature)
}

// parseKey parses a stored head key (PKIX DER) and checks that it has the id it is kept under.
func parseKey(id KeyID, der []byte) (*ecdsa.PublicKey, error) {
	if sm3.Sum(der) != id {
		return nil, errors.New("audit: stored head key does not match its id")
	}
	pub, err := smx509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("audit: stored head key: %w", err)
	}
	return sm2Public(pub)
}
