package sealimg

import (
	"encoding/xml"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	name40 = "海南自由贸易港国际商品交易中心跨境电子商务综合服务有限公司海口市龙华区分公司一部"
	name60 = name40 + "海南自由贸易港国际商品交易中心跨境电子商"
)

func TestNames(t *testing.T) {
	if n := len([]rune(name40)); n != 40 {
		t.Fatalf("name40 has %d characters", n)
	}
	if n := len([]rune(name60)); n != 60 {
		t.Fatalf("name60 has %d characters", n)
	}
}

// lowRes draws at a lower resolution where a test looks at many pictures.
func lowRes(t *testing.T) *Renderer {
	t.Helper()
	testRenderer(t) // skip without the font
	r, err := New(Options{DPI: 200})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var (
	lowOnce sync.Once
	low     *Renderer
)

func lowRenderer(t *testing.T) *Renderer {
	t.Helper()
	testRenderer(t)
	lowOnce.Do(func() { low = lowRes(t) })
	return low
}

// TestRoundSeal looks at round seals as a person would: a closed red ring,
// nothing outside it, the text inside it, the star in the middle, a
// transparent margin all around.
func TestRoundSeal(t *testing.T) {
	r := testRenderer(t)
	tests := []struct {
		name string
		seal Seal
	}{
		{"official short", Seal{Kind: Official, Name: "海口市人民政府"}},
		{"official with code", Seal{Kind: Official, Name: "海南省大数据管理局", Code: "4601000012345"}},
		{"contract long", Seal{Kind: Contract, Name: name40, Code: "4601000012345"}},
		{"finance", Seal{Kind: Finance, Name: "海南省财政厅", Code: "4600000011111"}},
		{"special", Seal{Kind: Special, Name: "海口海关", Purpose: "报关专用章"}},
		{"two characters", Seal{Kind: Contract, Name: "某局"}},
		{"one character", Seal{Kind: Official, Name: "局"}},
		{"latin and digits", Seal{Kind: Official, Name: "海南ABC科技(2024)有限公司"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := r.Draw(tt.seal)
			if err != nil {
				t.Fatal(err)
			}
			sp := r.Spec(tt.seal.Kind)
			R, rin := sp.Width/2, sp.Width/2-sp.Border
			p := decodePNG(t, d)
			onePx := 1 / p.k

			checkMargin(t, p, sp.Margin)

			// The ring is closed and red: every sample on its middle line
			// is inked; just outside it the picture is transparent.
			for i := range 720 {
				th := deg(float64(i) / 2)
				if c := p.at(polar(R-sp.Border/2, th)); !isRed(c) {
					t.Fatalf("ring at %.1f°: %v, want red", float64(i)/2, c)
				}
				if c := p.at(polar(R+2*onePx, th)); c.A != 0 {
					t.Fatalf("outside the ring at %.1f°: %v, want transparent", float64(i)/2, c)
				}
			}
			// No ink outside the outer circle beyond antialiasing.
			p.each(func(v vec, a uint8) {
				if v.len() > R+1.5*onePx {
					t.Fatalf("ink at %.2f mm from the centre, outside the %.1f mm ring", v.len(), R)
				}
			})

			// The text alone stays inside the ring, not touching it.
			text := decodePNG(t, only(d, isText))
			text.each(func(v vec, a uint8) {
				if v.len() > rin-onePx {
					t.Fatalf("text ink at %.2f mm from the centre, inside edge of the ring at %.2f mm", v.len(), rin)
				}
			})

			// The star is centred: the centroid of the ink in a box around
			// the centre is the centre.
			sr := sp.Star / 2
			var sum vec
			var n float64
			p.each(func(v vec, a uint8) {
				if math.Abs(v.X) <= sr+0.3 && math.Abs(v.Y) <= sr+0.3 {
					w := float64(a) / 255
					sum = sum.add(v.mul(w))
					n += w
				}
			})
			if n == 0 {
				t.Fatal("no star")
			}
			if c := sum.mul(1 / n); c.len() > 1.5*onePx {
				t.Errorf("star centroid %.3f, %.3f mm from the centre, want 0, 0", c.X, c.Y)
			}
			// Its centre and its points are red.
			for i := range 5 {
				if c := p.at(polar(0.8*sr, deg(72*float64(i)))); !isRed(c) {
					t.Errorf("star point %d: %v, want red", i, c)
				}
			}
			if !isRed(p.at(vec{})) {
				t.Error("star centre not red")
			}
		})
	}
}

// checkMargin checks that a band of margin millimetres (less a pixel) along
// every edge is transparent.
func checkMargin(t *testing.T, p picture, margin float64) {
	t.Helper()
	b := p.img.Bounds()
	m := int(margin*p.k) - 1
	if m < 1 {
		t.Fatalf("margin of %g mm is under two pixels", margin)
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if x >= m && x < b.Max.X-m && y >= m && y < b.Max.Y-m {
				continue
			}
			if _, _, _, a := p.img.At(x, y).RGBA(); a != 0 {
				t.Fatalf("ink at (%d, %d), within %d pixels of the border", x, y, m)
			}
		}
	}
}

