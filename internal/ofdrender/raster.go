package ofdrender

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/vector"
)

// fill paints the area enclosed by subs (non-zero winding; open subpaths are
// closed) in c, inside clip.
func (j *job) fill(subs []subpath, c color.NRGBA, clip image.Rectangle) error {
	if c.A == 0 || len(subs) == 0 {
		return nil
	}
	// Every point costs, on the page or off it.
	points := 0
	for _, s := range subs {
		points += len(s.pts) + 1
	}
	if err := j.spend(int64(points)); err != nil {
		return err
	}
	lo, hi := pt{math.Inf(1), math.Inf(1)}, pt{math.Inf(-1), math.Inf(-1)}
	for _, s := range subs {
		for _, p := range s.pts {
			lo = pt{math.Min(lo.x, p.x), math.Min(lo.y, p.y)}
			hi = pt{math.Max(hi.x, p.x), math.Max(hi.y, p.y)}
		}
	}
	if !(lo.x <= hi.x && lo.y <= hi.y) {
		return nil
	}
	r := image.Rect(floorPix(lo.x), floorPix(lo.y),
		ceilPix(hi.x), ceilPix(hi.y)).Intersect(clip).Intersect(j.img.Bounds())
	if r.Empty() {
		return nil
	}
	w, h := r.Dx(), r.Dy()
	if err := j.spend(int64(w+2) * int64(h)); err != nil {
		return err
	}
	// The mask has a column to spare on each side: what lies left of the
	// area is projected onto x = 0, what lies right onto x = w+1, which
	// keeps the coverage of every pixel in between (see addLine).
	z := &j.z
	z.Reset(w+2, h)
	ox, oy := float64(r.Min.X-1), float64(r.Min.Y)
	for _, s := range subs {
		if len(s.pts) < 2 {
			continue
		}
		first := pt{s.pts[0].x - ox, s.pts[0].y - oy}
		prev := first
		for _, p := range s.pts[1:] {
			q := pt{p.x - ox, p.y - oy}
			addLine(z, prev, q, float64(w+1), float64(h))
			prev = q
		}
		addLine(z, prev, first, float64(w+1), float64(h))
	}
	mask := j.mask(w+2, h)
	z.DrawOp = draw.Src
	z.Draw(mask, mask.Bounds(), image.Opaque, image.Point{})
	draw.DrawMask(j.img, r, image.NewUniform(c), image.Point{}, mask, image.Pt(1, 0), draw.Over)
	return nil
}

// mask returns a cleared alpha mask of w×h pixels, reusing its buffer.
func (j *job) mask(w, h int) *image.Alpha {
	n := w * h
	if cap(j.maskBuf) < n {
		j.maskBuf = make([]uint8, n)
	}
	buf := j.maskBuf[:n]
	clear(buf)
	return &image.Alpha{Pix: buf, Stride: w, Rect: image.Rect(0, 0, w, h)}
}

// addLine adds the segment a→b to z, cut where it crosses x = 0, x = xMax,
// y = 0 and y = yMax, each piece projected into that box. A piece left of
// the box then adds the same coverage to the pixels right of it as before,
// a piece above, below or right of it adds none to the pixels inside, and
// the rasterizer never walks rows or columns outside the box.
func addLine(z *vector.Rasterizer, a, b pt, xMax, yMax float64) {
	ts := [6]float64{0}
	n := 1
	for _, c := range [4]struct {
		v0, v1, at float64
	}{{a.x, b.x, 0}, {a.x, b.x, xMax}, {a.y, b.y, 0}, {a.y, b.y, yMax}} {
		if (c.v0 < c.at) != (c.v1 < c.at) && c.v0 != c.v1 {
			t := (c.at - c.v0) / (c.v1 - c.v0)
			if t > 0 && t < 1 {
				ts[n] = t
				n++
			}
		}
	}
	ts[n] = 1
	n++
	sortSmall(ts[:n])
	prev := clampPt(a, xMax, yMax)
	z.MoveTo(float32(prev.x), float32(prev.y))
	for _, t := range ts[1:n] {
		p := clampPt(pt{a.x + (b.x-a.x)*t, a.y + (b.y-a.y)*t}, xMax, yMax)
		z.LineTo(float32(p.x), float32(p.y))
	}
}

func clampPt(p pt, xMax, yMax float64) pt {
	return pt{math.Min(math.Max(p.x, 0), xMax), math.Min(math.Max(p.y, 0), yMax)}
}

func sortSmall(v []float64) {
	for i := 1; i < len(v); i++ {
		for k := i; k > 0 && v[k] < v[k-1]; k-- {
			v[k], v[k-1] = v[k-1], v[k]
		}
	}
}

// strokeOutline returns polygons covering the stroke of subs at width w
// (device pixels): a rectangle per segment and an octagon at every vertex,
// so that joins and caps are round enough. All are wound the same way, so
// their overlaps add up to full coverage, never cancel.
func strokeOutline(subs []subpath, w float64) []subpath {
	hw := w / 2
	var out []subpath
	disc := func(c pt) {
		s := subpath{closed: true, pts: make([]pt, 8)}
		for i := range 8 {
			a := -float64(i) * math.Pi / 4 // the rectangles' winding
			s.pts[i] = pt{c.x + hw*math.Cos(a), c.y + hw*math.Sin(a)}
		}
		out = append(out, s)
	}
	for _, s := range subs {
		pts := s.pts
		if s.closed && len(pts) > 1 {
			pts = append(pts[:len(pts):len(pts)], pts[0])
		}
		for i := 1; i < len(pts); i++ {
			a, b := pts[i-1], pts[i]
			dx, dy := b.x-a.x, b.y-a.y
			l := math.Hypot(dx, dy)
			if l == 0 {
				continue
			}
			nx, ny := -dy/l*hw, dx/l*hw
			out = append(out, subpath{closed: true, pts: []pt{
				{a.x + nx, a.y + ny}, {b.x + nx, b.y + ny}, {b.x - nx, b.y - ny}, {a.x - nx, a.y - ny}}})
		}
		if hw >= 1 {
			for _, p := range pts {
				disc(p)
			}
		}
	}
	return out
}

// pixClamp keeps a device coordinate within what an int holds safely: far
// outside any page, yet converting it never overflows (NaN gives -1).
func pixClamp(v float64) float64 {
	if !(v > -1) {
		return -1
	}
	return math.Min(v, 1e7)
}

func floorPix(v float64) int { return int(math.Floor(pixClamp(v))) }
func ceilPix(v float64) int  { return int(math.Ceil(pixClamp(v))) }
func roundPix(v float64) int { return int(math.Round(pixClamp(v))) }
