package sealimg

import (
	"fmt"
	"math"
)

// box is a character cell: a rectangle of width w along right and height h
// along up around its centre c (layout coordinates, millimetres, y up).
type box struct {
	c         vec
	right, up vec
	w, h      float64
}

func (b box) corners() [4]vec {
	r, u := b.right.mul(b.w/2), b.up.mul(b.h/2)
	return [4]vec{b.c.sub(r).sub(u), b.c.add(r).sub(u), b.c.add(r).add(u), b.c.sub(r).add(u)}
}

// grow returns b enlarged by d on every side.
func (b box) grow(d float64) box {
	b.w += 2 * d
	b.h += 2 * d
	return b
}

// overlaps reports whether two boxes intersect (separating axis test).
func (b box) overlaps(o box) bool {
	bc, oc := b.corners(), o.corners()
	for _, axis := range []vec{b.right, b.up, o.right, o.up} {
		bl, bh := project(bc, axis)
		ol, oh := project(oc, axis)
		if bh <= ol || oh <= bl {
			return false
		}
	}
	return true
}

func project(cs [4]vec, axis vec) (lo, hi float64) {
	lo = cs[0].dot(axis)
	hi = lo
	for _, c := range cs[1:] {
		d := c.dot(axis)
		if d < lo {
			lo = d
		}
		if d > hi {
			hi = d
		}
	}
	return lo, hi
}

// placed is one character drawn in a box.
type placed struct {
	g     *glyph
	r     rune
	b     box
	field string
}

// layout is a seal before rendering: shapes and characters in millimetres,
// centre at the origin, y up.
type layout struct {
	kind   Kind
	title  string
	spec   Spec
	shapes []path
	glyphs []placed
	star   *box // the star's bounding box, if any
	inside func(vec) bool
}

// arc is the curve that the outer edges of character cells touch: an
// ellipse with semi-axes a (x) and b (y), the upper half read left to right
// with the characters' tops outward, or the lower half read left to right
// with their tops inward. t is the ellipse parameter: 0 at the top (or
// bottom), growing to the right.
type arc struct {
	a, b  float64
	lower bool
	// ring, when set, keeps the ink of every character at least ring.gap
	// from the ring (see arcInk); arcText fills in ink from it.
	ring *ringEdge
	ink  *arcInk
}

// ringEdge is the inner edge of a seal's ring and the space text keeps from
// it.
type ringEdge struct {
	// dist is the distance from a point to the edge, positive inside; near
	// is a quick estimate of it, for the many trial placements.
	dist, near func(vec) float64
	// round says the edge is a circle around the centre, so that how far a
	// cell moves does not depend on where on the arc it is.
	round  bool
	gap    float64
	weight float64 // Spec.Weight: how much the strokes are thickened
}

// arcInk keeps the characters of a run clear of the ring. A character's
// cell touches the arc with the middle of its outer edge, but its ink
// reaches further out: the cell's outer corners leave a curved arc, most
// where the arc bends most (the ends of an oval's long axis, where a long
// name begins and ends), a glyph may pass the design box, and strokes are
// thickened when drawn. So each cell is moved towards the centre until the
// hull of its glyph's outline, thickened as drawn, keeps the gap.
type arcInk struct {
	ring   *ringEdge
	glyphs []*glyph
	aspect []float64
	// moves remembers how far cells moved: placing a run tries each
	// character at many positions and sizes, and the move changes little
	// between positions a hundredth of a radian apart (settle makes it exact).
	moves map[inkKey]float64
}

type inkKey struct {
	i    int
	w, h float64
	t    int32 // the position in hundredths of a radian; 0 on a circle
}

// clearance is the least distance between the ring and the ink of
// character i drawn in b, measured with dist.
func (k *arcInk) clearance(i int, b box, dist func(vec) float64) float64 {
	bold := k.ring.weight * math.Min(b.h, b.w/k.aspect[i])
	d := math.Inf(1)
	for _, q := range k.glyphs[i].ink {
		d = math.Min(d, dist(b.c.add(b.right.mul(q.X*b.w)).add(b.up.mul(q.Y*b.h))))
	}
	return d - bold
}

// inset moves b, the cell of character i on c, towards the centre until
// its ink keeps the gap by dist.
func (k *arcInk) inset(c arc, i int, b box, dist func(vec) float64) box {
	out := b.up
	if c.lower {
		out = out.mul(-1)
	}
	// One step is exact on a circle; an ellipse's normal turns a little as
	// the cell moves, so a few more steps make up the rest.
	for range 6 {
		d := k.ring.gap - k.clearance(i, b, dist)
		if d <= 0 {
			break
		}
		b.c = b.c.sub(out.mul(d + 1e-9))
	}
	return b
}

