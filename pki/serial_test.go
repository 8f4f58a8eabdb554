package pki

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestSequenceAcrossCAs: two CA instances over one store (two processes
// sharing it, say) issue at the same time. Compare-and-swap on the
// sequence counter and the serial gives every certificate its own sequence
// number and serial, none lost. Run it with -race.
func TestSequenceAcrossCAs(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	cas := []*CA{e.open(t), e.open(t)}
	const each = 8
	for i := range 2 * each {
		e.newKey(t, fmt.Sprintf("k%d", i))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	issued := map[uint64]*Issued{}
	serials := map[string]bool{}
	for i := range 2 * each {
		wg.Go(func() {
			req := SignerRequest{KeyLabel: fmt.Sprintf("k%d", i), Holder: Holder{Person: "张三", PersonID: idPerson}, NotAfter: e.clock.Now().Add(time.Hour)}
			is, err := cas[i%2].IssueSigner(ctx, req)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if prev, dup := issued[is.Seq]; dup {
				t.Errorf("sequence %d issued twice (%s and %s)", is.Seq, prev.KeyLabel, is.KeyLabel)
			}
			issued[is.Seq] = is
			serials[serialKey(is.Certificate.SerialNumber)] = true
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for seq := uint64(3); seq < 3+2*each; seq++ {
		if issued[seq] == nil {
			t.Errorf("sequence %d missing", seq)
		}
	}
	if len(serials) != 2*each {
		t.Fatalf("%d distinct serials for %d certificates", len(serials), 2*each)
	}
	if seq, err := getU64(ctx, cas[0].kv, keySeq); err != nil || seq != 2+2*each {
		t.Fatalf("sequence counter %d, %v; want %d", seq, err, 2+2*each)
	}
	for _, is := range issued {
		got, err := cas[1].Lookup(ctx, is.Certificate.SerialNumber)
		if err != nil || got.Seq != is.Seq || got.KeyLabel != is.KeyLabel {
			t.Fatalf("Lookup of sequence %d: %+v %v", is.Seq, got, err)
		}
	}
}
