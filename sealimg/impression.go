package sealimg

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
)

// Impression is a seal picture filed by the applicant (art. 12: same seal,
// same impression). It is used as it is; CheckImpression only makes sure
// it is a picture of sensible size.
type Impression struct {
	// Format is "png", "jpeg", "gif" or "svg".
	Format string
	// Width and Height are in pixels; for SVG in CSS pixels (96 per inch)
	// from its width and height attributes.
	Width, Height int
	// Data is the picture as supplied.
	Data []byte
}

// ImpressionLimits bounds what CheckImpression accepts. A zero field takes
// the default of DefaultImpressionLimits.
type ImpressionLimits struct {
	// MaxBytes is the largest file accepted.
	MaxBytes int
	// MinSide and MaxSide bound each side in pixels (CSS pixels for SVG).
	MinSide, MaxSide int
	// MaxPixels bounds width × height of raster pictures, which are decoded
	// in full to prove they are not truncated.
	MaxPixels int
	// MinSVG and MaxSVG bound each side of an SVG picture in millimetres:
	// a vector picture has no pixels, only a printed size.
	MinSVG, MaxSVG float64
	// MaxRatio bounds the ratio of the long side to the short side.
	MaxRatio float64
}

// DefaultImpressionLimits: at most 10 MiB; 100 to 10000 pixels per side
// and 40 million pixels in all; SVG 10 to 200 mm per side; sides within
// 1:3. A 42 mm seal scanned at 600 dpi is about 1000 pixels wide.
var DefaultImpressionLimits = ImpressionLimits{
	MaxBytes:  10 << 20,
	MinSide:   100,
	MaxSide:   10000,
	MaxPixels: 40_000_000,
	MinSVG:    10,
	MaxSVG:    200,
	MaxRatio:  3,
}

func (l ImpressionLimits) withDefaults() ImpressionLimits {
	d := DefaultImpressionLimits
	if l.MaxBytes == 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MinSide == 0 {
		l.MinSide = d.MinSide
	}
	if l.MaxSide == 0 {
		l.MaxSide = d.MaxSide
	}
	if l.MaxPixels == 0 {
		l.MaxPixels = d.MaxPixels
	}
	if l.MinSVG == 0 {
		l.MinSVG = d.MinSVG
	}
	if l.MaxSVG == 0 {
		l.MaxSVG = d.MaxSVG
	}
	if l.MaxRatio == 0 {
		l.MaxRatio = d.MaxRatio
	}
	return l
}

// CheckImpression checks data with DefaultImpressionLimits.
func CheckImpression(data []byte) (*Impression, error) {
	return DefaultImpressionLimits.Check(data)
}

func impErr(format string, args ...any) error { return fieldErr("impression", format, args...) }

// Check makes sure data is a PNG, JPEG or GIF that decodes in full, or an
// SVG document (well-formed XML with an <svg> root that has a width and a
// height), with sides within the limits. It returns what it found and data
// unchanged. Errors are *FieldError for the field "impression". Check never
// panics, whatever the input.
func (l ImpressionLimits) Check(data []byte) (*Impression, error) {
	l = l.withDefaults()
	if len(data) == 0 {
		return nil, impErr("empty")
	}
	if len(data) > l.MaxBytes {
		return nil, impErr("%d bytes, at most %d accepted", len(data), l.MaxBytes)
	}
	var (
		im  *Impression
		err error
	)
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		im, err = l.raster(data, "png", png.DecodeConfig, png.Decode)
	case bytes.HasPrefix(data, []byte("\xff\xd8")):
		im, err = l.raster(data, "jpeg", jpeg.DecodeConfig, func(r io.Reader) (image.Image, error) {
			return jpeg.Decode(r)
		})
	case bytes.HasPrefix(data, []byte("GIF87a")) || bytes.HasPrefix(data, []byte("GIF89a")):
		im, err = l.raster(data, "gif", gif.DecodeConfig, gif.Decode)
	case looksLikeXML(data):
		im, err = l.svg(data)
	default:
		return nil, impErr("not a PNG, JPEG, GIF or SVG picture")
	}
	if err != nil {
		return nil, err
	}
	if err := l.checkSize(im.Format, im.Width, im.Height); err != nil {
		return nil, err
	}
	im.Data = data
	return im, nil
}

func (l ImpressionLimits) checkSize(format string, w, h int) error {
	for _, s := range []struct {
		name string
		v    int
	}{{"width", w}, {"height", h}} {
		if format == "svg" {
			continue // checked in millimetres by svg
		}
		if s.v < l.MinSide || s.v > l.MaxSide {
			return impErr("%s %s of %d pixels, want %d to %d", format, s.name, s.v, l.MinSide, l.MaxSide)
		}
	}
	long, short := max(w, h), min(w, h)
	if float64(long) > l.MaxRatio*float64(short) {
		return impErr("%s of %d × %d pixels is more than %g times as long as it is wide", format, w, h, l.MaxRatio)
	}
	return nil
}

