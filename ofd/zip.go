package ofd

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/unicode/norm"
)

// ZIP record signatures.
const (
	localHeaderSig  = 0x04034b50
	localHeaderLen  = 30
	descriptorSig   = 0x08074b50
	zip64EOCDSig    = 0x06064b50
	zip64LocatorSig = 0x07064b50
	zip64ExtraID    = 0x0001
	flagDescriptor  = 0x8
)

// ambiguityError marks a ZIP that readers may read in more than one way. It is
// final: Open does not look for another archive in the data.
type ambiguityError struct{ err *Error }

func ambiguous(file, msg string) error {
	return ambiguityError{newErr(ErrFormat, file, msg, nil)}
}

func (e ambiguityError) Error() string { return e.err.Error() }
func (e ambiguityError) Unwrap() error { return e.err }

// directory is where the ZIP's central directory lies inside span.
type directory struct {
	start, end uint64 // the central directory records
	eocd       uint64 // start of the end record (the zip64 end record when there is one)
	base       uint64 // bytes before the ZIP: local offsets count from here
}

// locateDirectory finds the central directory the way archive/zip does. problem is ""
// when it is found, else what is wrong.
func locateDirectory(span []byte, at int) (dir directory, problem string) {
	const notFound = "the ZIP end record does not locate its central directory (or it is split over disks, or gives two different entry counts)"
	n := uint64(len(span))
	if at < 0 || uint64(at)+eocdLen > n {
		return directory{}, notFound
	}
	eocd := uint64(at)
	if string(span[eocd:eocd+4]) != eocdSig {
		return directory{}, notFound
	}
	size := uint64(binary.LittleEndian.Uint32(span[eocd+12:]))
	off := uint64(binary.LittleEndian.Uint32(span[eocd+16:]))
	records := uint64(binary.LittleEndian.Uint16(span[eocd+10:]))
	if binary.LittleEndian.Uint16(span[eocd+4:]) != 0 || binary.LittleEndian.Uint16(span[eocd+6:]) != 0 ||
		binary.LittleEndian.Uint16(span[eocd+8:]) != uint16(records) {
		return directory{}, notFound // split over disks, or two different entry counts
	}
	endOff := eocd
	if eocd >= 20 && binary.LittleEndian.Uint32(span[eocd-20:]) == zip64LocatorSig {
		p := binary.LittleEndian.Uint64(span[eocd-20+8:])
		if p <= n && n-p >= 56 && binary.LittleEndian.Uint32(span[p:]) == zip64EOCDSig {
			records64 := binary.LittleEndian.Uint64(span[p+32:])
			size64 := binary.LittleEndian.Uint64(span[p+40:])
			off64 := binary.LittleEndian.Uint64(span[p+48:])
			// Readers differ on when the zip64 end record counts: archive/zip takes it
			// when the 32-bit directory size is 0xffff (not only 0xffffffff), Python
			// whenever it is there, Java only when both records agree. A 32-bit value
			// that is not the zip64 marker must be the zip64 one, or the archive reads
			// two ways.
			if (records != 0xffff && records != records64) || (size != 0xffffffff && size != size64) ||
				(off != 0xffffffff && off != off64) {
				return directory{}, "the ZIP end record and its zip64 end record locate the central directory differently: readers that take one or the other read different files"
			}
			size, off, endOff = size64, off64, p
		}
	}
	if size > endOff || off > endOff-size {
		return directory{}, notFound
	}
	base := endOff - size - off
	if base > 0 && off <= n && n-off >= 4 && binary.LittleEndian.Uint32(span[off:]) == cdHeaderSig {
		base = 0
	}
	return directory{start: base + off, end: base + off + size, eocd: endOff, base: base}, ""
}

// entryLayout is one central-directory record and where its local entry lies.
type entryLayout struct {
	name   string // raw name, as in the central directory
	header uint64 // offset of the local header inside span
	data   uint64 // offset of its (compressed) data inside span
	end    uint64 // offset just past its data and data descriptor
	// body holds the contents deflateFills inflated, for a small entry whose size and
	// CRC match the directory's (see keepInflated); nil otherwise.
	body []byte
	// sum is the SM3 of the entry's contents when deflateFills inflated them
	// and they matched the directory's size and CRC; nil otherwise.
	sum          []byte
	flags        uint16
	method       uint16
	crc          uint32
	csize, usize uint64
}

