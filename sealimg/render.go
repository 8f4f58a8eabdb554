package sealimg

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"

	"golang.org/x/image/vector"
)

// Drawing is a laid-out seal, ready to render. Its outlines are in
// millimetres of the printed seal.
type Drawing struct {
	kind  Kind
	title string
	// w and h are the picture's size in millimetres, margins included.
	w, h   float64
	dpi    float64
	color  color.NRGBA
	shapes []shape
}

// shape is one filled outline in page coordinates (millimetres, y down,
// origin top left), thickened by bold millimetres on every side.
type shape struct {
	p    path
	bold float64
	text bool // a character, not the ring, frame or star
}

func (r *Renderer) drawing(l *layout) *Drawing {
	sp := l.spec
	d := &Drawing{
		kind:  l.kind,
		title: l.title,
		w:     sp.Width + 2*sp.Margin,
		h:     sp.Height + 2*sp.Margin,
		dpi:   r.dpi,
		color: r.color,
	}
	cx, cy := d.w/2, d.h/2
	page := func(p vec) vec { return vec{cx + p.X, cy - p.Y} }
	for _, s := range l.shapes {
		d.shapes = append(d.shapes, shape{p: s.transform(page)})
	}
	fc := r.face
	for _, p := range l.glyphs {
		b := p.b
		sx := b.w / fc.cellWidth(p.g)
		sy := b.h / fc.refH
		mid := vec{p.g.mid, fc.refC.Y}
		// Narrowed characters are thickened less, to keep them open.
		bold := sp.Weight * math.Min(b.h, b.w/fc.aspect(p.g))
		d.shapes = append(d.shapes, shape{text: true, bold: bold, p: p.g.path.transform(func(q vec) vec {
			q = q.sub(mid)
			return page(b.c.add(b.right.mul(q.X * sx)).add(b.up.mul(q.Y * sy)))
		})})
	}
	return d
}

// SizeMM is the size of the picture in millimetres, margins included.
func (d *Drawing) SizeMM() (w, h float64) { return d.w, d.h }

// Size is the size of the PNG picture in pixels.
func (d *Drawing) Size() (w, h int) {
	k := d.dpi / 25.4
	return int(math.Round(d.w * k)), int(math.Round(d.h * k))
}

// Image renders the seal: the ink colour with antialiased coverage as
// alpha on a transparent background, palette index = alpha.
func (d *Drawing) Image() *image.Paletted {
	w, h := d.Size()
	k := d.dpi / 25.4
	mask := image.NewAlpha(image.Rect(0, 0, w, h))
	var z vector.Rasterizer
	for _, sh := range d.shapes {
		p := sh.p
		if len(p) == 0 {
			continue
		}
		lo, hi := p.bounds()
		lo, hi = lo.sub(vec{sh.bold, sh.bold}), hi.add(vec{sh.bold, sh.bold})
		r := image.Rect(int(math.Floor(lo.X*k)), int(math.Floor(lo.Y*k)), int(math.Ceil(hi.X*k))+1, int(math.Ceil(hi.Y*k))+1).Intersect(mask.Rect)
		if r.Empty() {
			continue
		}
		z.Reset(r.Dx(), r.Dy())
		// A thickened shape is the union of copies moved by bold in eight
		// directions around the original: the rasterizer adds coverage of
		// same-winding outlines and clamps it, which is their union.
		offsets := []vec{{}}
		if sh.bold > 0 {
			for i := range 8 {
				offsets = append(offsets, polar(sh.bold, deg(45*float64(i))))
			}
		}
		for _, off := range offsets {
			ox, oy := float64(r.Min.X)-off.X*k, float64(r.Min.Y)-off.Y*k
			pt := func(v vec) (float32, float32) { return float32(v.X*k - ox), float32(v.Y*k - oy) }
			addPath(&z, p, pt)
		}
		z.Draw(mask, r, image.Opaque, image.Point{})
	}
	// The rasterizer's floating-point accumulation can leave coverage of
	// one or two 255ths in pixels right of a shape; nobody sees it, but it
	// is ink where there is none.
	for i, a := range mask.Pix {
		if a <= 2 {
			mask.Pix[i] = 0
		}
	}
	pal := make(color.Palette, 256)
	for i := range pal {
		c := d.color
		c.A = uint8((i*int(d.color.A) + 127) / 255)
		pal[i] = c
	}
	return &image.Paletted{Pix: mask.Pix, Stride: mask.Stride, Rect: mask.Rect, Palette: pal}
}

