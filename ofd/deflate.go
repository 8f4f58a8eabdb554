package ofd

import (
	"archive/zip"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"runtime"
	"sync"
	"time"
)

// The writer deflates the few XML files it writes at flate.BestSpeed: they are small,
// and higher levels gain a few bytes at many times the cost.

// A flate.Writer holds about 650 KB of tables whatever its level, so writers are
// reused. A sync.Pool alone loses them at every garbage collection, which a
// signing server runs often; a few are kept in a free list that collection
// does not empty, the rest in the pool.

// idleDeflaters holds BestSpeed writers between uses.
var idleDeflaters = make(chan *flate.Writer, min(runtime.GOMAXPROCS(0), 8))

var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(io.Discard, flate.BestSpeed) // never fails for a valid level
	return w
}}

func getDeflater(out io.Writer) *flate.Writer {
	var w *flate.Writer
	select {
	case w = <-idleDeflaters:
	default:
		w = flateWriters.Get().(*flate.Writer)
	}
	w.Reset(out)
	return w
}

func putDeflater(w *flate.Writer) {
	w.Reset(io.Discard) // drop the reference to the output
	select {
	case idleDeflaters <- w:
	default:
		flateWriters.Put(w)
	}
}

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
	putDeflater(p.w)
	p.w = nil
	return err
}

// fastDeflate is a zip.Compressor deflating at BestSpeed with pooled writers.
func fastDeflate(out io.Writer) (io.WriteCloser, error) {
	return &pooledDeflater{w: getDeflater(out)}, nil
}

var _ zip.Compressor = fastDeflate

// The DER files the writer adds (SignedValue.dat, Seal.esl) hold signatures,
// certificates and compressed pictures, which deflate cannot shrink: they are
// written as deflate streams of stored blocks (RFC 1951 §3.2.4), which costs
// no Huffman coding and no compressor. The stream is the one compress/flate
// writes at NoCompression: blocks of at most 65535 bytes, none final, then an
// empty final block.

// maxStoredBlock is the most bytes a stored block holds.
const maxStoredBlock = 65535

// storedDeflateSize is the length of the stored-block stream of n bytes.
func storedDeflateSize(n int) int {
	return n + 5*((n+maxStoredBlock-1)/maxStoredBlock) + 5
}

// writeStoredBlocks writes b to w as a deflate stream of stored blocks.
func writeStoredBlocks(w io.Writer, b []byte) error {
	var hdr [5]byte
	for {
		n := min(len(b), maxStoredBlock)
		if n > 0 {
			hdr[0] = 0 // BFINAL 0, BTYPE 00 (stored), then padding to the byte
		} else {
			hdr[0] = 1 // the empty final block
		}
		binary.LittleEndian.PutUint16(hdr[1:], uint16(n))
		binary.LittleEndian.PutUint16(hdr[3:], ^uint16(n))
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if _, err := w.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
}

// writeStoredDeflate writes b as an entry deflated in stored blocks, modified at t.
func writeStoredDeflate(w *zip.Writer, name string, b []byte, t time.Time) error {
	fh := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: t,
		CreatorVersion: 20, ReaderVersion: 20,
		CRC32: crc32.ChecksumIEEE(b), CompressedSize64: uint64(storedDeflateSize(len(b))), UncompressedSize64: uint64(len(b))}
	// CreateRaw writes the MS-DOS time fields as given; only CreateHeader fills them from
	// Modified.
	//lint:ignore SA1019 the deprecated fields are the ones CreateRaw writes
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
	return writeStoredBlocks(fw, b)
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
