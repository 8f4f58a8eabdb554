package ofd

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ses"
)

// OIDSM2Sign is the object identifier of the SM2 signature algorithm with SM3
// (SM3withSM2), written as Signature.xml's SignatureMethod.
const OIDSM2Sign = "1.2.156.10197.1.501"

// nsOFD is the OFD namespace, written into the files the writer creates.
const nsOFDURI = "http://www.ofdspec.org/2016"

// Placement says where the stamp goes. Exactly one of: Page (+X, Y), Keyword, Riding.
type Placement struct {
	Page int     // 1-based page number in document order
	X, Y float64 // the stamp's centre on that page, millimetres from the page's top-left
	// Keyword centres the stamp on the first occurrence of this text (Page > 0: on that page only).
	Keyword string
	// RidingFrom and RidingTo ask for a cross-page seal (骑缝章) over pages
	// From..To (1-based, From < To).
	RidingFrom, RidingTo int
}

// Provider is Signature.xml's Provider element.
type Provider struct{ Name, Version, Company string }

// SignOptions says how to add a seal signature.
type SignOptions struct {
	Doc       int // document index in OFD.xml (0: the first)
	Placement Placement
	// Width and Height are the stamp's size in millimetres (the seal
	// picture's width and height).
	Width, Height float64
	// Time is the SignatureDateTime (written in UTC as "2006-01-02T15:04:05Z");
	// zero means now.
	Time time.Time
	// Provider is written as Signature.xml's Provider; the zero value means
	// {Name: "eseal", Version: "1"}.
	Provider Provider
	// ProtectSignatures protects Signatures.xml too; the package then refuses later signatures.
	ProtectSignatures bool
	// Seal, when not nil, is the DER seal (.esl), written as Sign_N/Seal.esl and protected.
	Seal []byte
	// Force signs a package even when an earlier signature's references no
	// longer match its files (that signature stays broken). It never
	// overrides a Signatures.xml that an earlier signature protects.
	Force bool
}

// Draft is a signature being added: Signature.xml is final, its signed value
// is not yet known. A Draft is not changed by Finish and may be finished from
// several goroutines.
type Draft struct {
	p         *Package
	time      time.Time
	dir       string            // the new Sign_N folder, package path
	xml       []byte            // Signature.xml
	digest    []byte            // SM3 of xml
	changed   map[string][]byte // package path → new bytes of an existing file
	added     []string          // files the package did not have, in the order written
	valuePath string            // SignedValue.dat, package path
	sealPath  string            // Seal.esl, package path, "" when not written
}

// annot is one StampAnnot to write.
type annot struct {
	pageID string
	box    [4]float64 // x, y, w, h in mm
	clip   string     // Clip attribute, "" for none
}

