package ofd

import (
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/eseal/eseal/errs"
)

// Text on a page, as far as placing a stamp needs it (GB/T 33190 §11): each
// TextObject has a Boundary (its origin on the page), an optional CTM (a b c
// d e f, mapping the object's own coordinates: x' = a·x + c·y + e,
// y' = b·x + d·y + f) and a font Size; each TextCode gives the origin of its
// first glyph (X, Y: the baseline) and the distances to the next glyphs
// (DeltaX, DeltaY, where "g n v" stands for n times v). A TextCode without X
// or Y continues where the previous one ended. Without DeltaX, a glyph is
// taken to advance by Size (CJK) or Size/2 (other characters). A glyph's box is taken as
// Size wide and Size high above its baseline: fonts are not read.

// glyph is one character of the page's text with its box on the page (mm).
type glyph struct {
	r                      rune
	minX, minY, maxX, maxY float64
}

// textState is the TextObject being read.
type textState struct {
	bx, by       float64    // Boundary origin
	ctm          [6]float64 // identity when absent
	size         float64
	nextX, nextY float64 // where a TextCode without X or Y starts
}

// maxGlyphs bounds the glyphs read from one page.
const maxGlyphs = 1 << 20

// pageGlyphs reads the text of a page's content file, in document order.
func (p *Package) pageGlyphs(file string) ([]glyph, error) {
	b, err := p.read(file)
	if err != nil {
		return nil, err
	}
	d := newDecoder(b)
	if _, err := rootElement(d, file, "Page"); err != nil {
		return nil, err
	}
	var out []glyph
	var objs []*textState // one per open element: the TextObject it belongs to, or nil
	var code *xml.StartElement
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, xmlErr(file, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var cur *textState
			if len(objs) > 0 {
				cur = objs[len(objs)-1]
			}
			switch {
			case t.Name.Local == "TextObject":
				cur = newTextState(t)
			case t.Name.Local == "TextCode" && cur != nil:
				c := t.Copy()
				code = &c
				text.Reset()
			}
			objs = append(objs, cur)
		case xml.CharData:
			if code != nil && text.Len() < 1<<20 {
				text.Write(t)
			}
		case xml.EndElement:
			if len(objs) == 0 {
				return out, nil // the root closed
			}
			cur := objs[len(objs)-1]
			objs = objs[:len(objs)-1]
			if t.Name.Local == "TextCode" && code != nil && cur != nil {
				out = cur.addCode(out, *code, text.String())
				code = nil
				if len(out) > maxGlyphs {
					return nil, newErr(ErrLimit, file, fmt.Sprintf("the page holds more than %d characters of text", maxGlyphs), nil)
				}
			}
		}
	}
}

func newTextState(t xml.StartElement) *textState {
	s := &textState{ctm: [6]float64{1, 0, 0, 1, 0, 0}}
	for _, a := range t.Attr {
		switch a.Name.Local {
		case "Boundary":
			if v := numbers(a.Value); len(v) >= 2 {
				s.bx, s.by = v[0], v[1]
			}
		case "CTM":
			if v := numbers(a.Value); len(v) == 6 {
				copy(s.ctm[:], v)
			}
		case "Size":
			if v := numbers(a.Value); len(v) == 1 && v[0] > 0 {
				s.size = v[0]
			}
		}
	}
	return s
}

// addCode appends the glyphs of one TextCode.
func (s *textState) addCode(out []glyph, t xml.StartElement, text string) []glyph {
	x, y := s.nextX, s.nextY
	var dx, dy string
	for _, a := range t.Attr {
		switch a.Name.Local {
		case "X":
			if v := numbers(a.Value); len(v) == 1 {
				x = v[0]
			}
		case "Y":
			if v := numbers(a.Value); len(v) == 1 {
				y = v[0]
			}
		case "DeltaX":
			dx = a.Value
		case "DeltaY":
			dy = a.Value
		}
	}
	n := utf8.RuneCountInString(text)
	if n == 0 {
		return out
	}
	ddx, ddy := deltas(dx, n-1), deltas(dy, n-1)
	i := 0
	var prev rune
	for _, r := range text {
		if i > 0 {
			// Readers repeat the last distance for glyphs past the end of DeltaX or DeltaY.
			switch {
			case i-1 < len(ddx):
				x += ddx[i-1]
			case len(ddx) > 0:
				x += ddx[len(ddx)-1]
			default:
				x += s.advance(prev)
			}
			switch {
			case i-1 < len(ddy):
				y += ddy[i-1]
			case len(ddy) > 0:
				y += ddy[len(ddy)-1]
			}
		}
		prev = r
		if !unicode.IsSpace(r) {
			out = append(out, s.box(r, x, y))
		}
		i++
		if i == n {
			s.nextX, s.nextY = x+s.advance(r), y
		}
	}
	return out
}

