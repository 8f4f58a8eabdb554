package ofd

import (
	"encoding/xml"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// coverageCache holds what Coverage reads once per package: OFD.xml's bodies
// and the files of each document.
type coverageCache struct {
	once      sync.Once
	bodies    []docBody
	bodiesErr error

	mu   sync.Mutex
	docs map[string]docFiles
}

type docFiles struct {
	files []string
	err   error
}

// Coverage says whether a signature protects what a reader of the package
// displays: the Document.xml of the document shown (the DocRoot of OFD.xml's
// first DocBody) and the Content.xml of every page it lists.
type Coverage struct {
	// Document is the resolved Document.xml of the document the signature
	// belongs to (the DocRoot of the DocBody whose Signatures file lists it).
	Document string
	// Displayed is the resolved Document.xml a reader shows: the DocRoot of
	// OFD.xml's first DocBody.
	Displayed string
	// Required lists Document.xml and the page files a reader may display,
	// sorted. A page whose BaseLoc a reader could take in two ways (from the
	// document's folder or from the root) requires every file it may mean.
	Required []string
	// Missing lists the required files that no Reference of the signature
	// names, sorted.
	Missing []string
	// Problem is "" when the signature covers what is displayed; otherwise a
	// sentence saying what is not covered or why coverage cannot be decided.
	Problem string
}

// OK reports whether the signature covers what a reader displays.
func (c Coverage) OK() bool { return c.Problem == "" }

// xmlDocument is Document.xml, read for its pages.
type xmlDocument struct {
	Pages []xmlPages `xml:"Pages"`
}

type xmlPages struct {
	Page []xmlPage `xml:"Page"`
}

type xmlPage struct {
	ID    string     `xml:"ID,attr"`
	Attrs []xml.Attr `xml:",any,attr"` // every BaseLoc, however written
}

// docBody is one DocBody of OFD.xml with its paths resolved.
type docBody struct {
	docRoot string   // resolved Document.xml, "" when unusable (see problem)
	problem string   // why docRoot is unusable
	lists   []string // resolved Signatures.xml paths, as Signatures finds them
}

// ofdBody is one DocBody element of OFD.xml (a child of <OFD>), as read:
// the text of each DocRoot and Signatures child, in order.
type ofdBody struct {
	name       xml.Name // namespace-resolved
	docRoots   []string
	signatures []string
}

// ofdXML is what the package's readers take from OFD.xml.
type ofdXML struct {
	root   xml.StartElement
	bodies []ofdBody
	stray  string // see strayMessage; "" when there is none
	// edits holds, when the scanner read the file, where each body's Signatures
	// reference goes (see addSignaturesRef); nil otherwise.
	edits []bodyEdit
}

// bodyEdit is where a DocBody of OFD.xml ends: its raw name and the offsets in the
// file of the end of its start tag and of the start of its end tag.
type bodyEdit struct {
	name               xml.Name
	startEnd, endStart int
}

// ofdXMLOnce reads OFD.xml once per package: Signatures, Coverage and
// PrepareSignature share the reading.
func (p *Package) ofdXMLOnce() (*ofdXML, error) {
	p.ofd.once.Do(func() {
		b, err := p.read("OFD.xml")
		if err != nil {
			p.ofd.err = err
			return
		}
		p.ofd.x, p.ofd.err = parseOFDXML(b)
	})
	return p.ofd.x, p.ofd.err
}

// parseOFDXML reads OFD.xml in one pass: each DocBody child of <OFD> with the
// text of its DocRoot and Signatures children (an element's own character
// data, as encoding/xml unmarshals it into a string), and the first DocBody
// or DocRoot out of place anywhere in the file, the root closed or not (see
// strayMessage).
func parseOFDXML(b []byte) (*ofdXML, error) {
	if x, err := scanOFDXML(b); err == nil {
		return x, nil
	}
	d := newDecoder(b)
	root, err := rootElement(d, "OFD.xml", "OFD")
	if err != nil {
		return nil, err
	}
	x := &ofdXML{root: root}
	path := []string{root.Name.Local}
	var text []byte
	var field *[]string // the DocRoot or Signatures list whose element is open
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, xmlErr("OFD.xml", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if x.stray == "" {
				x.stray = strayMessage(path, t.Name.Local, field != nil)
			}
			switch {
			case len(path) == 1 && t.Name.Local == "DocBody":
				x.bodies = append(x.bodies, ofdBody{name: t.Name})
			case len(path) == 2 && field == nil && path[1] == "DocBody" && t.Name.Local == "DocRoot":
				field, text = &x.bodies[len(x.bodies)-1].docRoots, text[:0]
			case len(path) == 2 && field == nil && path[1] == "DocBody" && t.Name.Local == "Signatures":
				field, text = &x.bodies[len(x.bodies)-1].signatures, text[:0]
			}
			path = append(path, t.Name.Local)
		case xml.CharData:
			if field != nil && len(path) == 3 {
				text = append(text, t...)
			}
		case xml.EndElement:
			if field != nil && len(path) == 3 {
				*field = append(*field, string(text))
				field = nil
			}
			path = path[:len(path)-1]
		}
		if len(path) == 0 {
			break // the root closed
		}
	}
	// Readers that search the whole file also take what follows the root.
	for x.stray == "" {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			x.stray = strayMessage(path, t.Name.Local, false)
			path = append(path, t.Name.Local)
		case xml.EndElement:
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		}
	}
	return x, nil
}