// PrepareSignature builds the new signature's Signature.xml for the package p
// (refusing what cannot be signed: no pages, page out of range, keyword
// absent, Signatures.xml protected by an earlier signature, a package that
// fails the read-side limits).
func (p *Package) PrepareSignature(o SignOptions) (*Draft, error) {
	if len(p.rejected) > 0 {
		return nil, newErr(ErrPath, "", fmt.Sprintf("the package holds an entry named %q, which leaves the package root or has no name; such a package cannot be signed", p.rejected[0]), nil)
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	bodies, err := p.bodies()
	if err != nil {
		return nil, err
	}
	if o.Doc < 0 || o.Doc >= len(bodies) {
		return nil, newErr(errs.InvalidInput, "OFD.xml", fmt.Sprintf("document %d does not exist: OFD.xml has %d DocBody elements (documents are counted from 0)", o.Doc, len(bodies)), nil)
	}
	body := bodies[o.Doc]
	if body.problem != "" {
		return nil, newErr(ErrFormat, "OFD.xml", body.problem, nil)
	}
	doc := body.docRoot
	pages, err := p.docPages(doc)
	if err != nil {
		return nil, err
	}
	annots, err := p.place(o, doc, pages)
	if err != nil {
		return nil, err
	}

	d := &Draft{p: p, time: o.Time.UTC().Truncate(time.Second), changed: map[string][]byte{}}
	if o.Time.IsZero() {
		d.time = time.Now().UTC().Truncate(time.Second)
	}

	// The list of signatures of this document: existing, or new beside Document.xml.
	var list string
	newList := len(body.lists) == 0
	taken := p.foldedNames()
	if newList {
		if x, err := p.ofdXMLOnce(); err == nil && o.Doc < len(x.bodies) && len(x.bodies[o.Doc].signatures) > 0 {
			// A second Signatures element would go unseen by readers that take the first.
			return nil, newErr(ErrFormat, "OFD.xml", fmt.Sprintf("DocBody %d has a Signatures element naming no usable list (%q): a signature added beside it would go unseen by readers that take the first", o.Doc+1, clipString(x.bodies[o.Doc].signatures[0], 200)), nil)
		}
		list = joinPath(path.Dir(doc), "Signs/Signatures.xml")
		if other := taken.other(list); other != "" {
			return nil, newErr(ErrFormat, other, fmt.Sprintf("the package holds this file, whose name readers may take for %s, the list of signatures the new signature needs: such a package cannot be signed", list), nil)
		}
	} else {
		list = body.lists[0]
		if !p.Has(list) {
			return nil, newErr(ErrNotExist, list, "OFD.xml names this Signatures.xml, but it is missing from the package", nil)
		}
	}
	allLists := map[string]bool{list: true}
	for _, b := range bodies {
		for _, l := range b.lists {
			allLists[l] = true
		}
	}
	if err := p.checkEarlier(list, newList, o.Force); err != nil {
		return nil, err
	}

	// The new signature's folder and ID.
	base := path.Dir(list)
	for n := 0; ; n++ {
		cand := joinPath(base, "Sign_"+strconv.Itoa(n))
		if !p.Has(cand) && !p.hasFolder(cand) &&
			!taken.any(cand, cand+"/Signature.xml", cand+"/SignedValue.dat", cand+"/Seal.esl") {
			d.dir = cand
			break
		}
	}
	sigPath := d.dir + "/Signature.xml"
	d.valuePath = d.dir + "/SignedValue.dat"
	sealPath := ""
	if o.Seal != nil {
		sealPath = d.dir + "/Seal.esl"
	}
	d.sealPath = sealPath

	// Signatures.xml, and OFD.xml when it gains its reference.
	if newList {
		ofdXML, err := p.read("OFD.xml")
		if err != nil {
			return nil, err
		}
		var nb []byte
		if x, _ := p.ofdXMLOnce(); x != nil && o.Doc < len(x.edits) {
			// Where the reference goes was found when OFD.xml was read.
			e := x.edits[o.Doc]
			nb = insertInto(ofdXML, e.name, e.startEnd, e.endStart, signaturesRef(e.name, "/"+list))
		} else if nb, err = addSignaturesRef(ofdXML, o.Doc, "/"+list); err != nil {
			return nil, err
		}
		d.changed["OFD.xml"] = nb
		lb := newSignaturesXML(1, "/"+sigPath)
		if p.Has(list) {
			d.changed[list] = lb // a stray file OFD.xml does not name
		} else {
			d.added = append(d.added, list)
			d.changed[list] = lb
		}
	} else {
		lb, err := p.read(list)
		if err != nil {
			return nil, err
		}
		nb, err := addSignatureEntry(lb, list, "/"+sigPath)
		if err != nil {
			return nil, err
		}
		d.changed[list] = nb
	}
	d.added = append(d.added, sigPath)
	if sealPath != "" {
		d.added = append(d.added, sealPath)
		d.changed[sealPath] = bytes.Clone(o.Seal) // the caller may reuse its slice before Finish
	}

	// What the signature protects: every file but the lists of signatures
	// (unless asked), Signature.xml itself and the value not yet known.
	protect := make([]string, 0, len(p.names)+2)
	for _, n := range p.names {
		if allLists[n] && !(o.ProtectSignatures && n == list) {
			continue
		}
		protect = append(protect, n)
	}
	for _, n := range d.added {
		if n == sigPath || (n == list && !o.ProtectSignatures) || p.Has(n) {
			continue
		}
		protect = append(protect, n)
	}
	sort.Strings(protect)
	refs := make([]xmlRef, 0, len(protect))
	for _, n := range protect {
		var sum []byte
		if b, ok := d.changed[n]; ok && n == sealPath {
			sum = sealDigests.sum(b)
		} else if ok {
			s := sm3.Sum(b)
			sum = s[:]
		} else if sum, err = p.sm3Of(n); err != nil {
			return nil, err
		}
		refs = append(refs, xmlRef{"/" + n, sum})
	}

	prov := o.Provider
	if prov == (Provider{}) {
		prov = Provider{Name: "eseal", Version: "1"}
	}
	d.xml = signatureXMLBytes(prov, d.time, refs, annots, sealPath, d.valuePath)
	s := sm3.Sum(d.xml)
	d.digest = s[:]
	d.changed[sigPath] = d.xml
	return d, nil
}

// check refuses inconsistent options.
func (o *SignOptions) check() error {
	bad := func(msg string) error { return newErr(errs.InvalidInput, "", msg, nil) }
	if !finite(o.Width) || !finite(o.Height) || o.Width <= 0 || o.Height <= 0 {
		return bad(fmt.Sprintf("the stamp's size %v × %v mm is not a positive width and height", o.Width, o.Height))
	}
	if o.Width > 10000 || o.Height > 10000 {
		return bad(fmt.Sprintf("the stamp's size %v × %v mm is larger than any page", o.Width, o.Height))
	}
	if o.Provider != (Provider{}) && strings.TrimSpace(o.Provider.Name) == "" {
		return bad("the Provider has no Name (Signature.xml requires ProviderName)")
	}
	if o.Seal != nil && len(o.Seal) == 0 {
		return bad("the seal to store as Seal.esl is empty")
	}
	pl := o.Placement
	riding := pl.RidingFrom != 0 || pl.RidingTo != 0
	keyword := pl.Keyword != ""
	switch {
	case riding && keyword:
		return bad("the placement gives both a keyword and a cross-page range; give one")
	case riding:
		if pl.Page != 0 || pl.X != 0 {
			return bad("a cross-page seal takes a page range (RidingFrom, RidingTo) and at most a height Y, not a page or an X")
		}
		if !finite(pl.Y) || pl.Y < 0 {
			return bad(fmt.Sprintf("the cross-page seal's centre y = %v mm is not on a page", pl.Y))
		}
		if pl.RidingFrom < 1 || pl.RidingTo <= pl.RidingFrom {
			return bad(fmt.Sprintf("the cross-page range %d-%d is not two page numbers from 1 with From < To", pl.RidingFrom, pl.RidingTo))
		}
	case keyword:
		if pl.X != 0 || pl.Y != 0 {
			return bad("a keyword placement takes no position: the stamp is centred on the keyword")
		}
		if pl.Page < 0 {
			return bad(fmt.Sprintf("page %d is not a page number (pages count from 1)", pl.Page))
		}
		if strings.TrimSpace(pl.Keyword) == "" || len(pl.Keyword) > 1000 {
			return bad("the keyword is blank or longer than 1000 bytes")
		}
	default:
		if pl.Page < 1 {
			return bad(fmt.Sprintf("the placement names no page (page %d; pages count from 1), keyword or cross-page range", pl.Page))
		}
		if !finite(pl.X) || !finite(pl.Y) || pl.X < 0 || pl.Y < 0 {
			return bad(fmt.Sprintf("the position %v, %v mm is not on a page (millimetres from the top-left, not negative)", pl.X, pl.Y))
		}
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Path returns the absolute path of Signature.xml, e.g.
// "/Doc_0/Signs/Sign_1/Signature.xml": the SES propertyInfo.
func (d *Draft) Path() string { return "/" + d.dir + "/Signature.xml" }

// SignatureXML returns the exact bytes stored as Signature.xml.
func (d *Draft) SignatureXML() []byte { return bytes.Clone(d.xml) }

// Digest returns the SM3 of SignatureXML(): the SES dataHash.
func (d *Draft) Digest() []byte { return bytes.Clone(d.digest) }

// Finish returns the new package: the input's entries copied without
// recompressing, plus Signature.xml, SignedValue.dat (signedValue, a DER
// SES_Signature whose dataHash must equal Digest() and propertyInfo Path():
// checked), Seal.esl if asked, and Signatures.xml (new or rewritten; OFD.xml
// rewritten only when it gains its <ofd:Signatures> reference).
func (d *Draft) Finish(signedValue []byte) ([]byte, error) {
	sig, err := ses.ParseSignature(signedValue)
	if err != nil {
		return nil, newErr(errs.InvalidInput, d.valuePath, "the signed value is not a readable SES_Signature", err)
	}
	if !bytes.Equal(sig.TBS.DataHash, d.digest) {
		return nil, newErr(errs.InvalidInput, d.valuePath, "the signed value's dataHash is not the SM3 digest of this Signature.xml (it signs another document)", nil)
	}
	if sig.TBS.PropertyInfo != d.Path() {
		return nil, newErr(errs.InvalidInput, d.valuePath, fmt.Sprintf("the signed value's propertyInfo is %q, not %q, the path of this Signature.xml", clipString(sig.TBS.PropertyInfo, 200), d.Path()), nil)
	}

	p := d.p
	var buf bytes.Buffer
	buf.Grow(int(min(d.finishSize(len(signedValue)), 64<<20)))
	w := zip.NewWriter(&buf)
	w.RegisterCompressor(zip.Deflate, fastDeflate)
	for _, n := range p.order {
		if b, ok := d.changed[n]; ok {
			if err := d.writeNew(w, n, b); err != nil {
				return nil, err
			}
			continue
		}
		if err := copyRaw(w, n, p.files[n], p.raw[n]); err != nil {
			return nil, err
		}
	}
	for _, n := range d.added {
		if err := d.writeNew(w, n, d.changed[n]); err != nil {
			return nil, err
		}
	}
	if err := d.writeNew(w, d.valuePath, signedValue); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, newErr(ErrFormat, "", "the new package could not be written", err)
	}
	return buf.Bytes(), nil
}

// finishSize bounds the size of the package Finish writes with a signed value of n
// bytes, so that its buffer is allocated once and no larger than needed: each entry's
// data, its name and extra field in its local and central headers, the fixed part of
// both headers, a data descriptor and timestamps; then the end records.
func (d *Draft) finishSize(n int) int64 {
	const entry = 30 + 46 + 24 + 2*9 + 20 // headers, descriptor, timestamps, slack
	p := d.p
	size := int64(22+56+20) + int64(storedDeflateSize(n)+2*len(d.valuePath)+entry)
	for _, name := range p.order {
		f := p.files[name]
		names := 2 * int64(max(len(name), len(f.Name)))
		if b, ok := d.changed[name]; ok {
			// Written anew: stored blocks, or compressed, which compress/flate keeps
			// within a few bytes of them.
			size += int64(storedDeflateSize(len(b))+64+entry) + names
			continue
		}
		size += int64(len(p.raw[name])+2*len(f.Extra)+len(f.Comment)+entry) + names
	}
	for _, name := range d.added {
		size += int64(storedDeflateSize(len(d.changed[name])) + 64 + 2*len(name) + entry)
	}
	return size
}

// smallXML is the size under which a new XML file is written in stored blocks. The XML
// the writer makes is mostly base64 digests and paths: deflating it saves about half of
// it, a few KB at most below this size, at the cost of building Huffman tables for it,
// which takes longer than everything else Finish does.
const smallXML = 16 << 10

// writeNew writes a new or changed file, deflated (the DER files and small XML files in
// stored blocks: see writeStoredBlocks).
func (d *Draft) writeNew(w *zip.Writer, name string, b []byte) error {
	var err error
	if name == d.valuePath || name == d.sealPath || len(b) < smallXML {
		err = writeStoredDeflate(w, name, b, d.time)
	} else {
		var fw io.Writer
		fw, err = w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: d.time})
		if err == nil {
			_, err = fw.Write(b)
		}
	}
	if err != nil {
		return newErr(ErrFormat, name, "the file could not be written into the new package", err)
	}
	return nil
}

