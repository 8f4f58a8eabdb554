package ofd

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
)

// entryReader inflates a deflated entry that gives its sizes before its data straight
// from its bytes in the package, as archive/zip's File.Open reads it but without a
// buffered reader, a section reader and their allocations per file. It checks what
// archive/zip checks: the declared size, exceeded or not reached, and the CRC-32 when
// one is declared, with the same errors.
type entryReader struct {
	src   bytes.Reader
	fr    io.ReadCloser // from inflaters
	crc   uint32
	nread uint64
	size  uint64 // declared uncompressed size
	want  uint32 // declared CRC-32
	err   error
}

// openDirect returns an entryReader for f, whose compressed bytes are raw, or nil when
// archive/zip must read it (not deflated, or sizes in a data descriptor).
func openDirect(f *zip.File, raw []byte) io.ReadCloser {
	if f.Method != zip.Deflate || f.Flags&flagDescriptor != 0 {
		return nil
	}
	r := &entryReader{size: f.UncompressedSize64, want: f.CRC32}
	r.src.Reset(raw)
	r.fr = inflaters.Get().(io.ReadCloser)
	if err := r.fr.(flate.Resetter).Reset(&r.src, nil); err != nil {
		r.err = err
	}
	return r
}

func (r *entryReader) Read(b []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.fr.Read(b)
	r.crc = crc32.Update(r.crc, crc32.IEEETable, b[:n])
	r.nread += uint64(n)
	if r.nread > r.size {
		r.err = zip.ErrFormat
		return 0, r.err
	}
	if err == io.EOF {
		switch {
		case r.nread != r.size:
			err = io.ErrUnexpectedEOF
		case r.want != 0 && r.crc != r.want:
			err = zip.ErrChecksum
		}
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

// Close returns the flate reader to its pool.
func (r *entryReader) Close() error {
	if r.fr != nil {
		inflaters.Put(r.fr)
		r.fr = nil
	}
	if r.err == nil {
		r.err = io.ErrClosedPipe
	}
	return nil
}
