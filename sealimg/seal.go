package sealimg

import (
	"fmt"
	"image/color"
	"math"
	"unicode/utf8"
)

// Seal is what a seal picture shows.
type Seal struct {
	Kind Kind `json:"kind"`
	// Name is the organisation's name (round and oval seals) or the
	// holder's name (personal seals, 2 to 4 characters).
	Name string `json:"name"`
	// Purpose is the text under the star of a round seal (合同专用章,
	// 财务专用章, …). Contract and finance seals default to their usual
	// text, Special seals require one, Official seals may leave it empty.
	// Invoice seals always read 发票专用章; personal seals have none.
	Purpose string `json:"purpose,omitempty"`
	// Code is the seal code (印章编码) along the lower arc of a round seal,
	// digits and capital letters; optional.
	Code string `json:"code,omitempty"`
	// TaxID is the taxpayer identification number (or unified social credit
	// code) across the middle of an invoice seal: 15 to 20 digits and
	// capital letters.
	TaxID string `json:"tax_id,omitempty"`
}

// Renderer draws seal pictures with one font and configuration. It is safe
// for concurrent use.
type Renderer struct {
	face  *face
	dpi   float64
	color color.NRGBA
	specs map[Kind]Spec
}

// New loads and checks the font and the configuration. A font that is
// missing, unreadable, not a font, or lacks the characters every seal
// needs is an error here, so a misconfigured appliance fails at start-up
// rather than drawing blank seals.
func New(opts Options) (*Renderer, error) {
	r := &Renderer{dpi: opts.DPI, specs: map[Kind]Spec{}}
	if r.dpi == 0 {
		r.dpi = DefaultDPI
	}
	if math.IsNaN(r.dpi) || r.dpi < 72 || r.dpi > 2400 {
		return nil, fieldErr("dpi", "%g is out of range [72, 2400]", opts.DPI)
	}
	c := opts.Color
	if c == "" {
		c = DefaultColor
	}
	var err error
	if r.color, err = parseColor(c); err != nil {
		return nil, err
	}
	for k := range opts.Specs {
		if err := checkKind(k); err != nil {
			return nil, &FieldError{Field: "specs", Problem: err.(*FieldError).Problem}
		}
	}
	for _, k := range Kinds {
		s := opts.Specs[k].withDefaults(k)
		if err := s.validate(k, "specs."+string(k)); err != nil {
			return nil, err
		}
		r.specs[k] = s
	}
	path := opts.FontPath
	if path == "" {
		path = DefaultFontPath
	}
	fc, err := loadFace(path, opts.FontIndex)
	if err != nil {
		return nil, err
	}
	r.face = fc
	return r, nil
}

// FontName is the full name of the face in use, such as "AR PL UMing CN".
func (r *Renderer) FontName() string { return r.face.name }

// Spec returns the geometry used for kind k.
func (r *Renderer) Spec(k Kind) Spec { return r.specs[k] }

// Check validates s without drawing it: the same errors Draw would return.
func (r *Renderer) Check(s Seal) error {
	_, err := r.layout(s)
	return err
}

// Draw lays out and draws s. The result renders to PNG and SVG.
func (r *Renderer) Draw(s Seal) (*Drawing, error) {
	l, err := r.layout(s)
	if err != nil {
		return nil, err
	}
	return r.drawing(l), nil
}

// PNG draws s as a PNG at the configured resolution.
func (r *Renderer) PNG(s Seal) ([]byte, error) {
	d, err := r.Draw(s)
	if err != nil {
		return nil, err
	}
	return d.PNG()
}

// SVG draws s as an SVG document with its text as outlines.
func (r *Renderer) SVG(s Seal) ([]byte, error) {
	d, err := r.Draw(s)
	if err != nil {
		return nil, err
	}
	return d.SVG(), nil
}

func (r *Renderer) layout(s Seal) (*layout, error) {
	if err := checkKind(s.Kind); err != nil {
		return nil, err
	}
	spec := r.specs[s.Kind]
	l := &layout{kind: s.Kind, spec: spec, title: s.Name}
	switch s.Kind.Shape() {
	case Round:
		if err := r.round(l, s); err != nil {
			return nil, err
		}
	case Oval:
		if err := r.oval(l, s); err != nil {
			return nil, err
		}
	case Square:
		if err := r.square(l, s); err != nil {
			return nil, err
		}
	}
	if err := l.check(); err != nil {
		return nil, err
	}
	return l, nil
}