// copyRaw copies an unchanged entry: the same compressed bytes (raw) and CRC.
func copyRaw(w *zip.Writer, name string, f *zip.File, raw []byte) error {
	fh := f.FileHeader
	if n, ok := cleanPath(fh.Name); !ok || n != name {
		fh.Name = name
	}
	fh.Extra = dropZip64Extra(fh.Extra)
	fw, err := w.CreateRaw(&fh)
	if err == nil {
		_, err = fw.Write(raw)
	}
	if err != nil {
		return newErr(ErrFormat, name, "the file could not be copied into the new package", err)
	}
	return nil
}

// dropZip64Extra removes zip64 extra fields (the writer adds its own when needed).
func dropZip64Extra(extra []byte) []byte {
	var out []byte
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		n := int(binary.LittleEndian.Uint16(extra[2:]))
		if 4+n > len(extra) {
			break
		}
		if id != zip64ExtraID {
			out = append(out, extra[:4+n]...)
		}
		extra = extra[4+n:]
	}
	return out
}

// foldedSet maps the keys under which readers may look a file name up (see nameKeys) to
// the name.
type foldedSet map[string]string

// foldedNames returns the keys of the package's entry names: those Open's check of the
// names built, else built here.
func (p *Package) foldedNames() foldedSet {
	if p.folded != nil {
		return p.folded
	}
	m := make(foldedSet, len(p.names))
	for _, n := range p.names {
		for _, k := range nameKeys(n) {
			m[k] = n
		}
	}
	return m
}

