package verifier

import (
	"bytes"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// pki is a small SM2 hierarchy made for the test: a root, a seal maker and a signer.
type pki struct {
	t                            testing.TB
	root, maker, signer          *smx509.Certificate
	rootKey, makerKey, signerKey *sm2.PrivateKey
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	p := &pki{t: t}
	var err error
	for _, k := range []**sm2.PrivateKey{&p.rootKey, &p.makerKey, &p.signerKey} {
		if *k, err = sm2.GenerateKey(rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	nb, na := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC)
	p.root = mkCert(t, &smx509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "eseal test root"},
		NotBefore: nb, NotAfter: na, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
	}, nil, p.rootKey, p.rootKey)
	leaf := func(serial int64, cn string, key *sm2.PrivateKey) *smx509.Certificate {
		return mkCert(t, &smx509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"海南省测试单位"}},
			NotBefore: nb, NotAfter: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC),
			KeyUsage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		}, p.root, key, p.rootKey)
	}
	p.maker = leaf(2, "eseal test seal maker", p.makerKey)
	p.signer = leaf(3, "eseal test signer", p.signerKey)
	return p
}

func mkCert(t testing.TB, tpl, parent *smx509.Certificate, key, signer *sm2.PrivateKey) *smx509.Certificate {
	t.Helper()
	if parent == nil {
		parent = tpl
	}
	der, err := smx509.CreateCertificate(rand.Reader, tpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *pki) seal(t testing.TB, start, end time.Time) *ses.Seal {
	t.Helper()
	s, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{
		VID: "eseal", ESID: "4600002024000001", Type: 1, Name: "海南省测试单位",
		SignerCerts: [][]byte{p.signer.Raw}, CreateDate: start, ValidStart: start, ValidEnd: end,
		Picture: ses.Picture{Type: "PNG", Data: []byte("\x89PNG picture"), Width: 40, Height: 40},
	}, p.maker.Raw, p.makerKey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (p *pki) sign(t testing.TB, seal *ses.Seal, data []byte, at time.Time) []byte {
	t.Helper()
	sum := sm3.Sum(data)
	der, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: p.signer.Raw, DataHash: sum[:],
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: at}, p.signerKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// at is a fixed clock.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// trust is the configuration that trusts p: its root, its seal maker, a CRL of the root
// issued at now that revokes nothing, the clock at now.
func (p *pki) trust(now time.Time) Options {
	return Options{Roots: []*smx509.Certificate{p.root}, Makers: []*smx509.Certificate{p.maker},
		CRLs: []*smx509.RevocationList{p.emptyCRL(now)}, Now: at(now)}
}

// emptyCRL is a CRL of the root issued at now, valid for a day, that revokes nothing.
func (p *pki) emptyCRL(now time.Time) *smx509.RevocationList {
	return mkCRL(p.t, p.root, p.rootKey, now.Unix(), now, now.AddDate(0, 0, 1))
}

func TestProcedure(t *testing.T) {
	p := newPKI(t)
	data := []byte("<Signature/>")
	start, end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, end)
	inWindow := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	good := p.sign(t, seal, data, inWindow)
	revokedAt := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	crlDER, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: revokedAt, NextUpdate: revokedAt.AddDate(0, 0, 1),
		RevokedCertificateEntries: []smx509.RevocationListEntry{{SerialNumber: p.signer.SerialNumber, RevocationTime: revokedAt}},
	}, p.root, p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.ParseRevocationList(crlDER)
	if err != nil {
		t.Fatal(err)
	}
	emptyDER, err := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(2), ThisUpdate: revokedAt, NextUpdate: revokedAt.AddDate(0, 0, 1),
	}, p.root, p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := smx509.ParseRevocationList(emptyDER)
	if err != nil {
		t.Fatal(err)
	}
	// The clock stands half a day after the revocation: everything is valid now but the
	// signer's certificate, which is revoked.
	now := at(revokedAt.Add(12 * time.Hour))
	makers := []*smx509.Certificate{p.maker}
	roots := []*smx509.Certificate{p.root}
	emptyCRL := Options{Roots: roots, Makers: makers, CRLs: []*smx509.RevocationList{empty}, Now: now}
	trusted := Options{Roots: roots, Makers: makers, Now: now}
	withCRL := Options{Roots: roots, Makers: makers, CRLs: []*smx509.RevocationList{crl}, Now: now}
	otherRoot := newPKI(t).root
	later := func(o Options, t time.Time) Options { o.Now = at(t); return o }

	for _, tc := range []struct {
		name       string
		opts       Options
		der, data  []byte
		indication string
		sub        string
		statuses   map[string]string
	}{
		{"trusted and whole, revocation unknown", trusted, good, data, Indeterminate, TryLater,
			map[string]string{CheckChain: Passed, CheckDataHash: Passed, CheckSealMaker: Passed, CheckRevocation: Indet, CheckTimeProof: Skipped}},
		{"trusted, whole and not revoked", later(emptyCRL, revokedAt.Add(-time.Hour)), good, data, TotalPassed, "",
			map[string]string{CheckChain: Passed, CheckDataHash: Passed, CheckSealMaker: Passed, CheckRevocation: Passed, CheckTimeProof: Skipped}},
		{"no trust anchors", Options{Makers: makers, Now: now}, good, data, Indeterminate, NoCertificateChainFound,
			map[string]string{CheckChain: Indet, CheckSealMaker: Indet}},
		{"no trust anchors nor makers", Options{Now: now}, good, data, Indeterminate, NoCertificateChainFound,
			map[string]string{CheckChain: Indet, CheckSealMaker: Indet}},
		{"another root", Options{Roots: []*smx509.Certificate{otherRoot}, Makers: makers, Now: now}, good, data, Indeterminate, NoCertificateChainFound,
			map[string]string{CheckChain: Indet, CheckSealMaker: Indet}},
		{"no data", trusted, good, nil, Indeterminate, SignedDataNotFound, map[string]string{CheckDataHash: Indet}},
		{"changed data", trusted, good, []byte("<Signature />"), TotalFailed, HashFailure, map[string]string{CheckDataHash: Failed}},
		{"signed before the seal", trusted, p.sign(t, seal, data, start.Add(-time.Hour)), data, TotalFailed, NotYetValid,
			map[string]string{CheckSealValidity: Failed}},
		{"signed after the seal expired", later(trusted, end.AddDate(0, 1, 0)), p.sign(t, seal, data, end.Add(time.Hour)), data, TotalFailed, Expired,
			map[string]string{CheckSealValidity: Failed, CheckTimeProof: Indet}},
		{"signed after the certificates expired", later(trusted, time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC)),
			p.sign(t, p.seal(t, start, time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)), data, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), data, TotalFailed, Expired,
			map[string]string{CheckSealValidity: Passed, CheckSignerCertTime: Failed, CheckChain: Failed}},
		{"revoked before signing", withCRL, p.sign(t, seal, data, revokedAt.Add(time.Hour)), data, TotalFailed, Revoked,
			map[string]string{CheckRevocation: Failed}},
		// The signer claims a time before the revocation; nothing proves it.
		{"revoked after the claimed signing time", withCRL, good, data, Indeterminate, RevokedNoPOE,
			map[string]string{CheckChain: Passed, CheckRevocation: Passed, CheckTimeProof: Indet}},
		{"empty CRL issued after signing", emptyCRL, good, data, TotalPassed, "",
			map[string]string{CheckRevocation: Passed, CheckTimeProof: Skipped}},
		{"empty CRL issued before signing", emptyCRL, p.sign(t, seal, data, revokedAt.Add(time.Hour)), data, Indeterminate, TryLater,
			map[string]string{CheckRevocation: Indet}},
		{"garbage", trusted, []byte("not a signature"), data, TotalFailed, FormatFailure, map[string]string{CheckFormat: Failed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(tc.opts).VerifySignature(tc.der, tc.data)
			if r.Indication != tc.indication || r.SubIndication != tc.sub {
				t.Errorf("%s / %s, want %s / %s", r.Indication, r.SubIndication, tc.indication, tc.sub)
			}
			for name, want := range tc.statuses {
				if got := status(r.Checks, name); got != want {
					t.Errorf("%s is %s, want %s: %s", name, got, want, detail(r.Checks, name))
				}
			}
			if len(r.Checks) != len(signatureChecks) {
				t.Errorf("%d checks, want %d", len(r.Checks), len(signatureChecks))
			}
			if t.Failed() {
				for _, c := range r.Checks {
					t.Logf("%s %s %s", c.Name, c.Status, c.Detail)
				}
			}
		})
	}
}

