package ofd_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

// signingPKI is a root CA, a seal maker and two signers, each with a seal.
type signingPKI struct {
	root      *smx509.Certificate
	rootKey   *sm2.PrivateKey
	maker     *smx509.Certificate
	makerKey  *sm2.PrivateKey
	signers   [2]*smx509.Certificate
	keys      [2]*sm2.PrivateKey
	seals     [2]*ses.Seal
	signingAt time.Time
}

var (
	pkiOnce sync.Once
	pkiVal  *signingPKI
	pkiErr  error
)

// testPKI returns the test PKI, made once per test binary.
func testPKI(t testing.TB) *signingPKI {
	t.Helper()
	pkiOnce.Do(func() { pkiVal, pkiErr = makePKI() })
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pkiVal
}

func makePKI() (*signingPKI, error) {
	p := &signingPKI{signingAt: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	newKey := func() (*sm2.PrivateKey, error) { return sm2.GenerateKey(rand.Reader) }
	var err error
	if p.rootKey, err = newKey(); err != nil {
		return nil, err
	}
	if p.makerKey, err = newKey(); err != nil {
		return nil, err
	}
	nb, na := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(tpl, parent *smx509.Certificate, key, signer *sm2.PrivateKey) (*smx509.Certificate, error) {
		if parent == nil {
			parent = tpl
		}
		der, err := smx509.CreateCertificate(rand.Reader, tpl, parent, key.Public(), signer)
		if err != nil {
			return nil, err
		}
		return smx509.ParseCertificate(der)
	}
	if p.root, err = mk(&smx509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "eseal ofd test root"},
		NotBefore: nb, NotAfter: na, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign}, nil, p.rootKey, p.rootKey); err != nil {
		return nil, err
	}
	leaf := func(serial int64, cn string, key *sm2.PrivateKey) (*smx509.Certificate, error) {
		return mk(&smx509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"海南省测试单位"}},
			NotBefore: nb, NotAfter: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC),
			KeyUsage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment}, p.root, key, p.rootKey)
	}
	if p.maker, err = leaf(2, "eseal ofd test seal maker", p.makerKey); err != nil {
		return nil, err
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range p.signers {
		if p.keys[i], err = newKey(); err != nil {
			return nil, err
		}
		if p.signers[i], err = leaf(int64(10+i), fmt.Sprintf("eseal ofd test signer %d", i+1), p.keys[i]); err != nil {
			return nil, err
		}
		name := []string{"海南省测试单位合同专用章", "张三"}[i]
		if p.seals[i], err = ses.MakeSeal(rand.Reader, &ses.SealTemplate{
			VID: "eseal", ESID: fmt.Sprintf("460000202500000%d", i+1), Type: 1 + i, Name: name,
			SignerCerts: [][]byte{p.signers[i].Raw}, CreateDate: start, ValidStart: start, ValidEnd: start.AddDate(3, 0, 0),
			Picture: ses.Picture{Type: "PNG", Data: []byte("\x89PNG picture"), Width: 40, Height: 40},
		}, p.maker.Raw, p.makerKey); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// verifier returns a verifier that trusts p, at its signing time plus an hour.
func (p *signingPKI) verifier(t testing.TB) *verifier.Verifier {
	t.Helper()
	now := p.signingAt.Add(time.Hour)
	der, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.AddDate(0, 0, 1)}, p.root, p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return verifier.New(verifier.Options{Roots: []*smx509.Certificate{p.root}, Makers: []*smx509.Certificate{p.maker},
		CRLs: []*smx509.RevocationList{crl}, Now: func() time.Time { return now }})
}

// sign adds a signature by seal number who (0 or 1) to data, the way a caller does.
func (p *signingPKI) sign(t testing.TB, data []byte, who int, o ofd.SignOptions) ([]byte, *ofd.Draft, error) {
	t.Helper()
	pkg, err := ofd.Open(data, ofd.Limits{})
	if err != nil {
		return nil, nil, err
	}
	if o.Width == 0 {
		o.Width, o.Height = float64(p.seals[who].Info.Picture.Width), float64(p.seals[who].Info.Picture.Height)
	}
	if o.Time.IsZero() {
		o.Time = p.signingAt
	}
	d, err := pkg.PrepareSignature(o)
	if err != nil {
		return nil, nil, err
	}
	sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: p.seals[who], SignerCert: p.signers[who].Raw,
		DataHash: d.Digest(), PropertyInfo: d.Path(), Time: o.Time}, p.keys[who])
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.Finish(sig)
	if err != nil {
		t.Fatal(err)
	}
	return out, d, nil
}

// mustSign is sign that fails the test on error.
func (p *signingPKI) mustSign(t testing.TB, data []byte, who int, o ofd.SignOptions) ([]byte, *ofd.Draft) {
	t.Helper()
	out, d, err := p.sign(t, data, who, o)
	if err != nil {
		t.Fatal(err)
	}
	return out, d
}

