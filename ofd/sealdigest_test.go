package ofd

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

// The seal digest memo answers the SM3 of the very bytes asked: for more seals than it
// keeps, for seals that differ in one byte only, and from many goroutines at once.
func TestSealDigestMemo(t *testing.T) {
	var m sealDigestMemo
	base := bytes.Repeat([]byte("seal picture "), 1500)
	var seals [][]byte
	for i := range sealDigestSlots + 5 {
		s := bytes.Clone(base)
		s[i%len(s)] ^= 0x55
		s[len(s)-1] = byte(i)
		seals = append(seals, s)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for round := range 50 {
				s := seals[(g*7+round)%len(seals)]
				want := sm3.Sum(s)
				if got := m.sum(s); !bytes.Equal(got, want[:]) {
					errc <- fmt.Errorf("goroutine %d, round %d: wrong digest", g, round)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	// A remembered seal's bytes changed by the caller afterwards do not change the answer
	// for the original bytes, nor are they answered with it.
	s := bytes.Clone(seals[0])
	want := sm3.Sum(s)
	m.sum(s)
	s[10] ^= 1
	if got, other := m.sum(seals[0]), sm3.Sum(s); !bytes.Equal(got, want[:]) || !bytes.Equal(m.sum(s), other[:]) {
		t.Fatal("the memo kept the caller's slice, not a copy")
	}
	// A seal file larger than the memo keeps is hashed, not remembered.
	big := bytes.Repeat([]byte{7}, sealDigestMax+1)
	if got, want := m.sum(big), sm3.Sum(big); !bytes.Equal(got, want[:]) {
		t.Fatal("a large seal file's digest is wrong")
	}
	for i := range m.slots {
		if len(m.slots[i].raw) > sealDigestMax {
			t.Fatal("a seal file larger than the bound was remembered")
		}
	}
}
