package sealimg

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var galleryFlag = flag.Bool("gallery", false, "rewrite the pictures in testdata/gallery")

// gallery is one picture per seal kind, with short and long names.
var gallery = []struct {
	file string
	seal Seal
}{
	{"official-short", Seal{Kind: Official, Name: "海南省大数据管理局", Code: "4601000012345"}},
	{"official-long", Seal{Kind: Official, Name: "海南省三亚市崖州湾科技城开发建设管理委员会综合服务中心有限责任公司", Code: "4602000098765"}},
	{"official-40", Seal{Kind: Official, Name: "海南自由贸易港国际商品交易中心跨境电子商务综合服务有限公司海口市龙华区分公司一部", Code: "4601000012345"}},
	{"official-nocode", Seal{Kind: Official, Name: "海口市人民政府"}},
	{"contract", Seal{Kind: Contract, Name: "海南椰风数字科技有限公司", Code: "4601060054321"}},
	{"contract-short", Seal{Kind: Contract, Name: "某某局"}},
	{"contract-mixed", Seal{Kind: Contract, Name: "海南椰风（集团）ABC数字科技有限公司", Code: "46010600A4321"}},
	{"finance", Seal{Kind: Finance, Name: "海南省财政厅", Code: "4600000011111"}},
	{"special", Seal{Kind: Special, Name: "海口海关", Purpose: "报关专用章"}},
	{"invoice", Seal{Kind: Invoice, Name: "海南椰风数字科技有限公司", TaxID: "91460000MA5T123456"}},
	{"invoice-long", Seal{Kind: Invoice, Name: "海南自由贸易港国际商品交易中心跨境电子商务综合服务有限公司", TaxID: "91460100MA5U98765X"}},
	{"invoice-short", Seal{Kind: Invoice, Name: "椰风商行", TaxID: "460100198001011234"}},
	{"personal-2", Seal{Kind: Personal, Name: "王五"}},
	{"personal-3", Seal{Kind: Personal, Name: "张小明"}},
	{"personal-4", Seal{Kind: Personal, Name: "欧阳明月"}},
}

// regenerate is how to rewrite the committed gallery after an intended
// change to drawing.
const regenerate = "go generate ./sealimg (go test ./sealimg -run '^TestGallery$' -gallery)"

// TestGallery draws the gallery and compares each picture, byte for byte,
// with the one committed in testdata/gallery, so that any change to drawing
// shows up here. With -gallery it rewrites the committed files instead:
//
//	go test ./sealimg -run '^TestGallery$' -gallery
func TestGallery(t *testing.T) {
	r := testRenderer(t)
	dir := filepath.Join("testdata", "gallery")
	if *galleryFlag {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// put writes a file with -gallery and otherwise checks the committed one.
	put := func(t *testing.T, name string, data []byte) {
		t.Helper()
		path := filepath.Join(dir, name)
		if *galleryFlag {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		old, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v; if %s is new, write it with: %s", err, name, regenerate)
			return
		}
		if !bytes.Equal(old, data) {
			i := 0
			for i < len(old) && i < len(data) && old[i] == data[i] {
				i++
			}
			t.Errorf("%s: the drawing differs from the committed file (%d bytes now, %d committed; first difference at byte %d).\n"+
				"If the change to drawing is intended, look at the new pictures and commit them: %s", path, len(data), len(old), i, regenerate)
		}
	}
	want := map[string]bool{"README.md": true}
	var index strings.Builder
	index.WriteString("# Seal picture gallery\n\n" +
		"Written by `go generate ./sealimg` (`go test -run ^TestGallery$ -gallery`) with the default\n" +
		"options: font AR PL UMing CN from Debian's fonts-arphic-uming, 600 dpi, #E60000.\n" +
		"`go test ./sealimg` checks that the drawing still makes these files byte for byte.\n\n" +
		"| file | kind | size | name | other fields |\n|---|---|---|---|---|\n")
	for _, g := range gallery {
		sp := r.Spec(g.seal.Kind)
		var other []string
		for _, f := range [][2]string{{"purpose", g.seal.Purpose}, {"code", g.seal.Code}, {"tax_id", g.seal.TaxID}} {
			if f[1] != "" {
				other = append(other, f[0]+" "+f[1])
			}
		}
		fmt.Fprintf(&index, "| %[1]s.png, %[1]s.svg | %s | %g × %g mm | %s (%d characters) | %s |\n",
			g.file, g.seal.Kind, sp.Width, sp.Height, g.seal.Name, utf8.RuneCountInString(g.seal.Name), strings.Join(other, ", "))
		want[g.file+".png"], want[g.file+".svg"] = true, true
		t.Run(g.file, func(t *testing.T) {
			d, err := r.Draw(g.seal)
			if err != nil {
				t.Fatal(err)
			}
			p, err := d.PNG()
			if err != nil {
				t.Fatal(err)
			}
			put(t, g.file+".png", p)
			put(t, g.file+".svg", d.SVG())
		})
	}
	put(t, "README.md", []byte(index.String()))
	// No picture is left behind from an entry that is gone.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !want[e.Name()] {
			t.Errorf("%s is not drawn by the gallery any more; remove it", filepath.Join(dir, e.Name()))
		}
	}
}
