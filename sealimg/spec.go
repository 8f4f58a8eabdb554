package sealimg

import (
	"image/color"
	"math"
	"strconv"
	"strings"
)

// Kind is a kind of seal picture. Its value is the name used in
// configuration files and in the API.
type Kind string

// The seal kinds of art. 3 that have a picture of their own. Other business
// seals (audit, customs, …) are drawn as [Special] with their own purpose
// text; position seals as [Personal] with the holder's name.
const (
	// Official is the legal-name seal (公章): a round seal with the
	// organisation's name along the upper arc and the star in the centre.
	Official Kind = "official"
	// Contract is the contract seal (合同专用章), round.
	Contract Kind = "contract"
	// Finance is the finance seal (财务专用章), round.
	Finance Kind = "finance"
	// Special is any other round business seal; its purpose text (审计专用章,
	// 报关专用章, …) is required.
	Special Kind = "special"
	// Invoice is the invoice seal (发票专用章): an oval with the name along the
	// upper arc, the tax identification number across the middle and
	// 发票专用章 below.
	Invoice Kind = "invoice"
	// Personal is the personal seal (私章): a square with the holder's name in
	// two to four characters.
	Personal Kind = "personal"
)

// Kinds lists every kind in a stable order.
var Kinds = []Kind{Official, Contract, Finance, Special, Invoice, Personal}

// Shape is the outline of a seal.
type Shape int

// The shapes.
const (
	Round Shape = iota + 1
	Oval
	Square
)

// Shape returns the outline of seals of kind k, or 0 for an unknown kind.
func (k Kind) Shape() Shape {
	switch k {
	case Official, Contract, Finance, Special:
		return Round
	case Invoice:
		return Oval
	case Personal:
		return Square
	}
	return 0
}

// defaultPurpose is the text under the star (round) or in the bottom line
// (oval) when the seal does not give one.
func (k Kind) defaultPurpose() string {
	switch k {
	case Contract:
		return "合同专用章"
	case Finance:
		return "财务专用章"
	case Invoice:
		return "发票专用章"
	}
	return ""
}

func checkKind(k Kind) error {
	if k.Shape() == 0 {
		names := make([]string, len(Kinds))
		for i, k := range Kinds {
			names[i] = string(k)
		}
		return fieldErr("kind", "unknown kind %q (want one of %s)", string(k), strings.Join(names, ", "))
	}
	return nil
}

// Spec is the geometry of one kind of seal. All lengths are in millimetres
// of the printed seal, angles in degrees. A zero field takes the kind's
// default (see [DefaultSpec]); lengths that are not given scale with the
// seal's size, so setting only Width gives a consistent smaller or larger
// seal.
type Spec struct {
	// Width is the diameter of a round seal, the long axis of an oval, the
	// side of a square.
	Width float64 `json:"width,omitempty"`
	// Height is the short axis of an oval; round and square seals have
	// Height == Width.
	Height float64 `json:"height,omitempty"`
	// Border is the width of the ring or frame.
	Border float64 `json:"border,omitempty"`
	// Gap is the least space between the inside of the border and the ink
	// of the text on the arcs.
	Gap float64 `json:"gap,omitempty"`
	// Star is the diameter of the five-pointed star (round seals).
	Star float64 `json:"star,omitempty"`
	// NameHeight is the height of the name's characters before long names
	// are compressed.
	NameHeight float64 `json:"name_height,omitempty"`
	// NameArc is the largest arc the name may take (round and oval seals),
	// MinNameArc the arc short names are spread over.
	NameArc    float64 `json:"name_arc,omitempty"`
	MinNameArc float64 `json:"min_name_arc,omitempty"`
	// MaxName is the most characters accepted for a name on the arc (40),
	// or in a personal seal (4, at most 4).
	MaxName int `json:"max_name,omitempty"`
	// PurposeHeight is the height of the purpose text (under the star, or
	// 发票专用章 on an oval).
	PurposeHeight float64 `json:"purpose_height,omitempty"`
	// CodeHeight is the height of the seal code on the lower arc of a round
	// seal, or of the tax identification number of an oval.
	CodeHeight float64 `json:"code_height,omitempty"`
	// CodeArc is the largest arc of the seal code (round seals).
	CodeArc float64 `json:"code_arc,omitempty"`
	// CodeWidth is the largest width of the tax identification number
	// (oval seals).
	CodeWidth float64 `json:"code_width,omitempty"`
	// Weight thickens the font's strokes, which are thin for a seal, by
	// this fraction of each character's height on every side.
	Weight float64 `json:"weight,omitempty"`
	// Margin is the transparent space around the seal in the picture.
	Margin float64 `json:"margin,omitempty"`
}

