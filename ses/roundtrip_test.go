package ses_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

// testPKI is the ofdrw test PKI: a seal maker and a signer, SM2 keys and certificates.
type testPKI struct {
	makerKey, userKey   *sm2.PrivateKey
	makerCert, userCert []byte
	picture             []byte
}

func loadPKI(t testing.TB) *testPKI {
	t.Helper()
	key := func(name string) *sm2.PrivateKey {
		b, _ := pem.Decode(testvectors.Read(t, "ofdrw/derived/"+name))
		if b == nil {
			t.Fatalf("%s: no PEM", name)
		}
		k, err := smx509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return k.(*sm2.PrivateKey)
	}
	return &testPKI{
		makerKey:  key("SealBuilder.key.pem"),
		userKey:   key("USER.key.pem"),
		makerCert: testvectors.Read(t, "ofdrw/derived/SealBuilder.cert.der"),
		userCert:  testvectors.Read(t, "ofdrw/derived/USER.cert.der"),
		picture:   testvectors.Read(t, "ofdrw/ofdrw-gm/src/test/resources/StampImg.png"),
	}
}

func (p *testPKI) template(version int) *ses.SealTemplate {
	start := time.Date(2020, 4, 22, 0, 0, 0, 0, time.UTC)
	return &ses.SealTemplate{
		Version: version, VID: "eseal", ESID: "46000020200422000001", Type: 1, Name: "海南省测试单位合同专用章",
		SignerCerts: [][]byte{p.userCert},
		CreateDate:  start, ValidStart: start, ValidEnd: start.AddDate(2, 0, 0),
		Picture: ses.Picture{Type: "PNG", Data: p.picture, Width: 40, Height: 40},
	}
}

func pub(t testing.TB, der []byte) *ecdsa.PublicKey {
	t.Helper()
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c.PublicKey.(*ecdsa.PublicKey)
}