// TestOvalSeal looks at invoice seals: closed elliptic ring, text inside.
func TestOvalSeal(t *testing.T) {
	r := testRenderer(t)
	tests := []struct {
		name string
		seal Seal
	}{
		{"short", Seal{Kind: Invoice, Name: "椰风商行", TaxID: "460100198001011234"}},
		{"usual", Seal{Kind: Invoice, Name: "海南椰风数字科技有限公司", TaxID: "91460000MA5T123456"}},
		{"40 characters", Seal{Kind: Invoice, Name: name40, TaxID: "91460100MA5U98765X"}},
		{"20 character tax id", Seal{Kind: Invoice, Name: "海南椰风数字科技有限公司", TaxID: "46010019800101123400"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := r.Draw(tt.seal)
			if err != nil {
				t.Fatal(err)
			}
			sp := r.Spec(Invoice)
			a, b := sp.Width/2, sp.Height/2
			p := decodePNG(t, d)
			onePx := 1 / p.k
			checkMargin(t, p, sp.Margin)
			// ellipseR is how far out v is: 1 on the ellipse a', b'.
			ellipseR := func(v vec, a, b float64) float64 { return math.Hypot(v.X/a, v.Y/b) }
			for i := range 720 {
				th := deg(float64(i) / 2)
				mid := vec{(a - sp.Border/2) * math.Sin(th), (b - sp.Border/2) * math.Cos(th)}
				if c := p.at(mid); !isRed(c) {
					t.Fatalf("ring at %.1f°: %v, want red", float64(i)/2, c)
				}
				out := vec{(a + 2*onePx) * math.Sin(th), (b + 2*onePx) * math.Cos(th)}
				if c := p.at(out); c.A != 0 {
					t.Fatalf("outside the ring at %.1f°: %v, want transparent", float64(i)/2, c)
				}
			}
			p.each(func(v vec, _ uint8) {
				if ellipseR(v, a+1.5*onePx, b+1.5*onePx) > 1 {
					t.Fatalf("ink at %.2f, %.2f mm, outside the ring", v.X, v.Y)
				}
			})
			text := decodePNG(t, only(d, isText))
			ai, bi := a-sp.Border-onePx, b-sp.Border-onePx
			text.each(func(v vec, _ uint8) {
				if ellipseR(v, ai, bi) > 1 {
					t.Fatalf("text ink at %.2f, %.2f mm touches the ring", v.X, v.Y)
				}
			})
			// The tax identification number is across the middle.
			var inMiddle int
			text.each(func(v vec, _ uint8) {
				if math.Abs(v.Y) < sp.CodeHeight/2 && math.Abs(v.X) < sp.CodeWidth/2 {
					inMiddle++
				}
			})
			if inMiddle < 1000 {
				t.Errorf("%d inked pixels across the middle, want the tax identification number", inMiddle)
			}
		})
	}
}

