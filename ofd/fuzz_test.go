package ofd

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vectorFiles returns the bytes of every *.ofd under shared/vectors.
func vectorFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	dir := vectorsDir(tb)
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(strings.ToLower(path), ".ofd") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			out[filepath.ToSlash(rel)] = b
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(out) == 0 {
		tb.Fatal("no .ofd files under shared/vectors")
	}
	return out
}

var fuzzLimits = Limits{MaxEntrySize: 1 << 20, MaxTotalSize: 8 << 20, MaxEntries: 500, MaxSignatures: 50}

// exercise runs everything a verifier would on a package and checks the
// invariants that must hold whatever the input.
func exercise(t *testing.T, data []byte) {
	p, err := Open(data, fuzzLimits)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Kind == 0 {
			t.Fatalf("Open error is not an *Error with a kind: %v", err)
		}
		return
	}
	sigs, err := p.Signatures()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Kind == 0 || sigs != nil {
			t.Fatalf("Signatures error is not an *Error with a kind: %v", err)
		}
	}
	if len(sigs) > fuzzLimits.MaxSignatures {
		t.Fatalf("%d signatures over the limit", len(sigs))
	}
	for _, s := range sigs {
		for _, path := range []string{s.Location, s.ListPath, s.SealPath, s.SignedValuePath} {
			if c, ok := cleanPath(path); path != "" && (!ok || c != path) {
				t.Fatalf("unclean resolved path %q", path)
			}
		}
		if s.Err == nil && s.SignedValue == nil {
			t.Fatalf("signature %q without Err lacks SignedValue", s.ID)
		}
		if s.Type == "" && s.Err == nil {
			t.Fatalf("empty Type")
		}
		if s.Err == nil {
			if x, err := p.ReadFile(s.Location); err != nil || !bytes.Equal(x, s.XML) {
				t.Fatalf("XML differs from the stored file %s", s.Location)
			}
		}
		for _, r := range s.References {
			if r.OK != (r.Problem == "") {
				t.Fatalf("reference %q: OK %v with Problem %q", r.FileRef, r.OK, r.Problem)
			}
			if r.OK && (!bytes.Equal(r.Actual, r.Expected) || len(r.Actual) != 32) {
				t.Fatalf("reference %q OK with Actual %x, Expected %x", r.FileRef, r.Actual, r.Expected)
			}
		}
	}
	for _, name := range p.Files() {
		if _, err := p.ReadFile(name); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind == 0 {
				t.Fatalf("ReadFile error is not an *Error with a kind: %v", err)
			}
		}
	}
	for _, name := range []string{"/OFD.xml", "../OFD.xml", "", "/", "Doc_0/../../x"} {
		p.ReadFile(name)
	}
}

// FuzzOpen feeds arbitrary bytes to Open, Signatures and ReadFile.
func FuzzOpen(f *testing.F) {
	for _, b := range vectorFiles(f) {
		f.Add(b)
	}
	f.Add(zipMap(f, basePackage()))
	f.Add(append([]byte("prefix"), zipMap(f, basePackage())...))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The mutator can grow inputs up to ~100 MB; keep executions fast.
		// Size limits themselves are tested in ofd_test.go.
		if len(data) > 1<<20 {
			t.Skip()
		}
		exercise(t, data)
	})
}

// FuzzPackageXML builds a well-formed ZIP from fuzzed OFD.xml, Signatures.xml
// and Signature.xml, so that the fuzzer reaches the XML and path handling
// (mutating a ZIP directly mostly breaks its checksums).
func FuzzPackageXML(f *testing.F) {
	m := basePackage()
	f.Add(m["OFD.xml"], m["Doc_0/Signs/Signatures.xml"], m["Doc_0/Signs/Sign_0/Signature.xml"], m["Doc_0/Signs/Sign_1/Signature.xml"])
	for _, b := range vectorFiles(f) {
		p, err := Open(b, Limits{})
		if err != nil {
			continue
		}
		o, _ := p.ReadFile("OFD.xml")
		sigs, _ := p.Signatures()
		if len(sigs) == 0 {
			continue
		}
		l, _ := p.ReadFile(sigs[0].ListPath)
		f.Add(o, l, sigs[0].XML, sigs[len(sigs)-1].XML)
	}
	f.Fuzz(func(t *testing.T, ofdXML, list, sig0, sig1 []byte) {
		if len(ofdXML)+len(list)+len(sig0)+len(sig1) > 1<<20 {
			t.Skip()
		}
		m := basePackage()
		m["OFD.xml"] = ofdXML
		m["Doc_0/Signs/Signatures.xml"] = list
		m["Doc_0/Signs/Sign_0/Signature.xml"] = sig0
		m["Doc_0/Signs/Sign_1/Signature.xml"] = sig1
		exercise(t, zipMap(t, m))
	})
}