func (l ImpressionLimits) raster(data []byte, format string,
	config func(io.Reader) (image.Config, error), decode func(io.Reader) (image.Image, error)) (*Impression, error) {
	cfg, err := config(bytes.NewReader(data))
	if err != nil {
		return nil, &FieldError{Field: "impression", Problem: "not a readable " + format + " picture", Err: err}
	}
	// Check the header's size before decoding, so a forged header cannot
	// make the decoder allocate gigabytes.
	if err := l.checkSize(format, cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	if cfg.Width*cfg.Height > l.MaxPixels {
		return nil, impErr("%s of %d × %d pixels, at most %d pixels in all", format, cfg.Width, cfg.Height, l.MaxPixels)
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, &FieldError{Field: "impression", Problem: "the " + format + " picture does not decode", Err: err}
	}
	b := img.Bounds()
	return &Impression{Format: format, Width: b.Dx(), Height: b.Dy()}, nil
}

// looksLikeXML reports whether data starts, after an optional byte order
// mark and white space, with '<'.
func looksLikeXML(data []byte) bool {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '<'
}

const svgNS = "http://www.w3.org/2000/svg"

// svg checks an SVG document: well-formed XML to the end, an <svg> root in
// the SVG namespace (or none) with absolute width and height, no document
// type declaration (entities), no scripts, event handlers or foreign
// objects (the picture is served to browsers), no external references.
func (l ImpressionLimits) svg(data []byte) (*Impression, error) {
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("encoding %q: only UTF-8 is accepted", label)
	}
	var (
		im    *Impression
		depth int
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &FieldError{Field: "impression", Problem: "not well-formed SVG (XML)", Err: err}
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, impErr("SVG with a document type declaration is not accepted")
		case xml.StartElement:
			depth++
			name := strings.ToLower(t.Name.Local)
			if depth == 1 && im != nil {
				return nil, impErr("XML with more than one root element")
			}
			if im == nil {
				if depth != 1 || name != "svg" || (t.Name.Space != "" && t.Name.Space != svgNS) {
					return nil, impErr("XML whose root is <%s>, not <svg>", t.Name.Local)
				}
				w, h, err := svgSize(t)
				if err != nil {
					return nil, err
				}
				for _, s := range []struct {
					name string
					px   float64
				}{{"width", w}, {"height", h}} {
					if mm := s.px * 25.4 / 96; mm < l.MinSVG || mm > l.MaxSVG {
						return nil, impErr("svg %s of %.1f mm, want %g to %g mm", s.name, mm, l.MinSVG, l.MaxSVG)
					}
				}
				im = &Impression{Format: "svg", Width: int(math.Round(w)), Height: int(math.Round(h))}
			}
			switch name {
			case "script", "foreignobject", "iframe", "object", "embed":
				return nil, impErr("SVG with a <%s> element is not accepted", t.Name.Local)
			}
			for _, a := range t.Attr {
				an := strings.ToLower(a.Name.Local)
				if strings.HasPrefix(an, "on") {
					return nil, impErr("SVG with an event handler attribute (%s) is not accepted", a.Name.Local)
				}
				if an == "href" {
					v := strings.TrimSpace(a.Value)
					if !strings.HasPrefix(v, "#") && !strings.HasPrefix(v, "data:image/") {
						return nil, impErr("SVG referring to an outside resource (%.60q) is not accepted", v)
					}
				}
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return nil, impErr("text outside the <svg> element")
			}
		}
	}
	if im == nil {
		return nil, impErr("XML without an <svg> element")
	}
	return im, nil
}

// svgSize reads the width and height attributes of the root element and
// converts them to CSS pixels.
func svgSize(t xml.StartElement) (w, h float64, err error) {
	var ws, hs string
	for _, a := range t.Attr {
		switch a.Name.Local {
		case "width":
			ws = a.Value
		case "height":
			hs = a.Value
		}
	}
	if ws == "" || hs == "" {
		return 0, 0, impErr("SVG without width and height on its <svg> element")
	}
	if w, err = cssPixels("width", ws); err != nil {
		return 0, 0, err
	}
	if h, err = cssPixels("height", hs); err != nil {
		return 0, 0, err
	}
	return w, h, nil
}

// cssPixels converts an SVG length with an absolute unit (or none, which is
// pixels) to CSS pixels at 96 per inch.
func cssPixels(attr, s string) (float64, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		px     float64
	}{{"px", 1}, {"mm", 96 / 25.4}, {"cm", 96 / 2.54}, {"in", 96}, {"pt", 96.0 / 72}, {"pc", 16}, {"", 1}}
	for _, u := range units {
		if !strings.HasSuffix(s, u.suffix) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			break
		}
		px := v * u.px
		if px > 1e9 {
			break
		}
		return px, nil
	}
	return 0, impErr("SVG %s %.40q is not a positive length in px, mm, cm, in, pt or pc", attr, s)
}
