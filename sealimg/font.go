package sealimg

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// refRunes are the characters whose ink boxes define the size of a
// character cell.
const refRunes = "国一丨"

// fixedTexts are drawn on seals regardless of the input, so the font must
// have them.
const fixedTexts = "发票专用章合同专用章财务专用章0123456789ABCDEFGHJKLMNPQRTUWXY"

// face is a loaded font with the measures the layout needs. It is safe for
// concurrent use.
type face struct {
	font *sfnt.Font
	name string
	upem float64
	// refW and refH are the width and height of the design box of
	// ideographs, refC its centre, in font units with y up.
	refW, refH float64
	refC       vec

	bufs  sync.Pool // *sfnt.Buffer
	mu    sync.Mutex
	cache map[sfnt.GlyphIndex]*glyph
}

// glyph is one character's outline in font units, y up, origin on the
// baseline at the left of its advance.
type glyph struct {
	adv  float64
	path path
	// cell is the width of the character's cell in font units and mid the
	// x of its centre: the advance for most characters, the ink with a
	// little space for punctuation, whose full-width forms would leave
	// half a cell empty on the arc.
	cell, mid float64
	// ink is the convex hull of the outline in cell units: x from the
	// cell's centre in widths of the cell, y from the design box's centre
	// in heights of the box, so that a point of a character drawn in the
	// cell b lies at b.c + b.right·x·b.w + b.up·y·b.h.
	ink []vec
}

func loadFace(path string, index int) (*face, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FieldError{Field: "font", Problem: "cannot read the font file (install Debian's fonts-arphic-uming or set the font path)", Err: err}
	}
	if fixed, err := realign(data); err == nil {
		data = fixed
	}
	coll, err := opentype.ParseCollection(data)
	if err != nil {
		return nil, &FieldError{Field: "font", Problem: fmt.Sprintf("%s is not a TrueType/OpenType font or collection", path), Err: err}
	}
	if index < 0 || index >= coll.NumFonts() {
		return nil, fieldErr("font", "index %d is out of range: %s holds %d faces", index, path, coll.NumFonts())
	}
	f, err := coll.Font(index)
	if err != nil {
		return nil, &FieldError{Field: "font", Problem: fmt.Sprintf("face %d of %s", index, path), Err: err}
	}
	fc := &face{font: f, upem: float64(f.UnitsPerEm()), cache: map[sfnt.GlyphIndex]*glyph{}}
	fc.bufs.New = func() any { return new(sfnt.Buffer) }
	b := fc.buffer()
	defer fc.bufs.Put(b)
	fc.name, _ = f.Name(b, sfnt.NameIDFull)
	if fc.name == "" {
		fc.name = path
	}
	if bad := fc.missing(fixedTexts + refRunes); len(bad) > 0 {
		return nil, fieldErr("font", "%s (%s) lacks characters every seal needs: %s; use a CJK font such as uming.ttc", path, fc.name, quoteRunes(bad))
	}
	// The design box is the union of the ink boxes of a full square
	// ideograph and of long horizontal and vertical strokes, so that
	// characters drawn to fill a cell stay inside it.
	lo, hi := vec{math.Inf(1), math.Inf(1)}, vec{math.Inf(-1), math.Inf(-1)}
	for _, r := range refRunes {
		g, err := fc.glyph(r)
		if err != nil {
			return nil, &FieldError{Field: "font", Problem: fmt.Sprintf("cannot load the outline of %q from %s", r, path), Err: err}
		}
		if len(g.path) == 0 {
			return nil, fieldErr("font", "%s (%s) has no outline for %q (a bitmap-only font?)", path, fc.name, r)
		}
		glo, ghi := g.path.bounds()
		lo = vec{math.Min(lo.X, glo.X), math.Min(lo.Y, glo.Y)}
		hi = vec{math.Max(hi.X, ghi.X), math.Max(hi.Y, ghi.Y)}
	}
	fc.refW, fc.refH = hi.X-lo.X, hi.Y-lo.Y
	fc.refC = lerpv(lo, hi, 0.5)
	// The glyphs loaded so far have cells measured without the design
	// box; load them again when needed.
	clear(fc.cache)
	if !(fc.refW > 0 && fc.refH > 0) {
		return nil, fieldErr("font", "%s (%s) has empty outlines for %s", path, fc.name, refRunes)
	}
	return fc, nil
}

func (fc *face) buffer() *sfnt.Buffer { return fc.bufs.Get().(*sfnt.Buffer) }

