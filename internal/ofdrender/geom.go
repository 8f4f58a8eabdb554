package ofdrender

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// aff is an affine map in OFD's CTM order "a b c d e f":
// x' = a·x + c·y + e, y' = b·x + d·y + f.
type aff [6]float64

var identity = aff{1, 0, 0, 1, 0, 0}

func (m aff) apply(x, y float64) (float64, float64) {
	return m[0]*x + m[2]*y + m[4], m[1]*x + m[3]*y + m[5]
}

// then returns the map that applies m, then n.
func (m aff) then(n aff) aff {
	return aff{
		n[0]*m[0] + n[2]*m[1], n[1]*m[0] + n[3]*m[1],
		n[0]*m[2] + n[2]*m[3], n[1]*m[2] + n[3]*m[3],
		n[0]*m[4] + n[2]*m[5] + n[4], n[1]*m[4] + n[3]*m[5] + n[5],
	}
}

func translate(x, y float64) aff { return aff{1, 0, 0, 1, x, y} }
func scale(sx, sy float64) aff   { return aff{sx, 0, 0, sy, 0, 0} }

// det is the determinant of m's linear part.
func (m aff) det() float64 { return m[0]*m[3] - m[1]*m[2] }

// norm is an estimate of how much m scales lengths (the root of |det|, or
// the larger column length for a degenerate map).
func (m aff) norm() float64 {
	if d := math.Abs(m.det()); d > 0 {
		return math.Sqrt(d)
	}
	return math.Max(math.Hypot(m[0], m[1]), math.Hypot(m[2], m[3]))
}

// numbers parses a list of numbers separated by white space (or commas);
// want > 0 asks for exactly that many. Values must be finite.
func numbers(s string, want int) ([]float64, error) {
	f := strings.Fields(strings.ReplaceAll(s, ",", " "))
	if want > 0 && len(f) != want {
		return nil, fmt.Errorf("%q does not hold %d numbers", clip(s), want)
	}
	out := make([]float64, len(f))
	for i, v := range f {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e9 {
			return nil, fmt.Errorf("%q is not a usable number", clip(v))
		}
		out[i] = x
	}
	return out, nil
}

// box is "x y w h" in millimetres.
type box struct{ x, y, w, h float64 }

func parseBox(s string) (box, error) {
	v, err := numbers(s, 4)
	if err != nil {
		return box{}, err
	}
	if v[2] < 0 || v[3] < 0 {
		return box{}, fmt.Errorf("%q has a negative width or height", clip(s))
	}
	return box{v[0], v[1], v[2], v[3]}, nil
}

func parseCTM(s string) (aff, error) {
	if s == "" {
		return identity, nil
	}
	v, err := numbers(s, 6)
	if err != nil {
		return identity, err
	}
	return aff{v[0], v[1], v[2], v[3], v[4], v[5]}, nil
}

// clip shortens s for a message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// pt is a point in device pixels.
type pt struct{ x, y float64 }

// subpath is a polyline in device pixels; closed says it returns to its start.
type subpath struct {
	pts    []pt
	closed bool
}

// pathBuilder turns OFD path operators into flattened device-space subpaths.
type pathBuilder struct {
	m      aff // object space → device pixels
	scale  float64
	subs   []subpath
	cur    *subpath
	x, y   float64 // current point, object space
	sx, sy float64 // start of the current subpath, object space
	segs   int     // line segments emitted
	max    int     // the most segments allowed
}

var errTooManySegments = fmt.Errorf("the path has too many segments")

func (b *pathBuilder) start(x, y float64) {
	b.subs = append(b.subs, subpath{})
	b.cur = &b.subs[len(b.subs)-1]
	b.x, b.y, b.sx, b.sy = x, y, x, y
	dx, dy := b.m.apply(x, y)
	b.cur.pts = append(b.cur.pts, pt{dx, dy})
}

func (b *pathBuilder) lineTo(x, y float64) error {
	if b.cur == nil {
		b.start(b.x, b.y)
	}
	b.segs++
	if b.segs > b.max {
		return errTooManySegments
	}
	b.x, b.y = x, y
	dx, dy := b.m.apply(x, y)
	b.cur.pts = append(b.cur.pts, pt{dx, dy})
	return nil
}

// steps chooses how many segments approximate a curve whose control polygon
// is n object-space units long.
func (b *pathBuilder) steps(n float64) int {
	s := int(math.Sqrt(n*b.scale)) + 2
	return max(2, min(s, 64))
}

func (b *pathBuilder) quadTo(x1, y1, x2, y2 float64) error {
	n := b.steps(math.Hypot(x1-b.x, y1-b.y) + math.Hypot(x2-x1, y2-y1))
	x0, y0 := b.x, b.y
	for i := 1; i <= n; i++ {
		t := float64(i) / float64(n)
		u := 1 - t
		if err := b.lineTo(u*u*x0+2*u*t*x1+t*t*x2, u*u*y0+2*u*t*y1+t*t*y2); err != nil {
			return err
		}
	}
	return nil
}