// The caches must never answer for different bytes: a seal whose name was changed after the
// maker signed it fails even after the genuine seal was verified, with real caches and with a
// fake cache that answers every lookup with the last value stored, whatever the key (a
// collision at every lookup).
func TestSealMemoDoesNotLeak(t *testing.T) {
	t.Run("real caches", func(t *testing.T) { testSealCacheDoesNotLeak(t, newCaches(t, 8<<20)) })
	t.Run("a cache that answers with the wrong value", func(t *testing.T) {
		testSealCacheDoesNotLeak(t, Caches{Certs: &lyingCache{}, Seals: &lyingCache{}, Chains: &lyingCache{}, Revocation: &lyingCache{}})
	})
}

// A seal whose maker signature was checked is parsed once: later signatures carrying the
// same bytes reuse it, and a seal of other bytes is not answered with it.
func TestSealParsedOnce(t *testing.T) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, start.AddDate(2, 0, 0))
	signed := start.AddDate(0, 6, 0)
	opts := p.trust(signed)
	opts.Caches = newCaches(t, 8<<20)
	v := New(opts)
	if v.parsedSeal(seal.Raw) != nil {
		t.Fatal("a seal never seen is answered")
	}
	if r := v.VerifySignature(p.sign(t, seal, nil, signed), nil); status(r.Checks, CheckSealSignature) != Passed {
		t.Fatal(r.Checks)
	}
	got := v.parsedSeal(seal.Raw)
	if got == nil || !bytes.Equal(got.Raw, seal.Raw) {
		t.Fatal("the checked seal is not kept parsed")
	}
	sig, err := ses.ParseSignatureReusing(p.sign(t, seal, nil, signed), v.parsedSeal)
	if err != nil || sig.TBS.Seal != got {
		t.Fatalf("a second signature under the seal parses it again (%v)", err)
	}
	other := p.seal(t, start, start.AddDate(1, 0, 0))
	if s := v.parsedSeal(other.Raw); s != nil && bytes.Equal(s.Raw, other.Raw) {
		t.Fatal("another seal is answered before it was checked")
	}
}

