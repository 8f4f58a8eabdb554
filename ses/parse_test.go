package ses_test

import (
	"bytes"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ses"
)

func TestParseHostile(t *testing.T) {
	sig := testvectors.Read(t, "ofdrw/ofdrw-gm/src/test/resources/SignedValueV4.dat")
	seal := testvectors.Read(t, "ofdrw/ofdrw-gm/src/test/resources/UserV4.esl")
	wrongTag := bytes.Clone(sig)
	wrongTag[0] = 0x31 // SET instead of SEQUENCE
	longLen := []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x04}
	innerWrong := bytes.Clone(sig)
	// The TBS_Sign version INTEGER becomes a BOOLEAN.
	i := bytes.Index(innerWrong, []byte{0x02, 0x01, 0x04})
	innerWrong[i] = 0x01
	for _, tc := range []struct {
		name  string
		data  []byte
		parse func([]byte) error
		want  string
	}{
		{"empty signature", nil, parseSig, "empty input"},
		{"empty seal", nil, parseSeal, "empty input"},
		{"truncated signature", sig[:len(sig)/2], parseSig, "truncated"},
		{"truncated seal", seal[:100], parseSeal, "truncated"},
		{"wrong outer tag", wrongTag, parseSig, "expected a SEQUENCE"},
		{"length larger than input", longLen, parseSig, "larger than the input"},
		{"version is not an INTEGER", innerWrong, parseSig, "TBS_Sign version: expected an INTEGER"},
		{"seal given as signature", seal, parseSig, "TBS_Sign"},
		{"signature given as seal", sig, parseSeal, "seal"},
		{"one byte", []byte{0x30}, parseSig, "truncated"},
		{"not DER at all", []byte("%PDF-1.7 hello"), parseSig, "signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.parse(tc.data)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
	// Every prefix of a real signature gives an error, never a panic.
	for n := 0; n < len(sig); n += 97 {
		if _, err := ses.ParseSignature(sig[:n]); err == nil {
			t.Fatalf("prefix of %d bytes parsed", n)
		}
	}
}

func parseSig(b []byte) error  { _, err := ses.ParseSignature(b); return err }
func parseSeal(b []byte) error { _, err := ses.ParseSeal(b); return err }

func TestTrailingBytesAreNoted(t *testing.T) {
	sig := testvectors.Read(t, "ofdrw/ofdrw-gm/src/test/resources/SignedValueV4.dat")
	s, err := ses.ParseSignature(append(bytes.Clone(sig), 0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "3 bytes after the signature") {
		t.Fatalf("notes %q", s.Notes)
	}
}

// BER-style lengths (long form where the short would do, leading zeros) are read: only
// the original bytes are ever verified.
func TestNonMinimalLengths(t *testing.T) {
	sig := testvectors.Read(t, "ofdrw/ofdrw-gm/src/test/resources/SignedValueV4.dat")
	if sig[0] != 0x30 || sig[1] != 0x82 {
		t.Fatalf("unexpected header % x", sig[:4])
	}
	ber := append([]byte{0x30, 0x83, 0x00}, sig[2:]...)
	s, err := ses.ParseSignature(ber)
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CheckValue(pub(t, s.Cert)); !c.OK {
		t.Fatal(c.Detail)
	}
	if _, err := ses.ParseSignature([]byte{0x30, 0x80, 0x00, 0x00}); err == nil || !strings.Contains(err.Error(), "indefinite") {
		t.Fatalf("indefinite length: %v", err)
	}
}

func TestDecodeSM2Value(t *testing.T) {
	r := bytes.Repeat([]byte{0x11}, 32)
	s := bytes.Repeat([]byte{0x92}, 32)
	der := ses.SM2Value{R: [32]byte(r), S: [32]byte(s)}.DER()
	// Non-minimal INTEGERs: r with two extra zero bytes (as a Koal sample has).
	lenient := []byte{0x30, 0x47, 0x02, 0x22, 0x00, 0x00}
	lenient = append(lenient, r...)
	lenient = append(append(lenient, 0x02, 0x21, 0x00), s...)
	// s with its top bit set and no 00 pad: a negative INTEGER, read as unsigned.
	neg := append(append([]byte{0x30, 0x44, 0x02, 0x20}, r...), 0x02, 0x20)
	neg = append(neg, s...)
	for _, tc := range []struct {
		name string
		in   []byte
		enc  ses.SigEncoding
		err  string
	}{
		{"strict DER", der, ses.EncDER, ""},
		{"raw r||s", append(bytes.Clone(r), s...), ses.EncRawRS, ""},
		{"non-minimal DER", lenient, ses.EncLenientDER, ""},
		{"zero r", make([]byte, 64), "", "zero"},
		{"three integers", []byte{0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, "", "expected SEQUENCE{INTEGER r, INTEGER s}"},
		{"negative r", neg, ses.EncLenientDER, ""},
		{"empty INTEGER", []byte{0x30, 0x04, 0x02, 0x00, 0x02, 0x00}, "", "empty"},
		{"too long", append([]byte{0x30, 0x26, 0x02, 0x21, 0x01}, append(bytes.Repeat([]byte{1}, 32), 0x02, 0x01, 0x01)...), "", "longer than 32"},
		{"trailing", append(bytes.Clone(der), 0), "", "after the SEQUENCE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ses.DecodeSM2Value(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Encoding != tc.enc || !bytes.Equal(v.R[:], r) || !bytes.Equal(v.S[:], s) {
				t.Fatalf("decoded %+v", v)
			}
			if !bytes.Equal(v.DER(), der) {
				t.Fatal("re-encoding is not the strict DER")
			}
		})
	}
}

func TestSniff(t *testing.T) {
	for name, want := range map[string]string{
		"ofdrw/ofdrw-gm/src/test/resources/SignedValueV4.dat": "signature",
		"synthetic/v1_SignedValue.dat":                        "signature",
		"ofdrw/ofdrw-gm/src/test/resources/UserV1.esl":        "seal",
		"esl-demo/Seal.esl":                                   "seal",
		"ofdrw/ofdrw-sign/src/test/resources/helloworld.ofd":  "",
	} {
		if got := ses.Sniff(testvectors.Read(t, name)); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// smallSamples makes small seals and signatures (v4, v4 with digests, v1) with a throwaway
// key and a tiny picture. The fuzz targets are seeded with these: Go's fuzzer slows to a few
// executions a second on inputs of the real vectors' size (17 KB, mostly the picture).
func smallSamples(f *testing.F) (seals, sigs [][]byte) {
	f.Helper()
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	der, err := smx509.CreateCertificate(rand.Reader, &smx509.Certificate{SerialNumber: big.NewInt(1),
		Subject: pkix.Name{CommonName: "f"}, NotBefore: t0, NotAfter: t0.AddDate(1, 0, 0)}, &smx509.Certificate{SerialNumber: big.NewInt(1),
		Subject: pkix.Name{CommonName: "f"}}, key.Public(), key)
	if err != nil {
		f.Fatal(err)
	}
	for _, tc := range []struct {
		version int
		digests bool
	}{{4, false}, {4, true}, {1, false}} {
		seal, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{Version: tc.version, UseCertDigests: tc.digests,
			VID: "v", ESID: "1", Type: 1, Name: "章", SignerCerts: [][]byte{der},
			CreateDate: t0, ValidStart: t0, ValidEnd: t0.AddDate(1, 0, 0),
			Picture:    ses.Picture{Type: "PNG", Data: []byte("p"), Width: 1, Height: 1},
			Extensions: []ses.Extension{{ID: asn1.ObjectIdentifier{1, 2, 3}, Critical: true, Value: []byte{1}}},
		}, der, key)
		if err != nil {
			f.Fatal(err)
		}
		sig, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: der, DataHash: make([]byte, 32),
			PropertyInfo: "/p", Time: t0.AddDate(0, 1, 0)}, key)
		if err != nil {
			f.Fatal(err)
		}
		seals, sigs = append(seals, seal.Raw), append(sigs, sig)
	}
	return seals, sigs
}

