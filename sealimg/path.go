package sealimg

import (
	"cmp"
	"math"
	"slices"
)

// vec is a point or direction. In layouts it is in millimetres with the
// seal's centre at the origin and y pointing up; in pages (see page) y
// points down from the top-left corner of the picture.
type vec struct{ X, Y float64 }

func (a vec) add(b vec) vec         { return vec{a.X + b.X, a.Y + b.Y} }
func (a vec) sub(b vec) vec         { return vec{a.X - b.X, a.Y - b.Y} }
func (a vec) mul(k float64) vec     { return vec{a.X * k, a.Y * k} }
func (a vec) dot(b vec) float64     { return a.X*b.X + a.Y*b.Y }
func (a vec) len() float64          { return math.Hypot(a.X, a.Y) }
func (a vec) unit() vec             { return a.mul(1 / a.len()) }
func polar(r, theta float64) vec    { return vec{r * math.Sin(theta), r * math.Cos(theta)} }
func deg(d float64) float64         { return d * math.Pi / 180 }
func lerpv(a, b vec, t float64) vec { return a.add(b.sub(a).mul(t)) }

type segOp uint8

const (
	opMove segOp = iota
	opLine
	opQuad
	opCube
)

// seg is one path segment; p holds 1 (move, line), 2 (quad) or 3 (cube)
// points. Every opMove starts a closed contour.
type seg struct {
	op segOp
	p  [3]vec
}

func (s seg) n() int {
	switch s.op {
	case opQuad:
		return 2
	case opCube:
		return 3
	}
	return 1
}

// path is a filled outline made of closed contours, filled with the
// non-zero winding rule.
type path []seg

func (p path) transform(f func(vec) vec) path {
	out := make(path, len(p))
	for i, s := range p {
		out[i].op = s.op
		for j := 0; j < s.n(); j++ {
			out[i].p[j] = f(s.p[j])
		}
	}
	return out
}

// bounds returns the box of all points, control points included.
func (p path) bounds() (lo, hi vec) {
	lo = vec{math.Inf(1), math.Inf(1)}
	hi = vec{math.Inf(-1), math.Inf(-1)}
	for _, s := range p {
		for j := 0; j < s.n(); j++ {
			q := s.p[j]
			lo.X, lo.Y = math.Min(lo.X, q.X), math.Min(lo.Y, q.Y)
			hi.X, hi.Y = math.Max(hi.X, q.X), math.Max(hi.Y, q.Y)
		}
	}
	return lo, hi
}

// kappa makes a quarter circle from one cubic Bézier segment.
const kappa = 0.5522847498307936

// ellipse returns a closed ellipse around c with semi-axes a (x) and b (y),
// counter-clockwise in y-up coordinates if ccw, else clockwise.
func ellipse(c vec, a, b float64, ccw bool) path {
	// Four quarters starting at the right-most point.
	pts := []vec{{a, 0}, {0, b}, {-a, 0}, {0, -b}}
	if !ccw {
		pts = []vec{{a, 0}, {0, -b}, {-a, 0}, {0, b}}
	}
	p := path{{op: opMove, p: [3]vec{c.add(pts[0])}}}
	for i := range 4 {
		s, e := pts[i], pts[(i+1)%4]
		// The control points leave s along e's axis and reach e along s's.
		c1 := vec{s.X + kappa*e.X, s.Y + kappa*e.Y}
		c2 := vec{e.X + kappa*s.X, e.Y + kappa*s.Y}
		p = append(p, seg{op: opCube, p: [3]vec{c.add(c1), c.add(c2), c.add(e)}})
	}
	return p
}

// rect returns a closed rectangle, counter-clockwise (y up) if ccw.
func rect(lo, hi vec, ccw bool) path {
	pts := []vec{lo, {hi.X, lo.Y}, hi, {lo.X, hi.Y}}
	if !ccw {
		pts[1], pts[3] = pts[3], pts[1]
	}
	p := path{{op: opMove, p: [3]vec{pts[0]}}}
	for _, q := range pts[1:] {
		p = append(p, seg{op: opLine, p: [3]vec{q}})
	}
	return p
}

// star returns a regular five-pointed star around c with outer radius r,
// one point straight up (y up).
func star(c vec, r float64) path {
	// The inner vertices lie where the lines between outer points cross:
	// r·sin 18° / sin 54° = 0.381966 r.
	ri := r * math.Sin(deg(18)) / math.Sin(deg(54))
	var p path
	for i := range 10 {
		rr := r
		if i%2 == 1 {
			rr = ri
		}
		q := c.add(polar(rr, deg(36*float64(i))))
		op := opLine
		if i == 0 {
			op = opMove
		}
		p = append(p, seg{op: op, p: [3]vec{q}})
	}
	return p
}

// flatten returns points along p: each segment's end and, for curves, n-1
// points between, so that the polygon through them follows the outline to
// within a small fraction of the segment's size.
func (p path) flatten(n int) []vec {
	var pts []vec
	var cur vec
	for _, s := range p {
		switch s.op {
		case opMove, opLine:
			cur = s.p[0]
			pts = append(pts, cur)
		case opQuad:
			for i := 1; i <= n; i++ {
				t := float64(i) / float64(n)
				pts = append(pts, lerpv(lerpv(cur, s.p[0], t), lerpv(s.p[0], s.p[1], t), t))
			}
			cur = s.p[1]
		case opCube:
			for i := 1; i <= n; i++ {
				t := float64(i) / float64(n)
				a, b, c := lerpv(cur, s.p[0], t), lerpv(s.p[0], s.p[1], t), lerpv(s.p[1], s.p[2], t)
				pts = append(pts, lerpv(lerpv(a, b, t), lerpv(b, c, t), t))
			}
			cur = s.p[2]
		}
	}
	return pts
}

// hull returns the convex hull of pts, counter-clockwise (y up), by
// Andrew's monotone chain. It sorts pts in place.
func hull(pts []vec) []vec {
	if len(pts) < 3 {
		return append([]vec(nil), pts...)
	}
	slices.SortFunc(pts, func(a, b vec) int {
		if c := cmp.Compare(a.X, b.X); c != 0 {
			return c
		}
		return cmp.Compare(a.Y, b.Y)
	})
	cross := func(o, a, b vec) float64 { return (a.X-o.X)*(b.Y-o.Y) - (a.Y-o.Y)*(b.X-o.X) }
	h := make([]vec, 0, 2*len(pts))
	for _, p := range pts {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], p) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	lower := len(h) + 1
	for i := len(pts) - 2; i >= 0; i-- {
		p := pts[i]
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], p) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	return h[:len(h)-1]
}
