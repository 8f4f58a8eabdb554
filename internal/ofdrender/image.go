package ofdrender

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"strings"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ofd"
	"golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
)

// maxImagePixels bounds one decoded picture.
const maxImagePixels = 25_000_000

// decodeImage decodes a PNG, JPEG, GIF or BMP picture after checking its size,
// and charges its pixels to the page's work.
func (j *job) decodeImage(b []byte) (image.Image, string, error) {
	var kind string
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		kind = "PNG"
	case bytes.HasPrefix(b, []byte("\xff\xd8")):
		kind = "JPEG"
	case bytes.HasPrefix(b, []byte("GIF8")):
		kind = "GIF"
	case bytes.HasPrefix(b, []byte("BM")):
		kind = "BMP"
	default:
		return nil, "", fmt.Errorf("not a PNG, JPEG, GIF or BMP picture")
	}
	var cfg image.Config
	var err error
	switch kind {
	case "PNG":
		cfg, err = png.DecodeConfig(bytes.NewReader(b))
	case "JPEG":
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
	case "GIF":
		cfg, err = gif.DecodeConfig(bytes.NewReader(b))
	case "BMP":
		cfg, err = bmp.DecodeConfig(bytes.NewReader(b))
	}
	if err != nil {
		return nil, kind, fmt.Errorf("the %s picture does not decode: %v", kind, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, kind, fmt.Errorf("the %s picture is %d × %d pixels, more than the limit of %d pixels", kind, cfg.Width, cfg.Height, maxImagePixels)
	}
	if err := j.spend(int64(cfg.Width) * int64(cfg.Height)); err != nil {
		return nil, kind, err
	}
	var img image.Image
	switch kind {
	case "PNG":
		img, err = png.Decode(bytes.NewReader(b))
	case "JPEG":
		img, err = jpeg.Decode(bytes.NewReader(b))
	case "GIF":
		img, err = gif.Decode(bytes.NewReader(b))
	case "BMP":
		img, err = bmp.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return nil, kind, fmt.Errorf("the %s picture does not decode: %v", kind, err)
	}
	return img, kind, nil
}

// drawImage draws src so that its unit square (the whole picture, top-left
// at 0,0) lands where m maps the unit square, clipped to clip. With ink, the
// picture multiplies what lies under it where that is opaque, as seal ink
// does on paper: text under a stamp stays readable.
func (j *job) drawImage(src image.Image, m aff, clip image.Rectangle, ink bool) error {
	sb := src.Bounds()
	u := scale(1/float64(sb.Dx()), 1/float64(sb.Dy())).then(m)
	u = translate(-float64(sb.Min.X), -float64(sb.Min.Y)).then(u)
	if d := u.det(); math.Abs(d) < 1e-9 || math.IsNaN(d) || math.IsInf(d, 0) {
		return nil // the picture is drawn as a line or a point: nothing shows
	}
	// The device area the picture covers, clipped.
	lo, hi := pt{math.Inf(1), math.Inf(1)}, pt{math.Inf(-1), math.Inf(-1)}
	for _, c := range [4][2]float64{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
		x, y := m.apply(c[0], c[1])
		lo = pt{math.Min(lo.x, x), math.Min(lo.y, y)}
		hi = pt{math.Max(hi.x, x), math.Max(hi.y, y)}
	}
	r := image.Rect(floorPix(lo.x), floorPix(lo.y),
		ceilPix(hi.x), ceilPix(hi.y)).Intersect(clip).Intersect(j.img.Bounds())
	if r.Empty() {
		return nil
	}
	// Downscaling widens the kernel: every source pixel may be read.
	if err := j.spend(int64(r.Dx())*int64(r.Dy())*4 + int64(sb.Dx())*int64(sb.Dy())); err != nil {
		return err
	}
	s2d := f64.Aff3{u[0], u[2], u[4], u[1], u[3], u[5]}
	if !ink {
		draw.CatmullRom.Transform(j.img.SubImage(r).(*image.RGBA), s2d, src, sb, draw.Over, nil)
		return nil
	}
	tmp := image.NewRGBA(r)
	draw.CatmullRom.Transform(tmp, s2d, src, sb, draw.Src, nil)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		si, di := tmp.PixOffset(r.Min.X, y), j.img.PixOffset(r.Min.X, y)
		for x := r.Min.X; x < r.Max.X; x, si, di = x+1, si+4, di+4 {
			sp, dp := tmp.Pix[si:si+4:si+4], j.img.Pix[di:di+4:di+4]
			sa := uint32(sp[3])
			if sa == 0 {
				continue
			}
			if dp[3] == 255 {
				// Premultiplied: d·(1 − a) + d·c·a = d·(255 − a + s)/255.
				for k := range 3 {
					dp[k] = uint8(uint32(dp[k]) * (255 - sa + uint32(sp[k])) / 255)
				}
				continue
			}
			for k := range 4 {
				dp[k] = uint8(uint32(sp[k]) + uint32(dp[k])*(255-sa)/255)
			}
		}
	}
	return nil
}

