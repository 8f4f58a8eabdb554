package ofd_test

import (
	"testing"

	"github.com/eseal/eseal/ofd"
)

// TestSignAttackFoldedNames: a package carrying files whose names differ only in case (or
// trailing dots) from those the new signature adds (its Sign_N folder, a new Signatures.xml).
// Signing used to write both, so that the package returned was one that Open refuses as
// ambiguous and that a reader folding case may read with the planted file in place of ours
// (a planted Seal.esl shown as the seal). The signature now goes into a folder whose names
// no file of the package takes, and the package it returns opens and verifies; a package
// holding a file readers may take for the new list of signatures is refused.
func TestSignAttackFoldedNames(t *testing.T) {
	p := testPKI(t)
	for _, tc := range []struct{ name, planted string }{
		{"a folder differing in case", "Doc_0/Signs/sign_0/Seal.esl"},
		{"a folder differing by a trailing dot", "Doc_0/Signs/Sign_0./Seal.esl"},
		{"a folder above differing in case", "Doc_0/signs/Sign_0/Seal.esl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := licence()
			files[tc.planted] = []byte("a seal nobody signed with")
			data := rezip(t, files)
			if _, err := ofd.Open(data, ofd.Limits{}); err != nil {
				t.Fatalf("the input package: %v", err)
			}
			out, d := p.mustSign(t, data, 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 100, Y: 100}, Seal: p.seals[0].Raw})
			if _, err := ofd.Open(out, ofd.Limits{}); err != nil {
				t.Fatalf("the signed package (signature at %s) does not open: %v", d.Path(), err)
			}
			mustPass(t, p.report(t, out), d.Path())
		})
	}
	t.Run("a list differing in case", func(t *testing.T) {
		files := licence()
		files["Doc_0/Signs/signatures.xml"] = []byte("<ofd:Signatures/>")
		_, _, err := p.sign(t, rezip(t, files), 0, ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 100, Y: 100}})
		wantErr(t, err, ofd.ErrFormat, "Doc_0/Signs/signatures.xml", "Doc_0/Signs/Signatures.xml")
	})
}