// TestPersonalSeal checks the square: a closed frame, and the name's
// characters each in its own cell inside it, read right to left.
func TestPersonalSeal(t *testing.T) {
	r := testRenderer(t)
	sp := r.Spec(Personal)
	half := sp.Width / 2
	hin := half - sp.Border
	// Cells as (column, row) with column 0 on the right, row 0 on top, and
	// how many rows the column has.
	tests := []struct {
		name  string
		cells [][2]int
		rows  []int
	}{
		{"王五", [][2]int{{0, 0}, {1, 0}}, []int{1, 1}},
		{"张小明", [][2]int{{0, 0}, {1, 0}, {1, 1}}, []int{1, 2}},
		{"欧阳明月", [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}}, []int{2, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := r.Draw(Seal{Kind: Personal, Name: tt.name})
			if err != nil {
				t.Fatal(err)
			}
			p := decodePNG(t, d)
			onePx := 1 / p.k
			checkMargin(t, p, sp.Margin)
			// The frame is closed and red.
			for i := range 400 {
				s := -half + sp.Border/2 + (2*half-sp.Border)*float64(i)/399
				m := half - sp.Border/2
				for _, v := range []vec{{s, m}, {s, -m}, {m, s}, {-m, s}} {
					if c := p.at(v); !isRed(c) {
						t.Fatalf("frame at %.2f, %.2f mm: %v, want red", v.X, v.Y, c)
					}
				}
			}
			p.each(func(v vec, _ uint8) {
				if math.Abs(v.X) > half+onePx || math.Abs(v.Y) > half+onePx {
					t.Fatalf("ink at %.2f, %.2f mm, outside the frame", v.X, v.Y)
				}
			})
			// Each character, drawn alone, lies in its cell.
			var texts []int
			for i, s := range d.shapes {
				if s.text {
					texts = append(texts, i)
				}
			}
			if len(texts) != len([]rune(tt.name)) {
				t.Fatalf("%d characters drawn, want %d", len(texts), len([]rune(tt.name)))
			}
			for j, idx := range texts {
				col, row := tt.cells[j][0], tt.cells[j][1]
				rows := tt.rows[col]
				g := decodePNG(t, only(d, func(i int, _ shape) bool { return i == idx }))
				n := 0
				g.each(func(v vec, _ uint8) {
					n++
					if math.Abs(v.X) > hin-onePx || math.Abs(v.Y) > hin-onePx {
						t.Fatalf("character %d: ink at %.2f, %.2f mm touches the frame", j, v.X, v.Y)
					}
					if (col == 0) != (v.X > 0) {
						t.Fatalf("character %d: ink at %.2f, %.2f mm, outside its column %d", j, v.X, v.Y, col)
					}
					if rows == 2 && (row == 0) != (v.Y > 0) {
						t.Fatalf("character %d: ink at %.2f, %.2f mm, outside its row %d", j, v.X, v.Y, row)
					}
				})
				if n < 500 {
					t.Errorf("character %d: only %d inked pixels", j, n)
				}
			}
		})
	}
}

