package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/verifier"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVerifyExitStatus(t *testing.T) {
	v := testvectors.Dir(t)
	p := func(name string) string { return filepath.Join(v, name) }
	good := p("OfdSharp/src/UnitTests/Files/test.ofd") // passes all but the chain: no anchors
	changed := p("esl-demo/test-1.ofd")                // a page changed after signing
	unsigned := p("ofdrw/ofdrw-sign/src/test/resources/helloworld.ofd")
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"indeterminate without anchors", []string{"verify", good}, exitIndeterminate, "INDETERMINATE"},
		{"failed", []string{"verify", changed}, exitFailed, "Page_0/Content.xml"},
		{"failed wins over indeterminate", []string{"verify", good, changed}, exitFailed, "TOTAL_FAILED"},
		{"unsigned", []string{"verify", unsigned}, exitIndeterminate, "NO_SIGNATURE"},
		{"flags after paths", []string{"verify", good, "--json"}, exitIndeterminate, `"kind":"ofd"`},
		{"missing file", []string{"verify", p("nope.ofd")}, exitUsage, ""},
		{"no file", []string{"verify"}, exitUsage, ""},
		{"bad trust file", []string{"verify", "--trust", good, good}, exitUsage, ""},
		{"unknown flag", []string{"verify", "--bogus", good}, exitUsage, ""},
		{"unknown command", []string{"frobnicate"}, exitUsage, ""},
		{"bare signature with its data", []string{"verify", "--data", p("OfdSharp/src/UnitTests/Files/Doc_0/Signs/Sign_0/Signature.xml"),
			p("OfdSharp/src/UnitTests/Files/Doc_0/Signs/Sign_0/SignedValue.dat")}, exitIndeterminate, "passed         data_hash"},
		{"bare signature without its data", []string{"verify", p("OfdSharp/src/UnitTests/Files/Doc_0/Signs/Sign_0/SignedValue.dat")},
			exitIndeterminate, "indeterminate  data_hash"},
		{"bare signature with other data", []string{"verify", "--data", good,
			p("OfdSharp/src/UnitTests/Files/Doc_0/Signs/Sign_0/SignedValue.dat")}, exitFailed, "failed         data_hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errs)
			}
			if !strings.Contains(out, tc.out) {
				t.Fatalf("output lacks %q:\n%s", tc.out, out)
			}
			if tc.code == exitUsage && errs == "" {
				t.Fatal("a usage or I/O error printed nothing")
			}
		})
	}
}

func TestVerifyJSONOneLinePerFile(t *testing.T) {
	v := testvectors.Dir(t)
	files := []string{filepath.Join(v, "ofd.js/public/h.ofd"), filepath.Join(v, "esl-demo/Seal.esl"),
		filepath.Join(v, "synthetic/v1_SignedValue.dat")}
	code, out, errs := runCLI(append([]string{"verify", "--json"}, files...)...)
	if code != exitFailed {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), out)
	}
	kinds := []string{"ofd", "seal", "signature"}
	for i, l := range lines {
		var r verifier.Report
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Path != files[i] || r.Kind != kinds[i] {
			t.Errorf("line %d: %s %s", i, r.Path, r.Kind)
		}
	}
}

func TestInspect(t *testing.T) {
	v := testvectors.Dir(t)
	out := filepath.Join(t.TempDir(), "seal.png")
	code, stdout, errs := runCLI("inspect", "--picture", out, filepath.Join(v, "ofdrw/ofdrw-gm/src/test/resources/UserV4.esl"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"esID         51f044b76510434e9bc67a1185c2fba5", "name         OFD R&W 测试用印章",
		"valid        2020-04-22T02:09:00Z to 2022-04-22T02:09:00Z", "picture      PNG", "serial 01719D2E201D", "serial 01719D2DAB60"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, stdout)
		}
	}
	pic, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(pic, []byte("\x89PNG")) {
		t.Fatalf("picture not written as PNG: %v", err)
	}
	code, stdout, _ = runCLI("inspect", filepath.Join(v, "OfdSharp/src/UnitTests/Files/test.ofd"))
	if code != exitOK || !strings.Contains(stdout, "references   17") || !strings.Contains(stdout, "picture      ofd") {
		t.Fatalf("inspect of an OFD: exit %d\n%s", code, stdout)
	}
	if code, _, errs := runCLI("inspect", filepath.Join(v, "PROVENANCE.md")); code != exitUsage || errs == "" {
		t.Fatalf("inspect of a text file: exit %d, %q", code, errs)
	}
}

// The quick start of the README verifies the committed sample; it must pass, with the
// sample's root, seal maker and CRL, and only with all three.
func TestQuickStartSample(t *testing.T) {
	const dir = "../../testdata/sample/"
	code, out, errs := runCLI("verify", "--trust", dir+"root.pem", "--maker", dir+"maker.pem", "--crl", dir+"crl.der",
		"--data", dir+"Signature.xml", dir+"SignedValue.dat")
	if code != exitOK || !strings.Contains(out, "TOTAL_PASSED") || !strings.Contains(out, "passed         revocation") ||
		!strings.Contains(out, "passed         seal_maker") || !strings.Contains(out, "skipped        time_proof") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runCLI("verify", "--trust", dir+"root.pem", "--maker", dir+"maker.pem", "--crl", dir+"crl.der", dir+"Seal.esl"); code != exitOK ||
		!strings.Contains(out, "passed         revocation") {
		t.Fatalf("the sample seal: exit %d\n%s", code, out)
	}
	for _, tc := range []struct {
		name string
		args []string
		out  string
	}{
		{"no maker list", []string{"--trust", dir + "root.pem", "--crl", dir + "crl.der", "--data", dir + "Signature.xml", dir + "SignedValue.dat"},
			"indeterminate  seal_maker"},
		{"no data", []string{"--trust", dir + "root.pem", "--maker", dir + "maker.pem", dir + "SignedValue.dat"},
			"INDETERMINATE / SIGNED_DATA_NOT_FOUND"},
		{"seal without a maker list", []string{"--trust", dir + "root.pem", dir + "Seal.esl"}, "indeterminate  seal_maker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(append([]string{"verify"}, tc.args...)...)
			if code != exitIndeterminate || !strings.Contains(out, tc.out) {
				t.Fatalf("exit %d, want %d with %q\n%s%s", code, exitIndeterminate, tc.out, out, errs)
			}
		})
	}
	if code, _, errs := runCLI("verify", "--maker", dir+"Signature.xml", dir+"Seal.esl"); code != exitUsage || !strings.Contains(errs, "--maker") {
		t.Fatalf("a maker file without a certificate: exit %d, %q", code, errs)
	}
}

// --help and -h print the command's usage on standard output and exit 0; a bad flag is a
// usage error on standard error.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"verify", "--help"}, {"verify", "-h"}, {"verify", "a.ofd", "--help"}, {"inspect", "--help"}, {"inspect", "-h"}, {"--help"}} {
		code, out, errs := runCLI(args...)
		if code != exitOK || !strings.Contains(out, "usage:") || errs != "" {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q", args, code, out, errs)
		}
	}
	if _, out, _ := runCLI("verify", "--help"); !strings.Contains(out, "-maker") || !strings.Contains(out, "-crl") {
		t.Errorf("verify --help lists no flags:\n%s", out)
	}
	if code, out, errs := runCLI("verify", "--bogus"); code != exitUsage || out != "" || !strings.Contains(errs, "-bogus") {
		t.Errorf("bad flag: exit %d\nstdout %q\nstderr %q", code, out, errs)
	}
}
