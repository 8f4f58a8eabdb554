// Command mksample writes the sample of the quick start into a folder: an SM2 test hierarchy
// (root, seal maker, signer; the keys are thrown away), a v4 seal whose picture is drawn by
// sealimg, a document, and a seal signature over it.
//
//	go run ./internal/cmd/mksample -font /usr/share/fonts/truetype/arphic/uming.ttc testdata/sample
package main

import (
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/ses"
)

func main() {
	font := flag.String("font", "/usr/share/fonts/truetype/arphic/uming.ttc", "CJK font for the seal picture")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: mksample [-font FILE] DIR")
		os.Exit(2)
	}
	if err := write(flag.Arg(0), *font); err != nil {
		fmt.Fprintln(os.Stderr, "mksample:", err)
		os.Exit(1)
	}
}

func write(dir, font string) error {
	notBefore := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter := time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC)
	rootKey, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	root, err := issue(&smx509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "eseal sample root CA", Country: []string{"CN"}},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
	}, nil, rootKey, rootKey)
	if err != nil {
		return err
	}
	leaf := func(serial int64, cn string) (*smx509.Certificate, *sm2.PrivateKey, error) {
		k, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		c, err := issue(&smx509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn, Organization: []string{"海南省示例单位"}, Country: []string{"CN"}},
			NotBefore:    notBefore, NotAfter: notAfter,
			KeyUsage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		}, root, k, rootKey)
		return c, k, err
	}
	maker, makerKey, err := leaf(2, "eseal sample seal maker")
	if err != nil {
		return err
	}
	signer, signerKey, err := leaf(3, "海南省示例单位")
	if err != nil {
		return err
	}
	r, err := sealimg.New(sealimg.Options{FontPath: font, DPI: 300})
	if err != nil {
		return err
	}
	png, err := r.PNG(sealimg.Seal{Kind: sealimg.Contract, Name: "海南省示例单位", Code: "4601000000001"})
	if err != nil {
		return err
	}
	seal, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{
		VID: "eseal", ESID: "46010000000001", Type: 1, Name: "海南省示例单位合同专用章",
		SignerCerts: [][]byte{signer.Raw},
		CreateDate:  notBefore, ValidStart: notBefore, ValidEnd: notAfter.Add(-time.Second),
		Picture: ses.Picture{Type: "PNG", Data: png, Width: 40, Height: 40},
	}, maker.Raw, makerKey)
	if err != nil {
		return err
	}
	doc := []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Signature xmlns:ofd=\"http://www.ofdspec.org/2016\"/>\n")
	sum := sm3.Sum(doc)
	sig, err := ses.Sign(rand.Reader, &ses.SignRequest{
		Seal: seal, SignerCert: signer.Raw, DataHash: sum[:],
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC),
	}, signerKey)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{
		"root.pem":        pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}),
		"Seal.esl":        seal.Raw,
		"Signature.xml":   doc,
		"SignedValue.dat": sig,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func issue(tpl, parent *smx509.Certificate, key, signer *sm2.PrivateKey) (*smx509.Certificate, error) {
	if parent == nil {
		parent = tpl
	}
	der, err := smx509.CreateCertificate(rand.Reader, tpl, parent, key.Public(), signer)
	if err != nil {
		return nil, err
	}
	return smx509.ParseCertificate(der)
}
