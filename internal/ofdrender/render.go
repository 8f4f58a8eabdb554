package ofdrender

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/sealimg"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/vector"
)

// Defaults for zero fields of Options.
const (
	DefaultDPI        = 96
	DefaultMaxPixels  = 40_000_000  // pixels of the page image
	DefaultMaxObjects = 200_000     // graphic objects and glyphs drawn on one page
	DefaultMaxWork    = 500_000_000 // or 30 times the page's pixels, if more
	DefaultFontPath   = sealimg.DefaultFontPath
	maxNodes          = 1_000_000 // elements of one XML file
	maxStampDepth     = 2         // OFD stamp pictures inside OFD stamp pictures
	maxPathSegments   = 200_000   // line segments of one flattened path (its stroke outline takes five times as many points)
)

// Options configures a Renderer. The zero value renders at 96 dpi with the
// default font and limits.
type Options struct {
	// DPI is the resolution of the page image, 10 to 1200.
	DPI float64
	// FontPath is the TrueType font or collection every text is drawn with
	// (a CJK face; OFD documents rarely embed their fonts), FontIndex the
	// face in a collection.
	FontPath  string
	FontIndex int
	// Limits bounds the reading of packages the renderer opens itself: seal
	// pictures of type "ofd".
	Limits ofd.Limits
	// MaxPixels bounds the page image (width × height).
	MaxPixels int
	// MaxObjects bounds the graphic objects and glyphs drawn on a page.
	MaxObjects int
	// MaxWork bounds the pixels rasterized for a page over all its
	// objects, so that a page of many large objects cannot take minutes.
	// Zero means DefaultMaxWork or 30 times the page's pixels, whichever is
	// more (some seconds of drawing).
	MaxWork int64
}

// Renderer draws OFD pages. It is safe for concurrent use.
type Renderer struct {
	opt  Options
	font *sfnt.Font
	upem float64

	mu     sync.Mutex
	glyphs map[sfnt.GlyphIndex]sfnt.Segments
}

