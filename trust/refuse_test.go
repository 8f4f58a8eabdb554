package trust

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/store"
)

// TestPutRefusals tries every refusal of Put on a set that exists, and checks its kind,
// that the message names the certificate and the fault, and that nothing changed.
func TestPutRefusals(t *testing.T) {
	e := newEnv(t)
	s := e.sets(t, Options{})
	p := newPKI(t, "Refuse")
	gen, err := s.Put(ctx, "r", p.input())
	if err != nil {
		t.Fatal(err)
	}
	// A CA whose subject is its issuer's but whose signature is another key's.
	twinParent := newRoot(t, "Twin Root")
	twinTmpl := subject("Twin Root")
	twinTmpl.IsCA, twinTmpl.BasicConstraintsValid = true, true
	twinTmpl.KeyUsage = smx509.KeyUsageCertSign
	twin := issue(t, &twinTmpl, sm2Key(t), twinParent)
	// A CA certificate that may not sign certificates.
	noCertSignTmpl := subject("No CertSign Root")
	noCertSignTmpl.IsCA, noCertSignTmpl.BasicConstraintsValid = true, true
	noCertSignTmpl.KeyUsage = smx509.KeyUsageDigitalSignature
	noCertSign := issue(t, &noCertSignTmpl, sm2Key(t), nil)
	encipher := newLeaf(t, "Encipher Only", smx509.KeyUsageKeyEncipherment, p.inter)
	noUsage := newLeaf(t, "No Usage", 0, p.inter)
	p256 := p256Root(t)

	tests := []struct {
		name   string
		set    string
		in     TrustSetInput
		lim    Limits
		kind   errs.Kind
		saying []string
	}{
		{"empty name", "", p.input(), Limits{}, ErrInvalidInput, []string{"set name"}},
		{"upper case name", "Guangdong", p.input(), Limits{}, ErrInvalidInput, []string{`"Guangdong"`}},
		{"slash in name", "a/b", p.input(), Limits{}, ErrInvalidInput, []string{"set name"}},
		{"long name", strings.Repeat("a", 65), p.input(), Limits{}, ErrInvalidInput, []string{"1 to 64 bytes"}},
		{"no roots", "r", TrustSetInput{Makers: ders(p.maker)}, Limits{}, ErrInvalidInput, []string{"no roots"}},
		{"root not a CA", "r", TrustSetInput{Roots: ders(p.root, p.maker)}, Limits{}, ErrInvalidInput,
			[]string{"roots[1]", "Refuse Seal Maker", "not a CA certificate"}},
		{"root not self-signed", "r", TrustSetInput{Roots: ders(p.inter)}, Limits{}, ErrInvalidInput,
			[]string{"roots[0]", "CN=Refuse CA", "not self-signed", "issued by", "Refuse Root"}},
		{"root signed by another key", "r", TrustSetInput{Roots: ders(twin)}, Limits{}, ErrInvalidInput,
			[]string{"roots[0]", "Twin Root", "does not verify under its own key"}},
		{"root without keyCertSign", "r", TrustSetInput{Roots: ders(noCertSign)}, Limits{}, ErrInvalidInput,
			[]string{"roots[0]", "No CertSign Root", "keyCertSign"}},
		{"root with a P-256 key", "r", TrustSetInput{Roots: ders(p256)}, Limits{}, ErrUnsupported,
			[]string{"roots[0]", "P-256 Root", "not SM2"}},
		{"maker with a P-256 key", "r", TrustSetInput{Roots: ders(p.root), Makers: ders(p.maker, p256)}, Limits{}, ErrUnsupported,
			[]string{"makers[1]", "P-256 Root", "not SM2"}},
		{"garbage certificate", "r", TrustSetInput{Roots: [][]byte{[]byte("not a certificate")}}, Limits{}, ErrMalformed,
			[]string{"roots[0]", "not a DER X.509 certificate"}},
		{"trailing data", "r", TrustSetInput{Roots: [][]byte{append(bytes.Clone(p.root.cert.Raw), 0)}}, Limits{}, ErrMalformed,
			[]string{"roots[0]", "trailing data"}},
		{"intermediate not a CA", "r", TrustSetInput{Roots: ders(p.root), Intermediates: ders(p.inter, p.maker)}, Limits{}, ErrInvalidInput,
			[]string{"intermediates[1]", "Refuse Seal Maker", "not a CA certificate"}},
		{"maker that cannot sign", "r", TrustSetInput{Roots: ders(p.root), Makers: ders(encipher)}, Limits{}, ErrInvalidInput,
			[]string{"makers[0]", "Encipher Only", "neither digitalSignature nor nonRepudiation"}},
		{"maker without keyUsage", "r", TrustSetInput{Roots: ders(p.root), Makers: ders(noUsage)}, Limits{}, ErrInvalidInput,
			[]string{"makers[0]", "No Usage", "no keyUsage"}},
		{"too many certificates", "r", p.input(), Limits{MaxCerts: 2}, ErrLimitExceeded, []string{"3 certificates", "at most 2"}},
		{"too many bytes", "r", p.input(), Limits{MaxBytes: 1000}, ErrLimitExceeded, []string{"at most 1000"}},
		{"certificate too large", "r", p.input(), Limits{MaxCertBytes: 100}, ErrLimitExceeded, []string{"roots[0]", "at most 100"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.lim = tc.lim.withDefaults()
			defer func() { s.lim = Limits{}.withDefaults() }()
			_, err := s.Put(ctx, tc.set, tc.in)
			wantKind(t, err, tc.kind, tc.saying...)
			set, g, err := s.TrustSet("r")
			if err != nil || g != gen {
				t.Fatalf("after a refused Put: generation %d, %v; want %d", g, err, gen)
			}
			sameSet(t, set, "r", p.input())
		})
	}
}