func (b *pathBuilder) cubeTo(x1, y1, x2, y2, x3, y3 float64) error {
	n := b.steps(math.Hypot(x1-b.x, y1-b.y) + math.Hypot(x2-x1, y2-y1) + math.Hypot(x3-x2, y3-y2))
	x0, y0 := b.x, b.y
	for i := 1; i <= n; i++ {
		t := float64(i) / float64(n)
		u := 1 - t
		if err := b.lineTo(u*u*u*x0+3*u*u*t*x1+3*u*t*t*x2+t*t*t*x3, u*u*u*y0+3*u*u*t*y1+3*u*t*t*y2+t*t*t*y3); err != nil {
			return err
		}
	}
	return nil
}

// arcTo draws an elliptical arc to (x, y) as SVG's "A" does: radii rx, ry,
// the ellipse rotated by rot degrees, the large or small arc, clockwise or
// not (sweep).
func (b *pathBuilder) arcTo(rx, ry, rot float64, large, sweep bool, x, y float64) error {
	x0, y0 := b.x, b.y
	rx, ry = math.Abs(rx), math.Abs(ry)
	if rx == 0 || ry == 0 || (x0 == x && y0 == y) {
		return b.lineTo(x, y)
	}
	phi := rot * math.Pi / 180
	cos, sin := math.Cos(phi), math.Sin(phi)
	dx, dy := (x0-x)/2, (y0-y)/2
	x1 := cos*dx + sin*dy
	y1 := -sin*dx + cos*dy
	if l := x1*x1/(rx*rx) + y1*y1/(ry*ry); l > 1 {
		s := math.Sqrt(l)
		rx, ry = rx*s, ry*s
	}
	num := rx*rx*ry*ry - rx*rx*y1*y1 - ry*ry*x1*x1
	den := rx*rx*y1*y1 + ry*ry*x1*x1
	co := 0.0
	if den > 0 && num > 0 {
		co = math.Sqrt(num / den)
	}
	if large == sweep {
		co = -co
	}
	cx1, cy1 := co*rx*y1/ry, -co*ry*x1/rx
	cx := cos*cx1 - sin*cy1 + (x0+x)/2
	cy := sin*cx1 + cos*cy1 + (y0+y)/2
	angle := func(ux, uy, vx, vy float64) float64 { return math.Atan2(ux*vy-uy*vx, ux*vx+uy*vy) }
	t1 := angle(1, 0, (x1-cx1)/rx, (y1-cy1)/ry)
	dt := angle((x1-cx1)/rx, (y1-cy1)/ry, (-x1-cx1)/rx, (-y1-cy1)/ry)
	if !sweep && dt > 0 {
		dt -= 2 * math.Pi
	} else if sweep && dt < 0 {
		dt += 2 * math.Pi
	}
	n := b.steps(math.Abs(dt) * math.Max(rx, ry) * 2)
	for i := 1; i <= n; i++ {
		t := t1 + dt*float64(i)/float64(n)
		ex, ey := rx*math.Cos(t), ry*math.Sin(t)
		px, py := cos*ex-sin*ey+cx, sin*ex+cos*ey+cy
		if i == n {
			px, py = x, y
		}
		if err := b.lineTo(px, py); err != nil {
			return err
		}
	}
	return nil
}

func (b *pathBuilder) close() {
	if b.cur != nil {
		b.cur.closed = true
		b.x, b.y = b.sx, b.sy
		b.cur = nil
	}
}

// abbreviated reads AbbreviatedData (GB/T 33190 table 36): S and M start a
// subpath, L a line, Q a quadratic and B a cubic Bézier curve, A an arc, C
// (and Z, which some producers write) closes the subpath.
func (b *pathBuilder) abbreviated(data string) error {
	f := strings.Fields(strings.ReplaceAll(data, ",", " "))
	args := func(i, n int) ([]float64, error) {
		if i+n > len(f) {
			return nil, fmt.Errorf("operator %q at token %d lacks its %d numbers", f[i-1], i, n)
		}
		v := make([]float64, n)
		for k := range n {
			x, err := strconv.ParseFloat(f[i+k], 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e9 {
				return nil, fmt.Errorf("%q (token %d) is not a usable number", clip(f[i+k]), i+k+1)
			}
			v[k] = x
		}
		return v, nil
	}
	for i := 0; i < len(f); {
		op := f[i]
		i++
		var n int
		switch op {
		case "S", "M", "L":
			n = 2
		case "Q":
			n = 4
		case "B":
			n = 6
		case "A":
			n = 7
		case "C", "Z", "z":
			b.close()
			continue
		default:
			return fmt.Errorf("unknown path operator %q at token %d", clip(op), i)
		}
		v, err := args(i, n)
		if err != nil {
			return err
		}
		i += n
		switch op {
		case "S", "M":
			b.start(v[0], v[1])
		case "L":
			err = b.lineTo(v[0], v[1])
		case "Q":
			err = b.quadTo(v[0], v[1], v[2], v[3])
		case "B":
			err = b.cubeTo(v[0], v[1], v[2], v[3], v[4], v[5])
		case "A":
			err = b.arcTo(v[0], v[1], v[2], v[3] != 0, v[4] != 0, v[5], v[6])
		}
		if err != nil {
			return err
		}
	}
	return nil
}
