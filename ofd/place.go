package ofd

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"

	"github.com/eseal/eseal/errs"
)

// physicalBox reads the PhysicalBox of file's root element: Area/PhysicalBox
// of a page, CommonData/PageArea/PhysicalBox of a document. ok is false when
// it has none. It reads only up to the element that must follow (a page's
// Content, a document's Pages).
func (p *Package) physicalBox(file, root string) (box [4]float64, ok bool, err error) {
	b, err := p.read(file)
	if err != nil {
		return box, false, err
	}
	if box, ok, err := scanPhysicalBox(b, file, root); err != errFallback {
		return box, ok, err
	}
	return decodePhysicalBox(b, file, root)
}

// decodePhysicalBox is physicalBox with encoding/xml.
func decodePhysicalBox(b []byte, file, root string) (box [4]float64, ok bool, err error) {
	want, stop := []string{"Area", "PhysicalBox"}, "Content"
	if root == "Document" {
		want, stop = []string{"CommonData", "PageArea", "PhysicalBox"}, "Pages"
	}
	d := newDecoder(b)
	if _, err := rootElement(d, file, root); err != nil {
		return box, false, err
	}
	var path []string
	var text []byte
	for {
		tok, err := d.RawToken()
		if err != nil {
			return box, false, xmlErr(file, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(path) == 0 && t.Name.Local == stop {
				return box, false, nil
			}
			path = append(path, t.Name.Local)
			text = text[:0]
		case xml.CharData:
			if len(path) == len(want) && len(text) < 1024 {
				text = append(text, t...)
			}
		case xml.EndElement:
			if len(path) == 0 {
				return box, false, nil // the root closed
			}
			if slices.Equal(path, want) {
				return pageBox(file, string(text))
			}
			path = path[:len(path)-1]
		}
	}
}

// pageBox parses a PhysicalBox's text.
func pageBox(file, s string) ([4]float64, bool, error) {
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