func TestPutPEMRefusals(t *testing.T) {
	e := newEnv(t)
	s := e.sets(t, Options{})
	p := newPKI(t, "Bundle")
	good := pemOf(p.root)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("secret key bytes 0123456789")})
	withHeaders := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: p.root.cert.Raw})
	broken := []byte("-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n")
	unended := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n")
	tests := []struct {
		name   string
		roots  []byte
		makers []byte
		lim    Limits
		kind   errs.Kind
		saying []string
	}{
		{"text", []byte("hello, world"), nil, Limits{}, ErrMalformed, []string{"roots bundle", "neither PEM"}},
		{"text after a block", append(bytes.Clone(good), "trailing words"...), nil, Limits{}, ErrMalformed,
			[]string{"roots bundle", "text outside PEM blocks", "after 1 blocks"}},
		{"text before a block", append([]byte("subject=CN=x\n"), good...), nil, Limits{}, ErrMalformed,
			[]string{"neither PEM"}},
		{"a private key", good, keyPEM, Limits{}, ErrMalformed, []string{"makers bundle", "PEM block 1", `"PRIVATE KEY"`}},
		{"broken base64", broken, nil, Limits{}, ErrMalformed, []string{"PEM block 1", "broken"}},
		{"broken block before a good one", append(bytes.Clone(broken), good...), nil, Limits{}, ErrMalformed, []string{"PEM block 1", "broken"}},
		{"no END line", append(bytes.Clone(good), unended...), nil, Limits{}, ErrMalformed, []string{"PEM block 2", "broken"}},
		{"headers", withHeaders, nil, Limits{}, ErrMalformed, []string{"headers"}},
		{"a block that is no certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 1, 2, 3}}), nil, Limits{}, ErrMalformed,
			[]string{"roots[0]", "not a DER X.509 certificate"}},
		{"DER with junk after", append(bytes.Clone(p.root.cert.Raw), 0x30, 0x80, 0), nil, Limits{}, ErrMalformed,
			[]string{"bytes at", "after 1 certificates", "not a DER SEQUENCE"}},
		{"bundle too large", good, nil, Limits{MaxBundleBytes: 100}, ErrLimitExceeded, []string{"roots bundle", "at most 100"}},
		{"too many in a bundle", pemOf(p.root, p.root), nil, Limits{MaxCerts: 1}, ErrLimitExceeded, []string{"more than 1 certificates"}},
		{"a maker that is not", good, pemOf(p.root, encipherOf(t, p)), Limits{}, ErrInvalidInput, []string{"makers[1]", "Bundle Encipher"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.lim = tc.lim.withDefaults()
			defer func() { s.lim = Limits{}.withDefaults() }()
			_, err := s.PutPEM(ctx, "b", tc.roots, nil, tc.makers)
			wantKind(t, err, tc.kind, tc.saying...)
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "c2VjcmV0") {
				t.Fatalf("the error quotes a PEM block: %v", err)
			}
			if _, _, err := s.TrustSet("b"); err == nil {
				t.Fatal("a refused PutPEM stored a set")
			}
		})
	}
	// The same, as DER and with blank lines around PEM blocks, works.
	if _, err := s.PutPEM(ctx, "b", append(bytes.Clone(p.root.cert.Raw), p.root.cert.Raw...), nil, []byte("\n\n"+string(pemOf(p.maker))+"\r\n\n"+string(pemOf(p.inter)))); err != nil {
		t.Fatal(err)
	}
	set, _, _ := s.TrustSet("b")
	sameSet(t, set, "b", TrustSetInput{Roots: ders(p.root), Makers: ders(p.maker, p.inter)})
}

func encipherOf(t *testing.T, p pkiFixture) *issued {
	return newLeaf(t, "Bundle Encipher", smx509.KeyUsageKeyEncipherment, p.inter)
}

