package ofdrender

import (
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/eseal/eseal/ofd"
)

// drawParam is a DrawParam resource: defaults for the objects naming it.
type drawParam struct {
	lineWidth    float64
	fill, stroke *node
}

// resources are the resource files of a document and a page, by ID.
type resources struct {
	spaces map[string]string // ColorSpace ID → Type (RGB, GRAY, CMYK)
	params map[string]*node  // DrawParam ID → element
	media  map[string]string // MultiMedia ID → resolved file
	format map[string]string // MultiMedia ID → Format
	fonts  map[string]string // Font ID → FontName
}

func loadResources(j *job, files []string, lim ofd.Limits) *resources {
	r := &resources{spaces: map[string]string{}, params: map[string]*node{}, media: map[string]string{},
		format: map[string]string{}, fonts: map[string]string{}}
	for _, f := range files {
		res, err := readXML(j.p, f, "Res", lim)
		if err != nil {
			j.note("resources %s not read: %v", f, err)
			continue
		}
		base := f
		if bl := res.attr("BaseLoc"); bl != "" {
			if b, err := resolve(f, strings.TrimSuffix(bl, "/")+"/x"); err == nil {
				base = b
			}
		}
		for _, g := range res.kids {
			for _, e := range g.kids {
				id := e.attr("ID")
				if id == "" {
					continue
				}
				switch e.name {
				case "ColorSpace":
					r.spaces[id] = strings.ToUpper(e.attr("Type"))
				case "DrawParam":
					r.params[id] = e
				case "Font":
					r.fonts[id] = e.attr("FontName")
				case "MultiMedia":
					if mf := e.childText("MediaFile"); mf != "" {
						if p, err := resolve(base, mf); err == nil {
							if !j.p.Has(p) {
								// Some producers give the path from the resource file's folder
								// although the Res names a BaseLoc.
								if alt, err := resolve(f, mf); err == nil && j.p.Has(alt) {
									p = alt
								}
							}
							r.media[id] = p
							r.format[id] = strings.ToUpper(e.attr("Format"))
						}
					}
				}
			}
		}
	}
	return r
}

// drawParam returns the DrawParam named id (following Relative once),
// with OFD's default line width, 0.353 mm, when it gives none.
func (r *resources) drawParam(id string) drawParam {
	dp := drawParam{lineWidth: 0.353}
	seen := 0
	for id != "" && seen < 8 {
		e := r.params[id]
		if e == nil {
			break
		}
		if v := e.attr("LineWidth"); v != "" && dp.lineWidth == 0.353 {
			if x, err := numbers(v, 1); err == nil && x[0] >= 0 {
				dp.lineWidth = x[0]
			}
		}
		if dp.fill == nil {
			dp.fill = e.child("FillColor")
		}
		if dp.stroke == nil {
			dp.stroke = e.child("StrokeColor")
		}
		id = e.attr("Relative")
		seen++
	}
	return dp
}

// color reads a FillColor or StrokeColor element (e, else fallback, else
// def): Value as decimal or "#hex" components, one (gray), three (RGB) or
// four (CMYK) after its ColorSpace, and Alpha 0 to 255.
func (r *resources) color(e, fallback *node, def color.NRGBA) color.NRGBA {
	if e == nil {
		e = fallback
	}
	if e == nil {
		return def
	}
	v := e.attr("Value")
	if v == "" {
		return def
	}
	var c []float64
	for _, f := range strings.Fields(v) {
		var x float64
		var err error
		if strings.HasPrefix(f, "#") {
			var u uint64
			u, err = strconv.ParseUint(f[1:], 16, 16)
			x = float64(u)
		} else {
			x, err = strconv.ParseFloat(f, 64)
		}
		if err != nil || math.IsNaN(x) {
			return def
		}
		c = append(c, math.Min(math.Max(x, 0), 255))
	}
	out := color.NRGBA{A: 255}
	space := r.spaces[e.attr("ColorSpace")]
	switch {
	case len(c) == 1 || space == "GRAY" && len(c) >= 1:
		g := uint8(c[0])
		out.R, out.G, out.B = g, g, g
	case len(c) == 4 || space == "CMYK" && len(c) >= 4:
		k := 1 - c[3]/255
		out.R = uint8(255 * (1 - c[0]/255) * k)
		out.G = uint8(255 * (1 - c[1]/255) * k)
		out.B = uint8(255 * (1 - c[2]/255) * k)
	case len(c) == 3:
		out.R, out.G, out.B = uint8(c[0]), uint8(c[1]), uint8(c[2])
	default:
		return def
	}
	if a := e.attr("Alpha"); a != "" {
		if x, err := strconv.ParseFloat(a, 64); err == nil && !math.IsNaN(x) {
			out.A = uint8(math.Min(math.Max(x, 0), 255))
		}
	}
	return out
}
