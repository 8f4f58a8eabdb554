package ses

import (
	"crypto"
	"crypto/rand"
	"io"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// selfSigned makes an SM2 key and a self-signed certificate for it.
func selfSigned(t testing.TB, cn string) (*sm2.PrivateKey, []byte) {
	t.Helper()
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &smx509.Certificate{
		SerialNumber:       big.NewInt(now.UnixNano()),
		Subject:            smx509.Certificate{}.Subject,
		NotBefore:          now.Add(-time.Hour),
		NotAfter:           now.Add(time.Hour),
		SignatureAlgorithm: smx509.SM2WithSM3,
		KeyUsage:           smx509.KeyUsageDigitalSignature,
	}
	tmpl.Subject.CommonName = cn
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return k, der
}

// countingSigner signs with k and counts its signatures; from the nth on (when bad > 0) it
// returns a well-formed signature of other bytes, as a misconfigured device would.
type countingSigner struct {
	k   *sm2.PrivateKey
	n   atomic.Int64
	bad int64
}

func (c *countingSigner) Public() crypto.PublicKey { return c.k.Public() }

func (c *countingSigner) Sign(rnd io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if n := c.n.Add(1); c.bad > 0 && n >= c.bad {
		msg = append([]byte("not what was asked"), msg...)
	}
	return c.k.Sign(rnd, msg, opts)
}

func signCheckFixture(t *testing.T) (*SignRequest, *sm2.PrivateKey) {
	t.Helper()
	makerKey, makerCert := selfSigned(t, "maker")
	userKey, userCert := selfSigned(t, "user")
	start := time.Now().Add(-time.Hour)
	seal, err := MakeSeal(rand.Reader, &SealTemplate{
		VID: "eseal", ESID: "46000020261201000001", Type: 1, Name: "测试章",
		SignerCerts: [][]byte{userCert}, CreateDate: start, ValidStart: start, ValidEnd: start.AddDate(1, 0, 0),
		Picture: Picture{Type: "PNG", Data: []byte("picture"), Width: 40, Height: 40},
	}, makerCert, makerKey)
	if err != nil {
		t.Fatal(err)
	}
	h := sm3.Sum([]byte("document"))
	return &SignRequest{Seal: seal, SignerCert: userCert, DataHash: h[:], PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: time.Now()}, userKey
}

func TestSignChecksSignerOnce(t *testing.T) {
	req, userKey := signCheckFixture(t)
	good := &countingSigner{k: userKey}
	before := signerChecks.verifies.Load()
	for i := range 10 {
		der, err := Sign(rand.Reader, req, good)
		if err != nil {
			t.Fatalf("signature %d: %v", i, err)
		}
		sig, err := ParseSignature(der)
		if err != nil {
			t.Fatal(err)
		}
		if c := sig.CheckValue(&userKey.PublicKey); !c.OK {
			t.Fatalf("signature %d does not verify: %s", i, c.Detail)
		}
	}
	if n := signerChecks.verifies.Load() - before; n != 1 {
		t.Fatalf("first-signature verifications for 10 signatures of one signer = %d, want 1", n)
	}
}

func TestSignRefusesKeyNotMatchingCert(t *testing.T) {
	req, _ := signCheckFixture(t)
	other, _ := sm2.GenerateKey(rand.Reader)
	s := &countingSigner{k: other}
	for range 3 {
		_, err := Sign(rand.Reader, req, s)
		if err == nil || !strings.Contains(err.Error(), "not the one in the signer certificate") {
			t.Fatalf("key not matching SignerCert: %v", err)
		}
	}
	if n := s.n.Load(); n != 0 {
		t.Fatalf("a signer whose key is not the certificate's was asked for %d signatures", n)
	}
}

func TestSignRefusesBadFirstSignature(t *testing.T) {
	req, userKey := signCheckFixture(t)
	broken := &countingSigner{k: userKey, bad: 1} // every signature is of other bytes
	for i := range 3 {
		der, err := Sign(rand.Reader, req, broken)
		if err == nil || der != nil || !strings.Contains(err.Error(), "first signature does not verify") {
			t.Fatalf("attempt %d with a device returning invalid signatures: %x, %v", i, der, err)
		}
	}
	// Once the device is fixed, signing works.
	broken.bad = 0
	if _, err := Sign(rand.Reader, req, broken); err != nil {
		t.Fatal(err)
	}
}

func TestCheckedSignersBounded(t *testing.T) {
	c := &checkedSigners{max: 2}
	for i := range 5 {
		key := string(rune('a' + i))
		k, _ := sm2.GenerateKey(rand.Reader)
		msg := []byte("m")
		sig, err := SignSM2(rand.Reader, k, msg)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.verifyFirst(pendingCheck{key: key, pub: &k.PublicKey}, msg, sig); err != nil {
			t.Fatal(err)
		}
		if n := c.n.Load(); n > c.max {
			t.Fatalf("set holds %d entries, max %d", n, c.max)
		}
	}
}

// BenchmarkSignCheck: what the once-per-signer check costs a signature once
// the signer is known (the look-up), against the SM2 signature itself.
func BenchmarkSignCheck(b *testing.B) {
	k, cert := selfSigned(b, "bench")
	c := &checkedSigners{max: 16}
	p, _, err := c.lookup(k, cert)
	if err != nil {
		b.Fatal(err)
	}
	c.m.Store(p.key, struct{}{})
	b.Run("lookup", func(b *testing.B) {
		for b.Loop() {
			if _, ok, err := c.lookup(k, cert); !ok || err != nil {
				b.Fatal("not found")
			}
		}
	})
	b.Run("sm2-sign", func(b *testing.B) {
		msg := make([]byte, 300)
		for b.Loop() {
			if _, err := SignSM2(rand.Reader, k, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
