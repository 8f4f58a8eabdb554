// Command mksample writes the sample of the quick start into a folder, made by the embedded
// default from nothing: a Pebble store and a software key store in a temporary folder (thrown
// away afterwards, keys and all), the built-in SM2 CA (root, seal maker, a signer certificate
// for the seal's key), a contract seal whose picture sealimg draws, a document, and a seal
// signature over it.
//
//	go run ./internal/cmd/mksample [-font FILE] testdata/sample
package main

import (
	"context"
	"crypto/rand"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/signer/softkey"
	"github.com/eseal/eseal/store"
)

func main() {
	font := flag.String("font", "", "CJK font for the seal picture (default: sealimg's)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mksample [-font FILE] DIR")
		os.Exit(2)
	}
	if err := write(context.Background(), flag.Arg(0), *font); err != nil {
		fmt.Fprintln(os.Stderr, "mksample:", err)
		os.Exit(1)
	}
}

// The sample's clock: the CA starts on madeAt, the document is signed on signedAt and the CRL
// is issued a day later. The maker and signer certificates and the seal last lifetime, the
// root ten years more, and the CRL's nextUpdate lies past the certificates' end: so the
// sample verifies TOTAL_PASSED until madeAt+lifetime, and INDETERMINATE (OUT_OF_BOUNDS_NO_POE)
// afterwards, never turning stale on the way.
var (
	madeAt   = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	signedAt = time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)
	lifetime = madeAt.AddDate(20, 0, 0).Sub(madeAt)
)

func write(ctx context.Context, dir, font string) error {
	tmp, err := os.MkdirTemp("", "eseal-sample-")
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

	const sealKey = "seal-46010000000001"
	if _, err := keys.Generate(ctx, sealKey, signer.SM2); err != nil {
		return err
	}
	issued, err := ca.IssueSigner(ctx, pki.SignerRequest{
		KeyLabel: sealKey,
		Holder:   pki.Holder{Organisation: "海南省示例单位", CreditCode: "91460000MA5T00001F"},
		NotAfter: madeAt.Add(lifetime),
	})
	if err != nil {
		return err
	}
	pictures, err := sealimg.New(sealimg.Options{FontPath: font, DPI: 300})
	if err != nil {
		return err
	}
	png, err := pictures.PNG(sealimg.Seal{Kind: sealimg.Contract, Name: "海南省示例单位", Code: "4601000000001"})
	if err != nil {
		return err
	}
	maker, err := keys.Signer(ctx, pki.MakerKeyLabel)
	if err != nil {
		return err
	}
	seal, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{
		VID: "eseal", ESID: "46010000000001", Type: 1, Name: "海南省示例单位合同专用章",
		SignerCerts: [][]byte{issued.Certificate.Raw},
		CreateDate:  madeAt, ValidStart: madeAt, ValidEnd: issued.Certificate.NotAfter,
		Picture: ses.Picture{Type: "PNG", Data: png, Width: 40, Height: 40},
	}, ca.Maker().Raw, maker)
	if err != nil {
		return err
	}
	doc := []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Signature xmlns:ofd=\"http://www.ofdspec.org/2016\"/>\n")
	sum := sm3.Sum(doc)
	sealSigner, err := keys.Signer(ctx, sealKey)
	if err != nil {
		return err
	}
	sig, err := ses.Sign(rand.Reader, &ses.SignRequest{
		Seal: seal, SignerCert: issued.Certificate.Raw, DataHash: sum[:],
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: signedAt,
	}, sealSigner)
	if err != nil {
		return err
	}
	// A CRL issued after the signature, as a verifier needs to know the certificates
	// were not revoked when the document was signed.
	now = signedAt.Add(25 * time.Hour)
	crl, err := ca.CRL(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range map[string][]byte{
		"root.pem":        ca.RootPEM(),
		"maker.pem":       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Maker().Raw}),
		"crl.der":         crl,
		"Seal.esl":        seal.Raw,
		"Signature.xml":   doc,
		"SignedValue.dat": sig,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