// strayMessage names a DocBody that is not a child of <OFD>, or a DocRoot that is not a
// child of such a DocBody: readers that search the whole tree for these elements take it,
// and would show another document than the one OFD.xml's structure names. It also names
// any element inside a DocRoot or Signatures element of a DocBody (nested is true): readers
// that take all the text inside (a DOM's textContent) read another path than its own text.
// path holds the local names of the element's ancestors; the result is "" when it is in
// place.
func strayMessage(path []string, local string, nested bool) string {
	switch {
	case nested:
		return fmt.Sprintf("OFD.xml holds an element <%s> inside <%s>: readers that take all the text inside %s read another path than its own text, and may show another document", local, strings.Join(path, "/"), path[2])
	case local == "DocBody" && len(path) != 1:
		return fmt.Sprintf("OFD.xml holds a DocBody inside <%s>, not directly in <OFD>: readers that search the whole file may show its document", strings.Join(path, "/"))
	case local == "DocRoot" && (len(path) != 2 || path[1] != "DocBody"):
		return fmt.Sprintf("OFD.xml holds a DocRoot inside <%s>, not directly in a DocBody: readers that search the whole file may show its document", strings.Join(path, "/"))
	}
	return ""
}

// bodies returns docBodies, read once per package.
func (p *Package) bodies() ([]docBody, error) {
	p.cov.once.Do(func() { p.cov.bodies, p.cov.bodiesErr = p.docBodies() })
	return p.cov.bodies, p.cov.bodiesErr
}

// docBodies reads OFD.xml's DocBody elements, resolving each DocRoot and each
// Signatures path the way Signatures does.
func (p *Package) docBodies() ([]docBody, error) {
	x, err := p.ofdXMLOnce()
	if err != nil {
		return nil, err
	}
	out := make([]docBody, 0, len(x.bodies))
	for i, body := range x.bodies {
		var db docBody
		if body.name.Space != x.root.Name.Space {
			// Readers that match by namespace skip this DocBody, others do
			// not: they would not agree on which document comes first.
			db.problem = fmt.Sprintf("DocBody %d of OFD.xml is in the namespace %q, not in that of <OFD> (%q): readers differ on whether it counts", i+1, body.name.Space, x.root.Name.Space)
			out = append(out, db)
			continue
		}
		var roots []string
		for _, r := range body.docRoots {
			if r = strings.TrimSpace(r); r != "" {
				roots = append(roots, r)
			}
		}
		switch len(roots) {
		case 0:
			db.problem = fmt.Sprintf("DocBody %d of OFD.xml names no DocRoot", i+1)
		case 1:
			n, err := resolve("OFD.xml", roots[0])
			switch {
			case err != nil:
				db.problem = fmt.Sprintf("the DocRoot of DocBody %d in OFD.xml: %s", i+1, errMsg(err))
			case !p.Has(n):
				db.problem = fmt.Sprintf("the DocRoot %q of DocBody %d in OFD.xml is missing from the package", roots[0], i+1)
			default:
				db.docRoot = n
			}
		default:
			db.problem = fmt.Sprintf("DocBody %d of OFD.xml names %d DocRoots (%q and %q): readers may show either", i+1, len(roots), roots[0], roots[1])
		}
		for _, ref := range body.signatures {
			ref = strings.TrimSpace(ref)
			if ref == "" {
				continue
			}
			list, _, err := p.resolveExisting("OFD.xml", ref)
			if err != nil {
				continue
			}
			if !p.Has(list) && len(roots) > 0 {
				if dr, err := resolve("OFD.xml", roots[0]); err == nil {
					if alt, err := resolve(dr, ref); err == nil && p.Has(alt) {
						list = alt
					}
				}
			}
			db.lists = append(db.lists, list)
		}
		out = append(out, db)
	}
	if x.stray != "" && len(out) > 0 && out[0].problem == "" {
		out[0].docRoot = ""
		out[0].problem = x.stray
	}
	return out, nil
}

