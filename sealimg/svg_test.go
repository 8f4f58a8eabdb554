package sealimg

import (
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// parseSVGPath reads the path data written by Drawing.SVG (absolute M, L,
// Q, C, Z with comma-separated pairs).
func parseSVGPath(t *testing.T, d string) path {
	t.Helper()
	var p path
	fields := strings.FieldsFunc(d, func(r rune) bool { return r == ' ' || r == ',' })
	var op segOp
	var pts []vec
	flush := func() {
		if pts == nil {
			return
		}
		var s seg
		s.op = op
		if len(pts) != s.n() {
			t.Fatalf("%d points for operator %d", len(pts), op)
		}
		copy(s.p[:], pts)
		p = append(p, s)
		pts = nil
	}
	var x *float64
	for _, f := range fields {
		for f != "" {
			if c := rune(f[0]); unicode.IsLetter(c) {
				flush()
				switch c {
				case 'M':
					op = opMove
				case 'L':
					op = opLine
				case 'Q':
					op = opQuad
				case 'C':
					op = opCube
				case 'Z':
				default:
					t.Fatalf("operator %c", c)
				}
				f = f[1:]
				if c != 'Z' {
					pts = []vec{}
				}
				continue
			}
			end := strings.IndexFunc(f, unicode.IsLetter)
			if end < 0 {
				end = len(f)
			}
			v, err := strconv.ParseFloat(f[:end], 64)
			if err != nil {
				t.Fatal(err)
			}
			f = f[end:]
			if x == nil {
				x = &v
			} else {
				pts = append(pts, vec{*x, v})
				x = nil
			}
		}
	}
	flush()
	return p
}

// TestSVGMatchesPNG reads the paths back from the SVG and draws them: the
// picture must be the PNG's, to within the SVG's 10 µm rounding.
func TestSVGMatchesPNG(t *testing.T) {
	r := lowRenderer(t)
	for _, s := range []Seal{
		{Kind: Official, Name: "海南省大数据管理局", Code: "4601000012345"},
		{Kind: Invoice, Name: "海南椰风数字科技有限公司", TaxID: "91460000MA5T123456"},
		{Kind: Personal, Name: "欧阳明月"},
	} {
		t.Run(string(s.Kind), func(t *testing.T) {
			d, err := r.Draw(s)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Paths []struct {
					D     string `xml:"d,attr"`
					Width string `xml:"stroke-width,attr"`
				} `xml:"g>path"`
			}
			if err := xml.Unmarshal(d.SVG(), &doc); err != nil {
				t.Fatal(err)
			}
			back := *d
			back.shapes = nil
			for _, p := range doc.Paths {
				sh := shape{p: parseSVGPath(t, p.D)}
				if p.Width != "" {
					w, err := strconv.ParseFloat(p.Width, 64)
					if err != nil {
						t.Fatal(err)
					}
					sh.bold = w / 2
				}
				back.shapes = append(back.shapes, sh)
			}
			a, b := d.Image(), back.Image()
			var diff, ink int
			for i := range a.Pix {
				if a.Pix[i] > 0 {
					ink++
				}
				if d := int(a.Pix[i]) - int(b.Pix[i]); d > 64 || d < -64 {
					diff++
				}
			}
			if ink == 0 || float64(diff) > 0.001*float64(ink) {
				t.Errorf("%d of %d inked pixels differ between the SVG and the PNG", diff, ink)
			}
		})
	}
}
