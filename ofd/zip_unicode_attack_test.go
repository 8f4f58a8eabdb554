package ofd

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// unicodePathExtra is an Info-ZIP Unicode Path extra field (0x7075) giving name for an
// entry whose header name is header.
func unicodePathExtra(header, name string) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint16(0x7075))
	binary.Write(&b, binary.LittleEndian, uint16(1+4+len(name)))
	b.WriteByte(1)
	binary.Write(&b, binary.LittleEndian, crc32.ChecksumIEEE([]byte(header)))
	b.WriteString(name)
	return b.Bytes()
}

// TestZIPAttackUnicodePathExtra: Info-ZIP's unzip, 7-Zip and libarchive name an entry by
// its Unicode Path extra field when it has one; archive/zip ignores the field. An entry
// added to a signed package as "Doc_0/Res/zz.bin", whose Unicode Path is the signed page's
// name, passed the name checks, and the signature verified and covered the page, while
// those readers extract the added bytes as the page (the later entry of that name wins).
// A Unicode Path that names anything but the entry's own name is now refused.
func TestZIPAttackUnicodePathExtra(t *testing.T) {
	es := vectorEntries(t, "esl-demo/test.ofd")
	page := es[findEntry(t, es, vectorPage)].data
	build := func(name, extraName string) []byte {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		add := func(name string, extra, data []byte) {
			fw, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Extra: extra})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fw.Write(data); err != nil {
				t.Fatal(err)
			}
		}
		for _, e := range es {
			add(e.name, nil, e.data)
		}
		add(name, unicodePathExtra(name, extraName), append(bytes.Clone(page), "<!-- the attacker's page -->"...))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}

	// A Unicode Path repeating the entry's own name, or giving the UTF-8 form of a name
	// written in GBK, is what legitimate writers add.
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("Doc_0/Res/附件.bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range [][2]string{{"Doc_0/Res/zz.bin", "Doc_0/Res/zz.bin"}, {gbk, "Doc_0/Res/附件.bin"}} {
		p, err := Open(build(n[0], n[1]), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if sigs, err := p.Signatures(); err != nil || len(sigs) != 1 || !p.Coverage(sigs[0]).OK() {
			t.Fatalf("the plain package: %v", err)
		}
	}

	p, err := Open(build("Doc_0/Res/zz.bin", vectorPage), Limits{})
	if err == nil {
		covered := false
		if sigs, err := p.Signatures(); err == nil && len(sigs) == 1 {
			covered = p.Coverage(sigs[0]).OK()
		}
		t.Fatalf("a package naming a second entry %s opened (the signature covers the page: %v)", vectorPage, covered)
	}
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "Unicode Path") {
		t.Fatalf("error %v, want ErrFormat naming the Unicode Path field", err)
	}
}
