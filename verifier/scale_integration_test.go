package verifier_test

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/cache"
	"github.com/eseal/eseal/revocation"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/trust"
	"github.com/eseal/eseal/verifier"
)

// These tests run the verifier with the real parts it is wired to: CRLs fetched over HTTP
// from a server on a loopback port (package revocation), trust sets in a Pebble store
// (package trust), and the caches of package cache.

// dept is one department's hierarchy: a root, a seal maker and a signer, whose certificates
// name crlURL as their CRL distribution point, and a seal and signature made with them.
type dept struct {
	root, maker, signer          *smx509.Certificate
	rootKey, makerKey, signerKey *sm2.PrivateKey
	seal                         *ses.Seal
}

var (
	signedAt = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	nowAt    = signedAt.Add(2 * time.Hour)
)

func newDept(t *testing.T, name, crlURL string) *dept {
	t.Helper()
	d := &dept{}
	for _, k := range []**sm2.PrivateKey{&d.rootKey, &d.makerKey, &d.signerKey} {
		var err error
		if *k, err = sm2.GenerateKey(rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	nb, na := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2034, 1, 1, 0, 0, 0, 0, time.UTC)
	d.root = makeCert(t, &smx509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " root"},
		NotBefore: nb, NotAfter: na, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
	}, nil, d.rootKey, d.rootKey)
	leaf := func(serial int64, cn string, key *sm2.PrivateKey) *smx509.Certificate {
		tpl := &smx509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: nb, NotAfter: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC),
			KeyUsage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		}
		if crlURL != "" {
			tpl.CRLDistributionPoints = []string{crlURL}
		}
		return makeCert(t, tpl, d.root, key, d.rootKey)
	}
	d.maker = leaf(2, name+" seal maker", d.makerKey)
	d.signer = leaf(3, name+" signer", d.signerKey)
	s, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{
		VID: "eseal", ESID: "4600002024000001", Type: 1, Name: name,
		SignerCerts: [][]byte{d.signer.Raw}, CreateDate: nb, ValidStart: nb, ValidEnd: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC),
		Picture: ses.Picture{Type: "PNG", Data: []byte("\x89PNG picture"), Width: 40, Height: 40},
	}, d.maker.Raw, d.makerKey)
	if err != nil {
		t.Fatal(err)
	}
	d.seal = s
	return d
}

