package ofd_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"path"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/internal/benchratio"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// BenchmarkSignOFDVsFloor signs each real vector that accepts a signature, in process
// (Open, PrepareSignature, ses.Sign, Finish), against its floor measured in the same run:
// inflating and hashing (SM3) every file the signature protects, as the signed package holds
// it (the seal's file the signing adds, OFD.xml as it changes), plus one raw gmsm SM2
// signature over a message the size of the TBS_Sign. The seal is the size of real producers'
// seals (a 15.7 KB stamp picture). It reports sign/floor, the ratio of throughputs (1: as
// fast as the floor):
//
//	go test ./ofd -run '^$' -bench SignOFDVsFloor -benchtime 200x
func BenchmarkSignOFDVsFloor(b *testing.B) {
	p := testPKI(b)
	// The seal signs as real producers' seals do, with a stamp picture of their size: the
	// ofdrw vectors' StampImg.png, 15.7 KB (their seals are 17 KB).
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{
		VID: "eseal", ESID: "4600002025000009", Type: 2, Name: "张三",
		SignerCerts: [][]byte{p.signers[1].Raw}, CreateDate: start, ValidStart: start, ValidEnd: start.AddDate(3, 0, 0),
		Picture: ses.Picture{Type: "PNG", Data: testvectors.Read(b, "ofdrw/ofdrw-gm/src/test/resources/StampImg.png"), Width: 40, Height: 40},
	}, p.maker.Raw, p.makerKey)
	if err != nil {
		b.Fatal(err)
	}
	names, files := vectorOFDs(b)
	for _, n := range names {
		data := files[n]
		o := ofd.SignOptions{Placement: ofd.Placement{Page: 1, X: 100, Y: 100}, Width: 40, Height: 40, Time: p.signingAt, Seal: seal.Raw}
		signOnce := func() ([]byte, *ofd.Draft, error) {
			pkg, err := ofd.Open(data, ofd.Limits{})
			if err != nil {
				return nil, nil, err
			}
			d, err := pkg.PrepareSignature(o)
			if err != nil {
				return nil, nil, err
			}
			sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: p.signers[1].Raw,
				DataHash: d.Digest(), PropertyInfo: d.Path(), Time: o.Time}, p.keys[1])
			if err != nil {
				b.Fatal(err)
			}
			out, err := d.Finish(sig)
			if err != nil {
				b.Fatal(err)
			}
			return out, d, nil
		}
		signed, d, err := signOnce()
		if errors.Is(err, errs.WrongState) {
			o.Force = true
			signed, d, err = signOnce()
		}
		if err != nil {
			continue // a package that refuses signatures (Signatures.xml protected)
		}
		protected, tbsLen := floorInputs(b, signed, d)
		// Every file the signature protects, as the signed package holds it: the files it
		// leaves as they were, the ones it changes (OFD.xml gaining its Signatures) and the
		// ones it adds (the seal's file).
		zr, err := zip.NewReader(bytes.NewReader(signed), int64(len(signed)))
		if err != nil {
			b.Fatal(err)
		}
		byName := map[string]*zip.File{}
		for _, f := range zr.File {
			byName[path.Clean("/" + f.Name)[1:]] = f
		}
		var floorFiles []*zip.File
		for _, f := range protected {
			zf, ok := byName[f]
			if !ok {
				b.Fatalf("%s: the signature protects %s, which the signed package lacks", n, f)
			}
			floorFiles = append(floorFiles, zf)
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
						sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: p.signers[1].Raw,
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
