package ofd

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"
)

// The stored-block stream is byte for byte what compress/flate writes at NoCompression,
// and inflates back to its input, for sizes around the block boundaries.
func TestWriteStoredBlocksMatchesFlate(t *testing.T) {
	for _, n := range []int{0, 1, 100, maxStoredBlock - 1, maxStoredBlock, maxStoredBlock + 1, 2 * maxStoredBlock, 2*maxStoredBlock + 7, 200000} {
		b := make([]byte, n)
		rand.Read(b)
		var want bytes.Buffer
		fw, err := flate.NewWriter(&want, flate.NoCompression)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := writeStoredBlocks(&got, b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%d bytes: the stream differs from compress/flate's (%d bytes, want %d)", n, got.Len(), want.Len())
		}
		if got.Len() != storedDeflateSize(n) {
			t.Errorf("%d bytes: storedDeflateSize = %d, the stream is %d bytes", n, storedDeflateSize(n), got.Len())
		}
		back, err := io.ReadAll(flate.NewReader(&got))
		if err != nil || !bytes.Equal(back, b) {
			t.Errorf("%d bytes: the stream does not inflate back (%v)", n, err)
		}
	}
}

// The writer copies each unchanged entry from the slice Open kept: for every vector it
// holds exactly the bytes archive/zip reads as the entry's raw data.
func TestRawEntriesMatchArchiveZip(t *testing.T) {
	n := 0
	forVectorPackages(t, func(path string, _ []byte, p *Package) {
		for _, name := range p.order {
			r, err := p.files[name].OpenRaw()
			if err != nil {
				t.Fatalf("%s: %s: %v", path, name, err)
			}
			want, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("%s: %s: %v", path, name, err)
			}
			if !bytes.Equal(p.raw[name], want) {
				t.Errorf("%s: %s: the kept raw bytes (%d) are not archive/zip's (%d)", path, name, len(p.raw[name]), len(want))
			}
			n++
		}
	})
	if n == 0 {
		t.Fatal("no entry of any vector was compared")
	}
}

// The digests Open keeps of the entries it inflates to check the layout are the SM3 of
// their contents, and taking one charges the file to MaxTotalSize as reading it would.
func TestInflatedDigestsMatchContents(t *testing.T) {
	n := 0
	forVectorPackages(t, func(path string, data []byte, p *Package) {
		q, _ := Open(data, Limits{})
		for name, sum := range p.inflated {
			b, err := q.ReadFile(name)
			if err != nil {
				t.Fatalf("%s: %s: %v", path, name, err)
			}
			want := sm3.Sum(b)
			used := p.used
			got, err := p.SM3(name)
			if err != nil || !bytes.Equal(got, want[:]) || !bytes.Equal(sum, want[:]) {
				t.Errorf("%s: %s: the kept digest is not the SM3 of the contents (%v)", path, name, err)
			}
			if p.used-used != int64(len(b)) {
				t.Errorf("%s: %s: taking the digest charged %d bytes, not the file's %d", path, name, p.used-used, len(b))
			}
			n++
		}
	})
	if n == 0 {
		t.Fatal("no vector has an entry with a data descriptor")
	}
}

// An entry with a data descriptor whose CRC does not match its contents keeps no digest:
// SM3 reports the checksum error as before, and a tight MaxTotalSize still refuses it.
func TestInflatedDigestChecks(t *testing.T) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	content := bytes.Repeat([]byte("<Page>checksum</Page>"), 50)
	for _, name := range []string{"OFD.xml", "Doc_0/Page.xml"} {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(content)
	}
	w.Close()
	good := buf.Bytes()

	p, err := Open(good, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.inflated) != 2 {
		t.Fatalf("%d digests kept, want 2 (both entries have data descriptors)", len(p.inflated))
	}
	small, err := Open(good, Limits{MaxTotalSize: int64(len(content)) + 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.SM3("OFD.xml"); err != nil {
		t.Fatal(err)
	}
	if _, err := small.SM3("Doc_0/Page.xml"); !errors.Is(err, ErrLimit) {
		t.Fatalf("the second digest over MaxTotalSize: %v, want ErrLimit", err)
	}

	var crc [4]byte
	binary.LittleEndian.PutUint32(crc[:], crc32.ChecksumIEEE(content))
	bad := bytes.ReplaceAll(bytes.Clone(good), crc[:], []byte{1, 2, 3, 4})
	p, err = Open(bad, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.inflated) != 0 {
		t.Fatalf("digests kept for entries whose CRC does not match: %v", p.inflated)
	}
	if _, err := p.SM3("OFD.xml"); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("SM3 of an entry with a wrong CRC: %v", err)
	}
}