func makeCert(t *testing.T, tpl, parent *smx509.Certificate, key, signer *sm2.PrivateKey) *smx509.Certificate {
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

// sign signs data with the department's seal at signedAt.
func (d *dept) sign(t *testing.T, data []byte) []byte {
	t.Helper()
	sum := sm3.Sum(data)
	der, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: d.seal, SignerCert: d.signer.Raw, DataHash: sum[:],
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: signedAt}, d.signerKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// crl is a CRL of the department's root issued at nowAt - 1 min (after the signing time),
// revoking the signer at the given time when revokedAt is not zero; signedBy signs it.
func (d *dept) crl(t *testing.T, revokedAt time.Time, signedBy *sm2.PrivateKey) []byte {
	t.Helper()
	tpl := &smx509.RevocationList{Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: nowAt.Add(-time.Minute), NextUpdate: nowAt.Add(24 * time.Hour)}
	if !revokedAt.IsZero() {
		tpl.RevokedCertificateEntries = []smx509.RevocationListEntry{{SerialNumber: d.signer.SerialNumber, RevocationTime: revokedAt}}
	}
	der, err := smx509.CreateRevocationList(rand.Reader, tpl, d.root, signedBy)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func newCaches(t *testing.T) verifier.Caches {
	mk := func() *cache.Cache[any] {
		c, err := cache.New[any](cache.Config{MaxBytes: 8 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	return verifier.Caches{Certs: mk(), Seals: mk(), Chains: mk(), Revocation: mk()}
}

func check(r verifier.SignatureReport, name string) verifier.Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return verifier.Check{}
}

// TestFetchedCRLs verifies signatures whose CRLs are fetched from a local CRL server, one
// behaviour of the server per case.
func TestFetchedCRLs(t *testing.T) {
	var serve atomic.Pointer[func(w http.ResponseWriter)]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*serve.Load())(w) }))
	defer srv.Close()
	d := newDept(t, "海南省测试厅", srv.URL+"/root.crl")
	data := []byte("<Signature/>")
	sig := d.sign(t, data)
	other, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	body := func(b []byte) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) { w.Write(b) }
	}
	cases := []struct {
		name      string
		serve     func(w http.ResponseWriter)
		down      bool
		ind, sub  string
		revStatus string
		detail    string // in the revocation check's detail
	}{
		{name: "nothing revoked", serve: body(d.crl(t, time.Time{}, d.rootKey)),
			ind: verifier.TotalPassed, revStatus: verifier.Passed, detail: "is not on the CRL of"},
		{name: "revoked before the signing time", serve: body(d.crl(t, signedAt.Add(-time.Hour), d.rootKey)),
			ind: verifier.TotalFailed, sub: verifier.Revoked, revStatus: verifier.Failed, detail: "before"},
		// Revoked after the signing time: the revocation check passes and says when; only a
		// proof that the signature is older than the revocation lets the whole pass.
		{name: "revoked after the signing time", serve: body(d.crl(t, signedAt.Add(time.Hour), d.rootKey)),
			ind: verifier.Indeterminate, sub: verifier.RevokedNoPOE, revStatus: verifier.Passed, detail: "after 2026-03-01"},
		{name: "server down", down: true,
			ind: verifier.Indeterminate, sub: verifier.TryLater, revStatus: verifier.Indet, detail: "no CRL from"},
		{name: "slow past the timeout", serve: func(w http.ResponseWriter) { time.Sleep(2 * time.Second) },
			ind: verifier.Indeterminate, sub: verifier.TryLater, revStatus: verifier.Indet, detail: "no CRL from"},
		{name: "bad signature", serve: body(d.crl(t, time.Time{}, other)),
			ind: verifier.Indeterminate, sub: verifier.TryLater, revStatus: verifier.Indet, detail: "no CRL from"},
		{name: "larger than the limit", serve: func(w http.ResponseWriter) { w.Write(make([]byte, 64<<10)) },
			ind: verifier.Indeterminate, sub: verifier.TryLater, revStatus: verifier.Indet, detail: "no CRL from"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := srv.URL
			if tc.down {
				// A listener closed at once: the port refuses connections.
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				url = "http://" + l.Addr().String()
				l.Close()
			} else {
				serve.Store(&tc.serve)
			}
			f, err := revocation.New(nil, revocation.Config{Timeout: 300 * time.Millisecond, MaxBytes: 32 << 10,
				Now: func() time.Time { return nowAt }, FailureBackoff: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			src := verifier.CRLSource(f)
			if tc.down {
				src = redirect{f, url}
			}
			v := verifier.New(verifier.Options{Roots: []*smx509.Certificate{d.root}, Makers: []*smx509.Certificate{d.maker},
				CRLSource: src, Caches: newCaches(t), Now: func() time.Time { return nowAt }})
			r := v.VerifySignature(sig, data)
			rev := check(r, verifier.CheckRevocation)
			if r.Indication != tc.ind || r.SubIndication != tc.sub || rev.Status != tc.revStatus || !strings.Contains(rev.Detail, tc.detail) {
				t.Fatalf("got %s/%s, revocation %s: %s; want %s/%s, revocation %s containing %q",
					r.Indication, r.SubIndication, rev.Status, rev.Detail, tc.ind, tc.sub, tc.revStatus, tc.detail)
			}
		})
	}
}

// redirect is a CRL source that asks for the CRL at url whatever the certificate names.
type redirect struct {
	f   *revocation.Fetcher
	url string
}

func (r redirect) CRL(ctx context.Context, issuer *smx509.Certificate, _ []string) (*smx509.RevocationList, error) {
	return r.f.CRL(ctx, issuer, []string{r.url})
}

