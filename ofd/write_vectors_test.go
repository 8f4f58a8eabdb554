package ofd_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/verifier"
)

// vectorOFDs returns every .ofd under the vectors, by path inside them, sorted.
func vectorOFDs(t testing.TB) ([]string, map[string][]byte) {
	t.Helper()
	dir := testvectors.Dir(t)
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(path), ".ofd") {
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
		t.Fatal(err)
	}
	names := make([]string, 0, len(out))
	for n := range out {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatal("no .ofd among the vectors")
	}
	return names, out
}

// TestSignVectors signs every OFD among the vectors with a second seal. The unsigned
// ones must give a passing signature; the signed ones too, with each earlier signature's
// verdict unchanged, unless an earlier signature protects Signatures.xml (then the package
// is refused) or already fails (then only Force signs it).
func TestSignVectors(t *testing.T) {
	p := testPKI(t)
	names, files := vectorOFDs(t)
	unsigned, signedAgain, refused := 0, 0, 0
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			data := files[n]
			pkg, err := ofd.Open(data, ofd.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			sigs, err := pkg.Signatures()
			if err != nil {
				t.Fatal(err)
			}
			before := p.report(t, data)
			o := ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 100, Y: 100}}
			out, d, err := p.sign(t, data, 1, o)
			if err != nil {
				var e *ofd.Error
				switch {
				case errors.As(err, &e) && e.Kind == errs.WrongState && strings.Contains(e.Msg, "protects this Signatures.xml"):
					if !protectsList(sigs) {
						t.Fatalf("refused, but no signature protects a Signatures.xml: %v", err)
					}
					refused++
					return
				case errors.As(err, &e) && e.Kind == errs.WrongState && strings.Contains(e.Msg, "Force"):
					if !someReferencesFail(before) {
						t.Fatalf("refused as broken, but every earlier signature's references pass: %v", err)
					}
					o.Force = true
					if out, d, err = p.sign(t, data, 1, o); err != nil {
						t.Fatal(err)
					}
				default:
					t.Fatal(err)
				}
			}
			after := p.report(t, out)
			mustPass(t, after, d.Path())
			value := entries(t, out)[strings.TrimPrefix(strings.TrimSuffix(d.Path(), "Signature.xml"), "/")+"SignedValue.dat"]
			if size := d.FinishSize(len(value)); size < int64(len(out)) || size > int64(len(out))*5/4+8192 {
				t.Errorf("Finish reserved %d bytes for a package of %d", size, len(out))
			}
			if len(after.UnsignedFiles) != 0 {
				t.Errorf("files left unsigned: %v", after.UnsignedFiles)
			}
			if len(after.Signatures) != len(before.Signatures)+1 {
				t.Fatalf("%d signatures after, %d before", len(after.Signatures), len(before.Signatures))
			}
			for _, b := range before.Signatures {
				a := signatureAt(t, after, b.Location)
				if a.Indication != b.Indication || a.SubIndication != b.SubIndication || len(a.Checks) != len(b.Checks) {
					t.Fatalf("earlier signature %s was %s/%s, now %s/%s", b.Location, b.Indication, b.SubIndication, a.Indication, a.SubIndication)
				}
				for i := range b.Checks {
					if a.Checks[i].Name != b.Checks[i].Name || a.Checks[i].Status != b.Checks[i].Status {
						t.Errorf("earlier signature %s: %s was %s, now %s: %s", b.Location, b.Checks[i].Name, b.Checks[i].Status, a.Checks[i].Status, a.Checks[i].Detail)
					}
				}
			}
			if len(sigs) == 0 {
				unsigned++
				opensslVerifyValue(t, entries(t, out)[strings.TrimPrefix(strings.TrimSuffix(d.Path(), "Signature.xml"), "/")+"SignedValue.dat"])
			} else {
				signedAgain++
			}
		})
	}
	t.Logf("%d unsigned and %d signed vectors signed, %d refused (Signatures.xml protected)", unsigned, signedAgain, refused)
	if unsigned == 0 || signedAgain == 0 {
		t.Fatal("the vectors should hold both unsigned and signed packages")
	}
}

// protectsList reports whether a signature protects the Signatures.xml listing it.
func protectsList(sigs []*ofd.Signature) bool {
	for _, s := range sigs {
		for _, r := range s.References {
			if r.Path == s.ListPath {
				return true
			}
		}
	}
	return false
}

// someReferencesFail reports whether an earlier signature's references check does not pass.
func someReferencesFail(r *verifier.Report) bool {
	for _, s := range r.Signatures {
		if c := checkOf(s, verifier.CheckReferences); c.Status != verifier.Passed {
			return true
		}
	}
	return false
}

// TestSignStrippedVectors removes the signatures of each signed vector (the Signatures
// reference in OFD.xml and the files of the Signs folder) and signs what is left: the
// producers' own OFD.xml gains a Signatures reference and the signature passes.
func TestSignStrippedVectors(t *testing.T) {
	p := testPKI(t)
	names, files := vectorOFDs(t)
	ref := regexp.MustCompile(`<([A-Za-z0-9_]+:)?Signatures>[^<]*</([A-Za-z0-9_]+:)?Signatures>`)
	stripped := 0
	for _, n := range names {
		pkg, err := ofd.Open(files[n], ofd.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		sigs, err := pkg.Signatures()
		if err != nil || len(sigs) == 0 {
			continue
		}
		t.Run(n, func(t *testing.T) {
			m := entries(t, files[n])
			// The lists, and the folder of each Signature.xml.
			drop := map[string]bool{}
			var folders []string
			for _, s := range sigs {
				drop[s.ListPath] = true
				if s.Location != "" {
					folders = append(folders, s.Location[:strings.LastIndexByte(s.Location, '/')+1])
				}
			}
			for name := range m {
				clean := strings.TrimPrefix(name, "/")
				for _, f := range folders {
					if strings.HasPrefix(clean, f) {
						drop[clean] = true
					}
				}
				if drop[clean] {
					delete(m, name)
				}
			}
			if !ref.Match(m["OFD.xml"]) {
				t.Fatalf("no Signatures reference in OFD.xml: %s", m["OFD.xml"])
			}
			m["OFD.xml"] = ref.ReplaceAll(m["OFD.xml"], nil)
			out, d := p.mustSign(t, rezip(t, m), 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 100, Y: 100}, Seal: p.seals[0].Raw})
			r := p.report(t, out)
			if len(r.Signatures) != 1 {
				t.Fatalf("%d signatures", len(r.Signatures))
			}
			mustPass(t, r, d.Path())
			stripped++
		})
	}
	if stripped == 0 {
		t.Fatal("no signed vector was stripped and signed")
	}
}
