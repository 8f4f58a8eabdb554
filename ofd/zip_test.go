package ofd

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eseal/eseal/internal/testvectors"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// rawEntry is one entry for craftZip, which writes exactly what it is told, as an attacker would.
type rawEntry struct {
	name      string // central directory name
	localName string // local header name; "" means name
	data      []byte // stored uncompressed
	hidden    bool   // written as a local entry but left out of the central directory
	gapAfter  []byte // bytes written after the entry's data, accounted for by no entry
}

// craftZip writes stored entries, their central directory and end record.
func craftZip(entries []rawEntry) []byte { return craftZipAt(nil, entries) }

// craftZipAt writes prefix, then the archive with offsets counted from the start of prefix
// (as self-extractors are written).
func craftZipAt(prefix []byte, entries []rawEntry) []byte {
	var buf bytes.Buffer
	buf.Write(prefix)
	le := func(v any) { binary.Write(&buf, binary.LittleEndian, v) }
	offsets := make([]uint32, len(entries))
	for i, e := range entries {
		offsets[i] = uint32(buf.Len())
		ln := e.localName
		if ln == "" {
			ln = e.name
		}
		le(uint32(localHeaderSig))
		le(uint16(20))
		le(uint16(0x800)) // flags: UTF-8
		le(uint16(0))     // stored
		le(uint32(0))     // time, date
		le(crc32.ChecksumIEEE(e.data))
		le(uint32(len(e.data)))
		le(uint32(len(e.data)))
		le(uint16(len(ln)))
		le(uint16(0))
		buf.WriteString(ln)
		buf.Write(e.data)
		buf.Write(e.gapAfter)
	}
	cd := buf.Len()
	n := 0
	for i, e := range entries {
		if e.hidden {
			continue
		}
		n++
		le(uint32(cdHeaderSig))
		le(uint16(20))
		le(uint16(20))
		le(uint16(0x800))
		le(uint16(0))
		le(uint32(0))
		le(crc32.ChecksumIEEE(e.data))
		le(uint32(len(e.data)))
		le(uint32(len(e.data)))
		le(uint16(len(e.name)))
		le(uint16(0)) // extra
		le(uint16(0)) // comment
		le(uint16(0)) // disk
		le(uint16(0)) // internal attributes
		le(uint32(0)) // external attributes
		le(offsets[i])
		buf.WriteString(e.name)
	}
	size := buf.Len() - cd
	le(uint32(0x06054b50))
	le(uint16(0))
	le(uint16(0))
	le(uint16(n))
	le(uint16(n))
	le(uint32(size))
	le(uint32(cd))
	le(uint16(0))
	return buf.Bytes()
}

// vectorEntries reads a real package's entries, in order, as stored entries for craftZip.
func vectorEntries(t testing.TB, name string) []rawEntry {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testvectors.Dir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out []rawEntry
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rawEntry{name: f.Name, data: b})
	}
	return out
}

func findEntry(t testing.TB, es []rawEntry, name string) int {
	t.Helper()
	for i, e := range es {
		if e.name == name {
			return i
		}
	}
	t.Fatalf("no entry %s", name)
	return -1
}

const vectorPage = "Doc_0/Pages/Page_0/Content.xml"