// checkLayout makes sure the ZIP in span can be read one way only: every name
// is plain and unique even ignoring case, every local header repeats its
// central-directory record, and the local entries, the central directory and
// its end record follow each other with nothing unaccounted for between them.
// Open checks the bytes around the ZIP with checkSurrounding.
//
// It returns the layout of each entry, in the order of files, and how many
// bytes lie between the start of the archive, as its offsets count, and its
// first entry: a prefix (such as a self-extractor's) whose producer adjusted
// the offsets to it. They hold no ZIP record, or the archive is refused.
func checkLayout(data []byte, eocd, end int, files []*zip.File, budget int64) ([]entryLayout, int64, foldedSet, error) {
	span := data[:end]
	dir, problem := locateDirectory(span, eocd)
	if problem != "" {
		return nil, 0, nil, ambiguous("", problem)
	}
	for _, sig := range []uint32{localHeaderSig, cdHeaderSig, 0x06054b50, zip64EOCDSig, zip64LocatorSig} {
		if i := findRecord(span[eocd+eocdLen:], sig); i >= 0 {
			return nil, 0, nil, ambiguous("", "the ZIP archive's comment holds a ZIP record: readers looking for the end of the archive may take it")
		}
	}
	folded, err := checkNames(files)
	if err != nil {
		return nil, 0, nil, err
	}
	entries, err := readDirectory(span, dir, files)
	if err != nil {
		return nil, 0, nil, err
	}
	lead, err := checkEntries(span, dir, entries, &budget)
	if err != nil {
		return nil, 0, nil, err
	}
	// The files are read where archive/zip finds them (stored entries, those with data
	// descriptors): that must be where this layout was checked.
	for i, f := range files {
		if at, err := f.DataOffset(); err != nil || at != int64(entries[i].data) {
			return nil, 0, nil, ambiguous(quoteName(f.Name), "archive/zip finds this entry's data elsewhere than its local header as the central directory locates it")
		}
	}
	return entries, lead, folded, nil
}

// findRecord returns the index of the first ZIP record signature sig in b, or -1.
func findRecord(b []byte, sig uint32) int {
	var s [4]byte
	binary.LittleEndian.PutUint32(s[:], sig)
	return bytes.Index(b, s[:])
}

// checkNames refuses entry names that readers may take differently. It returns the keys
// under which readers may look the names up (see nameKeys), each with its name.
func checkNames(files []*zip.File) (foldedSet, error) {
	seen := make(foldedSet, len(files))
	for _, f := range files {
		name := f.Name
		for i, r := range name {
			switch {
			case r == 0:
				return nil, ambiguous(quoteName(name), fmt.Sprintf("the entry name holds a NUL byte at %d: readers cut the name there or not", i))
			case r == '\\':
				return nil, ambiguous(quoteName(name), "the entry name holds a backslash: some readers take it for a folder separator, others for part of the name")
			case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f && r != utf8.RuneError):
				return nil, ambiguous(quoteName(name), fmt.Sprintf("the entry name holds the control character %U", r))
			}
		}
		if msg := unicodePathProblem(name, f.Extra); msg != "" {
			return nil, ambiguous(quoteName(name), msg)
		}
		trimmed := strings.TrimSuffix(name, "/")
		if trimmed == "" || strings.HasPrefix(trimmed, "/") || strings.Contains(trimmed, "//") {
			return nil, ambiguous(quoteName(name), "the entry name is empty, starts with a slash or has an empty segment: readers resolve it differently")
		}
		for rest := trimmed; rest != ""; {
			seg, tail, _ := strings.Cut(rest, "/")
			if seg == "." || seg == ".." {
				return nil, ambiguous(quoteName(name), fmt.Sprintf("the entry name has a %q segment: readers resolve it differently", seg))
			}
			rest = tail
		}
		var keys []string
		if isASCII(trimmed) && !strings.Contains(trimmed, "%") {
			var one [1]string // nameKeys' only key for such a name, without a slice to hold it
			one[0] = foldASCII(trimmed)
			keys = one[:]
		} else {
			keys = nameKeys(trimmed)
		}
		for _, key := range keys {
			if other, dup := seen[key]; dup && other != name {
				return nil, ambiguous(quoteName(name), fmt.Sprintf("the entry names %s and %s differ only in case, Unicode form, invisible characters, trailing dots or spaces, percent-encoding or character encoding: some readers take either", quoteName(other), quoteName(name)))
			} else if dup {
				return nil, ambiguous(quoteName(name), "the package contains this entry twice; a package with duplicate names is ambiguous and cannot be trusted")
			}
		}
		for _, key := range keys {
			seen[key] = name
		}
	}
	return seen, nil
}

