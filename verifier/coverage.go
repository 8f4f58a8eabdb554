package verifier

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// checkCoverage passes when the signature's references cover the Document.xml a reader
// displays and the content of every page it lists, and the signature belongs to that
// document (SES.md §4: OFD.xml itself is never signed, so its DocRoot can be re-pointed).
// For a seal signature (sig not nil), a seal file the package carries for it must also be
// the seal it embeds: a reader may show that file's picture.
func checkCoverage(c *checks, pkg *ofd.Package, s *ofd.Signature, sig *ses.Signature) {
	var problems []string
	cov := pkg.Coverage(s)
	if !cov.OK() {
		problems = append(problems, cov.Problem)
	}
	sealFile := ""
	if sig != nil {
		var problem string
		if sealFile, problem = checkSealFile(pkg, s, sig); problem != "" {
			problems = append(problems, problem)
		}
	}
	if len(problems) > 0 {
		c.fail(CheckCoverage, SigConstraintsFailure, strings.Join(problems, "; "))
		return
	}
	d := fmt.Sprintf("the references cover %s, the document a reader displays, and the content of its %d page file(s)", cov.Document, len(cov.Required)-1)
	if sealFile != "" {
		d += "; the seal file " + sealFile + " is the seal the signature embeds"
	}
	c.pass(CheckCoverage, d)
}

// checkSealFile compares the seal file the package carries for the signature (the one
// Signature.xml names, or a Seal.esl beside Signature.xml) with the seal the signature
// embeds. It returns the file's path ("" when there is none) and a problem ("" when they
// are the same).
func checkSealFile(pkg *ofd.Package, s *ofd.Signature, sig *ses.Signature) (string, string) {
	file, seal := s.SealPath, s.Seal
	if file != "" && seal == nil && pkg.Has(file) {
		return file, fmt.Sprintf("the package's seal file %s cannot be read, so it cannot be shown to be the seal the signature embeds", file)
	}
	if file == "" && s.Location != "" {
		beside := path.Join(path.Dir(s.Location), "Seal.esl")
		if pkg.Has(beside) {
			b, err := pkg.ReadFile(beside)
			if err != nil {
				return beside, fmt.Sprintf("%s beside the signature cannot be read, so it cannot be shown to be the seal the signature embeds: %v", beside, err)
			}
			file, seal = beside, b
		}
	}
	if seal == nil || bytes.Equal(seal, sig.TBS.Seal.Raw) {
		if seal == nil {
			file = ""
		}
		return file, ""
	}
	return file, fmt.Sprintf("the package's seal file %s is not the seal embedded in the signature (%d bytes against %d): a reader showing it would show a seal nobody signed with", file, len(seal), len(sig.TBS.Seal.Raw))
}

// packageWarnings names what is suspicious about the package as a whole.
func packageWarnings(pkg *ofd.Package) []string {
	w := []string{}
	before, after := pkg.Surrounding()
	if before > 0 {
		w = append(w, fmt.Sprintf("%d bytes precede the ZIP archive: the file may also be read as another format (for example a PDF/OFD polyglot), and what that shows is not covered by any signature", before))
	}
	if after > 0 {
		w = append(w, fmt.Sprintf("%d bytes follow the ZIP archive: they are not part of the package and no signature covers them", after))
	}
	return w
}

// uniqueSignatures keeps the first of the entries that name the same Signature.xml with
// the same type (they would verify alike), and says which were folded into it.
func uniqueSignatures(sigs []*ofd.Signature) ([]*ofd.Signature, []string) {
	type key struct{ typ, loc string }
	first := map[key]int{}
	dups := map[int][]string{}
	var out []*ofd.Signature
	var order []int
	for _, s := range sigs {
		if s.Location == "" {
			out = append(out, s)
			continue
		}
		k := key{strings.ToLower(s.Type), s.Location}
		if i, ok := first[k]; ok {
			if len(dups[i]) == 0 {
				order = append(order, i)
			}
			dups[i] = append(dups[i], s.ID)
			continue
		}
		first[k] = len(out)
		out = append(out, s)
	}
	var warnings []string
	for _, i := range order {
		ids := dups[i]
		named := ids
		if len(named) > 5 {
			named = named[:5]
		}
		q := make([]string, len(named))
		for j, id := range named {
			q[j] = fmt.Sprintf("%q", id)
		}
		more := ""
		if len(ids) > len(named) {
			more = fmt.Sprintf(" and %d more", len(ids)-len(named))
		}
		warnings = append(warnings, fmt.Sprintf("%d further signature entries (%s%s) name %s, as signature %q does: it is verified and reported once",
			len(ids), strings.Join(q, ", "), more, out[i].Location, out[i].ID))
	}
	return out, warnings
}

// packageFailure is the report on a package that cannot be read as one unambiguous OFD
// package: one entry, for the package as a whole (no ID, no location), whose format fails.
func packageFailure(err error) *Report {
	c := newChecks(ofdSignatureChecks...)
	c.fail(CheckFormat, FormatFailure, err.Error())
	for _, n := range ofdSignatureChecks[1:] {
		c.skip(n, "not checked: the package cannot be read")
	}
	s := SignatureReport{Checks: c.list}
	s.Indication, s.SubIndication = c.indication()
	return &Report{Kind: "ofd", Indication: TotalFailed, Signatures: []SignatureReport{s}, UnsignedFiles: []string{}, Warnings: []string{}}
}