// ReadFile reads a file into a buffer of its declared size and still finds a wrong CRC, a
// file longer than declared and one shorter.
func TestReadFileChecksSizeAndCRC(t *testing.T) {
	content := bytes.Repeat([]byte("<OFD>size</OFD>"), 40)
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
	fw.Write(content)
	fw.Close()
	pkg := func(crc uint32, usize int) []byte {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		raw, err := w.CreateRaw(&zip.FileHeader{Name: "OFD.xml", Method: zip.Deflate, CRC32: crc,
			CompressedSize64: uint64(comp.Len()), UncompressedSize64: uint64(usize)})
		if err != nil {
			t.Fatal(err)
		}
		raw.Write(comp.Bytes())
		w.Close()
		return buf.Bytes()
	}
	good := crc32.ChecksumIEEE(content)
	for _, tc := range []struct {
		name  string
		data  []byte
		fault string // "" when the read succeeds
	}{
		{"as declared", pkg(good, len(content)), ""},
		{"wrong CRC", pkg(good+1, len(content)), "checksum"},
		{"longer than declared", pkg(good, len(content)-1), "different size"},
		{"shorter than declared", pkg(good, len(content)+1), "truncated"},
	} {
		p, err := Open(tc.data, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, err := p.ReadFile("OFD.xml")
		switch {
		case tc.fault == "" && (err != nil || !bytes.Equal(b, content)):
			t.Errorf("%s: %v", tc.name, err)
		case tc.fault != "" && (!errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.fault)):
			t.Errorf("%s: %v, want ErrFormat saying %q", tc.name, err, tc.fault)
		}
	}
}

// Open keeps the contents of the small entries with data descriptors it inflates: reading
// one gives what archive/zip reads, a copy the caller may change, charged to
// MaxTotalSize as before; an entry over keepEntry, or whose CRC does not match, is not
// kept and reads (or fails) as before.
func TestInflatedContentsKept(t *testing.T) {
	small := bytes.Repeat([]byte("<Page>kept</Page>"), 40)
	big := bytes.Repeat([]byte("<Page>big</Page>"), keepEntry/10)
	data := makeZip(t, []zipFile{{"OFD.xml", small}, {"Doc_0/Page.xml", small}})
	p, err := Open(data, Limits{MaxTotalSize: int64(2*len(small) + 10)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.kept) != 2 {
		t.Fatalf("kept %d entries, want 2", len(p.kept))
	}
	b, err := p.ReadFile("OFD.xml")
	if err != nil || !bytes.Equal(b, small) {
		t.Fatalf("ReadFile of a kept entry: %v", err)
	}
	b[0] = 'X'
	if b2, err := p.ReadFile("OFD.xml"); err != nil || !bytes.Equal(b2, small) {
		t.Fatal("changing what ReadFile returned changed the package")
	}
	if p.used != int64(2*len(small)) {
		t.Errorf("two reads charged %d bytes, want %d", p.used, 2*len(small))
	}
	if _, err := p.ReadFile("Doc_0/Page.xml"); !errors.Is(err, ErrLimit) {
		t.Errorf("a kept entry read past MaxTotalSize: %v, want ErrLimit", err)
	}
	q, err := Open(makeZip(t, []zipFile{{"OFD.xml", small}, {"Doc_0/Big.xml", big}}), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.kept) != 1 || q.kept["Doc_0/Big.xml"] != nil {
		t.Errorf("kept %d entries, want only the small one", len(q.kept))
	}
	if b, err := q.ReadFile("Doc_0/Big.xml"); err != nil || !bytes.Equal(b, big) {
		t.Errorf("the entry not kept: %v", err)
	}

	var crc [4]byte
	binary.LittleEndian.PutUint32(crc[:], crc32.ChecksumIEEE(small))
	bad := bytes.ReplaceAll(bytes.Clone(data), crc[:], []byte{1, 2, 3, 4})
	r, err := Open(bad, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.kept) != 0 {
		t.Fatalf("contents kept for entries whose CRC does not match")
	}
	if _, err := r.ReadFile("OFD.xml"); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("reading an entry whose CRC does not match: %v", err)
	}
}