func (r *Renderer) checkCode(field, s string, minLen, maxLen int) error {
	if s == "" {
		return fieldErr(field, "empty")
	}
	n := utf8.RuneCountInString(s)
	i := 0
	for _, c := range s {
		i++
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return fieldErr(field, "character %d (%q) is not a digit or capital letter", i, c)
		}
	}
	if n < minLen || n > maxLen {
		if minLen == maxLen {
			return fieldErr(field, "%d characters, want %d", n, minLen)
		}
		return fieldErr(field, "%d characters, want %d to %d", n, minLen, maxLen)
	}
	if bad := r.face.missing(s); len(bad) > 0 {
		return fieldErr(field, "characters not in the font %s: %s", r.face.name, quoteRunes(bad))
	}
	return nil
}

// round lays out an official round seal: ring, name along the upper arc,
// star, purpose under the star, code along the lower arc.
func (r *Renderer) round(l *layout, s Seal) error {
	sp := l.spec
	R := sp.Width / 2
	rin := R - sp.Border
	purpose := s.Purpose
	if purpose == "" {
		purpose = s.Kind.defaultPurpose()
	}
	if err := r.face.checkText("name", s.Name, sp.MaxName, "on the arc"); err != nil {
		return err
	}
	if s.Kind == Special && purpose == "" {
		return fieldErr("purpose", "empty; a special seal states its purpose, such as 审计专用章")
	}
	if purpose != "" {
		if err := r.face.checkText("purpose", purpose, 12, "under the star"); err != nil {
			return err
		}
	}
	if s.Code != "" {
		if err := r.checkCode("code", s.Code, 1, 20); err != nil {
			return err
		}
	}
	if s.TaxID != "" {
		return fieldErr("tax_id", "only invoice seals carry a tax identification number")
	}

	l.shapes = append(l.shapes, append(ellipse(vec{}, R, R, true), ellipse(vec{}, rin, rin, false)...))
	l.inside = func(p vec) bool { return p.len() <= rin }
	sr := sp.Star / 2
	if sr > 0 {
		l.shapes = append(l.shapes, star(vec{}, sr))
		sb := box{c: vec{0, (sr - sr*math.Cos(deg(36))) / 2}, right: vec{1, 0}, up: vec{0, 1},
			w: 2 * sr * math.Sin(deg(72)), h: sr + sr*math.Cos(deg(36))}
		l.star = &sb
	}

	textR := rin - sp.Gap
	name, err := r.face.run("name", s.Name)
	if err != nil {
		return err
	}
	ring := &ringEdge{dist: circleEdge(rin), near: circleEdge(rin), round: true, gap: sp.Gap, weight: sp.Weight}
	cells, err := arcText(name, arc{a: textR, b: textR, ring: ring}, sp.NameHeight, sp.NameArc, sp.MinNameArc)
	if err != nil {
		return err
	}
	l.glyphs = append(l.glyphs, name.place(cells)...)
	if s.Code != "" {
		code, err := r.face.run("code", s.Code)
		if err != nil {
			return err
		}
		maxArc := math.Min(sp.CodeArc, 360-sp.NameArc-20)
		cells, err := arcText(code, arc{a: textR, b: textR, lower: true, ring: ring}, sp.CodeHeight, maxArc, 0)
		if err != nil {
			return err
		}
		l.glyphs = append(l.glyphs, code.place(cells)...)
	}
	if purpose != "" {
		pr, err := r.face.run("purpose", purpose)
		if err != nil {
			return err
		}
		// Under the star, a gap of one twentieth of the diameter between
		// the star's lower points and the top of the text.
		top := -sr*math.Cos(deg(36)) - 0.05*sp.Width
		if sr == 0 {
			top = -0.1 * sp.Width
		}
		others := boxes(l.glyphs)
		cells, err := lineText(pr, top, sp.PurposeHeight, 2*rin, func(cells []box) bool {
			return keepsClear(cells, others, sp.Gap, l.inside)
		})
		if err != nil {
			return err
		}
		l.glyphs = append(l.glyphs, pr.place(cells)...)
	}
	return nil
}

