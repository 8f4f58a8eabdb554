package verifier

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ofd"
)

// Entries naming one Signature.xml are verified and reported once, with a warning naming them.
func TestSignatureXMLReportedOnce(t *testing.T) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, start.AddDate(2, 0, 0))
	at := start.AddDate(0, 3, 0)
	pkg := baseSignedPkg().build(t, p, seal, at)
	var list strings.Builder
	list.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016">`)
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&list, `<ofd:Signature ID="%d" Type="Seal" BaseLoc="Sign_0/Signature.xml"/>`, i)
	}
	list.WriteString(`</ofd:Signatures>`)
	pkg = rezip(t, pkg, func(n string, b []byte) []byte {
		if n == "Doc_0/Signs/Signatures.xml" {
			return []byte(list.String())
		}
		return b
	}, nil)
	v := New(Options{Roots: []*smx509.Certificate{p.root}, Now: func() time.Time { return at }})
	r, err := v.VerifyOFD(pkg, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Signatures) != 1 || r.Signatures[0].ID != "1" {
		t.Fatalf("%d signatures reported", len(r.Signatures))
	}
	if status(r.Signatures[0].Checks, CheckDataHash) != Passed || status(r.Signatures[0].Checks, CheckCoverage) != Passed {
		t.Fatalf("%v", r.Signatures[0].Checks)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], `49 further signature entries ("2", "3", "4", "5", "6" and 44 more)`) {
		t.Fatalf("warnings %q", r.Warnings)
	}
}

func TestReportBounded(t *testing.T) {
	long := strings.Repeat("é", MaxDetail)
	r := &Report{
		Signatures: []SignatureReport{{Checks: []Check{{Name: CheckReferences, Detail: long}, {Name: CheckFormat, Detail: "short"}}}},
		Seal:       &SealReport{Checks: []Check{{Name: CheckFormat, Detail: long}}},
		Warnings:   []string{long},
	}
	for i := 0; i < MaxListed+5; i++ {
		r.UnsignedFiles = append(r.UnsignedFiles, fmt.Sprintf("Doc_0/Res/%d.png", i))
	}
	limitReport(r)
	for _, d := range []string{r.Signatures[0].Checks[0].Detail, r.Seal.Checks[0].Detail, r.Warnings[0]} {
		if len(d) > MaxDetail || !utf8.ValidString(d) || !strings.Contains(d, "more bytes)") {
			t.Errorf("detail of %d bytes not cut cleanly: …%q", len(d), d[len(d)-40:])
		}
	}
	if r.Signatures[0].Checks[1].Detail != "short" {
		t.Error("a short detail changed")
	}
	if len(r.UnsignedFiles) != MaxListed || len(r.Warnings) != 2 || !strings.Contains(r.Warnings[1], "5 more unsigned files") {
		t.Errorf("%d unsigned files, warnings %q", len(r.UnsignedFiles), r.Warnings[1:])
	}
	// Long names: the list stops by size too.
	r = &Report{}
	for i := 0; i < 100; i++ {
		r.UnsignedFiles = append(r.UnsignedFiles, fmt.Sprintf("%d/%s", i, bytes.Repeat([]byte("n"), 60000)))
	}
	limitReport(r)
	if len(r.UnsignedFiles) >= 100 || len(r.Warnings) != 1 {
		t.Errorf("%d long names kept, warnings %d", len(r.UnsignedFiles), len(r.Warnings))
	}
}