// imageObject draws an ImageObject: its ResourceID names a MultiMedia of the
// document's or the page's resources; the CTM maps the picture's unit square.
func (j *job) imageObject(o *node, file string) error {
	if err := j.object(); err != nil {
		return err
	}
	m, _, err := j.objectMatrix(o)
	if err != nil {
		return err
	}
	id := o.attr("ResourceID")
	f, ok := j.res.media[id]
	if !ok {
		return fmt.Errorf("its ResourceID %q names no MultiMedia resource", clip(id))
	}
	b, err := j.p.ReadFile(f)
	if err != nil {
		return err
	}
	img, _, err := j.decodeImage(b)
	if err != nil {
		if strings.EqualFold(j.res.format[id], "JB2") {
			return fmt.Errorf("%s: %s pictures are not supported", f, j.res.format[id])
		}
		return fmt.Errorf("%s: %v", f, err)
	}
	return j.drawImage(img, m, j.img.Bounds(), false)
}

// drawPicture draws a seal picture of the given type into the device
// rectangle m maps the unit square to, clipped: PNG, JPEG, GIF and BMP as images,
// "ofd" as a package whose first page is rendered.
func (j *job) drawPicture(kind string, data []byte, m aff, clipR image.Rectangle, what string) error {
	switch strings.ToUpper(strings.TrimSpace(kind)) {
	case "PNG", "JPG", "JPEG", "GIF", "BMP":
		img, _, err := j.decodeImage(data)
		if err != nil {
			if errs.KindOf(err) == errs.LimitExceeded {
				return err
			}
			j.note("%s: %v", what, err)
			return nil
		}
		return j.drawImage(img, m, clipR, true)
	case "OFD":
		if j.depth+1 >= maxStampDepth {
			j.note("%s: an OFD picture inside an OFD picture is not drawn", what)
			return nil
		}
		inner, err := ofd.Open(data, j.r.opt.Limits)
		if err != nil {
			j.note("%s: the OFD picture does not open: %v", what, err)
			return nil
		}
		// Render it at the resolution the stamp has on this page.
		ref, err := findPage(inner, 1, j.r.limits())
		if err != nil {
			j.note("%s: the OFD picture: %v", what, err)
			return nil
		}
		x0, y0 := m.apply(0, 0)
		x1, y1 := m.apply(1, 1)
		wpx := math.Max(math.Abs(x1-x0), math.Abs(y1-y0))
		pw := math.Max(ref.area.w, 1)
		// Twice the stamp's own resolution, so that downscaling smooths it.
		dpi := wpx / pw * 25.4 * 2
		if !(dpi >= 10) {
			dpi = 10
		}
		dpi = math.Min(dpi, 1200)
		page, err := j.r.render(inner, 1, dpi, color.NRGBA{}, j)
		if err != nil {
			if errs.KindOf(err) == errs.LimitExceeded {
				return err
			}
			j.note("%s: the OFD picture: %v", what, err)
			return nil
		}
		for _, n := range page.Notes {
			j.note("%s: %s", what, n)
		}
		if err := j.spend(int64(page.Image.Bounds().Dx()) * int64(page.Image.Bounds().Dy())); err != nil {
			return err
		}
		return j.drawImage(page.Image, m, clipR, true)
	}
	j.note("%s: seal pictures of type %q are not drawn", what, clip(kind))
	return nil
}
