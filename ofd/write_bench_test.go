package ofd_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"path"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/internal/benchratio"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// BenchmarkSignOFDVsFloor signs each real vector that accepts a signature, in process
// (Open, PrepareSignature, ses.Sign, Finish), against its floor measured in the same run:
// inflating and hashing (SM3) every file the signature protects, plus one raw gmsm SM2
// signature over a message the size of the TBS_Sign. It reports sign/floor, the ratio of
// throughputs (1: as fast as the floor):
//
//	go test ./ofd -run '^$' -bench SignOFDVsFloor -benchtime 200x
func BenchmarkSignOFDVsFloor(b *testing.B) {
	p := testPKI(b)
	names, files := vectorOFDs(b)
	for _, n := range names {
		data := files[n]
		o := ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 100, Y: 100}, Width: 40, Height: 40, Time: p.signingAt, Seal: p.seals[1].Raw}
		signed, d, err := p.sign(b, data, 1, o)
		if errors.Is(err, errs.WrongState) {
			o.Force = true
			signed, d, err = p.sign(b, data, 1, o)
		}
		if err != nil {
			continue // a package that refuses signatures (Signatures.xml protected)
		}
		protected, tbsLen := floorInputs(b, signed, d)
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		byName := map[string]*zip.File{}
		for _, f := range zr.File {
			byName[path.Clean("/" + f.Name)[1:]] = f
		}
		var floorFiles []*zip.File
		for _, f := range protected {
			if zf, ok := byName[f]; ok {
				floorFiles = append(floorFiles, zf)
			}
		}
		msg := make([]byte, tbsLen)
		rand.Read(msg)
		b.Run(path.Base(n), func(b *testing.B) {
			benchratio.Interleave(b, 10,
				benchratio.Side{Name: "floor", Run: func(k int) error {
					buf := make([]byte, 32<<10) // one buffer for every file: the floor allocates nothing per file
					for range k {
						for _, f := range floorFiles {
							rc, err := f.Open()
							if err != nil {
								return err
							}
							h := sm3.New()
							_, err = io.CopyBuffer(h, rc, buf)
							rc.Close()
							if err != nil {
								return err
							}
							h.Sum(nil)
						}
						if _, err := sm2.SignASN1(rand.Reader, p.keys[1], msg, sm2.DefaultSM2SignerOpts); err != nil {
							return err
						}
					}
					return nil
				}},
				benchratio.Side{Name: "sign", Run: func(k int) error {
					for range k {
						pkg, err := ofd.Open(data, ofd.Limits{})
						if err != nil {
							return err
						}
						d, err := pkg.PrepareSignature(o)
						if err != nil {
							return err
						}
						sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: p.seals[1], SignerCert: p.signers[1].Raw,
							DataHash: d.Digest(), PropertyInfo: d.Path(), Time: o.Time}, p.keys[1])
						if err != nil {
							return err
						}
						if _, err := d.Finish(sig); err != nil {
							return err
						}
					}
					return nil
				}})
		})
	}
}

// floorInputs returns the files the new signature of signed protects and the size of its
// TBS_Sign.
func floorInputs(tb testing.TB, signed []byte, d *ofd.Draft) ([]string, int) {
	tb.Helper()
	pkg, err := ofd.Open(signed, ofd.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	sigs, err := pkg.Signatures()
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range sigs {
		if "/"+s.Location != d.Path() {
			continue
		}
		v, err := ses.ParseSignature(s.SignedValue)
		if err != nil {
			tb.Fatal(err)
		}
		var out []string
		for _, r := range s.References {
			out = append(out, r.Path)
		}
		return out, len(v.TBS.Raw)
	}
	tb.Fatalf("the new signature %s is not listed", d.Path())
	return nil, 0
}
