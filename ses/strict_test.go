package ses_test

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/eseal/eseal/ses"
)

// A seal made by MakeSeal is one of its own strict encodings (v4 first, then v1), and every
// strict encoding is the same seal: it parses, its maker signature verifies, and its own
// strict encodings are the same bytes.
func TestStrictEncodings(t *testing.T) {
	p := loadPKI(t)
	for _, version := range []int{4, 1} {
		seal, err := ses.MakeSeal(rand.Reader, p.template(version), p.makerCert, p.makerKey)
		if err != nil {
			t.Fatal(err)
		}
		enc := seal.StrictEncodings()
		if len(enc) != 2 {
			t.Fatalf("v%d: %d strict encodings, want 2", version, len(enc))
		}
		own := map[int]int{4: 0, 1: 1}[version]
		if !bytes.Equal(enc[own], seal.Raw) {
			t.Errorf("v%d: the seal as made is not its strict encoding in its own layout", version)
		}
		if bytes.Equal(enc[0], enc[1]) {
			t.Errorf("v%d: both layouts are the same bytes", version)
		}
		for i, der := range enc {
			s, err := ses.ParseSeal(der)
			if err != nil {
				t.Fatalf("v%d: strict encoding %d does not parse: %v", version, i, err)
			}
			if c := s.CheckSignature(pub(t, p.makerCert)); !c.OK {
				t.Errorf("v%d: strict encoding %d: %s", version, i, c.Detail)
			}
			if !bytes.Equal(s.StrictEncodings()[i], der) || !bytes.Equal(s.Info.Raw, seal.Info.Raw) {
				t.Errorf("v%d: strict encoding %d is not stable", version, i)
			}
		}
	}
	if (&ses.Seal{SignValue: []byte{1, 2, 3}}).StrictEncodings() != nil {
		t.Error("a seal whose signature value does not decode has strict encodings")
	}
}
