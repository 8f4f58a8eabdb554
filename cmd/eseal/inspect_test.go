package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ses"
)

func vectorSeal(t *testing.T) (string, []byte) {
	t.Helper()
	path := filepath.Join(testvectors.Dir(t), "ofdrw/ofdrw-gm/src/test/resources/UserV4.esl")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ses.ParseSeal(data)
	if err != nil {
		t.Fatal(err)
	}
	return path, s.Info.Picture.Data
}

func TestInspectPictureNeverOverwrites(t *testing.T) {
	seal, pic := vectorSeal(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "seal.png")

	code, _, errs := runCLI("inspect", "--picture", out, seal)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o133 != 0 {
		t.Errorf("picture written with mode %v, want 0644 or tighter", perm)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, pic) {
		t.Fatal("the picture written is not the seal's")
	}

	// An existing file is kept, unless --force.
	if err := os.WriteFile(out, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCLI("inspect", "--picture", out, seal)
	if code != exitUsage || !strings.Contains(errs, "exists") {
		t.Fatalf("existing file: exit %d, %q", code, errs)
	}
	if b, _ := os.ReadFile(out); string(b) != "mine" {
		t.Fatal("an existing file was overwritten")
	}
	if code, _, errs = runCLI("inspect", "--force", "--picture", out, seal); code != exitOK {
		t.Fatalf("--force: exit %d, %s", code, errs)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, pic) {
		t.Fatal("--force did not replace the file with the picture")
	}

	// A symbolic link is never followed, to an existing file or to a new one.
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("target"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, to string
		args     []string
	}{
		{"link to a file", target, nil},
		{"link to a file, forced", target, []string{"--force"}},
		{"dangling link", filepath.Join(dir, "created-through-link"), nil},
		{"dangling link, forced", filepath.Join(dir, "created-through-link"), []string{"--force"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			link := filepath.Join(dir, "link-"+strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.Symlink(tc.to, link); err != nil {
				t.Fatal(err)
			}
			args := append(append([]string{"inspect"}, tc.args...), "--picture", link, seal)
			if code, _, errs := runCLI(args...); code != exitUsage || errs == "" {
				t.Fatalf("exit %d, %q", code, errs)
			}
			if b, err := os.ReadFile(target); err != nil || string(b) != "target" {
				t.Fatal("the link's target was written")
			}
			if _, err := os.Stat(filepath.Join(dir, "created-through-link")); err == nil {
				t.Fatal("a file was created through a dangling link")
			}
		})
	}

	// A device is never written, even with --force.
	if code, _, errs := runCLI("inspect", "--force", "--picture", os.DevNull, seal); code != exitUsage || !strings.Contains(errs, "not a regular file") {
		t.Fatalf("--picture %s: exit %d, %q", os.DevNull, code, errs)
	}
}

func TestInspectPictureToStandardOutput(t *testing.T) {
	seal, pic := vectorSeal(t)
	code, out, errs := runCLI("inspect", "--picture", "-", seal)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != string(pic) {
		t.Fatalf("standard output holds %d bytes, not the %d-byte picture", len(out), len(pic))
	}
	if !strings.Contains(errs, "esID") {
		t.Errorf("the description did not go to standard error: %q", errs)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Fatal(`a file named "-" was written`)
	}
}

// An OFD with more seals than maxPictures gets maxPictures pictures, and a note.
func TestInspectPictureLimit(t *testing.T) {
	dir := testvectors.Dir(t)
	orig, err := os.ReadFile(filepath.Join(dir, "OfdSharp/src/UnitTests/Files/test.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(orig), int64(len(orig)))
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		rc, err := zr.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		return b
	}
	const n = maxPictures + 4
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name string, b []byte) {
		w, _ := zw.Create(name)
		w.Write(b)
	}
	var list strings.Builder
	list.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016">`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&list, `<ofd:Signature ID="%d" Type="Seal" BaseLoc="/Doc_0/Signs/Sign_%d/Signature.xml"/>`, i+1, i)
		xml := bytes.ReplaceAll(read("Doc_0/Signs/Sign_0/Signature.xml"), []byte("Sign_0"), []byte(fmt.Sprintf("Sign_%d", i)))
		put(fmt.Sprintf("Doc_0/Signs/Sign_%d/Signature.xml", i), xml)
		put(fmt.Sprintf("Doc_0/Signs/Sign_%d/SignedValue.dat", i), read("Doc_0/Signs/Sign_0/SignedValue.dat"))
	}
	list.WriteString(`</ofd:Signatures>`)
	put("Doc_0/Signs/Signatures.xml", []byte(list.String()))
	for _, f := range zr.File {
		if !strings.Contains(f.Name, "/Signs/") && !strings.HasSuffix(f.Name, "/") {
			put(f.Name, read(f.Name))
		}
	}
	zw.Close()
	tmp := t.TempDir()
	pkg := filepath.Join(tmp, "many.ofd")
	if err := os.WriteFile(pkg, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "seal")
	code, _, errs := runCLI("inspect", "--picture", out, pkg)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	written, _ := filepath.Glob(out + "*")
	if len(written) != maxPictures {
		t.Errorf("%d pictures written, want %d", len(written), maxPictures)
	}
	if _, err := os.Stat(fmt.Sprintf("%s.%d", out, maxPictures+1)); err == nil {
		t.Error("a picture past the limit was written")
	}
	if !strings.Contains(errs, fmt.Sprintf("%d more pictures not written", n-maxPictures)) {
		t.Errorf("no note of the pictures left out: %q", errs)
	}
}

// Every input is capped and must be a regular file: devices, pipes and folders are refused at
// once, oversized files before they are read.
func TestInputFilesBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.ofd")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxInputSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fifo := filepath.Join(dir, "fifo.ofd")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a device", []string{"verify", "/dev/zero"}, "device"},
		{"a pipe", []string{"verify", fifo}, "pipe"},
		{"a folder", []string{"verify", dir}, "folder"},
		{"a file over the cap", []string{"verify", big}, "limit of 64 MiB"},
		{"--data over the cap", []string{"verify", "--data", big, big}, "limit of 64 MiB"},
		{"--trust from a device", []string{"verify", "--trust", "/dev/zero", big}, "device"},
		{"inspect a device", []string{"inspect", "/dev/zero"}, "device"},
		{"inspect a file over the cap", []string{"inspect", big}, "limit of 64 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			code, _, errs := runCLI(tc.args...)
			if code != exitUsage || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, %q; want exit %d naming %q", code, errs, exitUsage, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// A package readers may read in two ways fails: exit 1, its format check naming the entry.
func TestVerifyAmbiguousPackage(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(testvectors.Dir(t), "esl-demo/test.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(orig), int64(len(orig)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		w, _ := zw.Create(f.Name)
		w.Write(b)
	}
	w, _ := zw.Create("Doc_0/Pages/Page_0/CONTENT.xml")
	w.Write([]byte("<ofd:Page/>"))
	zw.Close()
	path := filepath.Join(t.TempDir(), "two-readings.ofd")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI("verify", path)
	if code != exitFailed || !strings.Contains(out, "the package as a whole: TOTAL_FAILED / FORMAT_FAILURE") || !strings.Contains(out, "CONTENT.xml") || !strings.Contains(out, "failed         format") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI("verify", "--json", path)
	if code != exitFailed || !strings.Contains(out, `"unsigned_files":[],"warnings":[]`) {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

// The text report lists the unsigned files and the warnings of a package.
func TestVerifyShowsUnsignedFilesAndWarnings(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(testvectors.Dir(t), "OfdSharp/src/UnitTests/Files/test.ofd"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "wrapped.ofd")
	if err := os.WriteFile(path, append([]byte("%PDF-1.7\n"), orig...), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, errs := runCLI("verify", path)
	for _, want := range []string{"  unsigned  Doc_0/TPLS/TPL_0/Content.xml\n", "  warning   9 bytes precede the ZIP archive"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s%s", want, out, errs)
		}
	}
}

func TestInspectHelp(t *testing.T) {
	code, out, errs := runCLI("inspect", "--help")
	if help := out + errs; code != exitOK || !strings.Contains(help, "-force") || !strings.Contains(help, "-picture") {
		t.Fatalf("exit %d: %q", code, help)
	}
}