// Each way of making a ZIP read differently by different readers makes Open fail with
// ErrFormat, naming the entry; the same package written plainly opens and verifies.
func TestZIPAmbiguity(t *testing.T) {
	const vec = "esl-demo/test.ofd"
	altered := func(es []rawEntry) []byte {
		b := es[findEntry(t, es, vectorPage)].data
		return append(bytes.Clone(b), "<!-- the attacker's page -->"...)
	}
	for _, tc := range []struct {
		name   string
		attack func(es []rawEntry) []rawEntry // nil: no attack
		want   []string
	}{
		{"plain rewrite", nil, nil},
		{"names differing only in case", func(es []rawEntry) []rawEntry {
			return append(es, rawEntry{name: "Doc_0/Pages/Page_0/content.xml", data: altered(es)})
		}, []string{"Doc_0/Pages/Page_0/content.xml", "differ only in case"}},
		{"names differing in Unicode case folding", func(es []rawEntry) []rawEntry {
			return append(es, rawEntry{name: "Doc_0/\u212aey.xml", data: []byte("a")}, rawEntry{name: "Doc_0/key.xml", data: []byte("b")})
		}, []string{"Doc_0/key.xml", "differ only in case"}},
		{"a name in UTF-8 and the same name in GBK", func(es []rawEntry) []rawEntry {
			gbk, err := simplifiedchinese.GBK.NewEncoder().String("Doc_0/附件.xml")
			if err != nil {
				t.Fatal(err)
			}
			return append(es, rawEntry{name: "Doc_0/附件.xml", data: []byte("a")}, rawEntry{name: gbk, data: []byte("b")})
		}, []string{"Doc_0/附件.xml", "character encoding"}},
		{"names in UTF-8 and in GBK that differ", func(es []rawEntry) []rawEntry {
			gbk, _ := simplifiedchinese.GBK.NewEncoder().String("Doc_0/附件二.xml")
			return append(es, rawEntry{name: "Doc_0/附件.xml", data: []byte("a")}, rawEntry{name: gbk, data: []byte("b")})
		}, nil},
		{"names differing by a trailing dot", func(es []rawEntry) []rawEntry {
			return append(es, rawEntry{name: vectorPage + ".", data: altered(es)})
		}, []string{vectorPage + ".", "trailing dots"}},
		{"names differing by a zero-width joiner", func(es []rawEntry) []rawEntry {
			return append(es, rawEntry{name: "Doc_0/Pages/Page_0/Con\u200dtent.xml", data: altered(es)})
		}, []string{"invisible characters"}},
		{"a NUL in a name", func(es []rawEntry) []rawEntry {
			return append(es, rawEntry{name: vectorPage + "\x00.bak", data: altered(es)})
		}, []string{"NUL"}},
		{"a backslash in a name", func(es []rawEntry) []rawEntry {
			return append(es, rawEntry{name: `Doc_0\Pages\Page_0\Content.xml`, data: altered(es)})
		}, []string{`Doc_0\Pages`, "backslash"}},
		{"a control character in a name", func(es []rawEntry) []rawEntry {
			return append(es, rawEntry{name: "Doc_0/Pages/Page_0/Content.xml\r", data: altered(es)})
		}, []string{"control character"}},
		{"a dot-dot segment", func(es []rawEntry) []rawEntry {
			return append(es, rawEntry{name: "Doc_0/x/../Pages/Page_1/Content.xml", data: altered(es)})
		}, []string{"Doc_0/x/../Pages", `".."`}},
		{"a local name other than the central one", func(es []rawEntry) []rawEntry {
			i := findEntry(t, es, vectorPage)
			es[i].localName = "Doc_0/Pages/Page_0/Content.xmI"
			return es
		}, []string{vectorPage, "local entry header names"}},
		{"an unlisted local entry", func(es []rawEntry) []rawEntry {
			i := findEntry(t, es, vectorPage)
			hidden := rawEntry{name: vectorPage, data: altered(es), hidden: true}
			return append(es[:i:i], append([]rawEntry{hidden}, es[i:]...)...)
		}, []string{"belong to no entry"}},
		{"an unlisted local entry first", func(es []rawEntry) []rawEntry {
			return append([]rawEntry{{name: "OFD.xml", data: []byte("<ofd:OFD/>"), hidden: true}}, es...)
		}, []string{"before this first entry", "belong to no entry"}},
		{"data between entries", func(es []rawEntry) []rawEntry {
			es[0].gapAfter = []byte("PK\x03\x04 smuggled")
			return es
		}, []string{es0(t, vec), "belong to no entry"}},
		{"data before the central directory", func(es []rawEntry) []rawEntry {
			es[len(es)-1].gapAfter = make([]byte, 100)
			return es
		}, []string{"before the central directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es := vectorEntries(t, vec)
			if tc.attack != nil {
				es = tc.attack(es)
			}
			data := craftZip(es)
			p, err := Open(data, Limits{})
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if sigs, err := p.Signatures(); err != nil || len(sigs) != 1 || !p.Coverage(sigs[0]).OK() {
					t.Fatalf("the plain package: %v, %d signatures", err, len(sigs))
				}
				return
			}
			if err == nil {
				t.Fatal("the ambiguous package opened")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %v does not wrap ErrFormat", err)
			}
			mustContain(t, "error", err.Error(), tc.want...)
		})
	}
}

func es0(t testing.TB, vec string) string { return vectorEntries(t, vec)[0].name }