// Coverage reports whether s protects the document a reader displays. s must
// come from this package's Signatures. A relative path to one of the signature's
// parts (Signature.xml, its seal file, its signed value) that names a file both
// from its folder and from the package root fails it too: a reader may draw the
// stamp from a file that is not the one checked.
func (p *Package) Coverage(s *Signature) Coverage {
	c := p.coverage(s)
	if s.entryReading == "" && len(s.twoReadings) == 0 {
		return c
	}
	problems := append(make([]string, 0, len(s.twoReadings)+2), s.twoReadings...)
	for _, m := range []string{s.entryReading, c.Problem} {
		if m != "" {
			problems = append(problems, m)
		}
	}
	c.Problem = strings.Join(problems, "; ")
	return c
}

func (p *Package) coverage(s *Signature) Coverage {
	var c Coverage
	bodies, err := p.bodies()
	if err != nil {
		c.Problem = "OFD.xml cannot be read: " + errMsg(err)
		return c
	}
	if len(bodies) == 0 {
		c.Problem = "OFD.xml has no DocBody, so no document is displayed"
		return c
	}
	own := -1
	for i, b := range bodies {
		for _, l := range b.lists {
			if l == s.ListPath {
				own = i
				break
			}
		}
		if own >= 0 {
			break
		}
	}
	first := bodies[0]
	c.Displayed = first.docRoot
	if own < 0 {
		c.Problem = fmt.Sprintf("no DocBody of OFD.xml names %s, the list of this signature", s.ListPath)
		return c
	}
	c.Document = bodies[own].docRoot
	switch {
	case first.problem != "":
		c.Problem = first.problem + ", so the document a reader displays is unknown"
		return c
	case bodies[own].problem != "":
		c.Problem = bodies[own].problem
		return c
	case c.Document != c.Displayed:
		c.Problem = fmt.Sprintf("a reader displays %s (the DocRoot of OFD.xml's first DocBody), but this signature belongs to %s", c.Displayed, c.Document)
		return c
	}
	p.cov.mu.Lock()
	df, ok := p.cov.docs[c.Document]
	p.cov.mu.Unlock()
	if !ok {
		df.files, df.err = p.documentFiles(c.Document)
		p.cov.mu.Lock()
		if p.cov.docs == nil {
			p.cov.docs = map[string]docFiles{}
		}
		p.cov.docs[c.Document] = df
		p.cov.mu.Unlock()
	}
	required, err := df.files, df.err
	if err != nil {
		c.Problem = errMsg(err)
		return c
	}
	c.Required = required
	named := make(map[string]bool, len(s.References))
	for _, r := range s.References {
		if r.Path != "" {
			named[r.Path] = true
		}
	}
	for _, f := range required {
		if !named[f] {
			c.Missing = append(c.Missing, f)
		}
	}
	if len(c.Missing) > 0 {
		c.Problem = fmt.Sprintf("the signature's references do not cover %s, which a reader displays", listFiles(c.Missing, 10))
	}
	return c
}

// readDocument parses the Document.xml at doc.
func (p *Package) readDocument(doc string) (*xmlDocument, error) {
	b, err := p.read(doc)
	if err != nil {
		return nil, err
	}
	if x, err := scanDocument(b); err == nil {
		return x, nil
	}
	return decodeDocument(b, doc)
}

