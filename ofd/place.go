package ofd

import (
	"fmt"
	"strconv"

	"github.com/eseal/eseal/errs"
)

// xmlPageArea is the size of a page (Content.xml's root) or of every page
// (Document.xml's CommonData).
type xmlPageArea struct {
	Area struct {
		PhysicalBox string `xml:"PhysicalBox"`
	} `xml:"Area"`
	CommonData struct {
		PageArea struct {
			PhysicalBox string `xml:"PhysicalBox"`
		} `xml:"PageArea"`
	} `xml:"CommonData"`
}

// physicalBox reads the PhysicalBox of file's root element: Area (a page) or
// CommonData/PageArea (a document). ok is false when it has none.
func (p *Package) physicalBox(file, root string) (box [4]float64, ok bool, err error) {
	b, err := p.read(file)
	if err != nil {
		return box, false, err
	}
	d := newDecoder(b)
	start, err := rootElement(d, file, root)
	if err != nil {
		return box, false, err
	}
	var x xmlPageArea
	if err := d.DecodeElement(&x, &start); err != nil {
		return box, false, xmlErr(file, err)
	}
	s := x.Area.PhysicalBox
	if root == "Document" {
		s = x.CommonData.PageArea.PhysicalBox
	}
	if s == "" {
		return box, false, nil
	}
	box, problem := parseBox(s)
	if problem != "" || box[2] <= 0 || box[3] <= 0 {
		return box, false, newErr(ErrFormat, file, fmt.Sprintf("the PhysicalBox %q is not a page size (x y width height, in mm)", clipString(s, 80)), nil)
	}
	return box, true, nil
}

// pageSize returns the width and height (mm) of page n: its own
// Area/PhysicalBox, else the document's CommonData/PageArea.
func (p *Package) pageSize(doc string, n int, pg pageInfo) (w, h float64, err error) {
	file, err := p.pageContent(doc, n, pg)
	if err != nil {
		return 0, 0, err
	}
	box, ok, err := p.physicalBox(file, "Page")
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		if box, ok, err = p.physicalBox(doc, "Document"); err != nil {
			return 0, 0, err
		}
	}
	if !ok {
		return 0, 0, newErr(ErrFormat, doc, fmt.Sprintf("page %d has no size: neither its Area nor the document's PageArea gives a PhysicalBox", n), nil)
	}
	return box[2], box[3], nil
}

// placeRiding cuts the stamp into n = To−From+1 vertical strips of width W/n
// and shows strip k on page From+k, at the page's right edge.
//
// This follows what OFD readers do with a StampAnnot's Clip (ofdrw's
// RidingStampPos writes it, its renderers read it): the seal picture is drawn
// scaled to the whole Boundary, then cut to Clip, whose x and y are relative
// to the Boundary's top-left corner and whose width and height are in
// millimetres like the Boundary's. So each StampAnnot's Boundary is the whole
// stamp, W × H, placed so that strip k falls on the last W/n millimetres of
// the page: Boundary x = pageWidth − (k+1)·W/n, Clip = "k·W/n 0 W/n H". The
// stamp is centred vertically on the page, or on Placement.Y when it is given.
func (p *Package) placeRiding(o SignOptions, doc string, pages []pageInfo) ([]annot, error) {
	pl := o.Placement
	if pl.RidingTo > len(pages) {
		return nil, newErr(errs.InvalidInput, doc, fmt.Sprintf("the cross-page range %d-%d is out of range: the document has %d page(s)", pl.RidingFrom, pl.RidingTo, len(pages)), nil)
	}
	n := pl.RidingTo - pl.RidingFrom + 1
	strip := o.Width / float64(n)
	out := make([]annot, 0, n)
	for k := 0; k < n; k++ {
		num := pl.RidingFrom + k
		pg, err := p.page(doc, pages, num)
		if err != nil {
			return nil, err
		}
		w, h, err := p.pageSize(doc, num, pg)
		if err != nil {
			return nil, err
		}
		y := h/2 - o.Height/2
		if pl.Y != 0 {
			if pl.Y > h {
				return nil, newErr(errs.InvalidInput, doc, fmt.Sprintf("the cross-page seal's centre y = %v mm is below page %d, which is %v mm high", pl.Y, num, h), nil)
			}
			y = pl.Y - o.Height/2
		}
		out = append(out, annot{
			pageID: pg.id,
			box:    [4]float64{w - float64(k+1)*strip, y, o.Width, o.Height},
			clip:   mm(float64(k)*strip) + " 0 " + mm(strip) + " " + mm(o.Height),
		})
	}
	return out, nil
}

// checkOnPage refuses a stamp centre outside the page.
func (p *Package) checkOnPage(doc string, n int, pg pageInfo, x, y float64) error {
	w, h, err := p.pageSize(doc, n, pg)
	if err != nil {
		return nil // the size is unknown: a position cannot be checked against it
	}
	if x > w || y > h {
		return newErr(errs.InvalidInput, doc, fmt.Sprintf("the position %s, %s mm is off page %d, which is %s × %s mm", num(x), num(y), n, num(w), num(h)), nil)
	}
	return nil
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