// TestNoOverlap lays out names of every length up to the limit and checks
// that no two character cells meet, that every cell is inside the ring,
// and, on the pictures, that no two characters share a pixel.
func TestNoOverlap(t *testing.T) {
	r := lowRenderer(t)
	runes := []rune(name40)
	for _, kind := range []Kind{Official, Finance, Invoice} {
		for n := 1; n <= 40; n += 3 {
			t.Run(string(kind)+"/"+string(rune('0'+n/10))+string(rune('0'+n%10)), func(t *testing.T) {
				s := Seal{Kind: kind, Name: string(runes[:n])}
				if kind == Invoice {
					s.TaxID = "91460000MA5T123456"
				} else {
					s.Code = "4601000012345"
				}
				l, err := r.layout(s)
				if err != nil {
					t.Fatal(err)
				}
				for i, p := range l.glyphs {
					for _, c := range p.b.corners() {
						if !l.inside(c) {
							t.Errorf("cell of %q outside the ring", p.r)
						}
					}
					for _, q := range l.glyphs[:i] {
						if p.b.overlaps(q.b) {
							t.Errorf("cells of %q and %q overlap", q.r, p.r)
						}
					}
				}
				// The name's characters keep their order along the arc.
				arcAngle := func(v vec) float64 { return math.Atan2(v.X, v.Y) }
				for i := 1; i < n; i++ {
					if arcAngle(l.glyphs[i].b.c) <= arcAngle(l.glyphs[i-1].b.c) {
						t.Errorf("character %d is not right of character %d", i, i-1)
					}
				}
				// Pixels: count how many characters ink each pixel.
				d := r.drawing(l)
				w, h := d.Size()
				count := make([]uint8, w*h)
				for i, sh := range d.shapes {
					if !sh.text {
						continue
					}
					img := only(d, func(j int, _ shape) bool { return j == i }).Image()
					inked := 0
					for k, a := range img.Pix {
						if a > 0x40 {
							inked++
							count[k]++
							if count[k] > 1 {
								t.Fatalf("two characters ink pixel (%d, %d)", k%w, k/w)
							}
						}
					}
					if inked < 5 { // 一 at 200 dpi inks a dozen
						t.Fatalf("text shape %d inks %d pixels, want a visible character", i, inked)
					}
				}
			})
		}
	}
}

func TestCompression(t *testing.T) {
	r := lowRenderer(t)
	width := func(s Seal) float64 {
		l, err := r.layout(s)
		if err != nil {
			t.Fatal(err)
		}
		return l.glyphs[0].b.w / l.glyphs[0].b.h
	}
	short := width(Seal{Kind: Official, Name: "海口市人民政府"})
	long := width(Seal{Kind: Official, Name: name40})
	if !(long < short) {
		t.Errorf("40-character name not compressed: cell aspect %.2f, short name %.2f", long, short)
	}
	if short < 0.85 {
		t.Errorf("short name compressed to aspect %.2f", short)
	}
}