// report verifies an OFD with the trusting verifier.
func (p *signingPKI) report(t testing.TB, data []byte) *verifier.Report {
	t.Helper()
	r, err := p.verifier(t).VerifyOFD(data, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// signatureAt returns the report of the signature whose Location is loc.
func signatureAt(t testing.TB, r *verifier.Report, loc string) verifier.SignatureReport {
	t.Helper()
	loc = strings.TrimPrefix(loc, "/")
	for _, s := range r.Signatures {
		if strings.TrimPrefix(s.Location, "/") == loc {
			return s
		}
	}
	var locs []string
	for _, s := range r.Signatures {
		locs = append(locs, s.Location)
	}
	t.Fatalf("no signature at %s; the report has %v", loc, locs)
	return verifier.SignatureReport{}
}

// mustPass fails unless the signature at loc is TOTAL_PASSED.
func mustPass(t testing.TB, r *verifier.Report, loc string) {
	t.Helper()
	s := signatureAt(t, r, loc)
	if s.Indication != verifier.TotalPassed {
		var bad []string
		for _, c := range s.Checks {
			if c.Status != verifier.Passed && c.Status != verifier.Skipped {
				bad = append(bad, c.Name+" "+c.Status+": "+c.Detail)
			}
		}
		t.Fatalf("signature %s is %s %s:\n%s", loc, s.Indication, s.SubIndication, strings.Join(bad, "\n"))
	}
}

// checkOf returns the named check of a signature report.
func checkOf(s verifier.SignatureReport, name string) verifier.Check {
	for _, c := range s.Checks {
		if c.Name == name {
			return c
		}
	}
	return verifier.Check{}
}

// opensslVerifyValue checks the SM2 signature of a SES_Signature with OpenSSL 3, over the
// exact TBS_Sign bytes, with the signer's certificate.
func opensslVerifyValue(t *testing.T, signedValue []byte) {
	t.Helper()
	sig, err := ses.ParseSignature(signedValue)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sig.Cert}))
	write("msg", sig.TBS.Raw)
	write("sig", sig.Value)
	cmd := exec.Command("openssl", "x509", "-in", "cert.pem", "-pubkey", "-noout")
	cmd.Dir = dir
	pub, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl x509: %v", err)
	}
	write("pub.pem", pub)
	cmd = exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
		"-sigfile", "sig", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678")
	cmd.Dir = dir
	res, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(res), "Signature Verified Successfully") {
		t.Fatalf("OpenSSL 3 does not verify the signature: %v: %s", err, res)
	}
}

// entries reads every entry of a ZIP: name → decompressed bytes.
func entries(t testing.TB, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if _, dup := m[f.Name]; dup {
			t.Fatalf("%s is written twice", f.Name)
		}
		m[f.Name] = b
	}
	return m
}

// rawEntries returns each entry's header and stored (compressed) bytes.
func rawEntries(t testing.TB, data []byte) map[string]rawEntry {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]rawEntry{}
	for _, f := range zr.File {
		r, err := f.OpenRaw()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		m[f.Name] = rawEntry{f.Method, f.CRC32, b}
	}
	return m
}

type rawEntry struct {
	method uint16
	crc    uint32
	stored []byte
}

// rezip writes files (sorted by name), deflated.
func rezip(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, n := range names {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const ns = `xmlns:ofd="http://www.ofdspec.org/2016"`

// page is a page of a generated document: its ID and the content of its Content.xml.
type page struct {
	id      string
	content string
}

// licence returns the files of an unsigned one-document OFD with the given pages
// (A4 by default through CommonData/PageArea).
func licence(pages ...page) map[string][]byte {
	if len(pages) == 0 {
		pages = []page{{"1", textPage("电子营业执照 统一社会信用代码 盖章处")}}
	}
	var list strings.Builder
	files := map[string][]byte{
		"OFD.xml": []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ofd:OFD ` + ns + ` Version="1.0" DocType="OFD">` +
			`<ofd:DocBody><ofd:DocInfo><ofd:DocID>0c2f6e7a</ofd:DocID><ofd:Title>licence</ofd:Title></ofd:DocInfo>` +
			`<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>`),
		"Doc_0/PublicRes.xml": []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Res ` + ns + ` BaseLoc="Res"><ofd:Fonts>` +
			`<ofd:Font ID="2" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>`),
	}
	for i, pg := range pages {
		fmt.Fprintf(&list, `<ofd:Page ID="%s" BaseLoc="Pages/Page_%d/Content.xml"/>`, pg.id, i)
		files[fmt.Sprintf("Doc_0/Pages/Page_%d/Content.xml", i)] = []byte(pg.content)
	}
	files["Doc_0/Document.xml"] = []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Document ` + ns + `><ofd:CommonData>` +
		`<ofd:MaxUnitID>100</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>` +
		`<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>` + list.String() + `</ofd:Pages></ofd:Document>`)
	return files
}

// textPage is a page with one text object per line of text, 10 mm apart from y = 30,
// each from x = 20 with glyphs 5 mm apart on the baseline 7 mm below the object's top.
func textPage(lines ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><ofd:Page ` + ns + `><ofd:Content><ofd:Layer ID="3">`)
	for i, l := range lines {
		fmt.Fprintf(&b, `<ofd:TextObject ID="%d" Boundary="20 %d 170 10" Font="2" Size="5"><ofd:TextCode X="0" Y="7" DeltaX="g %d 5">%s</ofd:TextCode></ofd:TextObject>`,
			10+i, 30+10*i, max(utf8.RuneCountInString(l)-1, 0), l)
	}
	b.WriteString(`</ofd:Layer></ofd:Content></ofd:Page>`)
	return b.String()
}

// kindOf fails unless err is an *ofd.Error of kind k whose message contains each of words.
func wantErr(t testing.TB, err error, k errs.Kind, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", k.Code())
	}
	var e *ofd.Error
	if !errors.As(err, &e) || !errors.Is(err, k) {
		t.Fatalf("%q is not an *ofd.Error of kind %s", err, k.Code())
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not say %q", err, w)
		}
	}
}
