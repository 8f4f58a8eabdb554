package ses_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ses"
)

// withHeader returns a copy of a seal whose SES_Header {ID, version} is replaced, same lengths.
func withHeader(t *testing.T, seal []byte, id string, version byte) []byte {
	t.Helper()
	i := bytes.Index(seal, []byte{0x16, 0x02, 'E', 'S', 0x02, 0x01})
	if i < 0 || len(id) != 2 {
		t.Fatal("no SES_Header {\"ES\", version} in the vector")
	}
	out := bytes.Clone(seal)
	copy(out[i+2:], id)
	out[i+6] = version
	return out
}

// GB/T 38540 §6.3 a: header ID "ES" and a known version, else the seal does not parse.
func TestSealHeaderRules(t *testing.T) {
	v4 := testvectors.Read(t, "ofdrw/ofdrw-gm/src/test/resources/UserV4.esl")
	v1 := testvectors.Read(t, "ofdrw/ofdrw-gm/src/test/resources/UserV1.esl")
	sig := testvectors.Read(t, "ofdrw/ofdrw-gm/src/test/resources/SignedValueV4.dat")
	for _, tc := range []struct {
		name    string
		data    []byte
		err     string // "" when it must parse
		version int    // layout read
		note    string
	}{
		{"v4 as is", v4, "", 4, ""},
		{"ID not ES", withHeader(t, v4, "EX", 4), `ID is "EX", expected "ES"`, 0, ""},
		{"ID in lower case", withHeader(t, v4, "es", 4), `ID is "es"`, 0, ""},
		{"version 3", withHeader(t, v4, "ES", 3), "version 3 is not a known seal version", 0, ""},
		{"version 0", withHeader(t, v4, "ES", 0), "version 0 is not a known seal version", 0, ""},
		{"version 6", withHeader(t, v4, "ES", 6), "version 6 is not a known seal version", 0, ""},
		{"v4 layout saying 1", withHeader(t, v4, "ES", 1), "", 4, "GB/T 38540 layout but its header says version 1"},
		{"v1 layout saying 2", withHeader(t, v1, "ES", 2), "", 1, ""},
		{"v1 layout saying 4", withHeader(t, v1, "ES", 4), "", 1, "GM/T 0031 v1 layout but its header says version 4"},
		{"v1 layout saying 7", withHeader(t, v1, "ES", 7), "version 7 is not a known seal version", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ses.ParseSeal(tc.data)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				var fe *ses.FormatError
				if !errors.As(err, &fe) {
					t.Errorf("%T is not a FormatError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Version != tc.version {
				t.Errorf("read as v%d, want v%d", s.Version, tc.version)
			}
			if notes := strings.Join(s.Notes, "; "); (tc.note == "") != (notes == "") || !strings.Contains(notes, tc.note) {
				t.Errorf("notes %q, want %q", notes, tc.note)
			}
		})
	}
	// The same rules hold for the seal embedded in a signature.
	bad := withHeader(t, sig, "ES", 9)
	if _, err := ses.ParseSignature(bad); err == nil || !strings.Contains(err.Error(), "embedded seal: seal header: version 9") {
		t.Errorf("signature with a version-9 seal: %v", err)
	}
}
