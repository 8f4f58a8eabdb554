package bench

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/ofd"
)

// Baseline is what the machine does with the raw primitives, on every core, in the same
// run: gmsm's sm2.SignASN1 and sm2.VerifyASN1WithSM2 (default ID, so that SM3 of Z and of
// the message count) over a message the size of the operation's TBS_Sign, and for ofd-sign
// the in-process floor of signing one OFD document (as ofd's BenchmarkSignOFDVsFloor
// measures it).
type Baseline struct {
	// MessageLen is the size of the message signed and verified (TBS_Sign's).
	MessageLen int
	// SignPerSec and VerifyPerSec are the raw signatures and verifications a second.
	SignPerSec, VerifyPerSec float64
	// FloorPerSec, for ofd-sign, is the documents a second of the floor: inflate and SM3 of
	// every file the signature protects, plus one raw SM2 signature over a TBS_Sign of the
	// same size; zero for the other operations.
	FloorPerSec float64
	// Workers is the goroutines that ran each primitive (GOMAXPROCS).
	Workers int
}

// Ratio is the operation's figure against the primitive it needs: signatures made a second
// over raw signatures a second (sign, sign-batch), signatures verified a second over raw
// verifications a second (verify, verify-batch, ofd-verify, an OFD document's signatures
// each counted), documents signed a second over the floor's (ofd-sign).
func (r *Result) Ratio() float64 {
	b := r.Baseline
	if b == nil {
		return 0
	}
	var d float64
	switch r.Op {
	case OpSign, OpSignBatch:
		d = b.SignPerSec
	case OpOFDSign:
		d = b.FloorPerSec
	default:
		d = b.VerifyPerSec
	}
	if d <= 0 {
		return 0
	}
	return r.ItemsPerSec() / d
}