// settle moves the final cells inwards where the exact distance to the
// ring asks for more than the estimate used to place them. The moves are
// a few hundredths of a millimetre, well within the space kept between
// neighbours.
func (k *arcInk) settle(c arc, cells []box) {
	for i := range cells {
		cells[i] = k.inset(c, i, cells[i], k.ring.dist)
	}
}

// circleEdge is the distance to the inside of a circle of radius r around
// the origin.
func circleEdge(r float64) func(vec) float64 {
	return func(p vec) float64 { return r - p.len() }
}

// ellipseEdge is the distance to an ellipse with semi-axes a (x) and b (y)
// around the origin, positive inside.
func ellipseEdge(a, b float64) func(vec) float64 {
	near := func(p vec, t float64) float64 {
		s, c := math.Sincos(t)
		return vec{a * c, b * s}.sub(p).len()
	}
	return func(p vec) float64 {
		if p.X == 0 && p.Y == 0 {
			return math.Min(a, b)
		}
		// The nearest point e(t) = (a cos t, b sin t) makes e(t) - p normal
		// to the ellipse: Newton's method on (e(t) - p)·e'(t) = 0, from the
		// parameter of the point's own direction, which is close for points
		// near the edge.
		t0 := math.Atan2(a*p.Y, b*p.X)
		t := t0
		for range 10 {
			s, c := math.Sincos(t)
			f := (b*b-a*a)*s*c + p.X*a*s - p.Y*b*c
			fp := (b*b-a*a)*(c*c-s*s) + p.X*a*c + p.Y*b*s
			if fp <= 0 { // not heading for a minimum
				t = t0
				break
			}
			step := f / fp
			t -= step
			if math.Abs(step) < 1e-12 {
				break
			}
		}
		d := math.Min(near(p, t), near(p, t0))
		if (p.X/a)*(p.X/a)+(p.Y/b)*(p.Y/b) > 1 {
			return -d
		}
		return d
	}
}

// ellipseNear estimates the distance to an ellipse with semi-axes a and b
// from inside, near the edge: (1 - g)/|∇g| for g = √(x²/a² + y²/b²), exact
// on a circle and off by about d²/(2ρ) elsewhere, ρ being the radius of
// curvature.
func ellipseNear(a, b float64) func(vec) float64 {
	return func(p vec) float64 {
		g := math.Hypot(p.X/a, p.Y/b)
		if g == 0 {
			return math.Min(a, b)
		}
		grad := math.Hypot(p.X/(a*a), p.Y/(b*b)) / g
		return (1 - g) / grad
	}
}

// cellAt is the cell of character i centred at parameter t, moved inwards
// as far as its ink needs to keep clear of the ring (by the estimate).
func (c arc) cellAt(i int, t, w, h float64) box {
	b := c.cell(t, w, h)
	k := c.ink
	if k == nil {
		return b
	}
	key := inkKey{i: i, w: w, h: h}
	if !k.ring.round {
		key.t = int32(math.Round(wrap(t) * 100))
	}
	d, ok := k.moves[key]
	if !ok {
		d = k.inset(c, i, b, k.ring.near).c.sub(b.c).len()
		k.moves[key] = d
	}
	out := b.up
	if c.lower {
		out = out.mul(-1)
	}
	b.c = b.c.sub(out.mul(d))
	return b
}

func (c arc) cell(t, w, h float64) box {
	s, co := math.Sin(t), math.Cos(t)
	var p, out, right vec
	if c.lower {
		p = vec{c.a * s, -c.b * co}
		out = vec{c.b * s, -c.a * co}.unit()
		right = vec{c.a * co, c.b * s}.unit()
		return box{c: p.sub(out.mul(h / 2)), right: right, up: out.mul(-1), w: w, h: h}
	}
	p = vec{c.a * s, c.b * co}
	out = vec{c.b * s, c.a * co}.unit()
	right = vec{c.a * co, -c.b * s}.unit()
	return box{c: p.sub(out.mul(h / 2)), right: right, up: out, w: w, h: h}
}

// angle is the polar angle of p seen from the centre, 0 at the top (or
// bottom) of the arc and growing to the right.
func (c arc) angle(p vec) float64 {
	if c.lower {
		return math.Atan2(p.X, -p.Y)
	}
	return math.Atan2(p.X, p.Y)
}

