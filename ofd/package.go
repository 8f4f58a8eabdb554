package ofd

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/emmansun/gmsm/sm3"
)

// Default limits, used for zero fields of Limits.
const (
	DefaultMaxEntrySize  = 64 << 20  // 64 MiB per decompressed file
	DefaultMaxTotalSize  = 256 << 20 // 256 MiB decompressed over the life of a Package
	DefaultMaxEntries    = 10000     // files in the ZIP central directory
	DefaultMaxSignatures = 1000      // <Signature> entries over all Signatures.xml files

	DefaultMaxReferences    = 10000  // <Reference> elements in one Signature.xml
	DefaultMaxAllReferences = 100000 // <Reference> elements over all signatures
	DefaultMaxStampAnnots   = 10000  // <StampAnnot> elements in one Signature.xml
	DefaultMaxXMLDepth      = 256    // element nesting in any XML file read
)

// Limits bound what opening an untrusted package may cost. Zero (or negative)
// fields take the defaults above.
type Limits struct {
	// MaxEntrySize is the largest decompressed size of a single file.
	MaxEntrySize int64
	// MaxTotalSize bounds the decompressed bytes read from the package in
	// total, over every ReadFile, Signatures and digest computation.
	MaxTotalSize int64
	// MaxEntries is the largest number of entries in the ZIP directory.
	MaxEntries int
	// MaxSignatures is the largest number of <Signature> entries accepted.
	MaxSignatures int
	// MaxReferences is the largest number of <Reference> elements in one
	// Signature.xml; a signature with more fails with ErrLimit.
	MaxReferences int
	// MaxAllReferences bounds the <Reference> elements of all signatures of
	// the package together (each Signature.xml counted once); signatures read
	// past it fail with ErrLimit.
	MaxAllReferences int
	// MaxStampAnnots is the largest number of <StampAnnot> elements in one
	// Signature.xml.
	MaxStampAnnots int
	// MaxXMLDepth is the deepest element nesting accepted in an XML file.
	MaxXMLDepth int
}

