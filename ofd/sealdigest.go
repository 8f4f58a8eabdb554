package ofd

import (
	"bytes"
	"sync"

	"github.com/emmansun/gmsm/sm3"
)

// A signer puts the same seal file into every document it signs, and the new signature
// protects it: tens of kilobytes (the picture) whose SM3 is the same each time. sealDigests
// remembers the digests of the last few seal files, each with a copy of its bytes; a seal is
// answered from it only when every byte is equal.
var sealDigests sealDigestMemo

// sealDigestSlots bounds the seals remembered (a signing service uses a few at a time), and
// sealDigestMax the size of each: a larger seal file is hashed every time.
const (
	sealDigestSlots = 16
	sealDigestMax   = 1 << 20
)

type sealDigestMemo struct {
	mu    sync.Mutex
	slots [sealDigestSlots]sealDigestEntry
	next  int
}

type sealDigestEntry struct {
	raw []byte
	sum [sm3.Size]byte
}

// sum returns the SM3 of a seal file's bytes.
func (m *sealDigestMemo) sum(raw []byte) []byte {
	if len(raw) > sealDigestMax {
		s := sm3.Sum(raw)
		return s[:]
	}
	m.mu.Lock()
	for i := range m.slots {
		if e := &m.slots[i]; e.raw != nil && bytes.Equal(e.raw, raw) {
			s := e.sum
			m.mu.Unlock()
			return s[:]
		}
	}
	m.mu.Unlock()
	s := sm3.Sum(raw)
	m.mu.Lock()
	m.slots[m.next] = sealDigestEntry{raw: bytes.Clone(raw), sum: s}
	m.next = (m.next + 1) % sealDigestSlots
	m.mu.Unlock()
	return s[:]
}