// nameKeys returns the keys under which readers may look a name up: its case
// and Unicode fold, the fold of its percent-decoding and, for a name with non-ASCII bytes that also reads as
// GB18030 (many Chinese tools write names in GBK without the UTF-8 flag),
// the fold of that reading.
func nameKeys(name string) []string {
	keys := []string{foldName(name)}
	if strings.Contains(name, "%") {
		// Readers that take paths as URIs decode them: "Page%5F0" is "Page_0" to them.
		if d, err := url.PathUnescape(name); err == nil && d != name {
			if k := foldName(d); k != keys[0] {
				keys = append(keys, k)
			}
		}
	}
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			if g, err := simplifiedchinese.GB18030.NewDecoder().String(name); err == nil && !strings.ContainsRune(g, utf8.RuneError) {
				if k := foldName(g); k != keys[0] {
					keys = append(keys, k)
				}
			}
			break
		}
	}
	return keys
}

// foldName maps names that some reader or file system takes for the same to
// one key: it folds case and Unicode normalisation, drops invisible format
// characters (zero-width joiners, soft hyphens, BOMs) and the dots and spaces
// that Windows drops from the end of each segment.
func foldName(s string) string {
	if isASCII(s) {
		return foldASCII(s)
	}
	return foldUnicode(s)
}

// foldUnicode is foldName for any name.
func foldUnicode(s string) string {
	if utf8.ValidString(s) {
		s = norm.NFC.String(s)
	}
	s = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return unicode.ToLower(unicode.ToUpper(r))
	}, s)
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		segs[i] = strings.TrimRight(seg, ". ")
	}
	return strings.Join(segs, "/")
}

// foldASCII is foldName for a name of ASCII characters only, which Unicode
// normalisation leaves as they are and among which there is no format character:
// it lowers the letters and drops the dots and spaces ending each segment.
func foldASCII(s string) string {
	b := make([]byte, 0, len(s))
	seg := 0 // where the current segment starts in b
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '/' {
			for len(b) > seg && (b[len(b)-1] == '.' || b[len(b)-1] == ' ') {
				b = b[:len(b)-1]
			}
			if i < len(s) {
				b = append(b, '/')
				seg = len(b)
			}
			continue
		}
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}

// unicodePathID is the Info-ZIP Unicode Path extra field: a version byte, the CRC-32 of
// the header's name, then the name in UTF-8.
const unicodePathID = 0x7075

// unicodePathProblem says what is wrong with the Unicode Path extra fields in extra, for an
// entry named name, or "". Info-ZIP's unzip, 7-Zip and libarchive name the entry by that
// field; archive/zip ignores it. It must give the entry's own name, or the GB18030 reading
// of a name written in that encoding.
func unicodePathProblem(name string, extra []byte) string {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		size := int(binary.LittleEndian.Uint16(extra[2:]))
		extra = extra[4:]
		if size > len(extra) {
			size = len(extra)
		}
		if id == unicodePathID {
			if size < 5 {
				return "the entry has a Unicode Path extra field too short to hold a name: readers that honour the field read the entry differently"
			}
			u := string(extra[5:size])
			if u != name {
				g, err := simplifiedchinese.GB18030.NewDecoder().String(name)
				if err != nil || g != u || utf8.ValidString(name) {
					return fmt.Sprintf("the entry's Unicode Path extra field names it %s: readers that honour the field (unzip, 7-Zip, libarchive) take another file than archive/zip does", quoteName(u))
				}
			}
		}
		extra = extra[size:]
	}
	return ""
}

// isASCII reports whether s holds ASCII characters only.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// quoteName gives an entry name for a message: as is when printable, quoted otherwise.
func quoteName(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == '"' {
			return fmt.Sprintf("%q", s)
		}
	}
	return s
}

