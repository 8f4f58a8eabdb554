package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// compressCert rewrites a certificate's SM2 key as a compressed point (02/03 || X) and has
// the issuer sign it again; flip takes the other parity, which names another key.
func compressCert(t *testing.T, c *smx509.Certificate, issuerKey *sm2.PrivateKey, flip bool) []byte {
	t.Helper()
	root := parseTLV(t, c.Raw)
	tbs := root.kids[0]
	bits := tbs.kids[6].kids[1]
	pt := bits.val[1:]
	if len(pt) != 65 || pt[0] != 4 {
		t.Fatalf("key is not an uncompressed point: % x", pt[:1])
	}
	prefix := 2 + pt[64]&1
	if flip {
		prefix ^= 1
	}
	bits.val = append([]byte{0, prefix}, pt[1:33]...)
	r, s := sm2Sign(t, issuerKey, tbs.der())
	root.kids[2].val = strictDER(r, s)
	return root.der()
}

func TestCompressedSM2Key(t *testing.T) {
	p := newPKI(t)
	der := compressCert(t, p.signer, p.rootKey, false)
	if _, err := smx509.ParseCertificate(der); err == nil {
		t.Log("the strict parser reads compressed keys now; the lenient path is then unused for them")
	}
	c, note, lenient, err := parseCert(der)
	if err != nil || lenient {
		t.Fatalf("lenient %v, %v", lenient, err)
	}
	if !bytes.Equal(c.Raw, der) || c.CheckSignatureFrom(p.root) != nil {
		t.Fatal("the parsed certificate does not keep the bytes its issuer signed")
	}
	if c.KeyUsage&smx509.KeyUsageDigitalSignature == 0 {
		t.Error("the extensions were not read")
	}
	if !c.PublicKey.(*ecdsa.PublicKey).Equal(p.signerKey.Public()) {
		t.Fatal("the decompressed key is not the certificate's key")
	}
	if !strings.Contains(note, "compressed point (GM/T 0003 allows it), decompressed") {
		t.Errorf("note %q", note)
	}
	if c.Subject.CommonName != "eseal test signer" || c.SerialNumber.Int64() != 3 {
		t.Errorf("subject %v serial %v", c.Subject, c.SerialNumber)
	}
	// The other parity is another point: a key, but not this one.
	if c2, _, _, err := parseCert(compressCert(t, p.signer, p.rootKey, true)); err != nil || c2.PublicKey.(*ecdsa.PublicKey).Equal(p.signerKey.Public()) {
		t.Errorf("other parity: %v", err)
	}
	// An x with no point on the curve is refused, never read as some key.
	for x := byte(1); ; x++ {
		pt := append([]byte{2}, bytes.Repeat([]byte{x}, 32)...)
		if _, err := decompressSM2(pt); err != nil {
			if !strings.Contains(err.Error(), "not on the curve") {
				t.Errorf("err %v", err)
			}
			break
		}
	}
	for _, bad := range [][]byte{nil, {2}, append([]byte{4}, make([]byte, 32)...), append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)} {
		if _, err := decompressSM2(bad); err == nil {
			t.Errorf("% x decompressed", bad)
		}
	}

	// A seal signature by a signer whose certificate holds the compressed key verifies, and
	// says so, and the certificate chains; with the wrong parity it fails.
	v := New(Options{Roots: []*smx509.Certificate{p.root}, Now: at(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))})
	for _, flip := range []bool{false, true} {
		f := newFixture(t, p, false)
		cd := compressCert(t, p.signer, p.rootKey, flip)
		certList := f.info().kids[2].kids[3]
		certList.kids[0].val = cd
		f.root.kids[1].val = cd
		f.resignSeal(t, strictDER)
		r := v.VerifySignature(f.resign(t, strictDER), f.data)
		if flip {
			mustReport(t, r, map[string]string{CheckSignatureValue: Failed})
			continue
		}
		mustReport(t, r, map[string]string{CheckFormat: Passed, CheckSignatureValue: Passed, CheckSignerInSeal: Passed, CheckSealSignature: Passed, CheckChain: Passed})
		if d := detail(r.Checks, CheckSignatureValue); !strings.Contains(d, "compressed point") {
			t.Errorf("signature_value detail %q", d)
		}
	}
}