// other returns a file of the package, other than name itself, that readers may take for
// name, or "".
func (m foldedSet) other(name string) string {
	for _, k := range nameKeys(name) {
		if n, ok := m[k]; ok && n != name {
			return n
		}
	}
	return ""
}

// any reports whether readers may take a file of the package for one of names.
func (m foldedSet) any(names ...string) bool {
	for _, n := range names {
		if m.other(n) != "" {
			return true
		}
	}
	return false
}

// hasFolder reports whether some file lies under the folder dir.
func (p *Package) hasFolder(dir string) bool {
	pre := dir + "/"
	i := sort.SearchStrings(p.names, pre)
	return i < len(p.names) && strings.HasPrefix(p.names[i], pre)
}

// joinPath joins a package folder ("." or "" for the root) and a relative path.
func joinPath(dir, rel string) string {
	if dir == "" || dir == "." {
		return rel
	}
	return dir + "/" + rel
}

// checkEarlier refuses a package whose earlier signatures would be broken by
// the new one (they protect the Signatures.xml it rewrites, or OFD.xml when it
// gains a Signatures reference), or that are broken already (unless forced).
func (p *Package) checkEarlier(list string, newList, force bool) error {
	sigs, err := p.Signatures()
	if err != nil {
		return err
	}
	for _, s := range sigs {
		for _, r := range s.References {
			if r.Path == list {
				return newErr(errs.WrongState, list, fmt.Sprintf("signature %s (%s) protects this Signatures.xml, so adding a signature would break it: the package accepts no further signatures", s.name(), s.Location), nil)
			}
			if newList && r.Path == "OFD.xml" {
				return newErr(errs.WrongState, "OFD.xml", fmt.Sprintf("signature %s (%s) protects OFD.xml, which must gain a reference to the new Signatures.xml; signing would break it", s.name(), s.Location), nil)
			}
		}
	}
	if force {
		return nil
	}
	for _, s := range sigs {
		where := s.Location
		if where == "" {
			where = s.ListPath
		}
		if s.Err != nil {
			return newErr(errs.WrongState, where, fmt.Sprintf("an earlier signature (%s) cannot be read: %s; sign with Force to add a signature anyway", s.name(), errMsg(s.Err)), nil)
		}
		for _, r := range s.References {
			if !r.OK {
				return newErr(errs.WrongState, where, fmt.Sprintf("an earlier signature (%s) does not check out against the package: %s; sign with Force to add a signature anyway", s.name(), r.Problem), nil)
			}
		}
	}
	return nil
}

