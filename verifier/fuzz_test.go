package verifier

import (
	"testing"

	"time"

	"github.com/eseal/eseal/ofd"
)

// FuzzVerifyFile runs the whole procedure on anything: no panic, no hang, and every report
// has an indication and, for each signature, every check.
func FuzzVerifyFile(f *testing.F) {
	// Small seeds made here: Go's fuzzer crawls on inputs the size of the real vectors.
	p := newPKI(f)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(f, start, start.AddDate(2, 0, 0))
	sesSig := func(xml []byte) []byte { return p.sign(f, seal, xml, start.AddDate(0, 1, 0)) }
	f.Add(buildOFD(f, []ofdSig{{"Seal", sesSig}, {"Sign", func(xml []byte) []byte { return sesSig(xml)[:70] }}}))
	f.Add(sesSig([]byte("x")))
	f.Add(seal.Raw)
	v := New(Options{})
	lim := ofd.Limits{MaxEntrySize: 1 << 20, MaxTotalSize: 8 << 20, MaxEntries: 200, MaxSignatures: 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := v.VerifyFile("fuzz", data, nil, lim)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if r.Indication == "" {
			t.Fatal("no indication")
		}
		for _, s := range r.Signatures {
			if s.Indication == "" || len(s.Checks) < len(signatureChecks) {
				t.Fatalf("signature %q: %q with %d checks", s.ID, s.Indication, len(s.Checks))
			}
		}
	})
}
