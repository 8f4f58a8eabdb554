package pki

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// outsideCA is a test CA standing for a national CA: its key lives in the
// env's key store too, so no key is made outside a key store.
type outsideCA struct {
	cert  *smx509.Certificate
	label string
	e     *env
}

func newOutsideCA(t *testing.T, e *env, label string) *outsideCA {
	t.Helper()
	ctx := context.Background()
	e.newKey(t, label)
	key, err := e.keys.Signer(ctx, label)
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	tmpl := &smx509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Outside SM2 CA " + label},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &outsideCA{cert: c, label: label, e: e}
}

// sign issues a certificate for the CSR's key and subject.
func (o *outsideCA) sign(t *testing.T, csrDER []byte, ku smx509.KeyUsage) []byte {
	t.Helper()
	csr, err := smx509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("CSR signature: %v", err)
	}
	key, err := o.e.keys.Signer(context.Background(), o.label)
	if err != nil {
		t.Fatal(err)
	}
	now := o.e.clock.Now()
	der, err := smx509.CreateCertificate(rand.Reader, &smx509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: csr.Subject,
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage: ku, BasicConstraintsValid: true,
	}, o.cert, csr.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestOutsideCA(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	trusted := newOutsideCA(t, e, "outside-root")
	stranger := newOutsideCA(t, e, "stranger-root")
	opts := e.options()
	opts.TrustAnchors = []*smx509.Certificate{trusted.cert}
	ca, err := Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	holder := Holder{Organisation: "海口市某某科技有限公司", CreditCode: codeCompany}
	e.newKey(t, "ext-seal")
	e.newKey(t, "other-seal")

	csrDER, err := ca.CreateCSR(ctx, CSRRequest{KeyLabel: "ext-seal", Holder: holder})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("CSR", func(t *testing.T) {
		csr, err := smx509.ParseCertificateRequest(csrDER)
		if err != nil {
			t.Fatal(err)
		}
		if err := csr.CheckSignature(); err != nil {
			t.Fatal(err)
		}
		pub, _ := e.keys.PublicKey(ctx, "ext-seal")
		if csr.SignatureAlgorithm != smx509.SM2WithSM3 || !csr.PublicKey.(*ecdsa.PublicKey).Equal(pub) {
			t.Fatalf("CSR algorithm %v or key wrong", csr.SignatureAlgorithm)
		}
		if csr.Subject.SerialNumber != codeCompany || csr.Subject.Organization[0] != holder.Organisation {
			t.Fatalf("CSR subject %v", csr.Subject)
		}
		dir := t.TempDir()
		writePEM(t, filepath.Join(dir, "csr.pem"), "CERTIFICATE REQUEST", csrDER)
		out, err := openssl(t, dir, "req", "-in", "csr.pem", "-verify", "-vfyopt", sm2DistID, "-noout")
		if err != nil || !strings.Contains(out, "verify OK") {
			t.Fatalf("openssl req -verify: %v\n%s", err, out)
		}
	})

	good := trusted.sign(t, csrDER, smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment)
	t.Run("import", func(t *testing.T) {
		pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good})
		im, err := ca.Import(ctx, ImportRequest{KeyLabel: "ext-seal", Certificate: pemCert})
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Chain) != 2 || !im.Chain[1].Equal(trusted.cert) {
			t.Fatalf("chain %v", im.Chain)
		}
		list, err := ca.ImportedFor(ctx, "ext-seal")
		if err != nil || len(list) != 1 || string(list[0].Certificate.Raw) != string(good) || len(list[0].Chain) != 2 {
			t.Fatalf("ImportedFor: %v %v", list, err)
		}
		if list, err := ca.ImportedFor(ctx, "other-seal"); err != nil || len(list) != 0 {
			t.Fatalf("ImportedFor other: %v %v", list, err)
		}
	})

	fromStranger := stranger.sign(t, csrDER, smx509.KeyUsageDigitalSignature)
	encipherOnly := trusted.sign(t, csrDER, smx509.KeyUsageKeyEncipherment)
	tests := []struct {
		name  string
		req   ImportRequest
		kind  Kind
		field string
	}{
		{"certificate of another key", ImportRequest{KeyLabel: "other-seal", Certificate: good}, ErrKeyMismatch, "certificate"},
		{"does not chain", ImportRequest{KeyLabel: "ext-seal", Certificate: fromStranger}, ErrUntrusted, "certificate"},
		{"not a signing certificate", ImportRequest{KeyLabel: "ext-seal", Certificate: encipherOnly}, ErrInvalidInput, "certificate"},
		{"CA certificate", ImportRequest{KeyLabel: "outside-root", Certificate: trusted.cert.Raw}, ErrInvalidInput, "certificate"},
		{"garbage", ImportRequest{KeyLabel: "ext-seal", Certificate: []byte("not a certificate")}, ErrInvalidInput, "certificate"},
		{"bad intermediate", ImportRequest{KeyLabel: "ext-seal", Certificate: good, Intermediates: [][]byte{{0x30, 0}}}, ErrInvalidInput, "intermediates[0]"},
		{"missing key", ImportRequest{KeyLabel: "no-such-key", Certificate: good}, ErrKeyNotFound, "key_label"},
		{"CA key label", ImportRequest{KeyLabel: MakerKeyLabel, Certificate: good}, ErrInvalidInput, "key_label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ca.Import(ctx, tt.req)
			wantErr(t, err, tt.kind, tt.field)
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.clock.Add(2 * 365 * 24 * time.Hour)
		defer e.clock.Add(-2 * 365 * 24 * time.Hour)
		_, err := ca.Import(ctx, ImportRequest{KeyLabel: "ext-seal", Certificate: good})
		wantErr(t, err, ErrUntrusted, "certificate")
	})

	csrTests := []struct {
		name  string
		req   CSRRequest
		kind  Kind
		field string
	}{
		{"missing key", CSRRequest{KeyLabel: "no-such-key", Holder: holder}, ErrKeyNotFound, "key_label"},
		{"empty name", CSRRequest{KeyLabel: "ext-seal", Holder: Holder{CreditCode: codeCompany}}, ErrInvalidInput, "holder.organisation"},
		{"60-character name", CSRRequest{KeyLabel: "ext-seal", Holder: Holder{Organisation: strings.Repeat("司", 60), CreditCode: codeCompany}}, ErrInvalidInput, "holder.organisation"},
		{"bad credit code", CSRRequest{KeyLabel: "ext-seal", Holder: Holder{Organisation: "某某公司", CreditCode: "91110000802100433C"}}, ErrInvalidInput, "holder.credit_code"},
		{"bad label", CSRRequest{KeyLabel: "a/b", Holder: holder}, ErrInvalidInput, "key_label"},
	}
	for _, tt := range csrTests {
		t.Run("CSR "+tt.name, func(t *testing.T) {
			_, err := ca.CreateCSR(ctx, tt.req)
			wantErr(t, err, tt.kind, tt.field)
		})
	}

	t.Run("no trust anchors", func(t *testing.T) {
		ca2, err := Open(ctx, e.options())
		if err != nil {
			t.Fatal(err)
		}
		_, err = ca2.Import(ctx, ImportRequest{KeyLabel: "ext-seal", Certificate: good})
		wantErr(t, err, ErrConfig, "Options.TrustAnchors")
	})
}
