package ofd

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"sync"
	"time"
)

// The writer deflates the few files it writes at flate.BestSpeed: they are small XML files
// and a DER signature, where higher levels gain a few bytes at many times the cost (a
// writer at a higher level clears half a megabyte of tables for each file).

var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(io.Discard, flate.BestSpeed) // never fails for a valid level
	return w
}}

// pooledDeflater is a flate writer that returns to the pool once closed.
type pooledDeflater struct {
	mu sync.Mutex
	w  *flate.Writer
}

func (p *pooledDeflater) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w == nil {
		return 0, io.ErrClosedPipe
	}
	return p.w.Write(b)
}

func (p *pooledDeflater) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w == nil {
		return nil
	}
	err := p.w.Close()
	flateWriters.Put(p.w)
	p.w = nil
	return err
}

// fastDeflate is a zip.Compressor deflating at BestSpeed with pooled writers.
func fastDeflate(out io.Writer) (io.WriteCloser, error) {
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(out)
	return &pooledDeflater{w: w}, nil
}

var _ zip.Compressor = fastDeflate

// The DER files the writer adds (SignedValue.dat, Seal.esl) hold signatures,
// certificates and compressed pictures, which deflate cannot shrink: they are
// written as deflate streams of stored blocks, which costs no Huffman coding.

var storeWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(io.Discard, flate.NoCompression) // never fails for a valid level
	return w
}}

// storedDeflate returns b as a deflate stream of stored blocks.
func storedDeflate(b []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/16000*5 + 16)
	w := storeWriters.Get().(*flate.Writer)
	defer storeWriters.Put(w)
	w.Reset(&out)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// writeStoredDeflate writes b as an entry deflated in stored blocks, modified at t.
func writeStoredDeflate(w *zip.Writer, name string, b []byte, t time.Time) error {
	c, err := storedDeflate(b)
	if err != nil {
		return err
	}
	fh := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: t,
		CreatorVersion: 20, ReaderVersion: 20,
		CRC32: crc32.ChecksumIEEE(b), CompressedSize64: uint64(len(c)), UncompressedSize64: uint64(len(b))}
	fh.ModifiedDate, fh.ModifiedTime = msDOSTime(t)
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			fh.Flags |= 0x800 // the name is UTF-8
			break
		}
	}
	fw, err := w.CreateRaw(fh)
	if err != nil {
		return err
	}
	_, err = fw.Write(c)
	return err
}

// msDOSTime is t as an MS-DOS date and time (2-second resolution, from 1980).
func msDOSTime(t time.Time) (date, tm uint16) {
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	date = uint16((t.Year()-1980)<<9 | int(t.Month())<<5 | t.Day())
	tm = uint16(t.Hour()<<11 | t.Minute()<<5 | t.Second()>>1)
	return date, tm
}