func TestBadInput(t *testing.T) {
	r := testRenderer(t)
	tests := []struct {
		name  string
		seal  Seal
		field string
		want  string // in the message
	}{
		{"unknown kind", Seal{Kind: "round", Name: "某局"}, "kind", `unknown kind "round"`},
		{"empty name", Seal{Kind: Official}, "name", "empty"},
		{"empty personal name", Seal{Kind: Personal}, "name", "empty"},
		{"60 characters", Seal{Kind: Official, Name: name60}, "name", "name: 60 characters, at most 40 fit on the arc"},
		{"60 characters invoice", Seal{Kind: Invoice, Name: name60, TaxID: "91460000MA5T123456"}, "name", "60 characters, at most 40"},
		{"emoji", Seal{Kind: Official, Name: "海南😀公司"}, "name", `not in the font AR PL UMing CN: "😀" (U+1F600)`},
		{"extension B", Seal{Kind: Contract, Name: "𠀀𠀁有限公司"}, "name", `"𠀀" (U+20000), "𠀁" (U+20001)`},
		{"missing in purpose", Seal{Kind: Special, Name: "某局", Purpose: "😀专用章"}, "purpose", "U+1F600"},
		{"space", Seal{Kind: Official, Name: "海南 公司"}, "name", "character 3 is a space"},
		{"newline", Seal{Kind: Official, Name: "海南\n公司"}, "name", "control character"},
		{"invalid UTF-8", Seal{Kind: Official, Name: "海南\xff"}, "name", "not valid UTF-8"},
		{"special without purpose", Seal{Kind: Special, Name: "某局"}, "purpose", "empty"},
		{"purpose too long", Seal{Kind: Special, Name: "某局", Purpose: "一二三四五六七八九十一二三"}, "purpose", "13 characters, at most 12"},
		{"lower-case code", Seal{Kind: Official, Name: "某局", Code: "46abc"}, "code", "not a digit or capital letter"},
		{"long code", Seal{Kind: Official, Name: "某局", Code: "123456789012345678901"}, "code", "21 characters"},
		{"tax id on a round seal", Seal{Kind: Official, Name: "某局", TaxID: "91460000MA5T123456"}, "tax_id", "only invoice seals"},
		{"invoice without tax id", Seal{Kind: Invoice, Name: "某公司"}, "tax_id", "empty"},
		{"short tax id", Seal{Kind: Invoice, Name: "某公司", TaxID: "12345"}, "tax_id", "5 characters, want 15 to 20"},
		{"tax id with dash", Seal{Kind: Invoice, Name: "某公司", TaxID: "91460000-MA5T12345"}, "tax_id", "character 9 ('-') is not a digit"},
		{"tax id with ideograph", Seal{Kind: Invoice, Name: "某公司", TaxID: "9海南1460000MA5T12"}, "tax_id", "character 2 ('海') is not a digit"},
		{"invoice with another purpose", Seal{Kind: Invoice, Name: "某公司", TaxID: "91460000MA5T123456", Purpose: "合同专用章"}, "purpose", "reads 发票专用章"},
		{"invoice with code", Seal{Kind: Invoice, Name: "某公司", TaxID: "91460000MA5T123456", Code: "1"}, "code", "no seal code"},
		{"personal one character", Seal{Kind: Personal, Name: "王"}, "name", "1 characters, a personal seal holds 2 to 4"},
		{"personal five characters", Seal{Kind: Personal, Name: "阿依古丽买"}, "name", "5 characters, a personal seal holds 2 to 4"},
		{"personal missing character", Seal{Kind: Personal, Name: "王😀"}, "name", "U+1F600"},
		{"personal with purpose", Seal{Kind: Personal, Name: "王五", Purpose: "之印"}, "purpose", "only the holder's name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, draw := range []func(Seal) error{
				r.Check,
				func(s Seal) error { _, err := r.PNG(s); return err },
				func(s Seal) error { _, err := r.SVG(s); return err },
			} {
				err := draw(tt.seal)
				var fe *FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("error %v, want a *FieldError", err)
				}
				if fe.Field != tt.field {
					t.Errorf("field %q, want %q (%v)", fe.Field, tt.field, err)
				}
				if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "sealimg: "+tt.field+": ") {
					t.Errorf("error %q, want it to contain %q", err, tt.want)
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	testRenderer(t)
	dir := t.TempDir()
	notFont := filepath.Join(dir, "not-a-font.ttf")
	if err := os.WriteFile(notFont, []byte("this is not a font, just some text to fill the header"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.ttf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	latin := "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
	tests := []struct {
		name  string
		opts  Options
		field string
		want  string
		skip  string // a file the case needs
	}{
		{"missing font", Options{FontPath: filepath.Join(dir, "nope.ttc")}, "font", "cannot read the font file", ""},
		{"directory", Options{FontPath: dir}, "font", "cannot read the font file", ""},
		{"not a font", Options{FontPath: notFont}, "font", "is not a TrueType/OpenType font", ""},
		{"empty file", Options{FontPath: empty}, "font", "is not a TrueType/OpenType font", ""},
		{"face out of range", Options{FontIndex: 9}, "font", "index 9 is out of range", ""},
		{"latin font", Options{FontPath: latin}, "font", "lacks characters every seal needs", latin},
		{"dpi too low", Options{DPI: 10}, "dpi", "out of range", ""},
		{"dpi NaN", Options{DPI: math.NaN()}, "dpi", "out of range", ""},
		{"bad colour", Options{Color: "red"}, "color", `"red" is not #RRGGBB`, ""},
		{"bad hex", Options{Color: "#E6000G"}, "color", "is not #RRGGBB", ""},
		{"transparent", Options{Color: "#E6000000"}, "color", "transparent", ""},
		{"unknown kind", Options{Specs: map[Kind]Spec{"hexagon": {}}}, "specs", `unknown kind "hexagon"`, ""},
		{"tiny seal", Options{Specs: map[Kind]Spec{Official: {Width: 3}}}, "specs.official.width", "out of range", ""},
		{"thick ring", Options{Specs: map[Kind]Spec{Contract: {Border: 9}}}, "specs.contract.border", "out of range", ""},
		{"personal seal of five", Options{Specs: map[Kind]Spec{Personal: {MaxName: 5}}}, "specs.personal.max_name", "out of range [2, 4]", ""},
		{"oval taller than wide", Options{Specs: map[Kind]Spec{Invoice: {Width: 30, Height: 40}}}, "specs.invoice.height", "more than the width", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip != "" {
				if _, err := os.Stat(tt.skip); err != nil {
					t.Skip(err)
				}
			}
			r, err := New(tt.opts)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("New: %v, %v; want a *FieldError", r, err)
			}
			if fe.Field != tt.field || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q (field %q), want field %q and %q", err, fe.Field, tt.field, tt.want)
			}
		})
	}
}