// readDirectory walks the central directory records behind files (archive/zip
// read them in the same order) and finds each local entry.
func readDirectory(span []byte, dir directory, files []*zip.File) ([]entryLayout, error) {
	n := uint64(len(span))
	p := dir.start
	out := make([]entryLayout, 0, len(files))
	for _, f := range files {
		if p > n || n-p < cdHeaderLen || binary.LittleEndian.Uint32(span[p:]) != cdHeaderSig {
			return nil, ambiguous(quoteName(f.Name), "the central directory record of this entry cannot be found again")
		}
		nameLen := uint64(binary.LittleEndian.Uint16(span[p+28:]))
		extraLen := uint64(binary.LittleEndian.Uint16(span[p+30:]))
		commentLen := uint64(binary.LittleEndian.Uint16(span[p+32:]))
		recEnd := p + cdHeaderLen + nameLen + extraLen + commentLen
		if recEnd > n {
			return nil, ambiguous(quoteName(f.Name), "the central directory record of this entry runs past the end of the data")
		}
		e := entryLayout{
			name:   string(span[p+cdHeaderLen : p+cdHeaderLen+nameLen]),
			flags:  binary.LittleEndian.Uint16(span[p+8:]),
			method: binary.LittleEndian.Uint16(span[p+10:]),
			crc:    binary.LittleEndian.Uint32(span[p+16:]),
			csize:  f.CompressedSize64,
			usize:  f.UncompressedSize64,
		}
		if e.name != f.Name {
			return nil, ambiguous(quoteName(f.Name), "the central directory does not read the same way twice")
		}
		off := uint64(binary.LittleEndian.Uint32(span[p+42:]))
		if off == 0xffffffff {
			off = zip64Offset(span[p+cdHeaderLen+nameLen:p+cdHeaderLen+nameLen+extraLen],
				binary.LittleEndian.Uint32(span[p+24:]) == 0xffffffff, binary.LittleEndian.Uint32(span[p+20:]) == 0xffffffff)
		}
		if off > n-dir.base {
			return nil, ambiguous(quoteName(f.Name), "the entry's local header lies outside the data")
		}
		e.header = dir.base + off
		out = append(out, e)
		p = recEnd
	}
	if p != dir.end {
		return nil, ambiguous("", fmt.Sprintf("the central directory holds %d bytes that no entry accounts for", int64(dir.end)-int64(p)))
	}
	return out, nil
}

// zip64Offset reads the local header offset from a zip64 extra field; the
// sizes come first when they are also stored there.
func zip64Offset(extra []byte, usize, csize bool) uint64 {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		size := int(binary.LittleEndian.Uint16(extra[2:]))
		extra = extra[4:]
		if size > len(extra) {
			break
		}
		if id == zip64ExtraID {
			f := extra[:size]
			for _, skip := range []bool{usize, csize} {
				if skip {
					if len(f) < 8 {
						return 0xffffffff
					}
					f = f[8:]
				}
			}
			if len(f) >= 8 {
				return binary.LittleEndian.Uint64(f)
			}
		}
		extra = extra[size:]
	}
	return 0xffffffff
}