// place puts cells of the given widths and height h along the arc, the
// first centred at parameter t0, each next one as close as it can be while
// keeping gap between neighbours. It returns the cells and the smallest and
// largest polar angle of their corners.
func (c arc) place(widths []float64, h, gap, t0 float64) (cells []box, lo, hi float64) {
	cells = make([]box, len(widths))
	ts := make([]float64, len(widths))
	t := t0
	for i, w := range widths {
		if i == 0 {
			cells[0] = c.cellAt(0, t, w, h)
			continue
		}
		prev := cells[i-1].grow(gap / 2)
		// The smallest parameter step after t at which the cells clear each
		// other; the overlap is monotone in the step on a convex curve.
		lo, hi := 0.0, math.Pi/2
		for range 26 { // to 2e-8 rad
			mid := (lo + hi) / 2
			if c.cellAt(i, t+mid, w, h).grow(gap / 2).overlaps(prev) {
				lo = mid
			} else {
				hi = mid
			}
		}
		t += hi
		ts[i] = t
		cells[i] = c.cellAt(i, t, w, h)
	}
	ts[0] = t0
	lo, hi = math.Inf(1), math.Inf(-1)
	for i, b := range cells {
		// Unwrap the angles: the polar angle of a cell's centre is near its
		// parameter, and its corners are near its centre. So texts reaching
		// past the bottom (or top) measure right.
		ac := c.angle(b.c)
		centre := ts[i] + wrap(ac-ts[i])
		for _, p := range b.corners() {
			a := centre + wrap(c.angle(p)-ac)
			lo, hi = math.Min(lo, a), math.Max(hi, a)
		}
	}
	return cells, lo, hi
}

// wrap maps an angle to [-π, π].
func wrap(a float64) float64 { return a - 2*math.Pi*math.Round(a/(2*math.Pi)) }

// centred places cells symmetrically about the top (bottom) of the arc and
// returns them with their angular span in radians.
func (c arc) centred(widths []float64, h, gap float64) ([]box, float64) {
	// Start with the natural span guess and correct the start parameter
	// until the span is symmetric; on a circle one step is exact.
	t0 := 0.0
	var cells []box
	var lo, hi float64
	for range 6 {
		cells, lo, hi = c.place(widths, h, gap, t0)
		mid := (lo + hi) / 2
		if math.Abs(mid) < 1e-6 {
			break
		}
		t0 -= mid
	}
	return cells, hi - lo
}

// textRun is the characters of one field and their natural proportions.
type textRun struct {
	field  string
	runes  []rune
	glyphs []*glyph
	aspect []float64 // natural width/height of each cell
}

func (fc *face) run(field, s string) (textRun, error) {
	tr := textRun{field: field}
	i := 0
	for _, r := range s {
		i++
		g, err := fc.glyph(r)
		if err != nil {
			return tr, &FieldError{Field: field, Problem: fmt.Sprintf("cannot load the character %q", r), Err: err}
		}
		if len(g.path) == 0 || !(g.cell > 0) {
			return tr, fieldErr(field, "character %d (%q, U+%04X) has no visible glyph of its own in the font", i, r, r)
		}
		tr.runes = append(tr.runes, r)
		tr.glyphs = append(tr.glyphs, g)
		tr.aspect = append(tr.aspect, fc.aspect(g))
	}
	return tr, nil
}

func (tr textRun) widths(h, squeeze float64) []float64 {
	ws := make([]float64, len(tr.aspect))
	for i, a := range tr.aspect {
		ws[i] = a * h * squeeze
	}
	return ws
}

func (tr textRun) place(cells []box) []placed {
	out := make([]placed, len(cells))
	for i, b := range cells {
		out[i] = placed{g: tr.glyphs[i], r: tr.runes[i], b: b, field: tr.field}
	}
	return out
}

// Compression limits: characters are first made narrower, down to
// minSqueeze of their natural width, then smaller, down to minShrink of
// their natural height.
const (
	minSqueeze = 0.5
	minShrink  = 0.4
	gapRatio   = 0.12 // space between neighbouring characters, of their height
	maxSpread  = 0.8  // the most space between characters of short names, of their height
)

// compression maps k in [0, 1] to a width factor and a height factor: k = 1
// is natural size, k = 0.5 the narrowest full-height characters, k = 0
// the narrowest and smallest.
func compression(k float64) (squeeze, shrink float64) {
	if k >= 0.5 {
		return minSqueeze + (1-minSqueeze)*(k-0.5)/0.5, 1
	}
	return minSqueeze, minShrink + (1-minShrink)*k/0.5
}

