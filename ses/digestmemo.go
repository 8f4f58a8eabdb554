package ses

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"encoding"
	"hash"
	"io"
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
	// The seal's length and last bytes (its maker's signature), checked again on every use:
	// a memo is only ever shared by seals of the same bytes, and this keeps it so.
	sealLen int
	tail    []byte
}

// stateTail is how many of the seal's last bytes a state keeps.
const stateTail = 32

func (d *digestState) matches(seal *Seal, pub *ecdsa.PublicKey, msg []byte, sealAt int) bool {
	return len(d.pre) == sealAt && len(msg) >= d.cut && d.sealLen == len(seal.Raw) &&
		bytes.Equal(d.tail, seal.Raw[len(seal.Raw)-len(d.tail):]) &&
		samePublicKey(d.pub, pub) && bytes.Equal(d.pre, msg[:sealAt])
}

// samePublicKey compares two public keys; the same pointer (a verifier's cached certificate)
// answers at once.
func samePublicKey(a, b *ecdsa.PublicKey) bool {
	return a == b || a != nil && b != nil && a.Equal(b)
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
		if d == nil || !d.matches(seal, pub, msg, sealAt) {
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
		d := &digestState{pub: pub, pre: bytes.Clone(msg[:sealAt]), cut: cut, state: state,
			sealLen: len(seal.Raw), tail: bytes.Clone(seal.Raw[len(seal.Raw)-min(stateTail, len(seal.Raw)):])}
		m.slots[m.next.Add(1)%digestMemoSlots].Store(d)
	}
	h.Write(msg[cut:])
	return h.Sum(nil), nil
}

func marshalState(h hash.Hash) ([]byte, error) {
	return h.(encoding.BinaryMarshaler).MarshalBinary()
}

// DigestSigner is an SM2 crypto.Signer that also signs a digest e = SM3(Z‖M) handed to it
// (opts other than gmsm's message-signing option), as gmsm's *sm2.PrivateKey does, and says
// whether it does (a token that hashes the message inside does not). Sign hands such a
// signer e, continued from the seal's remembered SM3 state, instead of the whole TBS_Sign.
// Wrappers forward it.
type DigestSigner interface {
	crypto.Signer
	SignsDigest() bool
}

// signsDigest tells whether signer signs a digest it is handed.
func signsDigest(signer crypto.Signer) bool {
	switch s := signer.(type) {
	case *sm2.PrivateKey:
		return true
	case DigestSigner:
		return s.SignsDigest()
	}
	return false
}

// signTBS signs tbs, a TBS_Sign that holds seal's Raw right after its version, with SM3 and
// the default ID: through the seal's remembered state when signer takes a digest, else by
// handing signer the message (SignSM2).
func signTBS(rand io.Reader, signer crypto.Signer, seal *Seal, tbs []byte) ([]byte, error) {
	at := sealOffsetInTBS(tbs)
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || at < 0 || at+len(seal.Raw) > len(tbs) || !signsDigest(signer) {
		return SignSM2(rand, signer, tbs)
	}
	e, err := sealDigest(seal, pub, tbs, at)
	if err != nil {
		return nil, err
	}
	sig, err := signer.Sign(rand, e, crypto.Hash(0))
	if err != nil {
		return nil, err
	}
	return strictDER(sig)
}

// sealOffsetInTBS returns where the seal begins in a TBS_Sign that Sign built: after the
// SEQUENCE's header and the version INTEGER; -1 when tbs is not laid out so.
func sealOffsetInTBS(tbs []byte) int {
	if len(tbs) < 2 || tbs[0] != 0x30 {
		return -1
	}
	hdr := 2
	if tbs[1]&0x80 != 0 {
		hdr += int(tbs[1] & 0x7f)
	}
	if len(tbs) < hdr+2 || tbs[hdr] != 0x02 || tbs[hdr+1]&0x80 != 0 {
		return -1
	}
	return hdr + 2 + int(tbs[hdr+1])
}
