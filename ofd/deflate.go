package ofd

import (
	"archive/zip"
	"compress/flate"
	"io"
	"sync"
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