// missing returns the characters of s the font has no glyph for, each once,
// in order.
func (fc *face) missing(s string) []rune {
	b := fc.buffer()
	defer fc.bufs.Put(b)
	var bad []rune
	seen := map[rune]bool{}
	for _, r := range s {
		x, err := fc.font.GlyphIndex(b, r)
		if (err != nil || x == 0) && !seen[r] {
			seen[r] = true
			bad = append(bad, r)
		}
	}
	return bad
}

// glyph returns the outline of r, loading it once.
func (fc *face) glyph(r rune) (*glyph, error) {
	b := fc.buffer()
	defer fc.bufs.Put(b)
	x, err := fc.font.GlyphIndex(b, r)
	if err != nil {
		return nil, err
	}
	if x == 0 {
		return nil, fmt.Errorf("no glyph for %q", r)
	}
	fc.mu.Lock()
	g := fc.cache[x]
	fc.mu.Unlock()
	if g != nil {
		return g, nil
	}
	// At ppem == unitsPerEm the segments come in font units (26.6 fixed
	// point), y down.
	ppem := fixed.I(int(fc.upem))
	segs, err := fc.font.LoadGlyph(b, x, ppem, nil)
	if err != nil {
		return nil, err
	}
	adv, err := fc.font.GlyphAdvance(b, x, ppem, font.HintingNone)
	if err != nil {
		return nil, err
	}
	g = &glyph{adv: float64(adv) / 64, path: make(path, len(segs))}
	for i, s := range segs {
		var op segOp
		switch s.Op {
		case sfnt.SegmentOpMoveTo:
			op = opMove
		case sfnt.SegmentOpLineTo:
			op = opLine
		case sfnt.SegmentOpQuadTo:
			op = opQuad
		case sfnt.SegmentOpCubeTo:
			op = opCube
		default:
			return nil, errors.New("unknown segment operator")
		}
		g.path[i].op = op
		for j := 0; j < g.path[i].n(); j++ {
			g.path[i].p[j] = vec{float64(s.Args[j].X) / 64, -float64(s.Args[j].Y) / 64}
		}
	}
	g.cell, g.mid = g.adv/fc.upem*fc.refW, g.adv/2
	if fc.refW > 0 && len(g.path) > 0 && (unicode.IsPunct(r) || unicode.IsSymbol(r)) {
		lo, hi := g.path.bounds()
		g.cell = max((hi.X-lo.X)*1.4, 0.3*fc.refW)
		g.mid = (lo.X + hi.X) / 2
	}
	if fc.refH > 0 && g.cell > 0 {
		pts := g.path.flatten(8)
		for i, q := range pts {
			pts[i] = vec{(q.X - g.mid) / g.cell, (q.Y - fc.refC.Y) / fc.refH}
		}
		g.ink = hull(pts)
	}
	fc.mu.Lock()
	fc.cache[x] = g
	fc.mu.Unlock()
	return g, nil
}

// cellWidth is the width in font units that a character cell of g maps
// to: the design box width for a full-width ideograph, proportionally
// less for narrower glyphs such as digits, the ink for punctuation.
func (fc *face) cellWidth(g *glyph) float64 { return g.cell }

// aspect is the natural width-to-height ratio of g's character cell: about
// 0.9 for ideographs, half that for digits and Latin letters.
func (fc *face) aspect(g *glyph) float64 { return fc.cellWidth(g) / fc.refH }

func quoteRunes(rs []rune) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%q (U+%04X)", string(r), r)
	}
	return strings.Join(parts, ", ")
}

// checkText validates a text field: valid UTF-8, no spaces or control
// characters, no more than max characters, all in the font.
func (fc *face) checkText(field, s string, max int, where string) error {
	if s == "" {
		return fieldErr(field, "empty")
	}
	if !utf8.ValidString(s) {
		return fieldErr(field, "not valid UTF-8")
	}
	i := 0
	for _, r := range s {
		i++
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == ' ' || r == 0x3000 || r == 0xfeff || (r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) {
			return fieldErr(field, "character %d is a space or control character (U+%04X)", i, r)
		}
	}
	if i > max {
		return fieldErr(field, "%d characters, at most %d fit %s", i, max, where)
	}
	if bad := fc.missing(s); len(bad) > 0 {
		return fieldErr(field, "characters not in the font %s: %s", fc.name, quoteRunes(bad))
	}
	return nil
}
