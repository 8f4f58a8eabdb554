package verifier

import (
	"crypto/ecdsa"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// These benchmarks read together: parsing a v4 SES_Signature, the whole verification procedure
// for it, and the raw gmsm SM2 verification it rests on, without (RawSM2Verify) and with
// (RawSM2VerifyMessage) the SM3 hashing of the 17 KB signed. The procedure checks two SM2
// signatures, the signer's and the seal maker's, but remembers a seal's check, so once a seal
// has been seen a verification costs one SM2 verification and its hashing: RawSM2VerifyMessage
// is its floor.
//
//	go test ./verifier -run '^$' -bench 'ParseSignature|VerifySignatureV4|RawSM2Verify' -benchtime 2s

const benchSig = "ofdrw/ofdrw-gm/src/test/resources/SignedValueV4.dat"

func BenchmarkParseSignature(b *testing.B) {
	der := testvectors.Read(b, benchSig)
	b.SetBytes(int64(len(der)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ses.ParseSignature(der); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignatureV4(b *testing.B) {
	der := testvectors.Read(b, benchSig)
	v := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		r := v.VerifySignature(der, nil)
		if status(r.Checks, CheckSignatureValue) != Passed {
			b.Fatal(r.Checks)
		}
	}
}

// BenchmarkRawSM2Verify is the primitive: one gmsm SM2 verification of a digest already
// computed, with the same key and signature as BenchmarkVerifySignatureV4's signer check.
func BenchmarkRawSM2Verify(b *testing.B) {
	s, pub := benchSignature(b)
	e, err := ses.SM2Digest(pub, s.TBS.Raw)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !sm2.VerifyASN1(pub, e, s.Value) {
			b.Fatal("does not verify")
		}
	}
}

func BenchmarkVerifyOFD(b *testing.B) {
	data := testvectors.Read(b, "OfdSharp/src/UnitTests/Files/test.ofd")
	v := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		r, err := v.VerifyOFD(data, ofd.Limits{})
		if err != nil || len(r.Signatures) != 1 {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawSM2VerifyMessage is the primitive with its hashing: gmsm computing
// e = SM3(Z || TBS_Sign) over the same 17 KB and verifying. This is the floor of a
// verification whose seal check is already remembered.
func BenchmarkRawSM2VerifyMessage(b *testing.B) {
	s, pub := benchSignature(b)
	for b.Loop() {
		if !sm2.VerifyASN1WithSM2(pub, nil, s.TBS.Raw, s.Value) {
			b.Fatal("does not verify")
		}
	}
}

// benchSignature returns the benchmark's signature and its signer's public key.
func benchSignature(b *testing.B) (*ses.Signature, *ecdsa.PublicKey) {
	s, err := ses.ParseSignature(testvectors.Read(b, benchSig))
	if err != nil {
		b.Fatal(err)
	}
	c, err := smx509.ParseCertificate(s.Cert)
	if err != nil {
		b.Fatal(err)
	}
	return s, c.PublicKey.(*ecdsa.PublicKey)
}