// Bytes around the ZIP are tolerated, unless they hold ZIP records a reader could take.
func TestZIPSurroundings(t *testing.T) {
	z := craftZip(vectorEntries(t, "esl-demo/test.ofd"))
	hidden := craftZip([]rawEntry{{name: "OFD.xml", data: []byte("<ofd:OFD/>")}})
	for _, tc := range []struct {
		name          string
		before, after []byte
		want          string // "" : opens
	}{
		{"a PDF before and after", []byte("%PDF-1.7\n1 0 obj\n"), []byte("\n%%EOF\n"), ""},
		{"a local entry before", append([]byte("%PDF-1.7\n"), hidden...), nil, "before the ZIP archive hold a ZIP entry header"},
		{"another archive after", nil, hidden, "after the ZIP archive hold a ZIP record"},
		{"an end record after", nil, []byte("junk PK\x05\x06 junk"), "after the ZIP archive hold a ZIP record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := append(append(append([]byte{}, tc.before...), z...), tc.after...)
			p, err := Open(data, Limits{})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b, a := p.Surrounding(); b != int64(len(tc.before)) || a != int64(len(tc.after)) {
					t.Fatalf("Surrounding %d, %d", b, a)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// Every real package opens under the new rules.
func TestZIPRealVectorsOpen(t *testing.T) {
	dir := testvectors.Dir(t)
	n := 0
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.EqualFold(filepath.Ext(path), ".ofd") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := Open(data, Limits{}); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		n++
		return nil
	})
	if err != nil || n < 10 {
		t.Fatalf("%d packages: %v", n, err)
	}
}

// streamEntries reads local entries one after another from the start, as a streaming reader
// does, using the sizes in the local headers. ok is false when it cannot (data descriptors).
func streamEntries(data []byte) (map[string][]byte, bool) {
	out := map[string][]byte{}
	p := 0
	for len(data)-p >= localHeaderLen && binary.LittleEndian.Uint32(data[p:]) == localHeaderSig {
		flags := binary.LittleEndian.Uint16(data[p+6:])
		if flags&flagDescriptor != 0 {
			return nil, false
		}
		csize := int(binary.LittleEndian.Uint32(data[p+18:]))
		nl := int(binary.LittleEndian.Uint16(data[p+26:]))
		el := int(binary.LittleEndian.Uint16(data[p+28:]))
		start := p + localHeaderLen + nl + el
		if start > len(data) || csize > len(data)-start {
			return nil, false
		}
		out[string(data[p+localHeaderLen:p+localHeaderLen+nl])] = data[start : start+csize]
		p = start + csize
	}
	return out, true
}

// checkOneReading asserts that a package Open accepted reads the same way through its central
// directory and by streaming its local entries: same names, same stored bytes.
func checkOneReading(t *testing.T, data []byte, p *Package) {
	t.Helper()
	before, _ := p.Surrounding()
	streamed, ok := streamEntries(data[before:])
	if !ok {
		return
	}
	central := 0
	for name, f := range p.files {
		raw, err := f.OpenRaw()
		if err != nil {
			continue
		}
		b, err := io.ReadAll(raw)
		if err != nil {
			continue
		}
		central++
		if s, ok := streamed[f.Name]; !ok || !bytes.Equal(s, b) {
			t.Fatalf("%s reads differently when streamed", name)
		}
	}
	files := 0
	for n := range streamed {
		if !strings.HasSuffix(n, "/") {
			files++
		}
	}
	if files != central {
		t.Fatalf("%d files streamed, %d in the central directory", files, central)
	}
	folded := map[string]bool{}
	for _, n := range p.names {
		if k := foldName(n); folded[k] {
			t.Fatalf("two names fold to %q", k)
		} else {
			folded[k] = true
		}
		if strings.ContainsAny(n, "\x00\\") {
			t.Fatalf("name %q accepted", n)
		}
	}
}

// FuzzZIPLayout mutates archives that break each ZIP rule: Open never panics, and an
// archive it accepts reads the same way through its central directory and by streaming.
func FuzzZIPLayout(f *testing.F) {
	page := []byte("<ofd:Page/>")
	base := []rawEntry{{name: "OFD.xml", data: []byte("<ofd:OFD/>")}, {name: "Doc_0/Document.xml", data: []byte("<ofd:Document/>")},
		{name: "Doc_0/Pages/Page_0/Content.xml", data: page}}
	variants := [][]rawEntry{
		base,
		append(append([]rawEntry{}, base...), rawEntry{name: "doc_0/pages/page_0/content.xml", data: []byte("x")}),
		append(append([]rawEntry{}, base...), rawEntry{name: "Doc_0\\a\x00", data: []byte("x")}),
		{base[0], {name: base[1].name, localName: "Doc_0/Documenx.xml", data: base[1].data}, base[2]},
		{base[0], {name: "Doc_0/Pages/Page_0/Content.xml", data: []byte("hidden"), hidden: true}, base[1], base[2]},
		{{name: base[0].name, data: base[0].data, gapAfter: []byte("gap")}, base[1], base[2]},
	}
	for _, v := range variants {
		f.Add(craftZip(v))
	}
	f.Add(makeZip(f, []zipFile{{"OFD.xml", []byte("<ofd:OFD/>")}, {"Doc_0/Document.xml", page}}))
	lim := Limits{MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20, MaxEntries: 100}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Open(data, lim)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		checkOneReading(t, data, p)
	})
}

