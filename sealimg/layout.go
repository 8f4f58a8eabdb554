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
			cells[0] = c.cell(t, w, h)
			continue
		}
		prev := cells[i-1].grow(gap / 2)
		// The smallest parameter step after t at which the cells clear each
		// other; the overlap is monotone in the step on a convex curve.
		lo, hi := 0.0, math.Pi/2
		for range 26 { // to 2e-8 rad
			mid := (lo + hi) / 2
			if c.cell(t+mid, w, h).grow(gap / 2).overlaps(prev) {
				lo = mid
			} else {
				hi = mid
			}
		}
		t += hi
		ts[i] = t
		cells[i] = c.cell(t, w, h)
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
