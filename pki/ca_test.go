package pki

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/signer"
)

var oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}

func TestOpenCreatesCA(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ca := e.open(t)
	root, maker := ca.Root(), ca.Maker()

	t.Run("root", func(t *testing.T) {
		if !root.IsCA || !root.BasicConstraintsValid || !root.MaxPathLenZero {
			t.Fatalf("root basic constraints: CA %v valid %v pathlen0 %v", root.IsCA, root.BasicConstraintsValid, root.MaxPathLenZero)
		}
		if root.KeyUsage != smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign {
			t.Fatalf("root key usage %b", root.KeyUsage)
		}
		critical := false
		for _, x := range root.Extensions {
			if x.Id.Equal(oidBasicConstraints) {
				critical = x.Critical
			}
		}
		if !critical {
			t.Fatal("basicConstraints not critical")
		}
		if len(root.SubjectKeyId) != 20 || root.SignatureAlgorithm != smx509.SM2WithSM3 {
			t.Fatalf("root SKID %x alg %v", root.SubjectKeyId, root.SignatureAlgorithm)
		}
		if root.Subject.CommonName != "海南省大数据管理局 SM2 Root CA" || root.Subject.Organization[0] != "海南省大数据管理局" {
			t.Fatalf("root subject %v", root.Subject)
		}
		pub, err := e.keys.PublicKey(ctx, RootKeyLabel)
		if err != nil || !pub.(*ecdsa.PublicKey).Equal(root.PublicKey) {
			t.Fatalf("root key in key store: %v", err)
		}
		if out, err := opensslVerify(t, ca, root, e.clock.Now()); err != nil {
			t.Fatalf("openssl verify root: %v\n%s", err, out)
		}
	})
	t.Run("maker", func(t *testing.T) {
		verifyChain(t, ca, maker, e.clock.Now())
		if maker.KeyUsage != smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment || maker.IsCA {
			t.Fatalf("maker key usage %b CA %v", maker.KeyUsage, maker.IsCA)
		}
		if maker.Subject.CommonName != "海南省大数据管理局" || maker.Subject.SerialNumber != codePlatform {
			t.Fatalf("maker subject %v", maker.Subject)
		}
		if len(maker.CRLDistributionPoints) != 1 || maker.CRLDistributionPoints[0] != testCRLURL {
			t.Fatalf("maker CRL DP %v", maker.CRLDistributionPoints)
		}
		pub, err := e.keys.PublicKey(ctx, MakerKeyLabel)
		if err != nil || !pub.(*ecdsa.PublicKey).Equal(maker.PublicKey) {
			t.Fatalf("maker key in key store: %v", err)
		}
		is, err := ca.Lookup(ctx, maker.SerialNumber)
		if err != nil || is.Seq != 2 || is.Kind != KindMaker || is.Revoked != nil {
			t.Fatalf("Lookup maker: %+v %v", is, err)
		}
		if out, err := opensslVerify(t, ca, maker, e.clock.Now()); err != nil {
			t.Fatalf("openssl verify maker: %v\n%s", err, out)
		}
	})
	t.Run("crl1", func(t *testing.T) {
		der, err := ca.CRL(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rl := checkCRL(t, ca, der, 1)
		if len(rl.RevokedCertificateEntries) != 0 {
			t.Fatal("first CRL not empty")
		}
	})
}

// checkCRL parses a DER CRL with smx509, checks its signature against the
// root, its number, authority key id and update times.
func checkCRL(t *testing.T, ca *CA, der []byte, number int64) *smx509.RevocationList {
	t.Helper()
	rl, err := smx509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("ParseRevocationList: %v", err)
	}
	if err := rl.CheckSignatureFrom(ca.Root()); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	if rl.Number == nil || rl.Number.Int64() != number {
		t.Fatalf("CRL number %v, want %d", rl.Number, number)
	}
	if !bytes.Equal(rl.AuthorityKeyId, ca.Root().SubjectKeyId) {
		t.Fatalf("CRL authority key id %x, root SKID %x", rl.AuthorityKeyId, ca.Root().SubjectKeyId)
	}
	if rl.ThisUpdate.IsZero() || !rl.NextUpdate.After(rl.ThisUpdate) {
		t.Fatalf("CRL thisUpdate %v nextUpdate %v", rl.ThisUpdate, rl.NextUpdate)
	}
	if !bytes.Equal(rl.RawIssuer, ca.Root().RawSubject) {
		t.Fatal("CRL issuer is not the root's subject")
	}
	return rl
}

