package verifier

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/eseal/eseal/ses"
)

// TestNotesAttackManyMalformedExtensions: every extension that is not an ExtData was named
// in a note of its own, and the report joined the notes by adding each to a growing string.
// A 132 KB signature whose TBS_Sign held 65,536 two-byte entries allocated 175 GB and took
// over a minute; a larger one would not finish. Notes, critical identifiers listed and the
// work of joining them must stay in proportion to the input, and a list longer than
// ses.MaxElements, which is not read, must count as holding a critical extension.
func TestNotesAttackManyMalformedExtensions(t *testing.T) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, start.AddDate(2, 0, 0))
	data := []byte("<Signature/>")
	attack := func(entries int) []byte {
		root := parseTLV(t, p.sign(t, seal, data, start.AddDate(0, 1, 0)))
		exts := &tlv{tag: 0x30}
		for i := range entries {
			e := &tlv{tag: 0x30} // empty: not an ExtData
			if i%2 == 1 {
				// {BOOLEAN, BOOLEAN TRUE}: not an ExtData, but says critical, so it is kept as one.
				e.kids = []*tlv{{tag: 0x01, val: []byte{0}}, {tag: 0x01, val: []byte{0xff}}}
			}
			exts.kids = append(exts.kids, e)
		}
		root.kids[0].kids = append(root.kids[0].kids, &tlv{tag: 0xa0, kids: []*tlv{exts}})
		return root.der()
	}
	// As many entries as a list may hold: each critical one kept, the notes bounded.
	sig, err := ses.ParseSignature(attack(ses.MaxElements))
	if err != nil {
		t.Fatal(err)
	}
	if len(sig.Notes) > 16 {
		t.Errorf("%d notes about %d extensions", len(sig.Notes), ses.MaxElements)
	}
	if len(sig.TBS.UnknownCritical) != ses.MaxElements/2 {
		t.Errorf("%d critical extensions kept, want %d: a malformed entry must never hide a critical one", len(sig.TBS.UnknownCritical), ses.MaxElements/2)
	}
	// More than a list may hold: not read, and taken as holding a critical extension.
	const entries = 1 << 17
	der := attack(entries)
	if sig, err = ses.ParseSignature(der); err != nil {
		t.Fatal(err)
	}
	if len(sig.TBS.UnknownCritical) != 1 {
		t.Errorf("%d critical extensions kept from a list too long to read, want 1", len(sig.TBS.UnknownCritical))
	}

	type result struct {
		r     SignatureReport
		alloc uint64
	}
	done := make(chan result, 1)
	go func() {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		r := New(p.trust(start.AddDate(0, 2, 0))).VerifySignature(der, data)
		runtime.ReadMemStats(&b)
		done <- result{r, b.TotalAlloc - a.TotalAlloc}
	}()
	select {
	case res := <-done:
		if res.r.Indication != TotalFailed || status(res.r.Checks, CheckFormat) != Failed {
			t.Errorf("%s / %s, format %s", res.r.Indication, res.r.SubIndication, status(res.r.Checks, CheckFormat))
		}
		if d := detail(res.r.Checks, CheckFormat); len(d) > 8<<10 || !strings.Contains(d, "critical") {
			t.Errorf("the format detail is %d bytes: %.200s", len(d), d)
		}
		if limit := uint64(len(der)) * 100; res.alloc > limit {
			t.Errorf("verifying %d bytes allocated %d bytes, more than %d", len(der), res.alloc, limit)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("verifying a %d-byte signature with %d malformed extensions takes more than 20 s", len(der), entries)
	}
}