// MeasureBaseline measures the raw primitives for w's operation on every core, each for
// d: signing, then verifying, then (ofd-sign) the floor of signing w's document.
func MeasureBaseline(ctx context.Context, w *Workload, d time.Duration) (*Baseline, error) {
	if d <= 0 {
		return nil, fmt.Errorf("bench: baseline duration %v: it must be positive", d)
	}
	if w.TBSLen <= 0 {
		return nil, fmt.Errorf("bench: %s: the size of TBS_Sign is unknown", w.Op)
	}
	b := &Baseline{MessageLen: w.TBSLen, Workers: runtime.GOMAXPROCS(0)}
	var err error
	if b.SignPerSec, b.VerifyPerSec, err = RawSM2(ctx, w.TBSLen, d, b.Workers); err != nil {
		return nil, err
	}
	if w.Op == OpOFDSign {
		src := w.Document
		if w.Signed != nil {
			src = w.Signed // the protected files as the signature protects them
		}
		if b.FloorPerSec, err = OFDSignFloor(ctx, src, w.Protected, w.TBSLen, d, b.Workers); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// RawSM2 measures sm2.SignASN1 and then sm2.VerifyASN1WithSM2, default ID, over a message of
// msgLen bytes, on workers goroutines for d each, and returns each one's count a second.
func RawSM2(ctx context.Context, msgLen int, d time.Duration, workers int) (signs, verifies float64, err error) {
	if msgLen <= 0 || msgLen > 1<<26 || workers < 1 {
		return 0, 0, fmt.Errorf("bench: raw SM2 over %d bytes on %d workers", msgLen, workers)
	}
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: SM2 key: %w", err)
	}
	msg := make([]byte, msgLen)
	if _, err := rand.Read(msg); err != nil {
		return 0, 0, err
	}
	sig, err := sm2.SignASN1(rand.Reader, key, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return 0, 0, fmt.Errorf("bench: raw SM2 signature: %w", err)
	}
	signs, err = spin(ctx, d, workers, func() error {
		_, err := sm2.SignASN1(rand.Reader, key, msg, sm2.DefaultSM2SignerOpts)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("bench: raw SM2 signature: %w", err)
	}
	verifies, err = spin(ctx, d, workers, func() error {
		if !sm2.VerifyASN1WithSM2(&key.PublicKey, nil, msg, sig) {
			return errors.New("a good signature did not verify")
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("bench: raw SM2 verification: %w", err)
	}
	return signs, verifies, nil
}

// OFDSignFloor measures the floor of signing a document in process, on workers goroutines
// for d: inflating and hashing (SM3) every file the signature protects (protected, read from
// doc, the document as signed, so that the files the signing adds or changes are read as the
// signature protects them; a name doc lacks is left out; when protected is empty, every file
// of doc but Signatures.xml) and one raw SM2 signature over a message of tbsLen bytes. It
// returns the documents a second.
func OFDSignFloor(ctx context.Context, doc []byte, protected []string, tbsLen int, d time.Duration, workers int) (float64, error) {
	if len(doc) == 0 || tbsLen <= 0 || workers < 1 {
		return 0, errors.New("bench: the OFD signing floor needs a document and the size of TBS_Sign")
	}
	zr, err := zip.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		return 0, fmt.Errorf("bench: the OFD signing floor: the document is not a ZIP package: %w", err)
	}
	byName := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		byName[path.Clean("/" + f.Name)[1:]] = f
	}
	var files []*zip.File
	if len(protected) == 0 {
		for n, f := range byName {
			if !isSignaturesList(n) && !f.FileInfo().IsDir() {
				files = append(files, f)
			}
		}
	}
	for _, n := range protected {
		// A name doc lacks (the seal file, when doc is the unsigned document) is left out.
		if f, ok := byName[strings.TrimPrefix(path.Clean("/"+n), "/")]; ok {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return 0, errors.New("bench: the OFD signing floor: the document has no file to protect")
	}
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return 0, fmt.Errorf("bench: SM2 key: %w", err)
	}
	msg := make([]byte, tbsLen)
	bufs := sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
	once := func() error {
		buf := bufs.Get().(*[]byte) // one copy buffer a worker, not one a file
		defer bufs.Put(buf)
		for _, f := range files {
			if f.UncompressedSize64 > ofd.DefaultMaxEntrySize {
				return fmt.Errorf("%s: larger than %d bytes", f.Name, ofd.DefaultMaxEntrySize)
			}
			rc, err := f.Open()
			if err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
			h := sm3.New()
			_, err = io.CopyBuffer(h, io.LimitReader(rc, ofd.DefaultMaxEntrySize+1), *buf)
			rc.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
			h.Sum(nil)
		}
		_, err := sm2.SignASN1(rand.Reader, key, msg, sm2.DefaultSM2SignerOpts)
		return err
	}
	if err := once(); err != nil {
		return 0, fmt.Errorf("bench: the OFD signing floor: %w", err)
	}
	n, err := spin(ctx, d, workers, once)
	if err != nil {
		return 0, fmt.Errorf("bench: the OFD signing floor: %w", err)
	}
	return n, nil
}

// isSignaturesList tells a package's Signatures.xml, which a signature leaves unprotected so
// that later signatures remain possible.
func isSignaturesList(name string) bool {
	const s = "Signatures.xml"
	return len(name) >= len(s) && name[len(name)-len(s):] == s && (len(name) == len(s) || name[len(name)-len(s)-1] == '/')
}

// spin runs f on workers goroutines for d and returns the calls a second; the first error
// stops it.
func spin(ctx context.Context, d time.Duration, workers int, f func() error) (float64, error) {
	var n atomic.Int64
	var first error
	var once sync.Once
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := f(); err != nil {
					once.Do(func() { first = err; close(stop) })
					return
				}
				n.Add(1)
			}
		}()
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-stop:
	}
	t.Stop()
	once.Do(func() { close(stop) })
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return 0, first
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(n.Load()) / elapsed.Seconds(), nil
}