// PNG renders the seal as a PNG with a transparent background, with its
// resolution recorded in a pHYs chunk so that it prints at its size.
func (d *Drawing) PNG() ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, d.Image()); err != nil {
		return nil, err
	}
	return withPHYs(buf.Bytes(), d.dpi), nil
}

// SVG renders the seal as an SVG document in millimetres, the text as
// glyph outlines, so it shows the same without the font.
func (d *Drawing) SVG() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
		`<svg xmlns="http://www.w3.org/2000/svg" width="%smm" height="%smm" viewBox="0 0 %s %s">`+"\n",
		num(d.w), num(d.h), num(d.w), num(d.h))
	b.WriteString("<title>")
	xml.EscapeText(&b, []byte(d.title))
	b.WriteString("</title>\n")
	fmt.Fprintf(&b, `<g fill="#%02X%02X%02X" stroke="#%02X%02X%02X" stroke-width="0" stroke-linejoin="round"`,
		d.color.R, d.color.G, d.color.B, d.color.R, d.color.G, d.color.B)
	if d.color.A != 0xff {
		fmt.Fprintf(&b, ` fill-opacity="%s" stroke-opacity="%s"`, num(float64(d.color.A)/255), num(float64(d.color.A)/255))
	}
	b.WriteString(">\n")
	var s []byte
	for _, sh := range d.shapes {
		p := sh.p
		s = s[:0]
		s = append(s, `<path d="`...)
		for _, sg := range p {
			switch sg.op {
			case opMove:
				if len(s) > len(`<path d="`) {
					s = append(s, 'Z')
				}
				s = append(s, 'M')
			case opLine:
				s = append(s, 'L')
			case opQuad:
				s = append(s, 'Q')
			case opCube:
				s = append(s, 'C')
			}
			for j := 0; j < sg.n(); j++ {
				if j > 0 {
					s = append(s, ' ')
				}
				s = appendNum(s, sg.p[j].X)
				s = append(s, ',')
				s = appendNum(s, sg.p[j].Y)
			}
		}
		s = append(s, "Z\""...)
		if sh.bold > 0 {
			// The stroke thickens the outline by half its width on each
			// side, as the eight copies do in the PNG.
			s = append(s, ` stroke-width="`...)
			s = appendNum3(s, 2*sh.bold)
			s = append(s, '"')
		}
		s = append(s, "/>\n"...)
		b.Write(s)
	}
	b.WriteString("</g>\n</svg>\n")
	return b.Bytes()
}

// SVG coordinates have two decimals: 10 µm, a quarter pixel at 600 dpi.
func appendNum(b []byte, v float64) []byte {
	v = math.Round(v*100) / 100
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func appendNum3(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, math.Round(v*1000)/1000, 'f', -1, 64)
}

func num(v float64) string { return string(appendNum(nil, v)) }

// withPHYs inserts a pHYs chunk after the IHDR chunk of an encoded PNG,
// which image/png does not write, so viewers and printers know the
// resolution.
func withPHYs(p []byte, dpi float64) []byte {
	const ihdrEnd = 8 + 4 + 4 + 13 + 4
	if len(p) < ihdrEnd {
		return p
	}
	ppm := uint32(math.Round(dpi / 0.0254))
	chunk := make([]byte, 0, 21)
	chunk = binary.BigEndian.AppendUint32(chunk, 9)
	chunk = append(chunk, "pHYs"...)
	chunk = binary.BigEndian.AppendUint32(chunk, ppm)
	chunk = binary.BigEndian.AppendUint32(chunk, ppm)
	chunk = append(chunk, 1) // unit: metre
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := make([]byte, 0, len(p)+len(chunk))
	out = append(out, p[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, p[ihdrEnd:]...)
}

// addPath feeds p to z through pt, closing every contour.
func addPath(z *vector.Rasterizer, p path, pt func(vec) (float32, float32)) {
	started := false
	for _, s := range p {
		switch s.op {
		case opMove:
			if started {
				z.ClosePath()
			}
			started = true
			z.MoveTo(pt(s.p[0]))
		case opLine:
			z.LineTo(pt(s.p[0]))
		case opQuad:
			x1, y1 := pt(s.p[0])
			x2, y2 := pt(s.p[1])
			z.QuadTo(x1, y1, x2, y2)
		case opCube:
			x1, y1 := pt(s.p[0])
			x2, y2 := pt(s.p[1])
			x3, y3 := pt(s.p[2])
			z.CubeTo(x1, y1, x2, y2, x3, y3)
		}
	}
	if started {
		z.ClosePath()
	}
}