// pageInfo is one page of a document.
type pageInfo struct {
	id      string
	baseLoc string
}

// docPages lists the pages of the document doc in order.
func (p *Package) docPages(doc string) ([]pageInfo, error) {
	x, err := p.readDocument(doc)
	if err != nil {
		return nil, err
	}
	var out []pageInfo
	for _, ps := range x.Pages {
		for _, pg := range ps.Page {
			pi := pageInfo{id: strings.TrimSpace(pg.ID)}
			for _, a := range pg.Attrs {
				if a.Name.Local == "BaseLoc" && a.Name.Space != "xmlns" {
					pi.baseLoc = strings.TrimSpace(a.Value)
					break
				}
			}
			out = append(out, pi)
		}
	}
	if len(out) == 0 {
		return nil, newErr(ErrFormat, doc, "the document lists no pages, so there is nowhere to put a stamp", nil)
	}
	return out, nil
}

// page returns page n (1-based), refusing a number out of range or a page
// without ID.
func (p *Package) page(doc string, pages []pageInfo, n int) (pageInfo, error) {
	if n < 1 || n > len(pages) {
		return pageInfo{}, newErr(errs.InvalidInput, doc, fmt.Sprintf("page %d is out of range: the document has %d page(s)", n, len(pages)), nil)
	}
	pg := pages[n-1]
	if pg.id == "" {
		return pageInfo{}, newErr(ErrFormat, doc, fmt.Sprintf("page %d has no ID, so a stamp cannot refer to it", n), nil)
	}
	return pg, nil
}