func TestIssueSigner(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ca := e.open(t)
	now := e.clock.Now()
	tests := []struct {
		name      string
		holder    Holder
		notBefore time.Time
		notAfter  time.Time
		wantCN    string
		wantSN    string
		wantO     string
	}{
		{name: "organisation", holder: Holder{Organisation: "海口市某某科技有限公司", CreditCode: codeCompany},
			notAfter: now.Add(365 * 24 * time.Hour), wantCN: "海口市某某科技有限公司", wantSN: codeCompany, wantO: "海口市某某科技有限公司"},
		{name: "person", holder: Holder{Person: "张三", PersonID: idPerson},
			notAfter: now.Add(30 * 24 * time.Hour), wantCN: "张三", wantSN: idPerson},
		{name: "position seal", holder: Holder{Organisation: "海口市某某科技有限公司", CreditCode: codeCompany, Person: "李四", PersonID: "E12345678"},
			notBefore: now.Add(-2 * time.Hour), notAfter: now.Add(2 * 365 * 24 * time.Hour), wantCN: "李四", wantSN: "E12345678", wantO: "海口市某某科技有限公司"},
		{name: "long name", holder: Holder{Organisation: strings.Repeat("海", MaxNameLen), CreditCode: codeCompany},
			notAfter: now.Add(time.Hour), wantCN: strings.Repeat("海", MaxNameLen), wantSN: codeCompany, wantO: strings.Repeat("海", MaxNameLen)},
	}
	serials := map[string]bool{}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			label := "seal-" + itoa(i)
			e.newKey(t, label)
			is, err := ca.IssueSigner(ctx, SignerRequest{KeyLabel: label, Holder: tt.holder, NotBefore: tt.notBefore, NotAfter: tt.notAfter})
			if err != nil {
				t.Fatal(err)
			}
			c := is.Certificate
			if is.Seq != uint64(3+i) || is.Kind != KindSigner || is.KeyLabel != label {
				t.Fatalf("issued %+v", is)
			}
			verifyChain(t, ca, c, now)
			if out, err := opensslVerify(t, ca, c, now); err != nil {
				t.Fatalf("openssl verify: %v\n%s", err, out)
			}
			if c.Subject.CommonName != tt.wantCN || c.Subject.SerialNumber != tt.wantSN {
				t.Fatalf("subject %v", c.Subject)
			}
			if tt.wantO != "" && (len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != tt.wantO) {
				t.Fatalf("subject O %v", c.Subject.Organization)
			}
			if c.KeyUsage != smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment || c.IsCA {
				t.Fatalf("key usage %b CA %v", c.KeyUsage, c.IsCA)
			}
			if len(c.CRLDistributionPoints) != 1 || c.CRLDistributionPoints[0] != testCRLURL {
				t.Fatalf("CRL DP %v", c.CRLDistributionPoints)
			}
			if !bytes.Equal(c.AuthorityKeyId, ca.Root().SubjectKeyId) || len(c.SubjectKeyId) != 20 {
				t.Fatalf("AKID %x SKID %x", c.AuthorityKeyId, c.SubjectKeyId)
			}
			if c.SerialNumber.BitLen() < 128 || serials[c.SerialNumber.String()] {
				t.Fatalf("serial %x: short or repeated", c.SerialNumber)
			}
			serials[c.SerialNumber.String()] = true
			wantNB := tt.notBefore
			if wantNB.IsZero() {
				wantNB = now
			}
			if !c.NotBefore.Equal(wantNB.Truncate(time.Second)) || !c.NotAfter.Equal(tt.notAfter.Truncate(time.Second)) {
				t.Fatalf("validity %v..%v", c.NotBefore, c.NotAfter)
			}
			pub, _ := e.keys.PublicKey(ctx, label)
			if !pub.(*ecdsa.PublicKey).Equal(c.PublicKey) {
				t.Fatal("certificate does not hold the seal's key")
			}
			got, err := ca.Lookup(ctx, c.SerialNumber)
			if err != nil || !got.Certificate.Equal(c) || got.Seq != is.Seq {
				t.Fatalf("Lookup: %v", err)
			}
		})
	}
}

