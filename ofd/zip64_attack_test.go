package ofd

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
)

// twoEndsZip writes one archive that reads as two: its 32-bit end record locates the central
// directory with one base offset, and a zip64 end record (reached by its locator, hidden in
// the last central record's comment) locates the same records with another. archive/zip
// (and Python) take the zip64 record whenever the 32-bit directory size is 0xffff; Java's
// ZipFile takes the 32-bit record when the two disagree. The local entries are written twice,
// first with signed (the zip64 reading), then with shown (the 32-bit reading); both hold the
// same names in the same order, with contents of equal lengths, and a changed entry declares
// the CRC 0, which archive/zip does not check.
func twoEndsZip(t *testing.T, names []string, signed, shown map[string][]byte) []byte {
	t.Helper()
	locals := func(files map[string][]byte) ([]byte, []uint32) {
		var buf bytes.Buffer
		le := func(v any) { binary.Write(&buf, binary.LittleEndian, v) }
		offs := make([]uint32, len(names))
		for i, n := range names {
			offs[i] = uint32(buf.Len())
			crc := crc32.ChecksumIEEE(files[n])
			if !bytes.Equal(signed[n], shown[n]) {
				crc = 0
			}
			le(uint32(localHeaderSig))
			le(uint16(20))
			le(uint16(0x800))
			le(uint16(0)) // stored
			le(uint32(0))
			le(crc)
			le(uint32(len(files[n])))
			le(uint32(len(files[n])))
			le(uint16(len(n)))
			le(uint16(0))
			buf.WriteString(n)
			buf.Write(files[n])
		}
		return buf.Bytes(), offs
	}
	prefix := []byte("stub without records")
	a, offs := locals(signed)
	o, offs2 := locals(shown)
	if len(a) != len(o) || len(offs) != len(offs2) {
		t.Fatal("the two readings must have the same layout")
	}
	var buf bytes.Buffer
	buf.Write(prefix)
	buf.Write(a)
	buf.Write(o)
	start := buf.Len()
	le := func(v any) { binary.Write(&buf, binary.LittleEndian, v) }
	const dirSize = 0xffff // archive/zip looks for a zip64 end record at this size
	for i, n := range names {
		crc := crc32.ChecksumIEEE(shown[n])
		if !bytes.Equal(signed[n], shown[n]) {
			crc = 0
		}
		le(uint32(cdHeaderSig))
		le(uint16(20))
		le(uint16(20))
		le(uint16(0x800))
		le(uint16(0))
		le(uint32(0))
		le(crc)
		le(uint32(len(shown[n])))
		le(uint32(len(shown[n])))
		le(uint16(len(n)))
		le(uint16(0))
		comment := 0
		if i == len(names)-1 {
			comment = start + dirSize - (buf.Len() + 14 + len(n)) // up to the 32-bit end record
		}
		le(uint16(comment))
		le(uint16(0))
		le(uint16(0))
		le(uint32(0))
		le(offs[i])
		buf.WriteString(n)
		if comment > 0 {
			buf.Write(make([]byte, comment-56-20))
			end64 := buf.Len()
			le(uint32(zip64EOCDSig))
			le(uint64(44))
			le(uint16(45))
			le(uint16(45))
			le(uint32(0))
			le(uint32(0))
			le(uint64(len(names)))
			le(uint64(len(names)))
			le(uint64(dirSize - 56 - 20))
			le(uint64(start - len(prefix))) // base offset: the prefix only
			le(uint32(zip64LocatorSig))
			le(uint32(0))
			le(uint64(end64))
			le(uint32(1))
		}
	}
	if buf.Len() != start+dirSize {
		t.Fatalf("central directory of %d bytes", buf.Len()-start)
	}
	le(uint32(0x06054b50))
	le(uint16(0))
	le(uint16(0))
	le(uint16(len(names)))
	le(uint16(len(names)))
	le(uint32(dirSize))
	le(uint32(len(o))) // base offset: the prefix and the signed entries
	le(uint16(0))
	return buf.Bytes()
}

// TestZIPAttackTwoEndRecords: a package whose 32-bit and zip64 end records locate its central
// directory with different base offsets reads as two packages. Open checked the layout of
// one reading (its own rule for zip64: a directory size of 0xffffffff) and hashed the files
// of the other (archive/zip's rule: 0xffff), so the signature verified over the signed
// page while a reader that takes the 32-bit end record shows another page.
func TestZIPAttackTwoEndRecords(t *testing.T) {
	signed := basePackage()
	names := make([]string, 0, len(signed))
	for n := range signed {
		names = append(names, n)
	}
	// The page first, so that its two local entries are easy to find below.
	sortFirst(names, "Doc_0/Pages/Page_0/Content.xml")
	shown := map[string][]byte{}
	for n, b := range signed {
		shown[n] = b
	}
	page := signed["Doc_0/Pages/Page_0/Content.xml"]
	evil := []byte(strings.Replace(string(page), "<ofd:Content/>", "<ofd:Content>", 1))
	evil = append(evil[:len(page)-len("</ofd:Page>")-len("</ofd:Content>")], "</ofd:Content></ofd:Page>"...)
	if len(evil) != len(page) || bytes.Equal(evil, page) {
		t.Fatalf("the shown page must differ and be as long: %q", evil)
	}
	shown["Doc_0/Pages/Page_0/Content.xml"] = evil
	data := twoEndsZip(t, names, signed, shown)

	// The two readings exist: archive/zip reads the signed page, and the page a reader
	// taking the 32-bit end record finds is the shown one.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, page) {
		t.Fatalf("archive/zip reads %q, %v", got, err)
	}
	if bytes.Count(data, evil) != 1 || bytes.Index(data, evil) < bytes.Index(data, page) {
		t.Fatal("the shown page is not the second local entry")
	}

	p, err := Open(data, Limits{})
	if err == nil {
		pageOK := false
		if sigs, err := p.Signatures(); err == nil && len(sigs) > 0 {
			for _, r := range sigs[0].References {
				pageOK = pageOK || (r.Path == "Doc_0/Pages/Page_0/Content.xml" && r.OK)
			}
		}
		t.Fatalf("a package with two readings opened (the signed page's reference verifies: %v)", pageOK)
	}
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "zip64") {
		t.Fatalf("error %v, want ErrFormat naming the zip64 end record", err)
	}
}

// sortFirst moves name to the front of names.
func sortFirst(names []string, name string) {
	for i, n := range names {
		if n == name {
			names[0], names[i] = names[i], names[0]
			return
		}
	}
}