// TestSpecScales checks that a configured size is used and that the lengths
// not given scale with it.
func TestSpecScales(t *testing.T) {
	testRenderer(t)
	r, err := New(Options{DPI: 300, Specs: map[Kind]Spec{Official: {Width: 38}}})
	if err != nil {
		t.Fatal(err)
	}
	sp := r.Spec(Official)
	if sp.Width != 38 || sp.Height != 38 || math.Abs(sp.Star-38.0/3) > 1e-9 {
		t.Errorf("spec %+v, want 38 mm with a 12.7 mm star", sp)
	}
	d, err := r.Draw(Seal{Kind: Official, Name: "海口市人民政府"})
	if err != nil {
		t.Fatal(err)
	}
	if w, h := d.Size(); w != 461 || h != 461 { // 39 mm at 300 dpi
		t.Errorf("size %d × %d pixels, want 461 × 461", w, h)
	}
	for _, k := range Kinds {
		if def := DefaultSpec(k); def.Width == 0 || def.Height == 0 || def.Border == 0 {
			t.Errorf("DefaultSpec(%s) = %+v", k, def)
		}
	}
}

// TestSVG checks the SVG: well-formed, sized in millimetres, text as paths
// only, in seal red, and accepted by the impression checker.
func TestSVG(t *testing.T) {
	r := testRenderer(t)
	for _, s := range []Seal{
		{Kind: Official, Name: "海南省大数据管理局", Code: "4601000012345"},
		{Kind: Invoice, Name: "海南椰风数字科技有限公司", TaxID: "91460000MA5T123456"},
		{Kind: Personal, Name: "王五"},
	} {
		t.Run(string(s.Kind), func(t *testing.T) {
			d, err := r.Draw(s)
			if err != nil {
				t.Fatal(err)
			}
			data := d.SVG()
			var doc struct {
				XMLName xml.Name
				Width   string `xml:"width,attr"`
				Height  string `xml:"height,attr"`
				Title   string `xml:"title"`
				G       struct {
					Fill  string `xml:"fill,attr"`
					Paths []struct {
						D string `xml:"d,attr"`
					} `xml:"path"`
					Text []struct{} `xml:"text"`
				} `xml:"g"`
			}
			if err := xml.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			sp := r.Spec(s.Kind)
			if doc.XMLName.Local != "svg" || doc.Width != num(sp.Width+2*sp.Margin)+"mm" || doc.Height != num(sp.Height+2*sp.Margin)+"mm" {
				t.Errorf("root <%s width=%q height=%q>", doc.XMLName.Local, doc.Width, doc.Height)
			}
			if doc.G.Fill != "#E60000" {
				t.Errorf("fill %q, want #E60000", doc.G.Fill)
			}
			if doc.Title != s.Name {
				t.Errorf("title %q, want %q", doc.Title, s.Name)
			}
			if len(doc.G.Text) != 0 {
				t.Error("SVG uses <text>; text must be outlines")
			}
			if len(doc.G.Paths) != len(d.shapes) {
				t.Errorf("%d paths, want %d", len(doc.G.Paths), len(d.shapes))
			}
			for _, p := range doc.G.Paths {
				if !strings.HasPrefix(p.D, "M") || !strings.HasSuffix(p.D, "Z") {
					t.Fatalf("path %.40q…", p.D)
				}
			}
			if _, err := CheckImpression(data); err != nil {
				t.Errorf("the impression checker refuses our SVG: %v", err)
			}
			png, err := d.PNG()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := CheckImpression(png); err != nil {
				t.Errorf("the impression checker refuses our PNG: %v", err)
			}
		})
	}
}