// An entry whose sizes follow its data ends, for a streaming reader, where its deflate stream
// ends: bytes hidden after the stream but inside the directory's size would be read by such a
// reader as the next local entry.
func TestZIPHiddenAfterDeflateStream(t *testing.T) {
	es := vectorEntries(t, "esl-demo/test.ofd")
	i := findEntry(t, es, vectorPage)
	hidden := craftZip([]rawEntry{{name: vectorPage, data: []byte("<ofd:Page>the attacker's page</ofd:Page>")}})
	hidden = hidden[:bytes.Index(hidden, []byte("PK\x01\x02"))] // its local entry only
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for j, e := range es {
		if j != i {
			w, _ := zw.Create(e.name)
			w.Write(e.data)
			continue
		}
		comp := append(deflate(e.data), hidden...)
		w, err := zw.CreateRaw(&zip.FileHeader{Name: e.name, Method: zip.Deflate, Flags: flagDescriptor,
			CRC32: crc32.ChecksumIEEE(e.data), CompressedSize64: uint64(len(comp)), UncompressedSize64: uint64(len(e.data))})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	// archive/zip reads the page as signed...
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(vectorPage)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, es[i].data) {
		t.Fatalf("archive/zip does not read the signed page: %v", err)
	}
	// ... but the package is refused.
	_, err = Open(buf.Bytes(), Limits{})
	if err == nil || !errors.Is(err, ErrFormat) {
		t.Fatalf("Open: %v", err)
	}
	mustContain(t, "error", err.Error(), vectorPage, "deflate stream")
}

// A prefix the archive's offsets count in (a self-extractor's) is tolerated and reported as
// bytes before the ZIP, unless it holds a local entry header.
func TestZIPPrefixInsideOffsets(t *testing.T) {
	es := vectorEntries(t, "esl-demo/test.ofd")
	prefix := []byte("MZ self-extractor stub\x00\x01")
	p, err := Open(craftZipAt(prefix, es), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if b, a := p.Surrounding(); b != int64(len(prefix)) || a != 0 {
		t.Fatalf("Surrounding %d, %d", b, a)
	}
	hidden := craftZip([]rawEntry{{name: "OFD.xml", data: []byte("<ofd:OFD/>")}})
	_, err = Open(craftZipAt(append([]byte("stub"), hidden...), es), Limits{})
	if err == nil || !errors.Is(err, ErrFormat) {
		t.Fatalf("a prefix holding a local entry: %v", err)
	}
}

// Archives whose headers disagree with the central directory about sizes, or whose end
// record gives two entry counts, are refused.
func TestZIPHeaderDisagreements(t *testing.T) {
	es := vectorEntries(t, "esl-demo/test.ofd")
	for _, tc := range []struct {
		name  string
		patch func(z []byte)
		want  string
	}{
		{"local sizes larger", func(z []byte) {
			h := bytes.Index(z, []byte(vectorPage)) - localHeaderLen
			binary.LittleEndian.PutUint32(z[h+18:], binary.LittleEndian.Uint32(z[h+18:])+40)
			binary.LittleEndian.PutUint32(z[h+22:], binary.LittleEndian.Uint32(z[h+22:])+40)
		}, "different sizes"},
		{"local sizes deferred to a missing zip64 field", func(z []byte) {
			h := bytes.Index(z, []byte(vectorPage)) - localHeaderLen
			binary.LittleEndian.PutUint32(z[h+18:], 0xffffffff)
		}, "zip64"},
		{"local checksum", func(z []byte) {
			h := bytes.Index(z, []byte(vectorPage)) - localHeaderLen
			z[h+14] ^= 1
		}, "checksums"},
		{"two entry counts", func(z []byte) {
			e := bytes.LastIndex(z, []byte("PK\x05\x06"))
			binary.LittleEndian.PutUint16(z[e+8:], binary.LittleEndian.Uint16(z[e+8:])-1)
		}, "entry counts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := craftZip(es)
			tc.patch(z)
			_, err := Open(z, Limits{})
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
