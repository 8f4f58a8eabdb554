package ses

import (
	"bytes"
	"crypto/ecdsa"
	"encoding"
	"hash"
	"sync/atomic"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// The SM3 digest that an SM2 signature over TBS_Sign signs is e = SM3(Z || TBS_Sign), and
// TBS_Sign holds the whole seal, picture and all: tens of kilobytes that are the same in
// every signature made under that seal, against a few hundred that differ. SM3 reads its
// input in 64-byte blocks and carries only a 32-byte state from one to the next, so the state
// after Z, the bytes of TBS_Sign before the seal and the seal's whole blocks is the same for
// all of them. A seal remembers that state (digestMemo), and a later signature under the same
// seal and signer key hashes only what follows it.
//
// A state is used only for the same public key and the same bytes before the seal, and only
// on the Seal whose Raw lies at that place in the message (TBSSign.sealAt): those bytes were
// parsed from there, or handed back by ParseSignatureReusing's reuse after a comparison of
// every byte. So a remembered state covers exactly the bytes it would hash again.

// digestMemoSlots bounds the states one seal remembers: a seal signs with one key, or a few
// (its certificate list); the bytes before the seal differ only when TBS_Sign's length does.
const digestMemoSlots = 4

// digestMemo is a seal's remembered SM3 states; safe for concurrent use.
type digestMemo struct {
	slots [digestMemoSlots]atomic.Pointer[digestState]
	next  atomic.Uint32
}

// digestState is SM3's state after Z || msg[:cut], for one key and one msg[:sealAt].
type digestState struct {
	pub   *ecdsa.PublicKey
	pre   []byte // msg[:sealAt], the bytes before the seal (a copy)
	cut   int    // bytes of msg the state has read: Z plus them fill whole blocks
	state []byte // the marshalled SM3 state
}

func (d *digestState) matches(pub *ecdsa.PublicKey, msg []byte, sealAt int) bool {
	return len(d.pre) == sealAt && len(msg) >= d.cut && samePublicKey(d.pub, pub) && bytes.Equal(d.pre, msg[:sealAt])
}

// samePublicKey compares two public keys without allocating.
func samePublicKey(a, b *ecdsa.PublicKey) bool {
	if a == b {
		return true
	}
	return a != nil && b != nil && a.Curve == b.Curve && a.X.Cmp(b.X) == 0 && a.Y.Cmp(b.Y) == 0
}

// sealDigest returns e = SM3(Z || msg) for pub, where msg is a TBS_Sign holding seal's Raw at
// sealAt. It continues from a state seal remembers when there is one, and otherwise hashes
// everything and leaves the state for the next signature.
func sealDigest(seal *Seal, pub *ecdsa.PublicKey, msg []byte, sealAt int) ([]byte, error) {
	m := seal.digests
	end := sealAt + len(seal.Raw)
	if m == nil || sealAt < 0 || end > len(msg) {
		return SM2Digest(pub, msg)
	}
	for i := range m.slots {
		d := m.slots[i].Load()
		if d == nil || !d.matches(pub, msg, sealAt) {
			continue
		}
		h := sm3.New()
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(d.state); err != nil {
			break
		}
		h.Write(msg[d.cut:])
		return h.Sum(nil), nil
	}
	za, err := sm2.CalculateZA(pub, DefaultUID)
	if err != nil {
		return nil, err
	}
	// Z and the bytes up to the seal's last whole block.
	cut := (len(za)+end)&^(sm3.BlockSize-1) - len(za)
	h := sm3.New()
	h.Write(za)
	if cut <= sealAt {
		h.Write(msg)
		return h.Sum(nil), nil
	}
	h.Write(msg[:cut])
	if state, err := marshalState(h); err == nil {
		d := &digestState{pub: pub, pre: bytes.Clone(msg[:sealAt]), cut: cut, state: state}
		m.slots[m.next.Add(1)%digestMemoSlots].Store(d)
	}
	h.Write(msg[cut:])
	return h.Sum(nil), nil
}

func marshalState(h hash.Hash) ([]byte, error) {
	return h.(encoding.BinaryMarshaler).MarshalBinary()
}