// New loads the font and checks the options.
func New(o Options) (*Renderer, error) {
	if o.DPI == 0 {
		o.DPI = DefaultDPI
	}
	if math.IsNaN(o.DPI) || o.DPI < 10 || o.DPI > 1200 {
		return nil, newErr(errs.InvalidInput, "", fmt.Sprintf("dpi %g is out of range [10, 1200]", o.DPI), nil)
	}
	if o.FontPath == "" {
		o.FontPath = DefaultFontPath
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxObjects <= 0 {
		o.MaxObjects = DefaultMaxObjects
	}
	data, err := os.ReadFile(o.FontPath)
	if err != nil {
		return nil, newErr(errs.Config, "", "cannot read the font (install fonts-arphic-uming or give a font path)", err)
	}
	if fixed, err := sealimg.AlignFont(data); err == nil {
		data = fixed
	}
	coll, err := opentype.ParseCollection(data)
	if err != nil {
		return nil, newErr(errs.Config, "", o.FontPath+" is not a TrueType/OpenType font", err)
	}
	if o.FontIndex < 0 || o.FontIndex >= coll.NumFonts() {
		return nil, newErr(errs.Config, "", fmt.Sprintf("font index %d is out of range: %s holds %d faces", o.FontIndex, o.FontPath, coll.NumFonts()), nil)
	}
	f, err := coll.Font(o.FontIndex)
	if err != nil {
		return nil, newErr(errs.Config, "", o.FontPath, err)
	}
	return &Renderer{opt: o, font: f, upem: float64(f.UnitsPerEm()), glyphs: map[sfnt.GlyphIndex]sfnt.Segments{}}, nil
}

// DPI is the resolution pages are rendered at.
func (r *Renderer) DPI() float64 { return r.opt.DPI }

// Page is a rendered page.
type Page struct {
	Image *image.RGBA
	// WidthMM and HeightMM are the page's size (its PhysicalBox).
	WidthMM, HeightMM float64
	// Notes lists what was not drawn, or drawn approximately, and why.
	Notes []string
}

// RenderPage renders page n (1-based, in the order of the displayed
// document's Pages) of p on white, with the stamps of p's signatures that
// lie on it.
func (r *Renderer) RenderPage(p *ofd.Package, n int) (*Page, error) {
	return r.render(p, n, r.opt.DPI, color.NRGBA{255, 255, 255, 255}, nil)
}

// budget is what a page may still cost: the page and the OFD pictures of
// its stamps share one.
type budget struct {
	objects int
	work    int64
	maxWork int64
}

// job is the rendering of one page.
type job struct {
	r       *Renderer
	p       *ofd.Package
	img     *image.RGBA
	dev     aff // page millimetres → device pixels
	scale   float64
	depth   int
	b       *budget
	notes   []string
	noted   map[string]bool
	res     *resources
	buf     sfnt.Buffer
	z       vector.Rasterizer
	maskBuf []uint8
}

func (j *job) note(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	if j.noted[s] || len(j.notes) >= 100 {
		return
	}
	j.noted[s] = true
	j.notes = append(j.notes, s)
}

// spend charges n rasterized pixels against MaxWork.
func (j *job) spend(n int64) error {
	j.b.work += n
	if j.b.work > j.b.maxWork {
		return newErr(errs.LimitExceeded, "", fmt.Sprintf("the page takes more than %d pixels of drawing (the limit)", j.b.maxWork), nil)
	}
	return nil
}

// object counts one object or glyph against MaxObjects.
func (j *job) object() error {
	j.b.objects++
	if j.b.objects > j.r.opt.MaxObjects {
		return newErr(errs.LimitExceeded, "", fmt.Sprintf("the page draws more than %d objects and glyphs (the limit)", j.r.opt.MaxObjects), nil)
	}
	return nil
}

// pageRef is a page of the displayed document.
type pageRef struct {
	id      string
	content string // resolved Content.xml
	area    box    // the document's default PhysicalBox
	doc     string
	res     []string          // the document's resource files
	tpls    map[string]string // TemplatePage ID → resolved Content.xml
}

// render renders page n of p at dpi on bg; parent is the page whose stamp
// shows p, nil for a page of its own.
func (r *Renderer) render(p *ofd.Package, n int, dpi float64, bg color.NRGBA, parent *job) (*Page, error) {
	if p == nil {
		return nil, newErr(errs.InvalidInput, "", "no package", nil)
	}
	lim := r.limits()
	ref, err := findPage(p, n, lim)
	if err != nil {
		return nil, err
	}
	pageXML, err := readXML(p, ref.content, "Page", lim)
	if err != nil {
		return nil, err
	}
	area := ref.area
	if a := pageXML.child("Area"); a != nil {
		if pb := a.childText("PhysicalBox"); pb != "" {
			b, err := parseBox(pb)
			if err != nil {
				return nil, newErr(errs.Malformed, ref.content, "its PhysicalBox: "+err.Error(), nil)
			}
			area = b
		}
	}
	if area.w <= 0 || area.h <= 0 || area.w > 10000 || area.h > 10000 {
		return nil, newErr(errs.Malformed, ref.content, fmt.Sprintf("the page is %g × %g mm, not a usable size", area.w, area.h), nil)
	}
	k := dpi / 25.4
	wpx, hpx := int(math.Ceil(area.w*k-1e-6)), int(math.Ceil(area.h*k-1e-6))
	wpx, hpx = max(wpx, 1), max(hpx, 1)
	if int64(wpx)*int64(hpx) > int64(r.opt.MaxPixels) {
		return nil, newErr(errs.LimitExceeded, ref.content, fmt.Sprintf("the page would be %d × %d pixels at %g dpi, more than the limit of %d pixels", wpx, hpx, dpi, r.opt.MaxPixels), nil)
	}
	j := &job{r: r, p: p, scale: k, noted: map[string]bool{}, b: &budget{},
		img: image.NewRGBA(image.Rect(0, 0, wpx, hpx)),
		dev: translate(-area.x, -area.y).then(scale(k, k))}
	if parent != nil {
		j.depth, j.b = parent.depth+1, parent.b
	} else if j.b.maxWork = r.opt.MaxWork; j.b.maxWork <= 0 {
		j.b.maxWork = max(DefaultMaxWork, 30*int64(wpx)*int64(hpx))
	}
	if err := j.spend(int64(wpx) * int64(hpx)); err != nil {
		return nil, err
	}
	if bg.A != 0 {
		draw.Draw(j.img, j.img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	}
	res := ref.res
	for _, pr := range pageXML.all("PageRes") {
		if loc := strings.TrimSpace(string(pr.text)); loc != "" {
			if f, err := resolve(ref.content, loc); err == nil {
				res = append(res, f)
			}
		}
	}
	j.res = loadResources(j, res, lim)
	// Template pages go under the page's content, or over it with ZOrder
	// Foreground; a template's own templates are not followed.
	var over []*node
	var overFiles []string
	for _, t := range pageXML.all("Template") {
		f, ok := ref.tpls[t.attr("TemplateID")]
		if !ok {
			j.note("page %d: template %q is not among the document's template pages", n, clip(t.attr("TemplateID")))
			continue
		}
		tx, err := readXML(p, f, "Page", lim)
		if err != nil {
			if errs.KindOf(err) == errs.LimitExceeded {
				return nil, err
			}
			j.note("page %d: template %s not drawn: %v", n, f, err)
			continue
		}
		if t.attr("ZOrder") == "Foreground" {
			over, overFiles = append(over, tx), append(overFiles, f)
			continue
		}
		if err := j.content(tx, f); err != nil {
			return nil, err
		}
	}
	if err := j.content(pageXML, ref.content); err != nil {
		return nil, err
	}
	for i, tx := range over {
		if err := j.content(tx, overFiles[i]); err != nil {
			return nil, err
		}
	}
	if err := j.stamps(ref.id, n); err != nil {
		return nil, err
	}
	return &Page{Image: j.img, WidthMM: area.w, HeightMM: area.h, Notes: j.notes}, nil
}

func (r *Renderer) limits() ofd.Limits {
	l := r.opt.Limits
	if l.MaxXMLDepth <= 0 {
		l.MaxXMLDepth = ofd.DefaultMaxXMLDepth
	}
	return l
}

// readXML reads and parses a package file.
func readXML(p *ofd.Package, name, root string, lim ofd.Limits) (*node, error) {
	b, err := p.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return parseXML(b, name, root, lim.MaxXMLDepth, maxNodes)
}

// resolve resolves ref as written in the package file base: from the root
// with a leading "/", else from base's folder.
func resolve(base, ref string) (string, error) {
	ref = strings.ReplaceAll(strings.TrimSpace(ref), `\`, "/")
	if ref == "" {
		return "", newErr(errs.BadPath, base, "an empty path is given where a file is expected", nil)
	}
	full := ref
	if !strings.HasPrefix(ref, "/") {
		full = path.Join(path.Dir(base), ref)
	}
	full = strings.TrimPrefix(path.Clean(strings.TrimPrefix(full, "/")), "/")
	if full == "." || full == ".." || strings.HasPrefix(full, "../") {
		return "", newErr(errs.BadPath, base, fmt.Sprintf("the path %q leaves the package root", clip(ref)), nil)
	}
	return full, nil
}

// existing resolves ref against base and, when that file is absent, from the
// root (producers forget the leading slash); a folder means its Content.xml.
func existing(p *ofd.Package, base, ref string) (string, error) {
	n, err := resolve(base, ref)
	if err != nil {
		return "", err
	}
	cands := []string{n}
	if alt, err := resolve("", strings.TrimPrefix(strings.TrimSpace(ref), "/")); err == nil && alt != n {
		cands = append(cands, alt)
	}
	for _, c := range cands {
		if p.Has(c) {
			return c, nil
		}
		if p.Has(c + "/Content.xml") {
			return c + "/Content.xml", nil
		}
	}
	return "", newErr(errs.FileMissing, base, fmt.Sprintf("%q names no file in the package", clip(ref)), nil)
}

// findPage finds page n of the document OFD.xml's first DocBody names.
func findPage(p *ofd.Package, n int, lim ofd.Limits) (*pageRef, error) {
	if n < 1 {
		return nil, newErr(errs.InvalidInput, "", fmt.Sprintf("page %d: pages are numbered from 1", n), nil)
	}
	root, err := readXML(p, "OFD.xml", "OFD", lim)
	if err != nil {
		return nil, err
	}
	body := root.child("DocBody")
	if body == nil || body.childText("DocRoot") == "" {
		return nil, newErr(errs.Malformed, "OFD.xml", "no DocBody with a DocRoot: the package holds no document", nil)
	}
	doc, err := resolve("OFD.xml", body.childText("DocRoot"))
	if err != nil {
		return nil, err
	}
	d, err := readXML(p, doc, "Document", lim)
	if err != nil {
		return nil, err
	}
	ref := &pageRef{doc: doc, area: box{0, 0, 210, 297}, tpls: map[string]string{}}
	if cd := d.child("CommonData"); cd != nil {
		for _, t := range cd.all("TemplatePage") {
			if loc := t.attr("BaseLoc"); loc != "" && t.attr("ID") != "" {
				if f, err := existing(p, doc, loc); err == nil {
					ref.tpls[t.attr("ID")] = f
				}
			}
		}
		if pa := cd.child("PageArea"); pa != nil {
			if b, err := parseBox(pa.childText("PhysicalBox")); err == nil {
				ref.area = b
			}
		}
		for _, name := range []string{"DocumentRes", "PublicRes"} {
			for _, e := range cd.all(name) {
				if f, err := resolve(doc, string(e.text)); err == nil {
					ref.res = append(ref.res, f)
				}
			}
		}
	}
	count := 0
	for _, ps := range d.all("Pages") {
		for _, pg := range ps.all("Page") {
			count++
			if count != n {
				continue
			}
			ref.id = pg.attr("ID")
			loc := pg.attr("BaseLoc")
			if loc == "" {
				return nil, newErr(errs.Malformed, doc, fmt.Sprintf("page %d has no BaseLoc", n), nil)
			}
			if ref.content, err = existing(p, doc, loc); err != nil {
				return nil, err
			}
			return ref, nil
		}
	}
	if count == 0 {
		return nil, newErr(errs.Malformed, doc, "the document lists no pages", nil)
	}
	return nil, newErr(errs.InvalidInput, doc, fmt.Sprintf("page %d is out of range: the document has %d pages", n, count), nil)
}

// content draws the layers of a page's (or template's) Content.
func (j *job) content(pageXML *node, file string) error {
	if c := pageXML.child("Content"); c != nil {
		for _, layer := range c.all("Layer") {
			if err := j.block(layer, file); err != nil {
				return err
			}
		}
	}
	return nil
}

// block draws the objects of a layer or page block.
func (j *job) block(e *node, file string) error {
	for _, o := range e.kids {
		if o.attr("Visible") == "false" {
			continue
		}
		var err error
		switch o.name {
		case "PathObject":
			err = j.pathObject(o, file)
		case "TextObject":
			err = j.textObject(o, file)
		case "ImageObject":
			err = j.imageObject(o, file)
		case "PageBlock":
			err = j.block(o, file) // nesting is bounded by the XML depth limit
		case "CompositeObject":
			j.note("%s: composite objects are not drawn", file)
		}
		if err != nil {
			if errors.Is(err, errs.LimitExceeded) {
				return err
			}
			j.note("%s: object %s not drawn: %v", file, o.attr("ID"), err)
		}
	}
	return nil
}

// objectMatrix maps an object's own coordinates to device pixels: its CTM,
// then its Boundary's origin on the page.
func (j *job) objectMatrix(o *node) (aff, box, error) {
	b, err := parseBox(o.attr("Boundary"))
	if err != nil {
		return aff{}, box{}, fmt.Errorf("its Boundary: %v", err)
	}
	ctm, err := parseCTM(o.attr("CTM"))
	if err != nil {
		return aff{}, box{}, fmt.Errorf("its CTM: %v", err)
	}
	return ctm.then(translate(b.x, b.y)).then(j.dev), b, nil
}

// pathObject draws a PathObject: fill, then stroke.
func (j *job) pathObject(o *node, file string) error {
	if err := j.object(); err != nil {
		return err
	}
	m, _, err := j.objectMatrix(o)
	if err != nil {
		return err
	}
	dp := j.res.drawParam(o.attr("DrawParam"))
	stroke := o.attr("Stroke") != "false"
	fill := o.attr("Fill") == "true"
	b := &pathBuilder{m: m, scale: m.norm(), max: maxPathSegments}
	if err := b.abbreviated(o.childText("AbbreviatedData")); err != nil {
		return err
	}
	if fill {
		c := j.res.color(o.child("FillColor"), dp.fill, color.NRGBA{0, 0, 0, 255})
		if o.attr("Rule") == "Even-Odd" {
			j.note("%s: even-odd fill rule drawn as non-zero", file)
		}
		if err := j.fill(b.subs, c, j.img.Bounds()); err != nil {
			return err
		}
	}
	if stroke {
		lw := dp.lineWidth
		if v := o.attr("LineWidth"); v != "" {
			if x, err := numbers(v, 1); err == nil && x[0] >= 0 {
				lw = x[0]
			}
		}
		c := j.res.color(o.child("StrokeColor"), dp.stroke, color.NRGBA{0, 0, 0, 255})
		w := math.Max(lw*m.norm(), 0.7)
		if err := j.fill(strokeOutline(b.subs, w), c, j.img.Bounds()); err != nil {
			return err
		}
	}
	return nil
}