func FuzzParseSignature(f *testing.F) {
	_, sigs := smallSamples(f)
	for _, s := range sigs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ses.Sniff(data)
		s, err := ses.ParseSignature(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		s.SignerInSeal()
		s.DataHashMatches(data)
		ses.DecodeSM2Value(s.Value)
	})
}

func FuzzParseSeal(f *testing.F) {
	seals, _ := smallSamples(f)
	for _, s := range seals {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ses.ParseSeal(data)
		if err != nil {
			return
		}
		ses.DecodeSM2Value(s.SignValue)
	})
}

// Some producers write 1.2.156.10197.1.301.1 (SM2 signing) for the algorithm: it is read as
// SM3withSM2 and said so. In v4 the algorithm lies outside TBS_Sign, so swapping it keeps the
// signature valid.
func TestAlgorithmAlias(t *testing.T) {
	sig := testvectors.Read(t, "ofdrw/ofdrw-gm/src/test/resources/SignedValueV4.dat")
	std := []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75}
	alias := []byte{0x06, 0x09, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x01}
	content := sig[4:]
	i := bytes.LastIndex(content, std)
	content = append(append(bytes.Clone(content[:i]), alias...), content[i+len(std):]...)
	der := append([]byte{0x30, 0x82, byte(len(content) >> 8), byte(len(content))}, content...)
	s, err := ses.ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	c := s.CheckValue(pub(t, s.Cert))
	if !c.OK || !strings.Contains(c.Detail, "read as SM3withSM2") {
		t.Fatalf("%+v", c)
	}
	s.SignAlg = []int{1, 2, 840, 10045, 4, 3, 2}
	if c := s.CheckValue(pub(t, s.Cert)); c.OK || !strings.Contains(c.Detail, "is not SM3withSM2") {
		t.Fatalf("ECDSA algorithm: %+v", c)
	}
}

// A certificate written bare (its SEQUENCE) where the standard wants an OCTET STRING is read,
// and noted. In v4 the signer certificate lies outside TBS_Sign, so the signature stays valid.
func TestBareCertificate(t *testing.T) {
	der := testvectors.Read(t, "ofdrw/ofdrw-gm/src/test/resources/SignedValueV4.dat")
	orig, err := ses.ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	content := der[4:]
	i := bytes.LastIndex(content, orig.Cert) // the seal inside TBS_Sign lists it too
	// The OCTET STRING header sits right before the certificate: 04 82 HH LL.
	if i < 4 || content[i-4] != 0x04 {
		t.Fatalf("no OCTET STRING before the certificate")
	}
	content = append(bytes.Clone(content[:i-4]), content[i:]...)
	bare := append([]byte{0x30, 0x82, byte(len(content) >> 8), byte(len(content))}, content...)
	s, err := ses.ParseSignature(bare)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Cert, orig.Cert) || len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "written bare") {
		t.Fatalf("cert read wrongly; notes %q", s.Notes)
	}
	if c := s.CheckValue(pub(t, s.Cert)); !c.OK {
		t.Fatal(c.Detail)
	}
}
