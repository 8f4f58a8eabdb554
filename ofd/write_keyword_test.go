package ofd_test

import (
	"math"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
)

// stampOf signs data and returns the page ID and the centre of the new signature's stamp.
func stampOf(t *testing.T, data []byte, o ofd.SignOptions) (string, float64, float64) {
	t.Helper()
	p := testPKI(t)
	out, d := p.mustSign(t, data, 0, o)
	pkg, err := ofd.Open(out, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := pkg.Signatures()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sigs {
		if "/"+s.Location == d.Path() {
			if len(s.StampAnnots) != 1 {
				t.Fatalf("%d stamps", len(s.StampAnnots))
			}
			a := s.StampAnnots[0]
			if a.Boundary[2] != o.Width || a.Boundary[3] != o.Height {
				t.Fatalf("stamp size %v × %v, want %v × %v", a.Boundary[2], a.Boundary[3], o.Width, o.Height)
			}
			return a.PageRef, a.Boundary[0] + a.Boundary[2]/2, a.Boundary[1] + a.Boundary[3]/2
		}
	}
	t.Fatal("the new signature is not listed")
	return "", 0, 0
}

func TestKeywordPlacement(t *testing.T) {
	// Page 2's text: "请在盖" in one object (glyphs 5 mm apart, "g" form), "章处签字" in a
	// second one drawn at twice its size by its CTM. "盖章处" spans both: 盖 is [30, 35] ×
	// [102, 107]; 章 and 处 are [40, 45] and [45, 50] × [102, 107]; centre (40, 104.5).
	p2 := `<?xml version="1.0" encoding="UTF-8"?><ofd:Page ` + ns + `><ofd:Content><ofd:Layer ID="5">` +
		`<ofd:TextObject ID="6" Boundary="20 100 100 10" Font="2" Size="5"><ofd:TextCode X="0" Y="7" DeltaX="g 2 5">请在盖</ofd:TextCode></ofd:TextObject>` +
		`<ofd:PageBlock ID="7"><ofd:TextObject ID="8" Boundary="40 100 100 10" CTM="2 0 0 2 0 0" Font="2" Size="2.5">` +
		`<ofd:TextCode X="0" Y="3.5" DeltaX="2.5">章处</ofd:TextCode><ofd:TextCode DeltaX="g 1 2.5">签字</ofd:TextCode></ofd:TextObject></ofd:PageBlock>` +
		`</ofd:Layer></ofd:Content></ofd:Page>`
	// Page 1: "盖章处" is glyphs 16 to 18, from x = 20 + 5·16 to 20 + 5·18 + 5, y from
	// 30 + 7 − 5 to the baseline 30 + 7.
	p1 := textPage("电子营业执照 统一社会信用代码 盖章处")
	data := rezip(t, licence(page{"11", p1}, page{"12", p2}))
	for _, tc := range []struct {
		name   string
		pl     ofd.Placement
		page   string
		cx, cy float64
	}{
		{"first page that has it", ofd.Placement{Keyword: "盖章处"}, "11", 20 + 5*16 + 7.5, 34.5},
		{"on the page asked", ofd.Placement{Keyword: "盖章处", Page: 2}, "12", 40, 104.5},
		{"white space ignored", ofd.Placement{Keyword: "签 字"}, "12", 55, 104.5},
		{"continuing TextCode", ofd.Placement{Keyword: "处签"}, "12", 50, 104.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg, x, y := stampOf(t, data, ofd.SignOptions{Placement: tc.pl, Width: 42, Height: 42})
			if pg != tc.page || math.Hypot(x-tc.cx, y-tc.cy) > 1e-6 {
				t.Fatalf("stamp centred at (%v, %v) on page %s, want (%v, %v) on page %s", x, y, pg, tc.cx, tc.cy, tc.page)
			}
		})
	}
	p := testPKI(t)
	for _, tc := range []struct {
		name  string
		pl    ofd.Placement
		words []string
	}{
		{"absent", ofd.Placement{Keyword: "不存在的字"}, []string{"不存在的字", "not found"}},
		{"not on the page asked", ofd.Placement{Keyword: "签字", Page: 1}, []string{"签字", "page 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := p.sign(t, data, 0, ofd.SignOptions{Placement: tc.pl})
			wantErr(t, err, errs.NotFound, tc.words...)
		})
	}
	_, _, err := p.sign(t, data, 0, ofd.SignOptions{Placement: ofd.Placement{Keyword: "签字", Page: 3}})
	wantErr(t, err, errs.InvalidInput, "page 3")
}

func TestKeywordOnVectors(t *testing.T) {
	for _, tc := range []struct {
		file, keyword string
		page          string
		cx, cy        float64
	}{
		// TextObject 4: Boundary 31.7 25.4, Size 3, X 0, Y 3, DeltaX 3 3 3 3 then 1.5: "Reader"
		// starts at glyph 8 (x 18) and ends at glyph 13 (x 25.5): x from 49.7 to 60.2, y from
		// 25.4 to 28.4.
		{"ofdrw/ofdrw-sign/src/test/resources/helloworld.ofd", "Reader", "1", 54.95, 26.9},
		// TextObject 1007: Boundary 52.1 104.93, Size 7.7, Y 8.24, DeltaX 7.7: the keyword is
		// glyphs 2 to 10 (x 67.5 to 136.8), y from 105.47 to 113.17. The same words in
		// TextObject 1017 come later.
		{"ofd.js/public/n.ofd", "同意张阿三同志辞职", "", 102.15, 109.32},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := testvectors.Read(t, tc.file)
			pg, x, y := stampOf(t, data, ofd.SignOptions{Placement: ofd.Placement{Keyword: tc.keyword}, Width: 40, Height: 40, Force: true})
			if math.Hypot(x-tc.cx, y-tc.cy) > 1 || (tc.page != "" && pg != tc.page) {
				t.Fatalf("stamp centred at (%v, %v) on page %s, want (%v, %v)", x, y, pg, tc.cx, tc.cy)
			}
		})
	}
}