func TestLoadFiles(t *testing.T) {
	e := newEnv(t)
	s := e.sets(t, Options{})
	p := newPKI(t, "Files")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	roots, inters, makers := write("roots.pem", pemOf(p.root)), write("inter.pem", pemOf(p.inter)), write("makers.pem", pemOf(p.maker))
	gen, err := s.LoadFiles(ctx, "files", roots, inters, makers)
	if err != nil || gen != 1 {
		t.Fatalf("LoadFiles: generation %d, %v", gen, err)
	}
	set, _, _ := s.TrustSet("files")
	sameSet(t, set, "files", p.input())
	// Loading the same files again, as every start does, changes nothing.
	if gen, err := s.LoadFiles(ctx, "files", roots, inters, makers); err != nil || gen != 1 {
		t.Fatalf("LoadFiles again: generation %d, %v; want 1", gen, err)
	}
	// No intermediates file.
	if gen, err := s.LoadFiles(ctx, "files", roots, "", makers); err != nil || gen != 2 {
		t.Fatalf("LoadFiles without intermediates: generation %d, %v; want 2", gen, err)
	}

	missing := filepath.Join(dir, "absent.pem")
	_, err = s.LoadFiles(ctx, "files", roots, "", missing)
	wantKind(t, err, ErrConfig, "makers file "+missing, "does not exist")
	bad := write("bad.pem", pemOf(p.root, p.maker))
	_, err = s.LoadFiles(ctx, "files", bad, "", makers)
	wantKind(t, err, ErrInvalidInput, "roots[1] of file "+bad, "Files Seal Maker", "not a CA")
	s.lim.MaxBundleBytes = 200
	_, err = s.LoadFiles(ctx, "files", roots, "", makers)
	wantKind(t, err, ErrLimitExceeded, "roots file "+roots, "more than 200 bytes")
	s.lim.MaxBundleBytes = DefaultMaxBundleBytes
	_, err = s.LoadFiles(ctx, "Files", roots, "", makers)
	wantKind(t, err, ErrInvalidInput, "set name")
	if _, gen, _ := s.TrustSet("files"); gen != 2 {
		t.Fatalf("refused loads changed the set: generation %d", gen)
	}
}

func TestOpenRefusals(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t, "Open")
	bad := TrustSetInput{Roots: ders(p.maker)}
	_, err := Open(ctx, e.kv(), Options{Default: &bad, Logger: quietLog})
	wantKind(t, err, ErrConfig, "Options.Default", "default trust set is not valid", "roots[0]")
	if _, err := e.kv().Get(ctx, []byte(prefixSet+DefaultName)); err == nil {
		t.Fatal("an invalid default was stored")
	}
	_, err = Open(ctx, nil, Options{})
	wantKind(t, err, ErrConfig, "no store")

	for _, tc := range []struct {
		name, key, value string
		saying           []string
	}{
		{"not JSON", "set/x", "{", []string{`"x"`, "does not decode"}},
		{"another name", "set/x", `{"v":1,"name":"y","generation":1}`, []string{"names the set"}},
		{"generation 0", "set/x", `{"v":1,"name":"x","generation":0,"removed":true}`, []string{"generation 0"}},
		{"a later version", "set/x", `{"v":2,"name":"x","generation":1}`, []string{"version 2"}},
		{"unknown field", "set/x", `{"v":1,"name":"x","generation":1,"removed":true,"extra":1}`, []string{"does not decode"}},
		{"a certificate that fails", "set/x", `{"v":1,"name":"x","generation":1,"roots":["MAA="]}`, []string{"no longer passes", "roots[0]"}},
		{"no roots", "set/x", `{"v":1,"name":"x","generation":1}`, []string{"no longer passes", "no roots"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if err := e.kv().Set(ctx, []byte(tc.key), []byte(tc.value)); err != nil {
				t.Fatal(err)
			}
			_, err := Open(ctx, e.kv(), Options{Logger: quietLog})
			wantKind(t, err, ErrCorrupt, tc.saying...)
		})
	}
}

func TestStoreFailures(t *testing.T) {
	e := newEnv(t)
	s := e.sets(t, Options{})
	p := newPKI(t, "Closed")
	gen, err := s.Put(ctx, "c", p.input())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(ctx, "c", newPKI(t, "Other").input())
	wantKind(t, err, ErrUnavailable, "reading the store")
	var closed *Error
	if !errorsAs(err, &closed) || closed.Err == nil || closed.Err.Error() != store.ErrClosed.Error() {
		t.Fatalf("cause %v, want the store's", closed)
	}
	wantKind(t, s.Remove(ctx, "c"), ErrUnavailable)
	wantKind(t, s.Reload(ctx), ErrUnavailable)
	// What was loaded stays usable.
	if _, g, err := s.TrustSet("c"); err != nil || g != gen {
		t.Fatalf("TrustSet over a closed store: generation %d, %v", g, err)
	}
	_, err = Open(ctx, e.kv(), Options{})
	wantKind(t, err, ErrUnavailable)
	e.open(t)
}