func (l Limits) withDefaults() Limits {
	if l.MaxEntrySize <= 0 {
		l.MaxEntrySize = DefaultMaxEntrySize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = DefaultMaxTotalSize
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxSignatures <= 0 {
		l.MaxSignatures = DefaultMaxSignatures
	}
	if l.MaxReferences <= 0 {
		l.MaxReferences = DefaultMaxReferences
	}
	if l.MaxAllReferences <= 0 {
		l.MaxAllReferences = DefaultMaxAllReferences
	}
	if l.MaxStampAnnots <= 0 {
		l.MaxStampAnnots = DefaultMaxStampAnnots
	}
	if l.MaxXMLDepth <= 0 {
		l.MaxXMLDepth = DefaultMaxXMLDepth
	}
	return l
}

// Package is an opened OFD package. Its methods are safe for concurrent use.
type Package struct {
	lim   Limits
	files map[string]*zip.File // cleaned path (no leading slash) → entry
	raw   map[string][]byte    // cleaned path → its compressed bytes, as stored
	// inflated holds the SM3 of the files Open inflated to check the layout
	// (see deflateFills), by cleaned path.
	inflated map[string][]byte
	// kept holds the contents of the small files Open inflated (see keepInflated),
	// by cleaned path; read only once Open returns.
	kept  map[string][]byte
	names []string // sorted keys of files
	// folded holds the keys under which readers may look the entry names up, each with its
	// name, as Open's check of the names built them (nil for a package built otherwise).
	folded foldedSet
	order  []string // keys of files in the ZIP directory's order
	// rejected lists entry names that no OFD path can reach (".." above the
	// root, an empty name); the read side ignores them, the writer refuses.
	rejected []string
	before   int64 // bytes before the ZIP
	after    int64 // bytes after the ZIP

	mu      sync.Mutex
	used    int64                  // decompressed bytes charged against MaxTotalSize
	cache   map[string][]byte      // internal reads
	digests map[string]digestEntry // SM3 of files, by path

	ofd struct { // OFD.xml, read once (see ofdXMLOnce)
		once sync.Once
		x    *ofdXML
		err  error
	}
	cov    coverageCache              // see Coverage
	parsed map[string]parsedSignature // Signature.xml readings, by path
	refs   int                        // References charged against MaxAllReferences
}

type digestEntry struct {
	sum []byte
	err error
}

const (
	eocdLen      = 22
	eocdSig      = "PK\x05\x06"
	cdHeaderSig  = 0x02014b50
	cdHeaderLen  = 46
	maxEOCDTries = 64
)

// Open reads an OFD package (a ZIP archive) from data. Bytes before or after
// the ZIP are tolerated (some producers wrap the package); see Surrounding.
// Open does not require OFD.xml to be present: Signatures reports that.
// Open keeps a reference to data; the caller must not modify it afterwards.
func Open(data []byte, lim Limits) (*Package, error) {
	lim = lim.withDefaults()
	var firstErr error
	var fallback *Package
	tries := 0
	for i := len(data) - eocdLen; i >= 0 && tries < maxEOCDTries; i-- {
		j := bytes.LastIndex(data[:i+4], []byte(eocdSig))
		if j < 0 {
			break
		}
		i = j
		commentLen := int(binary.LittleEndian.Uint16(data[i+20:]))
		end := i + eocdLen + commentLen
		if end > len(data) {
			continue
		}
		tries++
		p, err := openSpan(data, i, end, lim)
		if err != nil {
			var amb ambiguityError
			if errors.Is(err, ErrLimit) || errors.As(err, &amb) {
				// A limit error or an ambiguous archive is definitive: don't
				// look for another archive.
				return nil, err
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if p.before > 0 && bytes.HasPrefix(data, []byte("PK\x03\x04")) {
			// The data starts as a ZIP, but this archive starts later: it is
			// an archive stored inside a damaged outer one (e.g. an OFD seal
			// picture), not the package itself.
			if firstErr == nil {
				firstErr = newErr(ErrFormat, "", "the ZIP archive is damaged or truncated (only an archive nested inside it could be found)", nil)
			}
			continue
		}
		if err := checkSurrounding(data[:p.before], data[end:]); err != nil {
			return nil, err
		}
		if _, ok := p.files["OFD.xml"]; ok {
			return p, nil
		}
		if fallback == nil {
			fallback = p
		}
	}
	if fallback != nil {
		return fallback, nil
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if len(data) == 0 {
		return nil, newErr(ErrFormat, "", "the data is empty, not an OFD package", nil)
	}
	return nil, newErr(ErrFormat, "", "not an OFD package: no ZIP end-of-central-directory record was found (the file is not a ZIP archive, or it is truncated)", nil)
}

// openSpan opens the ZIP whose end record is at data[eocd] and that ends at
// data[end].
func openSpan(data []byte, eocd, end int, lim Limits) (*Package, error) {
	span := data[:end]
	base, err := checkEntryCount(span, lim.MaxEntries)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(span), int64(len(span)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, newErr(ErrFormat, "", "not a readable OFD package (broken or truncated ZIP archive)", err)
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, newErr(ErrLimit, "", fmt.Sprintf("the package has %d files, more than the limit of %d", len(zr.File), lim.MaxEntries), nil)
	}
	layout, lead, folded, err := checkLayout(data, eocd, end, zr.File, layoutBudget(lim))
	if err != nil {
		return nil, err
	}
	p := &Package{
		folded:  folded,
		lim:     lim,
		files:   make(map[string]*zip.File, len(zr.File)),
		raw:     make(map[string][]byte, len(zr.File)),
		before:  base + lead,
		after:   int64(len(data) - end),
		cache:   make(map[string][]byte),
		digests: make(map[string]digestEntry),
	}
	for i, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") || strings.HasSuffix(f.Name, `\`) {
			continue // directory
		}
		name, ok := cleanPath(f.Name)
		if !ok || name == "" {
			p.rejected = append(p.rejected, f.Name)
			continue // cannot be referenced by any valid OFD path
		}
		if _, dup := p.files[name]; dup {
			return nil, newErr(ErrFormat, name, "the package contains this file twice; a package with duplicate names is ambiguous and cannot be trusted", nil)
		}
		p.files[name] = f
		e := layout[i]
		p.raw[name] = span[e.data : e.data+e.csize : e.data+e.csize]
		if e.sum != nil {
			if p.inflated == nil {
				p.inflated = make(map[string][]byte)
			}
			p.inflated[name] = e.sum
		}
		if e.body != nil {
			if p.kept == nil {
				p.kept = make(map[string][]byte)
			}
			p.kept[name] = e.body
		}
		p.names = append(p.names, name)
		p.order = append(p.order, name)
	}
	sort.Strings(p.names)
	return p, nil
}

// checkEntryCount walks the central directory the way archive/zip does and
// fails once more than max entries are seen, before archive/zip allocates them.
// It also returns the number of bytes before the ZIP (as archive/zip computes it).
func checkEntryCount(span []byte, max int) (int64, error) {
	n := len(span)
	eocd := n - eocdLen
	for eocd >= 0 && string(span[eocd:eocd+4]) != eocdSig {
		eocd--
	}
	if eocd < 0 {
		return 0, nil // let archive/zip report it
	}
	records := uint64(binary.LittleEndian.Uint16(span[eocd+10:]))
	size := uint64(binary.LittleEndian.Uint32(span[eocd+12:]))
	off := uint64(binary.LittleEndian.Uint32(span[eocd+16:]))
	endOff := uint64(eocd)
	if records == 0xffff || size == 0xffff || off == 0xffffffff {
		// zip64: locator (20 bytes) just before the EOCD
		if loc := eocd - 20; loc >= 0 && binary.LittleEndian.Uint32(span[loc:]) == 0x07064b50 {
			p := binary.LittleEndian.Uint64(span[loc+8:])
			if p <= uint64(n) && uint64(n)-p >= 56 && binary.LittleEndian.Uint32(span[p:]) == 0x06064b50 {
				records = binary.LittleEndian.Uint64(span[p+32:])
				size = binary.LittleEndian.Uint64(span[p+40:])
				off = binary.LittleEndian.Uint64(span[p+48:])
				endOff = p
			}
		}
	}
	if records > uint64(max) {
		return 0, newErr(ErrLimit, "", fmt.Sprintf("the package declares %d files, more than the limit of %d", records, max), nil)
	}
	// A negative base offset means bytes are missing before the directory.
	if size > endOff || off > endOff-size {
		return 0, newErr(ErrFormat, "", "the ZIP archive is damaged or truncated: its directory points outside the data", nil)
	}
	base := int64(endOff - size - off)
	if base > 0 && off <= uint64(n) && uint64(n)-off >= 4 && binary.LittleEndian.Uint32(span[off:]) == cdHeaderSig {
		base = 0 // archive/zip prefers a directory found at the stated offset
	}
	// Count the headers from both places archive/zip may start reading.
	starts := []uint64{off, endOff - size}
	for _, s := range starts {
		count := 0
		for p := s; p <= uint64(n) && uint64(n)-p >= cdHeaderLen; {
			if binary.LittleEndian.Uint32(span[p:]) != cdHeaderSig {
				break
			}
			count++
			if count > max {
				return 0, newErr(ErrLimit, "", fmt.Sprintf("the package has more than %d files (the limit)", max), nil)
			}
			p += cdHeaderLen + uint64(binary.LittleEndian.Uint16(span[p+28:])) +
				uint64(binary.LittleEndian.Uint16(span[p+30:])) + uint64(binary.LittleEndian.Uint16(span[p+32:]))
		}
	}
	return base, nil
}

// Surrounding reports how many bytes precede and follow the ZIP archive in
// the data given to Open. Both are 0 for a normal package.
func (p *Package) Surrounding() (before, after int64) { return p.before, p.after }

// Files returns the paths of all files in the package (no directories), as
// package paths without a leading slash, sorted.
func (p *Package) Files() []string { return append([]string(nil), p.names...) }

// Has reports whether the package contains the file name (absolute or
// relative to the root).
func (p *Package) Has(name string) bool {
	n, ok := cleanPath(name)
	if !ok {
		return false
	}
	_, ok = p.files[n]
	return ok
}

// cleanPath normalises a package path: it treats "\\" as "/" (some Windows
// producers write it, although ZIP and OFD require "/"), strips leading
// slashes, collapses repeated slashes, drops "." and applies "..". It returns
// false when ".." would leave the root. The result has no leading slash; ""
// is the root.
func cleanPath(name string) (string, bool) {
	if rest := strings.TrimLeft(name, "/"); plainPath(rest) {
		return rest, true // leading slashes are empty segments, dropped
	}
	return cleanSegments(name)
}

// cleanSegments is cleanPath for any name.
func cleanSegments(name string) (string, bool) {
	parts := strings.Split(strings.ReplaceAll(name, `\`, "/"), "/")
	out := make([]string, 0, len(parts))
	for _, s := range parts {
		switch s {
		case "", ".":
		case "..":
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
		default:
			out = append(out, s)
		}
	}
	return strings.Join(out, "/"), true
}

// plainPath reports whether cleanPath leaves name as it is: it is not empty and has
// no backslash and no empty, "." or ".." segment.
func plainPath(name string) bool {
	seg := 0 // start of the current segment
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '/' {
			if name[i] == '\\' {
				return false
			}
			continue
		}
		switch name[seg:i] {
		case "", ".", "..":
			return false
		}
		seg = i + 1
	}
	return true
}

// resolve resolves ref, as written inside the package file base, to a package
// path. An absolute ref (leading "/") is taken from the root; a relative one
// from the folder of base.
func resolve(base, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", newErr(ErrPath, base, "an empty path is given where a file is expected", nil)
	}
	full := ref
	if !strings.HasPrefix(ref, "/") {
		dir := ""
		if k := strings.LastIndex(base, "/"); k >= 0 {
			dir = base[:k]
		}
		full = dir + "/" + ref
	}
	n, ok := cleanPath(full)
	if !ok {
		return "", newErr(ErrPath, base, fmt.Sprintf("the path %q leaves the package root (\"..\" goes above it)", ref), nil)
	}
	if n == "" {
		return "", newErr(ErrPath, base, fmt.Sprintf("the path %q names the package root, not a file", ref), nil)
	}
	return n, nil
}

// ReadFile returns the bytes of a package file exactly as stored (after
// decompression). name may be absolute ("/Doc_0/Document.xml") or relative to
// the root. The returned slice belongs to the caller.
func (p *Package) ReadFile(name string) ([]byte, error) {
	n, ok := cleanPath(name)
	if !ok {
		return nil, newErr(ErrPath, "", fmt.Sprintf("the path %q leaves the package root (\"..\" goes above it)", name), nil)
	}
	if n == "" {
		return nil, newErr(ErrPath, "", fmt.Sprintf("the path %q names the package root, not a file", name), nil)
	}
	p.mu.Lock()
	b, ok := p.cache[n]
	p.mu.Unlock()
	if ok {
		return bytes.Clone(b), nil
	}
	b, err := p.readEntry(n)
	if err == nil && p.kept[n] != nil {
		b = bytes.Clone(b) // the kept copy stays the package's
	}
	return b, err
}

// read returns a package file for internal use, caching it. The result must
// not be modified.
func (p *Package) read(n string) ([]byte, error) {
	p.mu.Lock()
	b, ok := p.cache[n]
	p.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := p.readEntry(n)
	if err != nil {
		return nil, err
	}
	if looksLikeXML(b) {
		if d := xmlDepth(b, p.lim.MaxXMLDepth); d > p.lim.MaxXMLDepth {
			return nil, newErr(ErrLimit, n, fmt.Sprintf("the XML nests elements deeper than the limit of %d", p.lim.MaxXMLDepth), nil)
		}
	}
	p.mu.Lock()
	p.cache[n] = b
	p.mu.Unlock()
	return b, nil
}

// charge checks an entry against the limits and charges its declared size to
// the total budget.
func (p *Package) charge(n string) (*zip.File, int64, error) {
	f, ok := p.files[n]
	if !ok {
		return nil, 0, newErr(ErrNotExist, n, "the file is missing from the package", nil)
	}
	if f.Flags&0x1 != 0 {
		return nil, 0, newErr(ErrUnsupported, n, "the file is encrypted inside the ZIP, which OFD does not allow", nil)
	}
	size := f.UncompressedSize64
	if size > uint64(p.lim.MaxEntrySize) {
		return nil, 0, newErr(ErrLimit, n, fmt.Sprintf("the file is %d bytes when decompressed, more than the limit of %d bytes per file (possible zip bomb)", size, p.lim.MaxEntrySize), nil)
	}
	p.mu.Lock()
	if p.used+int64(size) > p.lim.MaxTotalSize {
		p.mu.Unlock()
		return nil, 0, newErr(ErrLimit, n, fmt.Sprintf("reading this file would exceed the limit of %d decompressed bytes for the whole package (possible zip bomb)", p.lim.MaxTotalSize), nil)
	}
	p.used += int64(size)
	p.mu.Unlock()
	return f, int64(size), nil
}

// open checks an entry against the limits, charges its declared size to the
// total budget and returns a reader bounded by that size.
func (p *Package) open(n string) (io.ReadCloser, int64, error) {
	f, size, err := p.charge(n)
	if err != nil {
		return nil, 0, err
	}
	if rc := openDirect(f, p.raw[n]); rc != nil {
		return rc, size, nil
	}
	rc, err := f.Open()
	if err != nil {
		if errors.Is(err, zip.ErrAlgorithm) {
			return nil, 0, newErr(ErrUnsupported, n, fmt.Sprintf("the file uses ZIP compression method %d, which is not supported", f.Method), nil)
		}
		return nil, 0, newErr(ErrFormat, n, "the file cannot be read from the ZIP archive", err)
	}
	return rc, size, nil
}

func (p *Package) readEntry(n string) ([]byte, error) {
	if b, ok := p.kept[n]; ok {
		// Open inflated it already: reading it costs what inflating it would.
		if _, _, err := p.charge(n); err != nil {
			return nil, err
		}
		return b, nil
	}
	rc, size, err := p.open(n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size <= 1<<20 {
		// A buffer of the declared size, filled, then one read more that must
		// find the end (archive/zip checks the CRC there).
		b := make([]byte, size)
		if _, err := io.ReadFull(rc, b); err != nil {
			return nil, p.readErr(n, err)
		}
		var one [1]byte
		switch m, err := io.ReadFull(rc, one[:]); {
		case m > 0:
			return nil, newErr(ErrFormat, n, "the file decompresses to more bytes than the ZIP directory declares (possible zip bomb)", nil)
		case err != io.EOF:
			return nil, p.readErr(n, err)
		}
		return b, nil
	}
	var buf bytes.Buffer
	buf.Grow(1<<20 + 1)
	// archive/zip fails once more than the declared size is produced; the
	// LimitReader is a second guard against the declared size lying.
	if _, err := buf.ReadFrom(io.LimitReader(rc, size+1)); err != nil {
		return nil, p.readErr(n, err)
	}
	if int64(buf.Len()) > size {
		return nil, newErr(ErrFormat, n, "the file decompresses to more bytes than the ZIP directory declares (possible zip bomb)", nil)
	}
	return buf.Bytes(), nil
}

func (p *Package) readErr(n string, err error) error {
	switch {
	case errors.Is(err, zip.ErrChecksum):
		return newErr(ErrFormat, n, "the file is corrupt (its ZIP checksum does not match)", err)
	case errors.Is(err, zip.ErrFormat):
		return newErr(ErrFormat, n, "the file is corrupt (it decompresses to a different size than the ZIP directory declares)", err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newErr(ErrFormat, n, "the file is truncated inside the ZIP archive", err)
	}
	return newErr(ErrFormat, n, "the file cannot be decompressed", err)
}

// SM3 returns the SM3 digest of the stored bytes of a package file (the value
// a Reference's CheckValue holds, before base64). name may be absolute or
// relative to the root. Digests are cached.
func (p *Package) SM3(name string) ([]byte, error) {
	n, ok := cleanPath(name)
	if !ok || n == "" {
		return nil, newErr(ErrPath, "", fmt.Sprintf("the path %q does not name a file inside the package", name), nil)
	}
	sum, err := p.sm3Of(n)
	return bytes.Clone(sum), err
}

// sm3Of returns the SM3 digest of a package file's stored bytes, cached.
func (p *Package) sm3Of(n string) ([]byte, error) {
	p.mu.Lock()
	if d, ok := p.digests[n]; ok {
		p.mu.Unlock()
		return d.sum, d.err
	}
	b, cached := p.cache[n]
	p.mu.Unlock()
	var sum []byte
	var err error
	switch {
	case cached && p.inflated[n] != nil:
		sum = p.inflated[n] // read already, and charged then
	case cached:
		s := sm3.Sum(b)
		sum = s[:]
	case p.inflated[n] != nil:
		// Open inflated it already: the digest costs what reading it would.
		if _, _, err = p.charge(n); err == nil {
			sum = p.inflated[n]
		}
	default:
		sum, err = p.streamSM3(n)
	}
	p.mu.Lock()
	p.digests[n] = digestEntry{sum, err}
	p.mu.Unlock()
	return sum, err
}

func (p *Package) streamSM3(n string) ([]byte, error) {
	rc, size, err := p.open(n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h := sm3.New()
	buf := copyBuffers.Get().(*[32 << 10]byte) // io.Copy would allocate one per file
	w, err := io.CopyBuffer(h, io.LimitReader(rc, size+1), buf[:])
	copyBuffers.Put(buf)
	if err != nil {
		return nil, p.readErr(n, err)
	}
	if w > size {
		return nil, newErr(ErrFormat, n, "the file decompresses to more bytes than the ZIP directory declares (possible zip bomb)", nil)
	}
	return h.Sum(nil), nil
}

// looksLikeXML reports whether b starts, after a BOM and white space, with "<".
func looksLikeXML(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}

// layoutBudget bounds the bytes Open may inflate to check where the deflate
// streams of entries with data descriptors end: four times MaxTotalSize.
func layoutBudget(l Limits) int64 {
	if l.MaxTotalSize > math.MaxInt64/4 {
		return math.MaxInt64
	}
	return 4 * l.MaxTotalSize
}