func TestIssueConcurrent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ca := e.open(t)
	const n = 8
	for i := range n {
		e.newKey(t, "k"+itoa(i))
	}
	var wg sync.WaitGroup
	seqs := make([]uint64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			is, err := ca.IssueSigner(ctx, SignerRequest{KeyLabel: "k" + itoa(i),
				Holder: Holder{Person: "王五", PersonID: idPerson}, NotAfter: e.clock.Now().Add(time.Hour)})
			errs[i] = err
			if err == nil {
				seqs[i] = is.Seq
			}
		})
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seqs[i] < 3 || seqs[i] > 2+n || seen[seqs[i]] {
			t.Fatalf("sequence numbers %v", seqs)
		}
		seen[seqs[i]] = true
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ca := e.open(t)
	e.newKey(t, "seal")
	now := e.clock.Now()
	org := Holder{Organisation: "海口市某某科技有限公司", CreditCode: codeCompany}
	year := now.Add(365 * 24 * time.Hour)
	tests := []struct {
		name  string
		req   SignerRequest
		kind  Kind
		field string
	}{
		{"empty holder", SignerRequest{KeyLabel: "seal", NotAfter: year}, ErrInvalidInput, "holder.organisation"},
		{"empty organisation with code", SignerRequest{KeyLabel: "seal", Holder: Holder{CreditCode: codeCompany}, NotAfter: year}, ErrInvalidInput, "holder.organisation"},
		{"60-character organisation", SignerRequest{KeyLabel: "seal", Holder: Holder{Organisation: strings.Repeat("海", 60), CreditCode: codeCompany}, NotAfter: year}, ErrInvalidInput, "holder.organisation"},
		{"60-character person", SignerRequest{KeyLabel: "seal", Holder: Holder{Person: strings.Repeat("a", 60), PersonID: idPerson}, NotAfter: year}, ErrInvalidInput, "holder.person"},
		{"control character", SignerRequest{KeyLabel: "seal", Holder: Holder{Organisation: "某某\n公司", CreditCode: codeCompany}, NotAfter: year}, ErrInvalidInput, "holder.organisation"},
		{"trailing space", SignerRequest{KeyLabel: "seal", Holder: Holder{Organisation: "某某公司 ", CreditCode: codeCompany}, NotAfter: year}, ErrInvalidInput, "holder.organisation"},
		{"missing credit code", SignerRequest{KeyLabel: "seal", Holder: Holder{Organisation: "某某公司"}, NotAfter: year}, ErrInvalidInput, "holder.credit_code"},
		{"bad check character", SignerRequest{KeyLabel: "seal", Holder: Holder{Organisation: "某某公司", CreditCode: "91350100M000100Y44"}, NotAfter: year}, ErrInvalidInput, "holder.credit_code"},
		{"lower-case credit code", SignerRequest{KeyLabel: "seal", Holder: Holder{Organisation: "某某公司", CreditCode: "91110000802100433b"}, NotAfter: year}, ErrInvalidInput, "holder.credit_code"},
		{"short credit code", SignerRequest{KeyLabel: "seal", Holder: Holder{Organisation: "某某公司", CreditCode: "9135010"}, NotAfter: year}, ErrInvalidInput, "holder.credit_code"},
		{"person without id", SignerRequest{KeyLabel: "seal", Holder: Holder{Person: "张三"}, NotAfter: year}, ErrInvalidInput, "holder.person_id"},
		{"bad resident id check digit", SignerRequest{KeyLabel: "seal", Holder: Holder{Person: "张三", PersonID: "110105194912310021"}, NotAfter: year}, ErrInvalidInput, "holder.person_id"},
		{"missing not_after", SignerRequest{KeyLabel: "seal", Holder: org}, ErrInvalidInput, "not_after"},
		{"not_after before not_before", SignerRequest{KeyLabel: "seal", Holder: org, NotBefore: now.Add(time.Hour), NotAfter: now.Add(time.Minute)}, ErrInvalidInput, "not_after"},
		{"not_after beyond root", SignerRequest{KeyLabel: "seal", Holder: org, NotAfter: ca.Root().NotAfter.Add(time.Hour)}, ErrInvalidInput, "not_after"},
		{"backdated", SignerRequest{KeyLabel: "seal", Holder: org, NotBefore: now.Add(-MaxBackdate - time.Hour), NotAfter: year}, ErrInvalidInput, "not_before"},
		{"missing key", SignerRequest{KeyLabel: "no-such-key", Holder: org, NotAfter: year}, ErrKeyNotFound, "key_label"},
		{"empty key label", SignerRequest{Holder: org, NotAfter: year}, ErrInvalidInput, "key_label"},
		{"CA key label", SignerRequest{KeyLabel: RootKeyLabel, Holder: org, NotAfter: year}, ErrInvalidInput, "key_label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ca.IssueSigner(ctx, tt.req)
			wantErr(t, err, tt.kind, tt.field)
		})
	}
	t.Run("missing key is signer.ErrKeyNotFound too", func(t *testing.T) {
		_, err := ca.IssueSigner(ctx, SignerRequest{KeyLabel: "no-such-key", Holder: org, NotAfter: year})
		if !errors.Is(err, signer.ErrKeyNotFound) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("nothing issued", func(t *testing.T) {
		seq, err := getU64(ctx, ca.kv, keySeq)
		if err != nil || seq != 2 {
			t.Fatalf("sequence %d after refused requests, %v", seq, err)
		}
	})
}

func TestRestart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ca := e.open(t)
	e.newKey(t, "a")
	e.newKey(t, "b")
	req := SignerRequest{KeyLabel: "a", Holder: Holder{Person: "张三", PersonID: idPerson}, NotAfter: e.clock.Now().Add(time.Hour)}
	first, err := ca.IssueSigner(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Revoke(ctx, first.Certificate.SerialNumber, KeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	crlBefore, _ := ca.CRL(ctx)
	root, maker := ca.Root(), ca.Maker()
	ca.Close()
	if _, err := ca.IssueSigner(ctx, req); !errors.Is(err, ErrClosed) {
		t.Fatalf("IssueSigner after Close: %v", err)
	}

	e.restart(t)
	ca2 := e.open(t)
	if !ca2.Root().Equal(root) || !ca2.Maker().Equal(maker) {
		t.Fatal("root or maker changed across restart")
	}
	req.KeyLabel = "b"
	second, err := ca2.IssueSigner(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Seq != 3 || second.Seq != 4 {
		t.Fatalf("sequence %d then %d, want 3 then 4", first.Seq, second.Seq)
	}
	verifyChain(t, ca2, second.Certificate, e.clock.Now())
	crlAfter, err := ca2.CRL(ctx)
	if err != nil || !bytes.Equal(crlBefore, crlAfter) {
		t.Fatalf("CRL changed across restart: %v", err)
	}
	got, err := ca2.Lookup(ctx, first.Certificate.SerialNumber)
	if err != nil || got.Revoked == nil || got.Revoked.Reason != KeyCompromise {
		t.Fatalf("revocation lost across restart: %+v %v", got, err)
	}
	e.clock.Add(25 * time.Hour)
	der, err := ca2.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkCRL(t, ca2, der, 3)
}

func TestKeyMismatchRefusesStart(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		label  string
		delete bool
		kind   Kind
	}{
		{"root key replaced", RootKeyLabel, false, ErrKeyMismatch},
		{"maker key replaced", MakerKeyLabel, false, ErrKeyMismatch},
		{"root key missing", RootKeyLabel, true, ErrKeyNotFound},
		{"maker key missing", MakerKeyLabel, true, ErrKeyNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.open(t).Close()
			if err := e.keys.Delete(ctx, tt.label); err != nil {
				t.Fatal(err)
			}
			if !tt.delete {
				e.newKey(t, tt.label)
			}
			e.restart(t)
			_, err := Open(ctx, e.options())
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.label) || !strings.Contains(err.Error(), "refusing to start") {
				t.Fatalf("Open: %v, want %v naming %s", err, tt.kind, tt.label)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	e := newEnv(t)
	other := newEnv(t)
	otherCA := other.open(t)
	tests := []struct {
		name  string
		mod   func(*Options)
		field string
	}{
		{"no store", func(o *Options) { o.Store = nil }, "Options.Store"},
		{"no keys", func(o *Options) { o.Keys = nil }, "Options.Keys"},
		{"no CRL URL", func(o *Options) { o.CRLURL = "" }, "Options.CRLURL"},
		{"relative CRL URL", func(o *Options) { o.CRLURL = "/v1/pki/crl" }, "Options.CRLURL"},
		{"ftp CRL URL", func(o *Options) { o.CRLURL = "ftp://x/crl" }, "Options.CRLURL"},
		{"no organisation", func(o *Options) { o.Organisation = "" }, "Options.Organisation"},
		{"60-character organisation", func(o *Options) { o.Organisation = strings.Repeat("省", 60) }, "Options.Organisation"},
		{"bad org code", func(o *Options) { o.OrgCode = "91350100M000100Y4I" }, "Options.OrgCode"},
		{"CRL refresh over a day", func(o *Options) { o.CRLRefresh = 25 * time.Hour }, "Options.CRLRefresh"},
		{"CRL validity under refresh", func(o *Options) { o.CRLRefresh = 12 * time.Hour; o.CRLValidity = time.Hour }, "Options.CRLValidity"},
		{"anchor not a CA", func(o *Options) { o.TrustAnchors = []*smx509.Certificate{otherCA.Maker()} }, "Options.TrustAnchors[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := e.options()
			tt.mod(&o)
			_, err := Open(context.Background(), o)
			wantErr(t, err, ErrConfig, tt.field)
		})
	}
}

func TestCheckCodes(t *testing.T) {
	tests := []struct {
		name   string
		credit bool
		in     string
		ok     bool
	}{
		{"credit code", true, codePlatform, true},
		{"credit code 2", true, codeCompany, true},
		{"credit code check 0", true, "911100001000010000", false},
		{"credit code with I", true, "91I10000802100433B", false},
		{"credit code letter in division", true, "9111A000802100433B", false},
		{"credit code 19 chars", true, codeCompany + "1", false},
		{"resident id with X", false, idPerson, true},
		{"resident id digit", false, "440524188001010014", true},
		{"resident id bad", false, "440524188001010015", false},
		{"resident id lower x", false, "11010519491231002x", false},
		{"passport", false, "E12345678", true},
		{"space", false, "E1234 5678", false},
		{"too long", false, strings.Repeat("1", 33), false},
		{"empty", false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.credit {
				err = CheckCreditCode(tt.in)
			} else {
				err = CheckPersonID(tt.in)
			}
			if (err == nil) != tt.ok {
				t.Fatalf("%q: %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

// TestOpenSSLRefusesForeignCertificate shows the OpenSSL check has teeth:
// a certificate from another CA does not verify against this root.
func TestOpenSSLRefusesForeignCertificate(t *testing.T) {
	e := newEnv(t)
	ca := e.open(t)
	other := newEnv(t).open(t)
	if out, err := opensslVerify(t, ca, other.Maker(), e.clock.Now()); err == nil {
		t.Fatalf("openssl verified a foreign certificate:\n%s", out)
	}
	if out, err := opensslVerify(t, other, other.Maker(), e.clock.Now()); err != nil {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}
