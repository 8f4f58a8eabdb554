package ofdrender

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// glyph returns the outline of the glyph for c in font units (y down), and
// its advance; ok is false when the font has no glyph for c.
func (j *job) glyph(c rune) (sfnt.Segments, float64, bool) {
	r := j.r
	gi, err := r.font.GlyphIndex(&j.buf, c)
	if err != nil || gi == 0 {
		return nil, 0, false
	}
	ppem := fixed.Int26_6(r.upem * 64)
	adv, err := r.font.GlyphAdvance(&j.buf, gi, ppem, font.HintingNone)
	if err != nil {
		return nil, 0, false
	}
	r.mu.Lock()
	segs, ok := r.glyphs[gi]
	r.mu.Unlock()
	if !ok {
		s, err := r.font.LoadGlyph(&j.buf, gi, ppem, nil)
		if err != nil {
			return nil, 0, false
		}
		segs = append(sfnt.Segments(nil), s...)
		r.mu.Lock()
		r.glyphs[gi] = segs
		r.mu.Unlock()
	}
	return segs, float64(adv) / 64, true
}

// deltas expands a DeltaX or DeltaY list, including the "g n value" form
// (n times value), to at most max values.
func deltas(s string, max int) ([]float64, error) {
	f := strings.Fields(s)
	var out []float64
	for i := 0; i < len(f) && len(out) < max; i++ {
		if f[i] == "g" {
			if i+2 >= len(f) {
				return nil, fmt.Errorf("%q: \"g\" lacks its count and value", clip(s))
			}
			n, err1 := strconv.Atoi(f[i+1])
			v, err2 := numbers(f[i+2], 1)
			if err1 != nil || err2 != nil || n < 0 {
				return nil, fmt.Errorf("%q: bad \"g\" group", clip(s))
			}
			for k := 0; k < n && len(out) < max; k++ {
				out = append(out, v[0])
			}
			i += 2
			continue
		}
		v, err := numbers(f[i], 1)
		if err != nil {
			return nil, err
		}
		out = append(out, v[0])
	}
	return out, nil
}

// textObject draws a TextObject's TextCodes with the renderer's font.
func (j *job) textObject(o *node, file string) error {
	if err := j.object(); err != nil {
		return err
	}
	m, _, err := j.objectMatrix(o)
	if err != nil {
		return err
	}
	sz, err := numbers(o.attr("Size"), 1)
	if err != nil || sz[0] <= 0 {
		return fmt.Errorf("its Size %q is not a positive number", clip(o.attr("Size")))
	}
	size := sz[0]
	hscale := 1.0
	if v := o.attr("HScale"); v != "" {
		if x, err := numbers(v, 1); err == nil && x[0] > 0 {
			hscale = x[0]
		}
	}
	if d := o.attr("CharDirection"); d != "" && d != "0" {
		j.note("%s: rotated characters (CharDirection %s) are drawn upright", file, d)
	}
	dp := j.res.drawParam(o.attr("DrawParam"))
	fill := o.attr("Fill") != "false"
	stroke := o.attr("Stroke") == "true"
	fc := j.res.color(o.child("FillColor"), dp.fill, color.NRGBA{0, 0, 0, 255})
	sc := j.res.color(o.child("StrokeColor"), dp.stroke, color.NRGBA{0, 0, 0, 255})
	bold := false
	if w, err := strconv.Atoi(o.attr("Weight")); err == nil && w >= 600 {
		bold = true
	}
	k := size / j.r.upem
	x, y := 0.0, 0.0
	for _, tc := range o.all("TextCode") {
		if v := tc.attr("X"); v != "" {
			if n, err := numbers(v, 1); err == nil {
				x = n[0]
			}
		}
		if v := tc.attr("Y"); v != "" {
			if n, err := numbers(v, 1); err == nil {
				y = n[0]
			}
		}
		runes := []rune(string(tc.text))
		dx, err := deltas(tc.attr("DeltaX"), len(runes))
		if err != nil {
			return fmt.Errorf("DeltaX: %v", err)
		}
		dy, err := deltas(tc.attr("DeltaY"), len(runes))
		if err != nil {
			return fmt.Errorf("DeltaY: %v", err)
		}
		for i, c := range runes {
			if i > 0 && i-1 < len(dy) {
				y += dy[i-1]
			}
			if err := j.object(); err != nil {
				return err
			}
			segs, adv, ok := j.glyph(c)
			if !ok && c != ' ' && c != '\u3000' {
				j.note("%s: the font has no glyph for %q", file, c)
			}
			if len(segs) > 0 {
				g := scale(k*hscale, k).then(translate(x, y)).then(m)
				b := &pathBuilder{m: g, scale: g.norm(), max: 100_000}
				if err := glyphPath(b, segs); err != nil {
					return err
				}
				if fill {
					if err := j.fill(b.subs, fc, j.img.Bounds()); err != nil {
						return err
					}
				}
				if stroke || bold {
					w := size * 0.03 * m.norm()
					c := fc
					if stroke {
						w, c = dp.lineWidth*m.norm(), sc
					}
					if err := j.fill(strokeOutline(b.subs, max(w, 0.5)), c, j.img.Bounds()); err != nil {
						return err
					}
				}
			}
			if i < len(dx) {
				x += dx[i]
			} else {
				x += adv * k * hscale
			}
		}
	}
	return nil
}

// glyphPath adds a glyph outline (26.6 font units) to b.
func glyphPath(b *pathBuilder, segs sfnt.Segments) error {
	f := func(p fixed.Point26_6) (float64, float64) { return float64(p.X) / 64, float64(p.Y) / 64 }
	for _, s := range segs {
		var err error
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			b.close()
			x, y := f(s.Args[0])
			b.start(x, y)
		case sfnt.SegmentOpLineTo:
			x, y := f(s.Args[0])
			err = b.lineTo(x, y)
		case sfnt.SegmentOpQuadTo:
			x1, y1 := f(s.Args[0])
			x2, y2 := f(s.Args[1])
			err = b.quadTo(x1, y1, x2, y2)
		case sfnt.SegmentOpCubeTo:
			x1, y1 := f(s.Args[0])
			x2, y2 := f(s.Args[1])
			x3, y3 := f(s.Args[2])
			err = b.cubeTo(x1, y1, x2, y2, x3, y3)
		}
		if err != nil {
			return err
		}
	}
	b.close()
	return nil
}
