package sealimg

import (
	"encoding/binary"
	"errors"
	"sort"
)

// The TrueType collection of Debian's fonts-arphic-uming (uming.ttc, made
// with FontForge in 2011) places several tables, glyf among them, at offsets
// that are not multiples of four. The OpenType specification asks for
// four-byte alignment and golang.org/x/image/font/sfnt enforces it, so it
// refuses the file with "invalid table offset". realign copies the tables of
// such a file to aligned offsets and rewrites the table directories; the
// table contents are not changed. A file that is already aligned is returned
// as it is.

const (
	tagTTCF = 0x74746366 // "ttcf"
	maxFont = 1 << 30
)

var errFontStructure = errors.New("not a TrueType or OpenType font (table directory out of range)")

// tableRecord is one entry of an sfnt table directory.
type tableRecord struct {
	tag, checksum, offset, length uint32
}

// fontDir is the table directory of one font in a file.
type fontDir struct {
	version uint32
	tables  []tableRecord
}

func realign(data []byte) ([]byte, error) {
	if len(data) < 12 || len(data) > maxFont {
		return nil, errFontStructure
	}
	var dirOffsets []uint32
	ttc := binary.BigEndian.Uint32(data) == tagTTCF
	var ttcHeader []byte
	if ttc {
		n := binary.BigEndian.Uint32(data[8:])
		if n == 0 || n > 64 || uint64(len(data)) < 12+4*uint64(n) {
			return nil, errFontStructure
		}
		for i := range n {
			dirOffsets = append(dirOffsets, binary.BigEndian.Uint32(data[12+4*i:]))
		}
		ttcHeader = data[:12]
	} else {
		dirOffsets = []uint32{0}
	}
	dirs := make([]fontDir, len(dirOffsets))
	aligned := true
	for i, off := range dirOffsets {
		if uint64(off)+12 > uint64(len(data)) {
			return nil, errFontStructure
		}
		nt := uint32(binary.BigEndian.Uint16(data[off+4:]))
		if uint64(off)+12+16*uint64(nt) > uint64(len(data)) {
			return nil, errFontStructure
		}
		dirs[i].version = binary.BigEndian.Uint32(data[off:])
		for j := range nt {
			rec := data[off+12+16*j:]
			t := tableRecord{
				tag:      binary.BigEndian.Uint32(rec),
				checksum: binary.BigEndian.Uint32(rec[4:]),
				offset:   binary.BigEndian.Uint32(rec[8:]),
				length:   binary.BigEndian.Uint32(rec[12:]),
			}
			if uint64(t.offset)+uint64(t.length) > uint64(len(data)) {
				return nil, errFontStructure
			}
			if t.offset%4 != 0 {
				aligned = false
			}
			dirs[i].tables = append(dirs[i].tables, t)
		}
	}
	if aligned {
		return data, nil
	}

	// New layout: header, directories, then each distinct table once.
	pos := uint64(0)
	if ttc {
		pos = uint64(len(ttcHeader)) + 4*uint64(len(dirs))
	}
	newDirOffsets := make([]uint32, len(dirs))
	for i, d := range dirs {
		newDirOffsets[i] = uint32(pos)
		pos += 12 + 16*uint64(len(d.tables))
		pos = (pos + 3) &^ 3
	}
	type span struct{ offset, length uint32 }
	var spans []span
	seen := map[span]uint32{}
	for _, d := range dirs {
		for _, t := range d.tables {
			s := span{t.offset, t.length}
			if _, ok := seen[s]; !ok {
				seen[s] = 0
				spans = append(spans, s)
			}
		}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].offset < spans[j].offset })
	for _, s := range spans {
		seen[s] = uint32(pos)
		pos += uint64(s.length)
		pos = (pos + 3) &^ 3
	}
	// Tables that overlap in the input would be copied apart; a real font
	// grows only by padding.
	if pos > maxFont || pos > 2*uint64(len(data))+1<<16 {
		return nil, errFontStructure
	}
	out := make([]byte, pos)
	if ttc {
		copy(out, ttcHeader)
		for i, o := range newDirOffsets {
			binary.BigEndian.PutUint32(out[12+4*i:], o)
		}
	}
	for i, d := range dirs {
		o := newDirOffsets[i]
		// Keep the original searchRange, entrySelector and rangeShift.
		copy(out[o:o+12], data[dirOffsets[i]:dirOffsets[i]+12])
		for j, t := range d.tables {
			rec := out[o+12+16*uint32(j):]
			binary.BigEndian.PutUint32(rec, t.tag)
			binary.BigEndian.PutUint32(rec[4:], t.checksum)
			binary.BigEndian.PutUint32(rec[8:], seen[span{t.offset, t.length}])
			binary.BigEndian.PutUint32(rec[12:], t.length)
		}
	}
	for _, s := range spans {
		copy(out[seen[s]:], data[s.offset:s.offset+s.length])
	}
	return out, nil
}