// checkEntries compares each local header with its central record and checks
// that the entries tile the archive from its start to the central directory.
func checkEntries(span []byte, dir directory, entries []entryLayout, budget *int64) (int64, error) {
	n := uint64(len(span))
	keep := int64(keepInflated)
	for i := range entries {
		e := &entries[i]
		h := e.header
		if h > n || n-h < localHeaderLen || binary.LittleEndian.Uint32(span[h:]) != localHeaderSig {
			return 0, ambiguous(quoteName(e.name), "the central directory points at no local entry header for this entry")
		}
		nameLen := uint64(binary.LittleEndian.Uint16(span[h+26:]))
		extraLen := uint64(binary.LittleEndian.Uint16(span[h+28:]))
		if n-h-localHeaderLen < nameLen+extraLen {
			return 0, ambiguous(quoteName(e.name), "the local entry header runs past the end of the data")
		}
		if local := string(span[h+localHeaderLen : h+localHeaderLen+nameLen]); local != e.name {
			return 0, ambiguous(quoteName(e.name), fmt.Sprintf("the local entry header names %s instead: readers that read local headers take another file", quoteName(local)))
		}
		if msg := unicodePathProblem(e.name, span[h+localHeaderLen+nameLen:h+localHeaderLen+nameLen+extraLen]); msg != "" {
			return 0, ambiguous(quoteName(e.name), "the local entry header: "+msg)
		}
		flags := binary.LittleEndian.Uint16(span[h+6:])
		method := binary.LittleEndian.Uint16(span[h+8:])
		if method != e.method || flags&flagDescriptor != e.flags&flagDescriptor {
			return 0, ambiguous(quoteName(e.name), "the local entry header and the central directory disagree on how the entry is stored")
		}
		if e.flags&flagDescriptor != 0 && e.method != zip.Deflate {
			return 0, ambiguous(quoteName(e.name), "the entry gives its size only after its data, which is not deflated: a reader streaming the package cannot tell where it ends")
		}
		if e.flags&flagDescriptor == 0 {
			crc := binary.LittleEndian.Uint32(span[h+14:])
			csize := uint64(binary.LittleEndian.Uint32(span[h+18:]))
			usize := uint64(binary.LittleEndian.Uint32(span[h+22:]))
			if csize == 0xffffffff || usize == 0xffffffff {
				// zip64: a local header then holds both sizes in its extra field.
				u, c, ok := zip64Sizes(span[h+localHeaderLen+nameLen : h+localHeaderLen+nameLen+extraLen])
				if !ok {
					return 0, ambiguous(quoteName(e.name), "the local entry header defers its sizes to a zip64 field it does not have")
				}
				usize, csize = u, c
			}
			if crc != e.crc || csize != e.csize || usize != e.usize {
				return 0, ambiguous(quoteName(e.name), "the local entry header and the central directory give different sizes or checksums: readers that read local headers take other bytes")
			}
		}
		data := h + localHeaderLen + nameLen + extraLen
		if e.csize > n-data {
			return 0, ambiguous(quoteName(e.name), "the entry's data runs past the end of the data")
		}
		e.data = data
		e.end = data + e.csize
		if e.flags&flagDescriptor != 0 {
			if err := deflateFills(span[data:e.end], e, budget, &keep); err != nil {
				return 0, err
			}
		}
	}
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return entries[order[a]].header < entries[order[b]].header })
	at := dir.base
	var lead int64
	if len(order) > 0 {
		if first := entries[order[0]].header; first > at && findRecord(span[at:first], localHeaderSig) < 0 {
			lead, at = int64(first-at), first // a prefix the offsets count in
		}
	}
	var prev *entryLayout
	for _, i := range order {
		e := &entries[i]
		if prev != nil && e.header < at {
			return 0, ambiguous(quoteName(e.name), fmt.Sprintf("the entry overlaps the entry %s: the same bytes are read as two files", quoteName(prev.name)))
		}
		if prev != nil && prev.flags&flagDescriptor != 0 {
			if !descriptorFits(span, prev, e.header) {
				return 0, ambiguous(quoteName(prev.name), "the bytes after this entry's data are not its data descriptor: they belong to no entry")
			}
			at = e.header
		}
		if e.header != at {
			return 0, ambiguous(quoteName(e.name), gapMessage(prev, e.header-at))
		}
		at = e.end
		prev = e
	}
	if prev != nil && prev.flags&flagDescriptor != 0 && descriptorFits(span, prev, dir.start) {
		at = dir.start
	}
	if at > dir.start {
		return 0, ambiguous(quoteName(prev.name), "the entry's data runs into the central directory")
	}
	if at < dir.start {
		if prev == nil {
			return 0, ambiguous("", fmt.Sprintf("%d bytes between the start of the ZIP archive and its central directory belong to no entry", dir.start-at))
		}
		return 0, ambiguous(quoteName(prev.name), fmt.Sprintf("%d bytes after this entry, before the central directory, belong to no entry (a hidden local entry, or data a reader may take)", dir.start-at))
	}
	if dir.end != dir.eocd {
		return 0, ambiguous("", fmt.Sprintf("%d bytes between the central directory and its end record belong to no entry", int64(dir.eocd)-int64(dir.end)))
	}
	return lead, nil
}

func gapMessage(prev *entryLayout, gap uint64) string {
	if prev == nil {
		return fmt.Sprintf("%d bytes before this first entry belong to no entry (a hidden local entry, or data a reader may take)", gap)
	}
	return fmt.Sprintf("%d bytes between the entry %s and this one belong to no entry (a hidden local entry, or data a reader may take)", gap, quoteName(prev.name))
}

// descriptorFits reports whether the bytes from e's data end to next are
// exactly its data descriptor (with or without signature, 32- or 64-bit sizes)
// and repeat its checksum.
func descriptorFits(span []byte, e *entryLayout, next uint64) bool {
	if next < e.end {
		return false
	}
	d := span[e.end:next]
	if len(d) >= 4 && binary.LittleEndian.Uint32(d) == descriptorSig {
		d = d[4:]
	}
	if len(d) != 12 && len(d) != 20 {
		return false
	}
	return binary.LittleEndian.Uint32(d) == e.crc
}

