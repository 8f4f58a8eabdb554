package ofd

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
)

// readBoth reads every deflated entry of the ZIP data that gives its sizes first, with
// openDirect and with archive/zip, and returns both readings.
func readBoth(data []byte) (direct, archive []string) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, nil
	}
	for _, f := range zr.File {
		off, err := f.DataOffset()
		if err != nil || off < 0 || f.CompressedSize64 > uint64(len(data)) || uint64(off) > uint64(len(data))-f.CompressedSize64 ||
			f.UncompressedSize64 > 1<<20 {
			continue
		}
		rc := openDirect(f, data[off:uint64(off)+f.CompressedSize64])
		if rc == nil {
			continue
		}
		direct = append(direct, readAllOf(rc))
		rc2, err := f.Open()
		if err != nil {
			archive = append(archive, "open: "+err.Error())
			continue
		}
		archive = append(archive, readAllOf(rc2))
	}
	return direct, archive
}

func readAllOf(rc io.ReadCloser) string {
	b, err := io.ReadAll(io.LimitReader(rc, 2<<20))
	rc.Close()
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%q", b)
}

// entryZip returns a ZIP of deflated entries written with data descriptors.
func entryZip(t testing.TB, contents ...string) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i, c := range contents {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("f%d.xml", i), Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(c))
		w.Flush()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// declare returns a ZIP of one deflated entry holding content that gives its sizes and
// CRC in its headers (as most OFD producers write them), declaring crc and usize.
func declare(t testing.TB, content string, crc uint32, usize uint32) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	var comp bytes.Buffer
	fw, _ := fastDeflate(&comp)
	fw.Write([]byte(content))
	fw.Close()
	fh := &zip.FileHeader{Name: "f.xml", Method: zip.Deflate, CRC32: crc, CompressedSize64: uint64(comp.Len()), UncompressedSize64: uint64(usize)}
	raw, err := w.CreateRaw(fh)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write(comp.Bytes())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestEntryReaderMatchesArchiveZip(t *testing.T) {
	content := "<Page><Area><PhysicalBox>0 0 210 297</PhysicalBox></Area></Page>"
	good := crc32Of(content)
	cases := map[string][]byte{
		"good":         declare(t, content, good, uint32(len(content))),
		"no CRC":       declare(t, content, 0, uint32(len(content))),
		"bad CRC":      declare(t, content, good^1, uint32(len(content))),
		"size short":   declare(t, content, good, uint32(len(content))-1),
		"size long":    declare(t, content, good, uint32(len(content))+1),
		"empty":        declare(t, "", 0, 0),
		"corrupt data": corruptData(declare(t, content, good, uint32(len(content)))),
	}
	for name, data := range cases {
		d, a := readBoth(data)
		if len(d) != 1 {
			t.Fatalf("%s: %d entries read directly, want 1", name, len(d))
		}
		if d[0] != a[0] {
			t.Errorf("%s: direct %s, archive/zip %s", name, d[0], a[0])
		}
	}
	if d, _ := readBoth(cases["bad CRC"]); d[0] != "error: "+zip.ErrChecksum.Error() {
		t.Errorf("bad CRC read as %s", d[0])
	}
	// Entries written with data descriptors are left to archive/zip.
	if d, _ := readBoth(entryZip(t, "a", "b")); len(d) != 0 {
		t.Errorf("%d entries with data descriptors read directly", len(d))
	}
}

func crc32Of(s string) uint32 {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	fw, _ := w.Create("x")
	fw.Write([]byte(s))
	w.Close()
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	return zr.File[0].CRC32
}

// corruptData flips a bit in the first entry's compressed data.
func corruptData(b []byte) []byte {
	b = bytes.Clone(b)
	n := binary.LittleEndian.Uint16(b[26:])
	m := binary.LittleEndian.Uint16(b[28:])
	b[30+int(n)+int(m)] ^= 0x06
	return b
}

// FuzzEntryReader: openDirect reads any entry as archive/zip reads it, data and error.
func FuzzEntryReader(f *testing.F) {
	content := "<Page><Area><PhysicalBox>0 0 210 297</PhysicalBox></Area></Page>"
	f.Add(declare(f, content, crc32Of(content), uint32(len(content))))
	f.Add(declare(f, content, 0, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, a := readBoth(data)
		for i := range d {
			if d[i] != a[i] {
				t.Errorf("entry %d: direct %s, archive/zip %s", i, d[i], a[i])
			}
		}
	})
}