// TestConcurrent draws from several goroutines with one Renderer (run with
// -race).
func TestConcurrent(t *testing.T) {
	r := lowRenderer(t)
	var wg sync.WaitGroup
	names := []string{"海口市人民政府", "海南省大数据管理局", name40, "某局"}
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.PNG(Seal{Kind: Contract, Name: names[i%len(names)]}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func BenchmarkDrawRound(b *testing.B) {
	r := testRenderer(b)
	s := Seal{Kind: Contract, Name: "海南椰风数字科技有限公司", Code: "4601060054321"}
	if _, err := r.PNG(s); err != nil { // load the glyphs once
		b.Fatal(err)
	}
	b.Run("layout", func(b *testing.B) {
		for b.Loop() {
			if err := r.Check(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("image", func(b *testing.B) {
		for b.Loop() {
			d, err := r.Draw(s)
			if err != nil {
				b.Fatal(err)
			}
			d.Image()
		}
	})
	b.Run("png", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.PNG(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("svg", func(b *testing.B) {
		for b.Loop() {
			if _, err := r.SVG(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzSeal draws arbitrary fields: never a panic, every error a
// *FieldError, every success a layout that passes its own checks.
func FuzzSeal(f *testing.F) {
	for _, g := range gallery {
		f.Add(string(g.seal.Kind), g.seal.Name, g.seal.Purpose, g.seal.Code, g.seal.TaxID)
	}
	f.Add("official", "e\u0301\u200d\u2800", "", "", "")
	f.Add("personal", "王\u0301", "", "", "")
	f.Add("invoice", strings.Repeat("（", 40), "", "", "91460000MA5T123456")
	r := testRenderer(f)
	f.Fuzz(func(t *testing.T, kind, name, purpose, code, taxID string) {
		l, err := r.layout(Seal{Kind: Kind(kind), Name: name, Purpose: purpose, Code: code, TaxID: taxID})
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		if err := l.check(); err != nil {
			t.Fatal(err)
		}
		for _, sh := range r.drawing(l).shapes {
			for _, s := range sh.p {
				for j := 0; j < s.n(); j++ {
					if p := s.p[j]; math.IsNaN(p.X) || math.IsNaN(p.Y) || math.IsInf(p.X, 0) || math.IsInf(p.Y, 0) {
						t.Fatalf("point %v in a drawing", p)
					}
				}
			}
		}
	})
}

func TestColor(t *testing.T) {
	testRenderer(t)
	r, err := New(Options{Color: "#b40a0a", DPI: 150})
	if err != nil {
		t.Fatal(err)
	}
	d, err := r.Draw(Seal{Kind: Official, Name: "海口市人民政府"})
	if err != nil {
		t.Fatal(err)
	}
	p := decodePNG(t, d)
	if c := p.at(vec{}); c.R != 0xb4 || c.G != 0x0a || c.B != 0x0a || c.A != 0xff {
		t.Errorf("star centre %v, want #B40A0A", c)
	}
	if !strings.Contains(string(d.SVG()), `fill="#B40A0A"`) {
		t.Error("SVG not filled with #B40A0A")
	}
}