// checkSurrounding refuses bytes before the ZIP that hold a local entry
// header (a reader scanning the data from its start would read that entry
// first) and bytes after it that hold any ZIP record (a reader looking for the
// last end record would take another archive).
func checkSurrounding(before, after []byte) error {
	if i := findRecord(before, localHeaderSig); i >= 0 {
		return ambiguous("", fmt.Sprintf("the %d bytes before the ZIP archive hold a ZIP entry header (at byte %d) that the central directory does not list: a reader scanning from the start would read another package", len(before), i))
	}
	for _, sig := range []uint32{localHeaderSig, cdHeaderSig, 0x06054b50, zip64EOCDSig, zip64LocatorSig} {
		if i := findRecord(after, sig); i >= 0 {
			return ambiguous("", fmt.Sprintf("the %d bytes after the ZIP archive hold a ZIP record (at byte %d after its end): a reader could take them for the package", len(after), i))
		}
	}
	return nil
}

// deflateFills checks that the deflate stream of an entry whose sizes follow
// its data (where a streaming reader finds its end) ends exactly where the
// central directory says the data ends: bytes past the stream's end could
// hold a local entry that only streaming readers see. The bytes decompressed
// are charged to budget. Since every file is hashed when a package is verified
// or signed, it keeps their SM3 digest in e.sum (when their size and CRC match
// the directory's, as archive/zip checks) so that they are not inflated twice.
// The contents themselves of entries up to keepEntry bytes it keeps in e.body, while
// keep, the bytes left to keep, allows.
func deflateFills(comp []byte, e *entryLayout, budget, keep *int64) error {
	if e.usize > uint64(*budget) {
		return newErr(ErrLimit, e.name, "checking where the entries end would decompress more than four times the limit for the whole package (possible zip bomb)", nil)
	}
	r := bytes.NewReader(comp)
	fr := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(fr)
	if err := fr.(flate.Resetter).Reset(r, nil); err != nil {
		return newErr(ErrFormat, e.name, "the entry's data cannot be inflated", err)
	}
	h := &sumWriter{sm3: sm3.New(), crc: crc32.NewIEEE()}
	if e.usize <= keepEntry && int64(e.usize) <= *keep {
		h.body = make([]byte, 0, e.usize)
	}
	buf := copyBuffers.Get().(*[32 << 10]byte)
	n, err := io.CopyBuffer(h, io.LimitReader(fr, int64(e.usize)+1), buf[:])
	copyBuffers.Put(buf)
	*budget -= n
	switch {
	case err != nil || uint64(n) != e.usize:
		return newErr(ErrFormat, e.name, "the entry's data does not inflate to the size the ZIP directory declares", err)
	case r.Len() != 0:
		return ambiguous(quoteName(e.name), fmt.Sprintf("%d bytes after the entry's deflate stream, inside its data, belong to nothing: a reader streaming the package would read them as what follows", r.Len()))
	}
	if e.crc == 0 || h.crc.Sum32() == e.crc {
		e.sum = h.sm3.Sum(nil)
	}
	if h.body != nil && h.crc.Sum32() == e.crc {
		// archive/zip would read the same bytes: the size and CRC match, and so does
		// the data descriptor's CRC (checkEntries).
		e.body = h.body
		*keep -= int64(len(h.body))
	}
	return nil
}

// Open keeps the contents of the entries with data descriptors it inflates, up to
// keepEntry bytes each and keepInflated in all, so that reading them (Document.xml,
// a page, Signature.xml ...) does not inflate them again.
const (
	keepEntry    = 64 << 10
	keepInflated = 1 << 20
)

// sumWriter feeds an SM3 and a CRC-32, and body when it is not nil, with what is
// written to it.
type sumWriter struct {
	sm3  hash.Hash
	crc  hash.Hash32
	body []byte
}

func (w *sumWriter) Write(b []byte) (int, error) {
	w.sm3.Write(b)
	if w.body != nil {
		w.body = append(w.body, b...)
	}
	return w.crc.Write(b)
}

// inflaters holds flate readers for deflateFills, reset for each entry.
var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// copyBuffers holds the copy buffers of deflateFills and of the digests of files.
var copyBuffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// zip64Sizes reads the uncompressed and compressed sizes from the zip64 field
// of a local header's extra data.
func zip64Sizes(extra []byte) (usize, csize uint64, ok bool) {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		size := int(binary.LittleEndian.Uint16(extra[2:]))
		extra = extra[4:]
		if size > len(extra) {
			break
		}
		if id == zip64ExtraID && size >= 16 {
			return binary.LittleEndian.Uint64(extra), binary.LittleEndian.Uint64(extra[8:]), true
		}
		extra = extra[size:]
	}
	return 0, 0, false
}