// lyingCache is a fake Cache: it returns the last value stored for any key, as a cache whose
// keys all collide would.
type lyingCache struct {
	mu   sync.Mutex
	last any
}

func (c *lyingCache) Load(ns string, key [32]byte, load func() (any, int64, time.Time, error)) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil {
		return c.last, nil
	}
	v, _, _, err := load()
	if err == nil {
		c.last = v
	}
	return v, err
}

func (c *lyingCache) Invalidate(string) {}

func testSealCacheDoesNotLeak(t *testing.T, caches Caches) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, start.AddDate(2, 0, 0))
	signed := start.AddDate(0, 6, 0)
	opts := p.trust(signed)
	opts.Caches = caches
	v := New(opts)
	if r := v.VerifySignature(p.sign(t, seal, nil, signed), nil); status(r.Checks, CheckSealSignature) != Passed {
		t.Fatal(r.Checks)
	}
	forged := bytes.Clone(seal.Raw)
	i := bytes.Index(forged, []byte("4600002024000001"))
	forged[i] = '5'
	fs, err := ses.ParseSeal(forged)
	if err != nil {
		t.Fatal(err)
	}
	r := v.VerifySignature(p.sign(t, fs, nil, signed), nil)
	if status(r.Checks, CheckSealSignature) != Failed || status(r.Checks, CheckSignatureValue) != Passed {
		t.Fatalf("forged seal: %v", r.Checks)
	}
}