// decodeDocument reads Document.xml with encoding/xml.
func decodeDocument(b []byte, doc string) (*xmlDocument, error) {
	d := newDecoder(b)
	root, err := rootElement(d, doc, "Document")
	if err != nil {
		return nil, err
	}
	var x xmlDocument
	if err := d.DecodeElement(&x, &root); err != nil {
		return nil, xmlErr(doc, err)
	}
	return &x, nil
}

// documentFiles returns Document.xml and the files of every page it lists,
// sorted and without duplicates.
func (p *Package) documentFiles(doc string) ([]string, error) {
	x, err := p.readDocument(doc)
	if err != nil {
		return nil, err
	}
	set := map[string]bool{doc: true}
	pages := 0
	for _, ps := range x.Pages {
		for _, pg := range ps.Page {
			pages++
			// A page may carry BaseLoc more than once (in other namespaces, or
			// repeated): readers may take any, so each must be covered.
			var locs []string
			for _, a := range pg.Attrs {
				if a.Name.Local == "BaseLoc" && a.Name.Space != "xmlns" {
					locs = append(locs, a.Value)
				}
			}
			if len(locs) == 0 {
				locs = append(locs, "")
			}
			for _, loc := range locs {
				files, err := p.pageFiles(doc, pages, pg.ID, loc)
				if err != nil {
					return nil, err
				}
				for _, f := range files {
					set[f] = true
				}
			}
		}
	}
	if pages == 0 {
		return nil, newErr(ErrFormat, doc, "the document lists no pages", nil)
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}

// pageFiles returns every package file a reader may take for a page's
// BaseLoc: resolved from the document's folder and, for a relative BaseLoc,
// from the root (readers differ); a BaseLoc naming a folder means its
// Content.xml, and one naming both a file and a folder means both. At least one
// must exist.
func (p *Package) pageFiles(doc string, n int, id, baseLoc string) ([]string, error) {
	what := fmt.Sprintf("page %d", n)
	if id = strings.TrimSpace(id); id != "" {
		what = fmt.Sprintf("page %d (ID %s)", n, id)
	}
	baseLoc = strings.TrimSpace(baseLoc)
	if baseLoc == "" {
		return nil, newErr(ErrFormat, doc, what+" has no BaseLoc, so what a reader shows for it is unknown", nil)
	}
	var cands []string
	if r, err := resolve(doc, baseLoc); err == nil {
		cands = append(cands, r)
	} else {
		return nil, newErr(ErrPath, doc, fmt.Sprintf("%s: its BaseLoc: %s", what, errMsg(err)), nil)
	}
	if !strings.HasPrefix(baseLoc, "/") {
		if r, ok := cleanPath(baseLoc); ok && r != "" && r != cands[0] {
			cands = append(cands, r)
		}
	}
	var out []string
	for _, c := range cands {
		// A name that is both a file and a folder holding Content.xml: readers may take
		// either, so both are required.
		if p.Has(c) {
			out = append(out, c)
		}
		if p.Has(c + "/Content.xml") {
			out = append(out, c+"/Content.xml")
		}
	}
	if len(out) == 0 {
		return nil, newErr(ErrNotExist, doc, fmt.Sprintf("%s: its BaseLoc %q names no file in the package", what, baseLoc), nil)
	}
	return out, nil
}

// UnsignedFiles returns, sorted, every file of the package that no Reference
// of sigs covers with a matching digest, leaving out the signature files
// themselves (each Signatures.xml, Signature.xml, SignedValue file and seal
// file that sigs name).
func (p *Package) UnsignedFiles(sigs []*Signature) []string {
	skip := map[string]bool{}
	for _, s := range sigs {
		for _, f := range []string{s.ListPath, s.Location, s.SignedValuePath, s.SealPath} {
			if f != "" {
				skip[f] = true
			}
		}
		for _, r := range s.References {
			if r.OK {
				skip[r.Path] = true
			}
		}
	}
	out := []string{}
	for _, n := range p.names {
		if !skip[n] {
			out = append(out, n)
		}
	}
	return out
}

// listFiles names up to max files, then says how many more there are.
func listFiles(files []string, max int) string {
	if len(files) <= max {
		return strings.Join(files, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(files[:max], ", "), len(files)-max)
}