// place computes the StampAnnots of the placement.
func (p *Package) place(o SignOptions, doc string, pages []pageInfo) ([]annot, error) {
	pl := o.Placement
	switch {
	case pl.Keyword != "":
		return p.placeKeyword(o, doc, pages)
	case pl.RidingFrom != 0 || pl.RidingTo != 0:
		return p.placeRiding(o, doc, pages)
	}
	pg, err := p.page(doc, pages, pl.Page)
	if err != nil {
		return nil, err
	}
	if err := p.checkOnPage(doc, pl.Page, pg, pl.X, pl.Y); err != nil {
		return nil, err
	}
	return []annot{{pageID: pg.id, box: [4]float64{pl.X - o.Width/2, pl.Y - o.Height/2, o.Width, o.Height}}}, nil
}

// xmlRef is one Reference to write.
type xmlRef struct {
	fileRef string
	sum     []byte
}

// signatureXMLBytes writes Signature.xml (GB/T 33190 §18.2).
func signatureXMLBytes(prov Provider, t time.Time, refs []xmlRef, annots []annot, sealPath, valuePath string) []byte {
	var b bytes.Buffer
	b.Grow(512 + 120*len(refs) + 120*len(annots))
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<ofd:Signature xmlns:ofd="` + nsOFDURI + `"><ofd:SignedInfo>`)
	b.WriteString(`<ofd:Provider ProviderName="`)
	escape(&b, prov.Name)
	b.WriteByte('"')
	if prov.Version != "" {
		b.WriteString(` Version="`)
		escape(&b, prov.Version)
		b.WriteByte('"')
	}
	if prov.Company != "" {
		b.WriteString(` Company="`)
		escape(&b, prov.Company)
		b.WriteByte('"')
	}
	b.WriteString(`/><ofd:SignatureMethod>` + OIDSM2Sign + `</ofd:SignatureMethod>`)
	b.WriteString(`<ofd:SignatureDateTime>` + t.Format("2006-01-02T15:04:05Z") + `</ofd:SignatureDateTime>`)
	b.WriteString(`<ofd:References CheckMethod="` + OIDSM3 + `">`)
	var sum [88]byte
	for _, r := range refs {
		b.WriteString(`<ofd:Reference FileRef="`)
		escape(&b, r.fileRef)
		b.WriteString(`"><ofd:CheckValue>`)
		b.Write(base64.StdEncoding.AppendEncode(sum[:0], r.sum))
		b.WriteString(`</ofd:CheckValue></ofd:Reference>`)
	}
	b.WriteString(`</ofd:References>`)
	for i, a := range annots {
		b.WriteString(`<ofd:StampAnnot ID="`)
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(`" PageRef="`)
		escape(&b, a.pageID)
		b.WriteString(`" Boundary="` + mm(a.box[0]) + " " + mm(a.box[1]) + " " + mm(a.box[2]) + " " + mm(a.box[3]) + `"`)
		if a.clip != "" {
			b.WriteString(` Clip="` + a.clip + `"`)
		}
		b.WriteString(`/>`)
	}
	if sealPath != "" {
		b.WriteString(`<ofd:Seal><ofd:BaseLoc>/`)
		escape(&b, sealPath)
		b.WriteString(`</ofd:BaseLoc></ofd:Seal>`)
	}
	b.WriteString(`</ofd:SignedInfo><ofd:SignedValue>/`)
	escape(&b, valuePath)
	b.WriteString(`</ofd:SignedValue></ofd:Signature>`)
	return b.Bytes()
}

// mm formats a length in millimetres, to a thousandth.
func mm(v float64) string {
	v = math.Round(v*1000) / 1000
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// escape writes s escaped for XML text or a double-quoted attribute.
func escape(b *bytes.Buffer, s string) {
	if !needsEscape(s) {
		b.WriteString(s)
		return
	}
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '\t', '\n', '\r':
			fmt.Fprintf(b, "&#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
}

// needsEscape reports whether escape changes s: a character it escapes, or bytes that
// are not UTF-8 (which it writes as U+FFFD).
func needsEscape(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '&', c == '<', c == '>', c == '"', c == '\'', c == '\t', c == '\n', c == '\r':
			return true
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return !ascii && !utf8.ValidString(s)
}

func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