func TestConcurrentVerification(t *testing.T) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	der := p.sign(t, p.seal(t, start, start.AddDate(2, 0, 0)), []byte("x"), start.AddDate(0, 1, 0))
	opts := p.trust(start.AddDate(0, 2, 0))
	opts.CRLs = []*smx509.RevocationList{ // the newest is found and its signature checked concurrently
		mkCRL(t, p.root, p.rootKey, 1, start.AddDate(0, 1, 1), start.AddDate(0, 3, 0)),
		mkCRL(t, p.root, p.rootKey, 2, start.AddDate(0, 1, 2), start.AddDate(0, 3, 0)),
	}
	opts.Caches = newCaches(t, 8<<20)
	v := New(opts)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if r := v.VerifySignature(der, []byte("x")); r.Indication != TotalPassed {
					t.Error(r.Indication, r.SubIndication)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestReportShape pins the JSON of the report: its keys, their order and the check names.
func TestReportShape(t *testing.T) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, start.AddDate(2, 0, 0))
	der := p.sign(t, seal, []byte("x"), start.AddDate(0, 1, 0))
	r, err := New(Options{}).VerifyFile("a.dat", der, nil, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if got := keys(m); got != "indication kind path seal signatures unsigned_files warnings" {
		t.Fatalf("report keys %q", got)
	}
	sig := m["signatures"].([]any)[0].(map[string]any)
	if got := keys(sig); got != "checks id indication location seal signer signing_time sub_indication type version" {
		t.Fatalf("signature keys %q", got)
	}
	if got := keys(sig["seal"].(map[string]any)); got != "id maker name type valid_from valid_to" {
		t.Fatalf("seal keys %q", got)
	}
	if got := keys(sig["signer"].(map[string]any)); got != "serial subject" {
		t.Fatalf("signer keys %q", got)
	}
	var names []string
	for _, c := range sig["checks"].([]any) {
		cm := c.(map[string]any)
		if got := keys(cm); got != "detail name status" {
			t.Fatalf("check keys %q", got)
		}
		names = append(names, cm["name"].(string))
	}
	if got := strings.Join(names, " "); got != "format signature_value seal_signature signer_in_seal seal_maker data_hash seal_validity signer_certificate_validity certificate_chain revocation time_proof timestamp" {
		t.Fatalf("check names %q", got)
	}
	if !bytes.Contains(b, []byte(`"signing_time":"2025-02-01T00:00:00Z"`)) || !bytes.Contains(b, []byte(`"seal":null,"unsigned_files":[],"warnings":[]}`)) {
		t.Fatalf("report %s", b)
	}
	// A bare seal: no signatures, the seal with its own checks.
	r, err = New(Options{}).VerifyFile("a.esl", seal.Raw, nil, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "seal" || len(r.Signatures) != 0 || r.Seal == nil || len(r.Seal.Checks) == 0 {
		t.Fatalf("seal report %+v", r)
	}
	names = names[:0]
	for _, c := range r.Seal.Checks {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, " "); got != "format signature_value seal_signature signer_in_seal seal_maker data_hash seal_validity signer_certificate_validity certificate_chain revocation timestamp" {
		t.Fatalf("seal check names %q", got)
	}
	b, _ = json.Marshal(r)
	if !bytes.Contains(b, []byte(`"signatures":[]`)) {
		t.Fatalf("seal report %s", b)
	}
}

func keys(m map[string]any) string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return strings.Join(k, " ")
}