// fit finds the largest compression k in [0, 1] for which try succeeds. It
// returns false if even k = 0 fails.
func fit(try func(k float64) bool) (float64, bool) {
	if try(1) {
		return 1, true
	}
	if !try(0) {
		return 0, false
	}
	lo, hi := 0.0, 1.0
	for range 14 {
		mid := (lo + hi) / 2
		if try(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, true
}

// arcText lays tr along c in at most maxArc degrees; short texts are
// spread over up to minArc degrees.
func arcText(tr textRun, c arc, h0, maxArc, minArc float64) ([]box, error) {
	if c.ring != nil {
		c.ink = &arcInk{ring: c.ring, glyphs: tr.glyphs, aspect: tr.aspect, moves: map[inkKey]float64{}}
	}
	var cells []box
	k, ok := fit(func(k float64) bool {
		sq, sh := compression(k)
		h := h0 * sh
		var span float64
		cells, span = c.centred(tr.widths(h, sq), h, gapRatio*h)
		return span <= deg(maxArc)
	})
	if !ok {
		return nil, fieldErr(tr.field, "%d characters do not fit on %g° of the arc even at %g of their width and %g of their height", len(tr.runes), maxArc, minSqueeze, minShrink)
	}
	sq, sh := compression(k)
	h := h0 * sh
	ws := tr.widths(h, sq)
	cells, span := c.centred(ws, h, gapRatio*h)
	if k == 1 && len(ws) > 1 && span < deg(minArc) {
		// Spread a short name: widen the gaps until it spans minArc.
		lo, hi := gapRatio*h, maxSpread*h
		for range 20 {
			mid := (lo + hi) / 2
			if _, s := c.centred(ws, h, mid); s <= deg(minArc) {
				lo = mid
			} else {
				hi = mid
			}
		}
		cells, _ = c.centred(ws, h, lo)
	}
	if c.ink != nil {
		c.ink.settle(c, cells)
	}
	return cells, nil
}

// lineText lays tr horizontally, centred on the y axis with the top of its
// cells at top, at most width wide, compressed until ok accepts the cells.
func lineText(tr textRun, top, h0, width float64, ok func([]box) bool) ([]box, error) {
	build := func(k float64) []box {
		sq, sh := compression(k)
		h := h0 * sh
		ws := tr.widths(h, sq)
		gap := gapRatio * h
		total := gap * float64(len(ws)-1)
		for _, w := range ws {
			total += w
		}
		cells := make([]box, len(ws))
		x := -total / 2
		for i, w := range ws {
			cells[i] = box{c: vec{x + w/2, top - h/2}, right: vec{1, 0}, up: vec{0, 1}, w: w, h: h}
			x += w + gap
		}
		return cells
	}
	width2 := func(cells []box) float64 {
		last := cells[len(cells)-1]
		return last.c.X + last.w/2 - (cells[0].c.X - cells[0].w/2)
	}
	k, found := fit(func(k float64) bool {
		cells := build(k)
		return width2(cells) <= width && ok(cells)
	})
	if !found {
		return nil, fieldErr(tr.field, "%d characters do not fit in the seal even at %g of their width and %g of their height", len(tr.runes), minSqueeze, minShrink)
	}
	return build(k), nil
}

// keepsClear reports whether none of cells, grown by gap, meets any of others
// and all their corners pass inside.
func keepsClear(cells, others []box, gap float64, inside func(vec) bool) bool {
	for _, b := range cells {
		g := b.grow(gap)
		for _, p := range g.corners() {
			if !inside(p) {
				return false
			}
		}
		for _, o := range others {
			if g.overlaps(o) {
				return false
			}
		}
	}
	return true
}

func boxes(ps []placed) []box {
	out := make([]box, len(ps))
	for i, p := range ps {
		out[i] = p.b
	}
	return out
}

// check verifies the finished layout: every character inside the border,
// no two characters or a character and the star overlapping. It guards the
// promise that text is never cut off or drawn over other text.
func (l *layout) check() error {
	for i, p := range l.glyphs {
		for _, c := range p.b.corners() {
			if !l.inside(c) {
				return fieldErr(p.field, "character %q does not fit inside the border", p.r)
			}
		}
		if l.star != nil && p.b.overlaps(*l.star) {
			return fieldErr(p.field, "character %q would cover the star", p.r)
		}
		for _, q := range l.glyphs[:i] {
			if p.b.overlaps(q.b) {
				return fieldErr(p.field, "characters %q and %q would overlap", q.r, p.r)
			}
		}
	}
	return nil
}