// oval lays out an invoice seal: elliptic ring, name along the upper arc,
// tax identification number across the middle, 发票专用章 below.
func (r *Renderer) oval(l *layout, s Seal) error {
	sp := l.spec
	a, b := sp.Width/2, sp.Height/2
	ai, bi := a-sp.Border, b-sp.Border
	if err := r.face.checkText("name", s.Name, sp.MaxName, "on the arc"); err != nil {
		return err
	}
	purpose := Invoice.defaultPurpose()
	if s.Purpose != "" && s.Purpose != purpose {
		return fieldErr("purpose", "an invoice seal reads %s, not %q", purpose, s.Purpose)
	}
	if s.TaxID == "" {
		return fieldErr("tax_id", "empty; an invoice seal shows the taxpayer identification number")
	}
	if err := r.checkCode("tax_id", s.TaxID, 15, 20); err != nil {
		return err
	}
	if s.Code != "" {
		return fieldErr("code", "an invoice seal has no seal code on its arc")
	}
	l.shapes = append(l.shapes, append(ellipse(vec{}, a, b, true), ellipse(vec{}, ai, bi, false)...))
	l.inside = func(p vec) bool { return (p.X/ai)*(p.X/ai)+(p.Y/bi)*(p.Y/bi) <= 1 }

	name, err := r.face.run("name", s.Name)
	if err != nil {
		return err
	}
	ring := &ringEdge{dist: ellipseEdge(ai, bi), near: ellipseNear(ai, bi), gap: sp.Gap, weight: sp.Weight}
	cells, err := arcText(name, arc{a: ai - sp.Gap, b: bi - sp.Gap, ring: ring}, sp.NameHeight, sp.NameArc, sp.MinNameArc)
	if err != nil {
		return err
	}
	l.glyphs = append(l.glyphs, name.place(cells)...)

	tax, err := r.face.run("tax_id", s.TaxID)
	if err != nil {
		return err
	}
	others := boxes(l.glyphs)
	cells, err = lineText(tax, sp.CodeHeight/2, sp.CodeHeight, sp.CodeWidth, func(cells []box) bool {
		return keepsClear(cells, others, sp.Gap/2, l.inside)
	})
	if err != nil {
		return err
	}
	l.glyphs = append(l.glyphs, tax.place(cells)...)

	pr, err := r.face.run("purpose", purpose)
	if err != nil {
		return err
	}
	others = boxes(l.glyphs)
	top := -sp.CodeHeight/2 - 0.1*sp.Height
	cells, err = lineText(pr, top, sp.PurposeHeight, 2*ai, func(cells []box) bool {
		return keepsClear(cells, others, sp.Gap/2, l.inside)
	})
	if err != nil {
		return err
	}
	l.glyphs = append(l.glyphs, pr.place(cells)...)
	return nil
}

// square lays out a personal seal: a frame and the name in columns read
// from right to left, top to bottom, as on a traditional 私章.
func (r *Renderer) square(l *layout, s Seal) error {
	sp := l.spec
	half := sp.Width / 2
	hin := half - sp.Border
	if s.Name == "" {
		return fieldErr("name", "empty")
	}
	if n := utf8.RuneCountInString(s.Name); utf8.ValidString(s.Name) && (n < 2 || n > sp.MaxName) {
		return fieldErr("name", "%d characters, a personal seal holds 2 to %d", n, sp.MaxName)
	}
	if err := r.face.checkText("name", s.Name, sp.MaxName, "in a personal seal"); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"purpose", s.Purpose}, {"code", s.Code}, {"tax_id", s.TaxID}} {
		if f.v != "" {
			return fieldErr(f.name, "a personal seal shows only the holder's name")
		}
	}
	l.shapes = append(l.shapes, append(rect(vec{-half, -half}, vec{half, half}, true), rect(vec{-hin, -hin}, vec{hin, hin}, false)...))
	l.inside = func(p vec) bool { return math.Abs(p.X) <= hin && math.Abs(p.Y) <= hin }

	name, err := r.face.run("name", s.Name)
	if err != nil {
		return err
	}
	t := hin - sp.Gap      // half the text area
	sep := 0.04 * sp.Width // between columns and rows
	col := (2*t - sep) / 2 // width of a column
	row := (2*t - sep) / 2 // height of a half-height character
	right := t - col/2     // centre of the right column
	left := -right         // centre of the left column
	up, down := t-row/2, -t+row/2
	cell := func(x, y, h float64) box {
		return box{c: vec{x, y}, right: vec{1, 0}, up: vec{0, 1}, w: col, h: h}
	}
	var cells []box
	switch len(name.runes) {
	case 2:
		cells = []box{cell(right, 0, 2*t), cell(left, 0, 2*t)}
	case 3:
		cells = []box{cell(right, 0, 2*t), cell(left, up, row), cell(left, down, row)}
	case 4:
		cells = []box{cell(right, up, row), cell(right, down, row), cell(left, up, row), cell(left, down, row)}
	default:
		return fmt.Errorf("sealimg: internal error: %d characters", len(name.runes))
	}
	l.glyphs = append(l.glyphs, name.place(cells)...)
	return nil
}
