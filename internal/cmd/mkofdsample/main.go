// Command mkofdsample writes the OFD sample into a folder, made by the embedded default from
// nothing, as mksample makes the quick start's:
//
//   - licence.ofd: an unsigned licence-like document it lays out itself (a business licence
//     of a sample company, with the keyword 盖章处 where the registration authority's seal
//     goes);
//   - licence-signed.ofd: the licence signed by the authority's official seal, its stamp
//     centred on the keyword, then signed a second time by the legal representative's
//     personal seal right of the name;
//   - licence.png: page 1 of licence-signed.ofd drawn by ofdrender at 96 dpi;
//   - root.pem, maker.pem and crl.der: the CA's root, the accepted seal maker and a CRL
//     issued after the signatures, with which both signatures verify TOTAL_PASSED.
//
// A Pebble store and a software key store live in a temporary folder and are thrown away
// afterwards, keys and all.
//
//	go run ./internal/cmd/mkofdsample [-font FILE] testdata/ofd
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/pem"
	"flag"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/eseal/eseal/internal/ofdrender"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
)

func main() {
	font := flag.String("font", "", "CJK font for the seal pictures and the rendering (default: uming.ttc)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mkofdsample [-font FILE] DIR")
		os.Exit(2)
	}
	if err := write(context.Background(), flag.Arg(0), *font); err != nil {
		fmt.Fprintln(os.Stderr, "mkofdsample:", err)
		os.Exit(1)
	}
}

// The sample's clock, as mksample's: the CA starts on madeAt, the licence is issued on
// issuedAt and signed then by the authority, an hour later by the legal representative; the
// CRL is issued a day later. Certificates and seals last lifetime, the root ten years more,
// and the CRL's nextUpdate lies past the certificates' end, so the sample verifies
// TOTAL_PASSED until madeAt+lifetime.
var (
	madeAt   = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	issuedAt = time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)
	repAt    = issuedAt.Add(time.Hour)
	lifetime = madeAt.AddDate(20, 0, 0).Sub(madeAt)
)

// The seals' holders.
const (
	authorityCode = "11460100MB1234567H" // GB 32100, with its check character
	legalRepID    = "11010519491231002X" // GB 11643, with its check digit
)

// holder is a seal made for the sample: the seal, its signer certificate and key.
type holder struct {
	seal *ses.Seal
	cert []byte
	key  crypto.Signer
	w, h float64 // the picture's size in millimetres
}

