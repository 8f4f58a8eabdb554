package ofd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eseal/eseal/internal/testvectors"
)

// vectorsDir finds shared/vectors; it fails the test when they cannot be found.
func vectorsDir(tb testing.TB) string { return testvectors.Dir(tb) }

type expectedFile struct {
	File       string `json:"file"`
	Kind       string `json:"kind"`
	Signatures []struct {
		Entry struct {
			ID      string `json:"ID"`
			Type    string `json:"Type"`
			BaseLoc string `json:"BaseLoc"`
		} `json:"entry"`
		SignatureXML  string   `json:"signatureXml"`
		CheckMethod   string   `json:"checkMethod"`
		ReferencesOK  int      `json:"referencesOK"`
		ReferencesBad []string `json:"referencesBad"`
	} `json:"signatures"`
}

// TestConformance reproduces, file by file, the reference results recorded
// in shared/vectors/EXPECTED_RESULTS.json for every OFD package.
func TestConformance(t *testing.T) {
	dir := vectorsDir(t)
	raw, err := os.ReadFile(filepath.Join(dir, "EXPECTED_RESULTS.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all []expectedFile
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatalf("EXPECTED_RESULTS.json: %v", err)
	}
	n := 0
	for _, want := range all {
		if want.Kind != "OFD" {
			continue
		}
		n++
		t.Run(strings.TrimPrefix(want.File, "./"), func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(want.File)))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Open(data, Limits{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			sigs, err := p.Signatures()
			if err != nil {
				t.Fatalf("Signatures: %v", err)
			}
			if len(sigs) != len(want.Signatures) {
				t.Fatalf("got %d signatures, want %d", len(sigs), len(want.Signatures))
			}
			for i, w := range want.Signatures {
				s := sigs[i]
				if s.Err != nil {
					t.Errorf("signature %d: unexpected Err: %v", i, s.Err)
				}
				wantType := w.Entry.Type
				if wantType == "" {
					wantType = "Seal"
				}
				if s.ID != w.Entry.ID || s.Type != wantType || s.BaseLoc != w.Entry.BaseLoc {
					t.Errorf("signature %d: ID/Type/BaseLoc = %q/%q/%q, want %q/%q/%q", i, s.ID, s.Type, s.BaseLoc, w.Entry.ID, wantType, w.Entry.BaseLoc)
				}
				if s.Location != w.SignatureXML {
					t.Errorf("signature %d: Location = %q, want %q", i, s.Location, w.SignatureXML)
				}
				if s.CheckMethod != w.CheckMethod {
					t.Errorf("signature %d: CheckMethod = %q, want %q", i, s.CheckMethod, w.CheckMethod)
				}
				ok := 0
				var bad []string
				for _, r := range s.References {
					if r.OK {
						ok++
						if r.Problem != "" {
							t.Errorf("signature %d: reference %s is OK but has Problem %q", i, r.FileRef, r.Problem)
						}
					} else {
						bad = append(bad, r.FileRef)
						if r.Problem == "" {
							t.Errorf("signature %d: reference %s fails without a Problem", i, r.FileRef)
						}
					}
				}
				if ok != w.ReferencesOK {
					t.Errorf("signature %d: %d references OK, want %d", i, ok, w.ReferencesOK)
				}
				if !slices.Equal(bad, w.ReferencesBad) && !(len(bad) == 0 && len(w.ReferencesBad) == 0) {
					t.Errorf("signature %d: failing references %q, want %q", i, bad, w.ReferencesBad)
				}
				if len(s.XML) == 0 || len(s.SignedValue) == 0 {
					t.Errorf("signature %d: XML (%d bytes) or SignedValue (%d bytes) empty", i, len(s.XML), len(s.SignedValue))
				}
				if x, err := p.ReadFile("/" + s.Location); err != nil || string(x) != string(s.XML) {
					t.Errorf("signature %d: XML differs from ReadFile(%q) (err %v)", i, s.Location, err)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("EXPECTED_RESULTS.json lists no OFD files")
	}
}