// DefaultSpec returns the geometry of kind k after common practice:
//
//   - Official (公章): round, 42 mm, ring 1.2 mm, star 14 mm (one third of
//     the diameter); name 6.5 mm high on up to 250°.
//   - Contract (合同专用章) and Special: round, 40 mm, ring 1.2 mm.
//   - Finance (财务专用章): round, 38 mm, ring 1 mm.
//   - Invoice (发票专用章): oval 40 × 30 mm, ring 1 mm, name 4.2 mm on up
//     to 190°, tax identification number 3.7 mm high in at most 26 mm
//     width, 发票专用章 4 mm (after the 2011 invoice seal specification).
//   - Personal (私章): square, 18 mm, frame 1 mm.
//
// On round seals the other lengths are fractions of the diameter D: name
// 0.155 D, purpose 0.11 D, code 0.06 D, gap between ring and text
// 0.016 D. It returns the zero Spec for an unknown kind.
func DefaultSpec(k Kind) Spec {
	return Spec{}.withDefaults(k)
}

func (s Spec) withDefaults(k Kind) Spec {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	switch k.Shape() {
	case Round:
		w, border := 40.0, 1.2
		switch k {
		case Official:
			w = 42
		case Finance:
			w, border = 38, 1.0
		}
		def(&s.Width, w)
		s.Height = s.Width
		def(&s.Border, border*s.Width/w)
		def(&s.Gap, 0.016*s.Width)
		def(&s.Star, s.Width/3)
		def(&s.NameHeight, 0.155*s.Width)
		def(&s.NameArc, 250)
		def(&s.MinNameArc, 150)
		def(&s.PurposeHeight, 0.11*s.Width)
		def(&s.CodeHeight, 0.06*s.Width)
		def(&s.CodeArc, 80)
	case Oval:
		def(&s.Width, 40)
		def(&s.Height, 0.75*s.Width)
		def(&s.Border, 0.025*s.Width)
		def(&s.Gap, 0.02*s.Width)
		def(&s.NameHeight, 0.105*s.Width)
		def(&s.NameArc, 190)
		def(&s.MinNameArc, 140)
		def(&s.PurposeHeight, 0.1*s.Width)
		def(&s.CodeHeight, 0.0925*s.Width)
		def(&s.CodeWidth, 0.65*s.Width)
	case Square:
		def(&s.Width, 18)
		s.Height = s.Width
		def(&s.Border, s.Width/18)
		def(&s.Gap, 0.05*s.Width)
	default:
		return Spec{}
	}
	if s.MaxName == 0 {
		s.MaxName = 40
		if k.Shape() == Square {
			s.MaxName = 4
		}
	}
	def(&s.Margin, 0.5)
	def(&s.Weight, 0.02)
	return s
}

