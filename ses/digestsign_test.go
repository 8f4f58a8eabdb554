package ses_test

import (
	"crypto"
	"crypto/rand"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/eseal/eseal/ses"
)

// recordingSigner signs with k and records what it was handed: a digest (opts not gmsm's
// message-signing option) or a message. digest says whether it takes digests.
type recordingSigner struct {
	k      *sm2.PrivateKey
	digest bool
	mu     sync.Mutex
	got    []int // lengths handed, negative for a message
}

func (r *recordingSigner) Public() crypto.PublicKey { return r.k.Public() }
func (r *recordingSigner) SignsDigest() bool        { return r.digest }

func (r *recordingSigner) Sign(rnd io.Reader, in []byte, opts crypto.SignerOpts) ([]byte, error) {
	n := len(in)
	if opts == sm2.DefaultSM2SignerOpts {
		n = -n
	}
	r.mu.Lock()
	r.got = append(r.got, n)
	r.mu.Unlock()
	return r.k.Sign(rnd, in, opts)
}

// A signer that takes digests is handed e = SM3(Z‖TBS_Sign), computed the first time in full
// and then from the seal's remembered state; one that does not is handed the message. Every
// signature verifies, in OpenSSL too, for v4 and v1 seals.
func TestSignThroughDigest(t *testing.T) {
	p := loadPKI(t)
	for _, version := range []int{4, 1} {
		seal, err := ses.MakeSeal(rand.Reader, p.template(version), p.makerCert, p.makerKey)
		if err != nil {
			t.Fatal(err)
		}
		for _, takes := range []bool{true, false} {
			s := &recordingSigner{k: p.userKey, digest: takes}
			for i, prop := range []string{"/Doc_0/Signs/Sign_0/Signature.xml", "/a", "/Doc_0/Signs/Sign_10/Signature.xml"} {
				h := sm3.Sum([]byte(prop))
				der, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: p.userCert, DataHash: h[:],
					PropertyInfo: prop, Time: time.Date(2021, 1, 1, 0, 0, i, 0, time.UTC)}, s)
				if err != nil {
					t.Fatal(err)
				}
				sig, err := ses.ParseSignature(der)
				if err != nil {
					t.Fatal(err)
				}
				if c := sig.CheckValue(pub(t, p.userCert)); !c.OK {
					t.Fatalf("v%d, digest %v, %s: %s", version, takes, prop, c.Detail)
				}
				opensslVerify(t, p.userCert, sig.TBS.Raw, sig.Value)
				got := s.got[len(s.got)-1]
				if takes && got != 32 || !takes && got != -len(sig.TBS.Raw) {
					t.Fatalf("v%d, digest %v: the signer was handed %d bytes", version, takes, got)
				}
			}
		}
	}
}
