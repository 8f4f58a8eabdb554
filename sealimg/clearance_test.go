package sealimg

import (
	"math"
	"sort"
	"testing"
)

// ringSamples are points along an ellipse with semi-axes a and b, by
// angle, for measuring distances to it.
type ringSamples struct {
	pts    []vec
	angles []float64
}

func sampleRing(a, b float64, n int) ringSamples {
	var r ringSamples
	for i := range n {
		t := -math.Pi + 2*math.Pi*float64(i)/float64(n)
		p := vec{a * math.Cos(t), b * math.Sin(t)}
		r.pts = append(r.pts, p)
		r.angles = append(r.angles, math.Atan2(p.Y, p.X))
	}
	sort.Sort(byAngle(r))
	return r
}

type byAngle ringSamples

func (r byAngle) Len() int           { return len(r.pts) }
func (r byAngle) Less(i, j int) bool { return r.angles[i] < r.angles[j] }
func (r byAngle) Swap(i, j int) {
	r.pts[i], r.pts[j] = r.pts[j], r.pts[i]
	r.angles[i], r.angles[j] = r.angles[j], r.angles[i]
}

// dist is the distance from p, inside, to the nearest sample within 0.15
// radians of its own direction (the nearest point of the edge to a point
// a few millimetres inside is never further round than that on a seal).
func (r ringSamples) dist(p vec) float64 {
	a := math.Atan2(p.Y, p.X)
	d := math.Inf(1)
	for _, off := range []float64{-2 * math.Pi, 0, 2 * math.Pi} {
		lo := sort.SearchFloat64s(r.angles, a+off-0.15)
		for i := lo; i < len(r.angles) && r.angles[i] <= a+off+0.15; i++ {
			d = math.Min(d, p.sub(r.pts[i]).len())
		}
	}
	return d
}

// TestArcTextClearsRing measures, on the drawn outlines of long names on
// every round and oval kind, the space between each character's ink
// (thickened as drawn) and the inner edge of the ring: it must be at least
// the spec's gap for every character, the first and last included. The
// ends of a long name sit where an oval bends most, and glyph corners and
// thickened strokes reach past the cell that touches the arc.
func TestArcTextClearsRing(t *testing.T) {
	r := testRenderer(t)
	long := "海南省三亚市崖州湾科技城开发建设管理委员会综合服务中心有限责任公司"
	tests := []Seal{
		{Kind: Official, Name: long, Code: "4602000098765"},
		{Kind: Official, Name: "海南自由贸易港国际商品交易中心跨境电子商务综合服务有限公司海口市龙华区分公司一部"},
		{Kind: Contract, Name: long, Code: "4601060054321"},
		{Kind: Contract, Name: "海南椰风（集团）ABC数字科技有限公司"},
		{Kind: Finance, Name: long, Code: "4600000011111"},
		{Kind: Special, Name: long, Purpose: "报关专用章"},
		{Kind: Invoice, Name: "海南自由贸易港国际商品交易中心跨境电子商务综合服务有限公司", TaxID: "91460100MA5U98765X"},
		{Kind: Invoice, Name: long, TaxID: "91460100MA5U98765X"},
		{Kind: Official, Name: "海口市人民政府"},
	}
	for _, s := range tests {
		t.Run(string(s.Kind)+"/"+s.Name, func(t *testing.T) {
			sp := r.Spec(s.Kind)
			ai, bi := sp.Width/2-sp.Border, sp.Height/2-sp.Border
			// The distance to the edge by Newton's method, which
			// TestEllipseEdge checks against dense sampling.
			edge := ellipseEdge(ai, bi)
			d, err := r.Draw(s)
			if err != nil {
				t.Fatal(err)
			}
			l, err := r.layout(s)
			if err != nil {
				t.Fatal(err)
			}
			texts := 0
			for _, sh := range d.shapes {
				if !sh.text {
					continue
				}
				i := texts
				texts++
				if l.glyphs[i].field == "purpose" || l.glyphs[i].field == "tax_id" {
					continue
				}
				least := math.Inf(1)
				for _, p := range sh.p.flatten(16) {
					q := vec{p.X - d.w/2, d.h/2 - p.Y} // page to layout
					least = math.Min(least, edge(q))
				}
				least -= sh.bold
				if least < sp.Gap-0.005 {
					t.Errorf("character %d (%q) of %s is %.3f mm from the ring, less than the gap of %.3f mm",
						i+1, l.glyphs[i].r, l.glyphs[i].field, least, sp.Gap)
				}
			}
			if texts != len(l.glyphs) || texts == 0 {
				t.Fatalf("%d text shapes for %d characters", texts, len(l.glyphs))
			}
		})
	}
}

// The distance to an ellipse matches dense sampling.
func TestEllipseEdge(t *testing.T) {
	for _, ab := range [][2]float64{{19, 14}, {20, 20}, {14, 19}} {
		a, b := ab[0], ab[1]
		exact, near := ellipseEdge(a, b), ellipseNear(a, b)
		ring := sampleRing(a, b, 20000)
		for _, th := range []float64{0, 0.1, 0.5, 1, 1.5, 2, 2.5, 3, -1, -2.9} {
			for _, in := range []float64{0.3, 0.8, 2, 4} {
				p := vec{(a - in) * math.Cos(th), (b - in) * math.Sin(th)}
				want := ring.dist(p)
				if got := exact(p); math.Abs(got-want) > 1e-3 {
					t.Errorf("ellipse %gx%g, point %v: ellipseEdge %.5f, sampled %.5f", a, b, p, got, want)
				}
				if got := near(p); math.Abs(got-want) > 0.1*in {
					t.Errorf("ellipse %gx%g, point %v: ellipseNear %.5f, sampled %.5f", a, b, p, got, want)
				}
			}
		}
	}
}

// BenchmarkLongName lays out and draws the longest gallery names, to compare the cost of
// keeping every character clear of the ring with the cost of the picture itself.
func BenchmarkLongName(b *testing.B) {
	r := testRenderer(b)
	for _, s := range []Seal{
		{Kind: Official, Name: "海南省三亚市崖州湾科技城开发建设管理委员会综合服务中心有限责任公司", Code: "4602000098765"},
		{Kind: Invoice, Name: "海南自由贸易港国际商品交易中心跨境电子商务综合服务有限公司", TaxID: "91460100MA5U98765X"},
	} {
		if _, err := r.PNG(s); err != nil { // load the glyphs once
			b.Fatal(err)
		}
		b.Run(string(s.Kind)+"/layout", func(b *testing.B) {
			for b.Loop() {
				if err := r.Check(s); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(s.Kind)+"/png", func(b *testing.B) {
			for b.Loop() {
				if _, err := r.PNG(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