// validate checks a Spec after defaults are filled in. prefix names the
// field, such as "spec.official".
func (s Spec) validate(k Kind, prefix string) error {
	type lim struct {
		name    string
		v       float64
		lo, hi  float64
		enabled bool
	}
	checks := []lim{
		{"width", s.Width, 8, 100, true},
		{"height", s.Height, 8, 100, true},
		{"border", s.Border, 0.1, s.Height / 8, true},
		{"gap", s.Gap, 0, s.Height / 8, true},
		{"margin", s.Margin, 0, 20, true},
		{"weight", s.Weight, 0, 0.08, true},
		{"star", s.Star, 0, 0.6 * s.Width, k.Shape() == Round},
		{"name_height", s.NameHeight, 0.5, 0.3 * s.Height, k.Shape() != Square},
		{"name_arc", s.NameArc, 30, 300, k.Shape() != Square},
		{"min_name_arc", s.MinNameArc, 0, s.NameArc, k.Shape() != Square},
		{"purpose_height", s.PurposeHeight, 0.5, 0.3 * s.Height, k.Shape() != Square},
		{"code_height", s.CodeHeight, 0.5, 0.2 * s.Height, k.Shape() != Square},
		{"code_arc", s.CodeArc, 10, 360 - s.NameArc, k.Shape() == Round},
		{"code_width", s.CodeWidth, 1, s.Width, k.Shape() == Oval},
	}
	for _, c := range checks {
		if !c.enabled {
			continue
		}
		if math.IsNaN(c.v) || c.v < c.lo || c.v > c.hi {
			return fieldErr(prefix+"."+c.name, "%g is out of range [%g, %g]", c.v, c.lo, c.hi)
		}
	}
	if k.Shape() == Oval && s.Height > s.Width {
		return fieldErr(prefix+".height", "%g mm is more than the width %g mm", s.Height, s.Width)
	}
	lo, hi := 1, 200
	if k.Shape() == Square {
		lo, hi = 2, 4 // the layouts of a personal seal
	}
	if s.MaxName < lo || s.MaxName > hi {
		return fieldErr(prefix+".max_name", "%d is out of range [%d, %d]", s.MaxName, lo, hi)
	}
	return nil
}

// DefaultFontPath is the Song/Ming face of Debian's fonts-arphic-uming.
const DefaultFontPath = "/usr/share/fonts/truetype/arphic/uming.ttc"

// DefaultDPI is the default resolution of PNG pictures: 600 dots per inch,
// so a 42 mm seal is 1016 pixels wide with its margins.
const DefaultDPI = 600

// DefaultColor is the seal red.
const DefaultColor = "#E60000"

// parseColor reads "#RRGGBB" or "#RRGGBBAA".
func parseColor(s string) (color.NRGBA, error) {
	bad := fieldErr("color", "%q is not #RRGGBB or #RRGGBBAA", s)
	if len(s) != 7 && len(s) != 9 || s[0] != '#' {
		return color.NRGBA{}, bad
	}
	var v [4]uint8
	v[3] = 0xff
	for i := 0; 1+2*i < len(s); i++ {
		n, err := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return color.NRGBA{}, bad
		}
		v[i] = uint8(n)
	}
	if v[3] == 0 {
		return color.NRGBA{}, fieldErr("color", "%q is transparent", s)
	}
	return color.NRGBA{R: v[0], G: v[1], B: v[2], A: v[3]}, nil
}

// Options configures a [Renderer]. The zero value is usable: it draws with
// DefaultFontPath at DefaultDPI in DefaultColor with DefaultSpec sizes.
type Options struct {
	// FontPath is a TrueType/OpenType font or collection with CJK
	// characters, preferably a Song/Ming (宋体/明体) face.
	FontPath string `json:"font_path,omitempty"`
	// FontIndex selects the face in a collection; 0 is "AR PL UMing CN" in
	// uming.ttc, the face with the simplified-Chinese glyph forms.
	FontIndex int `json:"font_index,omitempty"`
	// DPI is the resolution of PNG pictures, 72 to 2400.
	DPI float64 `json:"dpi,omitempty"`
	// Color is the ink as "#RRGGBB" (or "#RRGGBBAA"); empty means
	// DefaultColor.
	Color string `json:"color,omitempty"`
	// Specs overrides the geometry per kind; missing kinds and zero fields
	// take DefaultSpec values.
	Specs map[Kind]Spec `json:"specs,omitempty"`
}