func TestRoundTrip(t *testing.T) {
	p := loadPKI(t)
	doc := []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signature xmlns:ofd="http://www.ofdspec.org/2016"/>`)
	for _, tc := range []struct {
		name    string
		version int
		digests bool
	}{
		{"v4 certificates", 4, false},
		{"v4 certificate digests", 4, true},
		{"v1", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := p.template(tc.version)
			tpl.UseCertDigests = tc.digests
			tpl.Extensions = nil
			seal, err := ses.MakeSeal(rand.Reader, tpl, p.makerCert, p.makerKey)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ses.ParseSeal(seal.Raw)
			if err != nil {
				t.Fatal(err)
			}
			if again.Version != tc.version || again.Info.Property.Name != tpl.Name || again.Info.ESID != tpl.ESID ||
				!again.Info.Property.ValidEnd.Equal(tpl.ValidEnd) || !bytes.Equal(again.Info.Picture.Data, p.picture) {
				t.Fatalf("seal does not read back as made: %+v", again.Info)
			}
			if c := again.CheckSignature(pub(t, p.makerCert)); !c.OK || c.Encoding != ses.EncDER {
				t.Fatalf("seal signature: %+v", c)
			}
			sum := sm3.Sum(doc)
			signedAt := time.Date(2021, 6, 1, 8, 0, 0, 0, time.UTC)
			der, err := ses.Sign(rand.Reader, &ses.SignRequest{
				Seal: seal, SignerCert: p.userCert, DataHash: sum[:],
				PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: signedAt,
			}, p.userKey)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := ses.ParseSignature(der)
			if err != nil {
				t.Fatal(err)
			}
			if sig.Version != tc.version || !bytes.Equal(sig.TBS.Seal.Raw, seal.Raw) || !sig.TBS.Time.Equal(signedAt) || len(sig.Notes) != 0 {
				t.Fatalf("signature does not read back as made: version %d time %v notes %v", sig.Version, sig.TBS.Time, sig.Notes)
			}
			if c := sig.CheckValue(pub(t, p.userCert)); !c.OK {
				t.Fatalf("signature value: %+v", c)
			}
			if ok, d := sig.SignerInSeal(); !ok {
				t.Fatal(d)
			}
			if !sig.DataHashMatches(doc) || sig.DataHashMatches(append(doc, ' ')) {
				t.Fatal("dataHash check is wrong")
			}
			// The verification procedure, an hour after signing, passes everything it can
			// check without a trust anchor; with none, no seal maker can be accepted.
			now := func() time.Time { return signedAt.Add(time.Hour) }
			r := verifier.New(verifier.Options{Now: now}).VerifySignature(der, doc)
			for _, c := range r.Checks {
				want := verifier.Passed
				switch c.Name {
				case verifier.CheckChain, verifier.CheckSealMaker:
					want = verifier.Indet
				case verifier.CheckRevocation, verifier.CheckTimeProof, verifier.CheckTimestamp:
					want = verifier.Skipped
				}
				if c.Status != want {
					t.Errorf("verifier: %s is %s, want %s: %s", c.Name, c.Status, want, c.Detail)
				}
			}
			// An independent implementation agrees: OpenSSL 3 over the exact signed bytes.
			opensslVerify(t, p.userCert, sig.TBS.Raw, sig.Value)
			opensslVerify(t, p.makerCert, makerMessage(t, again), again.SignValue)

			// Changing one byte of the signed part breaks the signature.
			bad := bytes.Clone(der)
			i := bytes.Index(bad, []byte("/Doc_0"))
			bad[i+1] = 'X'
			badSig, err := ses.ParseSignature(bad)
			if err != nil {
				t.Fatal(err)
			}
			if c := badSig.CheckValue(pub(t, p.userCert)); c.OK {
				t.Fatal("a changed TBS_Sign still verifies")
			}
		})
	}
}

// makerMessage rebuilds what the maker signed, by the rule of the version, from the
// original bytes, so that OpenSSL can be asked about it independently.
func makerMessage(t *testing.T, s *ses.Seal) []byte {
	if s.Version != 1 {
		return s.Info.Raw
	}
	// v1: SEQUENCE{SES_SealInfo, OCTET STRING cert, OID}: cut from the seal's own bytes.
	i := bytes.Index(s.Raw, s.Info.Raw)
	rest := s.Raw[i+len(s.Info.Raw):]
	// rest is the SES_SignInfo SEQUENCE: skip its header, take cert and OID TLVs.
	body := rest[2:]
	if rest[1]&0x80 != 0 {
		body = rest[2+int(rest[1]&0x7f):]
	}
	j := bytes.LastIndex(body, []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75})
	if j < 0 {
		t.Fatal("no algorithm OID in SES_SignInfo")
	}
	content := append(bytes.Clone(s.Info.Raw), body[:j+10]...)
	return append([]byte{0x30, 0x82, byte(len(content) >> 8), byte(len(content))}, content...)
}

// opensslVerify checks an SM2 signature with OpenSSL 3, which must be installed.
func opensslVerify(t *testing.T, certDER, msg, sig []byte) {
	t.Helper()
	dir := t.TempDir()
	certPath := filepath.Join(dir, "cert.pem")
	write(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}))
	write(t, filepath.Join(dir, "msg"), msg)
	write(t, filepath.Join(dir, "sig"), sig)
	out, err := exec.Command("openssl", "x509", "-in", certPath, "-pubkey", "-noout").Output()
	if err != nil {
		t.Fatalf("openssl x509: %v", err)
	}
	write(t, filepath.Join(dir, "pub.pem"), out)
	cmd := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
		"-sigfile", "sig", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678")
	cmd.Dir = dir
	res, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(res), "Signature Verified Successfully") {
		t.Fatalf("OpenSSL 3 does not verify the signature: %v: %s", err, res)
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rawSigner returns raw r||s, as some HSMs do; Sign must still emit DER.
type rawSigner struct{ k *sm2.PrivateKey }

func (r rawSigner) Public() crypto.PublicKey { return r.k.Public() }
func (r rawSigner) Sign(rnd io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	der, err := r.k.Sign(rnd, msg, opts)
	if err != nil {
		return nil, err
	}
	v, err := ses.DecodeSM2Value(der)
	if err != nil {
		return nil, err
	}
	return append(v.R[:], v.S[:]...), nil
}

func TestSignerReturningRawRS(t *testing.T) {
	p := loadPKI(t)
	seal, err := ses.MakeSeal(rand.Reader, p.template(4), p.makerCert, rawSigner{p.makerKey})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := ses.DecodeSM2Value(seal.SignValue); err != nil || v.Encoding != ses.EncDER {
		t.Fatalf("seal signature emitted as %v (%v), want DER", v.Encoding, err)
	}
}

func TestMakeSealRefusesMismatchedMaker(t *testing.T) {
	p := loadPKI(t)
	if _, err := ses.MakeSeal(rand.Reader, p.template(4), p.makerCert, p.userKey); err == nil ||
		!strings.Contains(err.Error(), "does not hold the maker key") {
		t.Fatalf("err = %v", err)
	}
}