// TestNewCRLTakesEffect: a verification answered from the revocation cache sees a newer CRL
// as soon as the CRL source reports it (OnNew drops the cached answers).
func TestNewCRLTakesEffect(t *testing.T) {
	d := newDept(t, "海南省测试厅", "")
	data := []byte("<Signature/>")
	sig := d.sign(t, data)
	var v *verifier.Verifier
	f, err := revocation.New(nil, revocation.Config{Now: func() time.Time { return nowAt },
		OnNew: func(*smx509.Certificate) {
			if v != nil {
				v.InvalidateRevocation()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Put(context.Background(), d.root, d.crl(t, time.Time{}, d.rootKey)); err != nil {
		t.Fatal(err)
	}
	v = verifier.New(verifier.Options{Roots: []*smx509.Certificate{d.root}, Makers: []*smx509.Certificate{d.maker},
		CRLSource: f, Caches: newCaches(t), Now: func() time.Time { return nowAt }})
	for range 3 {
		if r := v.VerifySignature(sig, data); r.Indication != verifier.TotalPassed {
			t.Fatalf("before the revocation: %s/%s", r.Indication, r.SubIndication)
		}
	}
	if err := f.Put(context.Background(), d.root, d.crl(t, signedAt.Add(-time.Minute), d.rootKey)); err != nil {
		t.Fatal(err)
	}
	if r := v.VerifySignature(sig, data); r.Indication != verifier.TotalFailed || r.SubIndication != verifier.Revoked {
		t.Fatalf("after the new CRL: %s/%s, want TOTAL_FAILED/REVOKED", r.Indication, r.SubIndication)
	}
}

// TestTrustSetChanges: a second department's root is added to a trust set, then removed;
// the verifier's cached chain results follow each change at once.
func TestTrustSetChanges(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data") // store.Open makes it 0700
	db, err := store.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ours := newDept(t, "本厅", "")
	theirs := newDept(t, "海南省另一厅", "")
	sets, err := trust.Open(ctx, store.MustSpace(db, trust.SpaceName), trust.Options{
		Default: &trust.TrustSetInput{Roots: [][]byte{ours.root.Raw}, Makers: [][]byte{ours.maker.Raw}}})
	if err != nil {
		t.Fatal(err)
	}
	// Each department's CRL, issued after the signing time, revoking nothing.
	crls := []*smx509.RevocationList{}
	for _, d := range []*dept{ours, theirs} {
		l, err := smx509.ParseRevocationList(d.crl(t, time.Time{}, d.rootKey))
		if err != nil {
			t.Fatal(err)
		}
		crls = append(crls, l)
	}
	v := verifier.New(verifier.Options{TrustSets: sets, CRLs: crls, Caches: newCaches(t), Now: func() time.Time { return nowAt }})
	data := []byte("<Signature/>")
	ourSig, theirSig := ours.sign(t, data), theirs.sign(t, data)
	verify := func(sig []byte) verifier.SignatureReport { return v.VerifySignature(sig, data) }

	if r := verify(ourSig); r.Indication != verifier.TotalPassed {
		t.Fatalf("our own signature under the default set: %s/%s", r.Indication, r.SubIndication)
	}
	if r := verify(theirSig); r.Indication != verifier.Indeterminate || r.SubIndication != verifier.NoCertificateChainFound {
		t.Fatalf("their signature before their root is trusted: %s/%s", r.Indication, r.SubIndication)
	}
	// Add their root and maker to the default set: their signature passes on the next call.
	if _, err := sets.Put(ctx, trust.DefaultName, trust.TrustSetInput{
		Roots: [][]byte{ours.root.Raw, theirs.root.Raw}, Makers: [][]byte{ours.maker.Raw, theirs.maker.Raw}}); err != nil {
		t.Fatal(err)
	}
	for range 3 { // the first call fills the cache, the next ones are answered from it
		if r := verify(theirSig); r.Indication != verifier.TotalPassed {
			t.Fatalf("their signature after their root was added: %s/%s %v", r.Indication, r.SubIndication, r.Checks)
		}
	}
	// Remove it again: the cached chain to their root must not be used.
	if _, err := sets.Put(ctx, trust.DefaultName, trust.TrustSetInput{Roots: [][]byte{ours.root.Raw}, Makers: [][]byte{ours.maker.Raw}}); err != nil {
		t.Fatal(err)
	}
	if r := verify(theirSig); r.Indication != verifier.Indeterminate || r.SubIndication != verifier.NoCertificateChainFound {
		t.Fatalf("their signature after their root was removed: %s/%s", r.Indication, r.SubIndication)
	}
	if r := verify(ourSig); r.Indication != verifier.TotalPassed {
		t.Fatalf("our own signature after the change: %s/%s", r.Indication, r.SubIndication)
	}

	// A set of its own for the other department, used by name; removing the set makes its
	// verifications indeterminate at once.
	if _, err := sets.Put(ctx, "other-dept", trust.TrustSetInput{Roots: [][]byte{theirs.root.Raw}, Makers: [][]byte{theirs.maker.Raw}}); err != nil {
		t.Fatal(err)
	}
	vo, err := v.Using("other-dept")
	if err != nil {
		t.Fatal(err)
	}
	if r := vo.VerifySignature(theirSig, data); r.Indication != verifier.TotalPassed {
		t.Fatalf("their signature under their set: %s/%s", r.Indication, r.SubIndication)
	}
	if r := vo.VerifySignature(ourSig, data); r.Indication == verifier.TotalPassed {
		t.Fatal("our signature passes under the other department's set")
	}
	if err := sets.Remove(ctx, "other-dept"); err != nil {
		t.Fatal(err)
	}
	r := vo.VerifySignature(theirSig, data)
	if r.Indication != verifier.Indeterminate || !strings.Contains(check(r, verifier.CheckChain).Detail, "other-dept") {
		t.Fatalf("their signature after their set was removed: %s/%s %s", r.Indication, r.SubIndication, check(r, verifier.CheckChain).Detail)
	}
	if _, err := v.Using("no-such-set"); err == nil {
		t.Fatal("Using an unknown set succeeds")
	}
}
