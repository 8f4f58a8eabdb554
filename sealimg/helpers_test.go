package sealimg

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"sync"
	"testing"
)

var (
	shared    *Renderer
	sharedErr error
	once      sync.Once
)

// testRenderer returns a Renderer with the default font, shared by the
// tests. The tests need Debian's fonts-arphic-uming; without it they fail
// rather than skip, so that a CI machine without the font does not pass
// having checked nothing.
func testRenderer(tb testing.TB) *Renderer {
	tb.Helper()
	if _, err := os.Stat(DefaultFontPath); err != nil {
		tb.Fatalf("the tests need the font of Debian's fonts-arphic-uming (apt-get install fonts-arphic-uming): %v", err)
	}
	once.Do(func() { shared, sharedErr = New(Options{}) })
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	return shared
}

// picture is a decoded PNG with the geometry needed to look at it.
type picture struct {
	img image.Image
	k   float64 // pixels per millimetre
	c   vec     // centre in pixels
}

// decodePNG renders d to PNG bytes and decodes them again, so tests look
// at what a reader of the file sees.
func decodePNG(t *testing.T, d *Drawing) picture {
	t.Helper()
	data, err := d.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	return picture{img: img, k: d.dpi / 25.4, c: vec{float64(b.Dx()) / 2, float64(b.Dy()) / 2}}
}

// at returns the colour at a point given in millimetres from the seal's
// centre, y up.
func (p picture) at(v vec) color.NRGBA {
	x := int(math.Floor(p.c.X + v.X*p.k))
	y := int(math.Floor(p.c.Y - v.Y*p.k))
	return color.NRGBAModel.Convert(p.img.At(x, y)).(color.NRGBA)
}

// red reports whether c is fully inked seal red.
func isRed(c color.NRGBA) bool {
	return c.A >= 0xf0 && c.R >= 0xd0 && c.G <= 0x20 && c.B <= 0x20
}

// each calls f for every pixel with some ink, with its position in
// millimetres from the centre (y up) and its alpha.
func (p picture) each(f func(mm vec, a uint8)) {
	b := p.img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(p.img.At(x, y)).(color.NRGBA)
			if c.A == 0 {
				continue
			}
			f(vec{(float64(x) + 0.5 - p.c.X) / p.k, (p.c.Y - float64(y) - 0.5) / p.k}, c.A)
		}
	}
}

// only returns a copy of d with only the shapes for which keep is true.
func only(d *Drawing, keep func(i int, s shape) bool) *Drawing {
	c := *d
	c.shapes = nil
	for i, s := range d.shapes {
		if keep(i, s) {
			c.shapes = append(c.shapes, s)
		}
	}
	return &c
}

// isText tells characters from the ring, frame and star.
func isText(_ int, s shape) bool { return s.text }