func write(ctx context.Context, dir, font string) error {
	unsigned, repX, repY, err := licence(issuedAt)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "eseal-ofdsample-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	db, err := store.Open(filepath.Join(tmp, "data"), nil)
	if err != nil {
		return err
	}
	defer db.Close()
	kek := make([]byte, 16) // an SM4 key
	if _, err := rand.Read(kek); err != nil {
		return err
	}
	keys, err := softkey.New(db, kek, softkey.Options{})
	if err != nil {
		return err
	}
	defer keys.Close()
	now := madeAt
	clock := func() time.Time { return now }
	ca, err := pki.Open(ctx, pki.Options{
		Store: db, Keys: keys, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		CRLURL:       "http://eseal.example/v1/pki/crl",
		Organisation: "海南省示例电子印章平台", OrgCode: "11460000MB0123456T",
		RootValidity:  madeAt.AddDate(30, 0, 0).Sub(madeAt),
		MakerValidity: lifetime,
		CRLValidity:   lifetime,
	})
	if err != nil {
		return err
	}
	defer ca.Close()
	pictures, err := sealimg.New(sealimg.Options{FontPath: font, DPI: 300})
	if err != nil {
		return err
	}
	maker, err := keys.Signer(ctx, pki.MakerKeyLabel)
	if err != nil {
		return err
	}
	mk := func(label, esid, name string, typ int, who pki.Holder, pic sealimg.Seal) (*holder, error) {
		if _, err := keys.Generate(ctx, label, signer.SM2); err != nil {
			return nil, err
		}
		issued, err := ca.IssueSigner(ctx, pki.SignerRequest{KeyLabel: label, Holder: who, NotAfter: madeAt.Add(lifetime)})
		if err != nil {
			return nil, err
		}
		d, err := pictures.Draw(pic)
		if err != nil {
			return nil, err
		}
		data, err := d.PNG()
		if err != nil {
			return nil, err
		}
		w, h := d.SizeMM()
		seal, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{
			VID: "eseal", ESID: esid, Type: typ, Name: name,
			SignerCerts: [][]byte{issued.Certificate.Raw},
			CreateDate:  madeAt, ValidStart: madeAt, ValidEnd: issued.Certificate.NotAfter,
			Picture: ses.Picture{Type: "PNG", Data: data, Width: int(math.Round(w)), Height: int(math.Round(h))},
		}, ca.Maker().Raw, maker)
		if err != nil {
			return nil, err
		}
		key, err := keys.Signer(ctx, label)
		if err != nil {
			return nil, err
		}
		return &holder{seal: seal, cert: issued.Certificate.Raw, key: key,
			w: float64(seal.Info.Picture.Width), h: float64(seal.Info.Picture.Height)}, nil
	}
	official, err := mk("seal-46010000000002", "46010000000002", authority, 1,
		pki.Holder{Organisation: authority, CreditCode: authorityCode},
		sealimg.Seal{Kind: sealimg.Official, Name: authority, Code: "4601000000002"})
	if err != nil {
		return fmt.Errorf("the authority's seal: %w", err)
	}
	personal, err := mk("seal-46010000000003", "46010000000003", legalRep, 2,
		pki.Holder{Person: legalRep, PersonID: legalRepID},
		sealimg.Seal{Kind: sealimg.Personal, Name: legalRep})
	if err != nil {
		return fmt.Errorf("the legal representative's seal: %w", err)
	}

	once, err := sign(unsigned, official, ofd.Placement{Keyword: keyword}, issuedAt)
	if err != nil {
		return fmt.Errorf("the authority's signature: %w", err)
	}
	twice, err := sign(once, personal, ofd.Placement{Page: 1, X: repX, Y: repY}, repAt)
	if err != nil {
		return fmt.Errorf("the legal representative's signature: %w", err)
	}
	// A CRL issued after the signatures, as a verifier needs to know the certificates were
	// not revoked when the licence was signed.
	now = repAt.Add(25 * time.Hour)
	crl, err := ca.CRL(ctx)
	if err != nil {
		return err
	}
	pngData, err := renderPage(twice, font)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range map[string][]byte{
		"licence.ofd":        unsigned,
		"licence-signed.ofd": twice,
		"licence.png":        pngData,
		"root.pem":           ca.RootPEM(),
		"maker.pem":          pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Maker().Raw}),
		"crl.der":            crl,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sign adds a seal signature by h to the package data, its stamp where pl says.
func sign(data []byte, h *holder, pl ofd.Placement, at time.Time) ([]byte, error) {
	p, err := ofd.Open(data, ofd.Limits{})
	if err != nil {
		return nil, err
	}
	d, err := p.PrepareSignature(ofd.SignOptions{Placement: pl, Width: h.w, Height: h.h, Time: at,
		Provider: ofd.Provider{Name: "eseal", Version: "1", Company: "eseal"}, Seal: h.seal.Raw})
	if err != nil {
		return nil, err
	}
	sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: h.seal, SignerCert: h.cert, DataHash: d.Digest(),
		PropertyInfo: d.Path(), Time: at}, h.key)
	if err != nil {
		return nil, err
	}
	return d.Finish(sig)
}

// renderPage draws page 1 of an OFD package at 96 dpi as a PNG.
func renderPage(data []byte, font string) ([]byte, error) {
	r, err := ofdrender.New(ofdrender.Options{FontPath: font})
	if err != nil {
		return nil, err
	}
	p, err := ofd.Open(data, ofd.Limits{})
	if err != nil {
		return nil, err
	}
	pg, err := r.RenderPage(p, 1)
	if err != nil {
		return nil, err
	}
	for _, n := range pg.Notes {
		fmt.Fprintln(os.Stderr, "mkofdsample: rendering:", n)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, pg.Image); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