// advance is the assumed width of a glyph when no DeltaX gives it:
// the font size for wide (CJK) characters, half of it for others.
func (s *textState) advance(r rune) float64 {
	if r >= 0x1100 && (unicode.Is(unicode.Han, r) || unicode.In(r, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		(r >= 0x3000 && r <= 0x303f) || (r >= 0xff00 && r <= 0xffef)) {
		return s.size
	}
	return s.size / 2
}

// box maps the glyph box [x, x+size] × [y−size, y] of the object's space to the page.
func (s *textState) box(r rune, x, y float64) glyph {
	g := glyph{r: r, minX: math.Inf(1), minY: math.Inf(1), maxX: math.Inf(-1), maxY: math.Inf(-1)}
	m := s.ctm
	for _, c := range [4][2]float64{{x, y - s.size}, {x + s.size, y - s.size}, {x, y}, {x + s.size, y}} {
		px := s.bx + m[0]*c[0] + m[2]*c[1] + m[4]
		py := s.by + m[1]*c[0] + m[3]*c[1] + m[5]
		g.minX, g.maxX = math.Min(g.minX, px), math.Max(g.maxX, px)
		g.minY, g.maxY = math.Min(g.minY, py), math.Max(g.maxY, py)
	}
	return g
}

// deltas expands a DeltaX or DeltaY list ("g n v" is n times v) to at most max values.
func deltas(s string, max int) []float64 {
	f := strings.Fields(strings.ReplaceAll(s, ",", " "))
	var out []float64
	for i := 0; i < len(f) && len(out) < max; i++ {
		if f[i] == "g" {
			if i+2 >= len(f) {
				break
			}
			n, err1 := strconv.Atoi(f[i+1])
			v, err2 := strconv.ParseFloat(f[i+2], 64)
			if err1 != nil || err2 != nil || n < 0 || !finite(v) {
				break
			}
			for k := 0; k < n && len(out) < max; k++ {
				out = append(out, v)
			}
			i += 2
			continue
		}
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || !finite(v) {
			break
		}
		out = append(out, v)
	}
	return out
}

// numbers parses a list of numbers separated by spaces or commas; nil when one
// is not a finite number.
func numbers(s string) []float64 {
	f := strings.Fields(strings.ReplaceAll(s, ",", " "))
	out := make([]float64, 0, len(f))
	for _, v := range f {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || !finite(x) {
			return nil
		}
		out = append(out, x)
	}
	return out
}

// findKeyword returns the centre of the first occurrence of keyword in glyphs
// (white space ignored in both), and whether there is one.
func findKeyword(glyphs []glyph, keyword string) (x, y float64, ok bool) {
	key := strings.Map(dropSpace, keyword)
	if key == "" {
		return 0, 0, false
	}
	var text strings.Builder
	starts := make([]int, 0, len(glyphs)) // byte offset of each glyph in text
	for _, g := range glyphs {
		starts = append(starts, text.Len())
		text.WriteRune(g.r)
	}
	s := text.String()
	from := 0
	for from <= len(s) {
		k := strings.Index(s[from:], key)
		if k < 0 {
			return 0, 0, false
		}
		k += from
		first := indexOfOffset(starts, k)
		if first < 0 { // a match inside a glyph's encoding cannot happen with valid UTF-8; skip it
			from = k + 1
			continue
		}
		last := first + utf8.RuneCountInString(key) - 1
		minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, g := range glyphs[first : last+1] {
			minX, minY = math.Min(minX, g.minX), math.Min(minY, g.minY)
			maxX, maxY = math.Max(maxX, g.maxX), math.Max(maxY, g.maxY)
		}
		return (minX + maxX) / 2, (minY + maxY) / 2, true
	}
	return 0, 0, false
}

func dropSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return -1
	}
	return r
}

// indexOfOffset returns i with starts[i] == off, or −1.
func indexOfOffset(starts []int, off int) int {
	lo, hi := 0, len(starts)
	for lo < hi {
		m := (lo + hi) / 2
		if starts[m] < off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(starts) && starts[lo] == off {
		return lo
	}
	return -1
}

// pageContent returns the content file of page n (1-based) of doc.
func (p *Package) pageContent(doc string, n int, pg pageInfo) (string, error) {
	files, err := p.pageFiles(doc, n, pg.id, pg.baseLoc)
	if err != nil {
		return "", err
	}
	return files[0], nil
}

// placeKeyword centres the stamp on the first occurrence of the keyword, on
// page pl.Page or, when it is 0, on the first page that has it.
func (p *Package) placeKeyword(o SignOptions, doc string, pages []pageInfo) ([]annot, error) {
	pl := o.Placement
	from, to := 1, len(pages)
	if pl.Page > 0 {
		if _, err := p.page(doc, pages, pl.Page); err != nil {
			return nil, err
		}
		from, to = pl.Page, pl.Page
	}
	for n := from; n <= to; n++ {
		pg := pages[n-1]
		file, err := p.pageContent(doc, n, pg)
		if err != nil {
			return nil, err
		}
		glyphs, err := p.pageGlyphs(file)
		if err != nil {
			return nil, err
		}
		if x, y, ok := findKeyword(glyphs, pl.Keyword); ok {
			pg, err := p.page(doc, pages, n)
			if err != nil {
				return nil, err
			}
			return []annot{{pageID: pg.id, box: [4]float64{x - o.Width/2, y - o.Height/2, o.Width, o.Height}}}, nil
		}
	}
	where := "in the document"
	if pl.Page > 0 {
		where = fmt.Sprintf("on page %d", pl.Page)
	}
	return nil, newErr(errs.NotFound, doc, fmt.Sprintf("the keyword %q is not found %s (the text of the pages' content was searched, not their templates)", clipString(pl.Keyword, 100), where), nil)
}
