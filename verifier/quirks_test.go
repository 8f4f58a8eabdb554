package verifier

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// tlv is a DER element as a tree, so that a test can take a signature apart, change one
// field the way a producer writes it, and put it back together.
type tlv struct {
	tag  byte
	val  []byte // content of a primitive element
	kids []*tlv // children of a constructed element
}

func parseTLV(t testing.TB, b []byte) *tlv {
	t.Helper()
	n, rest := readNode(t, b)
	if len(rest) != 0 {
		t.Fatalf("%d bytes after the element", len(rest))
	}
	return n
}

func readNode(t testing.TB, b []byte) (*tlv, []byte) {
	t.Helper()
	if len(b) < 2 {
		t.Fatal("truncated element")
	}
	n, h := int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		h += k
	}
	node := &tlv{tag: b[0]}
	body := b[h : h+n]
	if b[0]&0x20 == 0 {
		node.val = bytes.Clone(body)
	} else {
		for len(body) > 0 {
			var k *tlv
			k, body = readNode(t, body)
			node.kids = append(node.kids, k)
		}
	}
	return node, b[h+n:]
}

func (n *tlv) der() []byte {
	content := n.val
	if n.tag&0x20 != 0 {
		content = nil
		for _, k := range n.kids {
			content = append(content, k.der()...)
		}
	}
	out := []byte{n.tag}
	switch l := len(content); {
	case l < 0x80:
		out = append(out, byte(l))
	case l < 0x100:
		out = append(out, 0x81, byte(l))
	case l < 0x10000:
		out = append(out, 0x82, byte(l>>8), byte(l))
	default:
		out = append(out, 0x83, byte(l>>16), byte(l>>8), byte(l))
	}
	return append(out, content...)
}

// sesFixture is a seal signature made by the test PKI, taken apart.
type sesFixture struct {
	p    *pki
	v1   bool
	root *tlv
	data []byte // the original data (Signature.xml)
}

var (
	fxStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	fxEnd   = time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	fxAt    = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
)

func newFixture(t *testing.T, p *pki, v1 bool) *sesFixture {
	t.Helper()
	tpl := &ses.SealTemplate{
		VID: "eseal", ESID: "4600002024000002", Type: 1, Name: "海南省测试单位",
		SignerCerts: [][]byte{p.signer.Raw}, CreateDate: fxStart, ValidStart: fxStart, ValidEnd: fxEnd,
		Picture: ses.Picture{Type: "BMP", Data: []byte("BM picture"), Width: 40, Height: 40},
	}
	if v1 {
		tpl.Version = 1
	}
	seal, err := ses.MakeSeal(rand.Reader, tpl, p.maker.Raw, p.makerKey)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("<ofd:Signature>the signed Signature.xml</ofd:Signature>")
	sum := sm3.Sum(data)
	der, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: p.signer.Raw, DataHash: sum[:],
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: fxAt}, p.signerKey)
	if err != nil {
		t.Fatal(err)
	}
	return &sesFixture{p: p, v1: v1, root: parseTLV(t, der), data: data}
}

func (f *sesFixture) tbs() *tlv      { return f.root.kids[0] }
func (f *sesFixture) seal() *tlv     { return f.tbs().kids[1] }
func (f *sesFixture) info() *tlv     { return f.seal().kids[0] }
func (f *sesFixture) timeInfo() *tlv { return f.tbs().kids[2] }

func (f *sesFixture) value() *tlv {
	if f.v1 {
		return f.root.kids[1]
	}
	return f.root.kids[3]
}

func (f *sesFixture) sealValue() *tlv {
	if f.v1 {
		return f.seal().kids[1].kids[2]
	}
	return f.seal().kids[3]
}

// sigEncoding writes r and s as the content of a BIT STRING, unused-bits byte included.
type sigEncoding func(r, s [32]byte) []byte

func strictDER(r, s [32]byte) []byte { return append([]byte{0}, ses.SM2Value{R: r, S: s}.DER()...) }

func rawRS(r, s [32]byte) []byte { return append(append([]byte{0}, r[:]...), s[:]...) }

// negativeR writes r without the 00 pad its top bit needs; only for an r with that bit set.
func negativeR(r, s [32]byte) []byte {
	der := []byte{0x30, 0, 0x02, 32}
	der = append(der, r[:]...)
	sv := ses.SM2Value{R: r, S: s}.DER()
	rl := int(sv[3])
	der = append(der, sv[4+rl:]...)
	der[1] = byte(len(der) - 2)
	return append([]byte{0}, der...)
}

func sm2Sign(t *testing.T, key *sm2.PrivateKey, msg []byte) (r, s [32]byte) {
	t.Helper()
	der, err := ses.SignSM2(rand.Reader, key, msg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ses.DecodeSM2Value(der)
	if err != nil {
		t.Fatal(err)
	}
	return v.R, v.S
}

// resignSeal has the maker sign the (changed) seal again over its version's message.
func (f *sesFixture) resignSeal(t *testing.T, enc sigEncoding) {
	msg := f.info().der()
	if f.v1 {
		si := f.seal().kids[1]
		msg = (&tlv{tag: 0x30, kids: []*tlv{f.info(), si.kids[0], si.kids[1]}}).der()
	}
	f.sealValue().val = enc(sm2Sign(t, f.p.makerKey, msg))
}

// resign has the signer sign the (changed) TBS_Sign again and returns the signature.
func (f *sesFixture) resign(t *testing.T, enc sigEncoding) []byte {
	f.value().val = enc(sm2Sign(t, f.p.signerKey, f.tbs().der()))
	return f.root.der()
}

// mustReport asserts the status of each named check and returns the report.
func mustReport(t *testing.T, r SignatureReport, want map[string]string) {
	t.Helper()
	for name, st := range want {
		if got := status(r.Checks, name); got != st {
			t.Errorf("%s is %s, want %s: %s", name, got, st, detail(r.Checks, name))
		}
	}
}

// Each quirk of SES.md §5 item 17 on its own, on a signature made by the test PKI and
// re-signed after the change, so that only the leniency under test decides: the signature
// verifies, and the check's detail names what was read leniently.
func TestQuirksAreReadAndNamed(t *testing.T) {
	p := newPKI(t)
	v := New(Options{})
	for _, tc := range []struct {
		name   string
		v1     bool
		build  func(t *testing.T, f *sesFixture) []byte
		check  string // where the note is
		note   string
		signAt time.Time // expected signing time, when the quirk is about time
	}{
		{"dataHash with unused bits", false, func(t *testing.T, f *sesFixture) []byte {
			f.tbs().kids[3].val[0] = 3
			return f.resign(t, strictDER)
		}, CheckFormat, "TBS_Sign dataHash: BIT STRING says 3 unused bits", time.Time{}},
		{"signature value with unused bits", false, func(t *testing.T, f *sesFixture) []byte {
			f.resign(t, strictDER)
			f.value().val[0] = 2
			return f.root.der()
		}, CheckFormat, "signature value: BIT STRING says 2 unused bits", time.Time{}},
		{"seal signature with unused bits", false, func(t *testing.T, f *sesFixture) []byte {
			f.sealValue().val[0] = 1
			return f.resign(t, strictDER)
		}, CheckFormat, "seal signature: BIT STRING says 1 unused bits", time.Time{}},
		{"negative INTEGER in the signature value", false, func(t *testing.T, f *sesFixture) []byte {
			for {
				r, s := sm2Sign(t, f.p.signerKey, f.tbs().der())
				if r[0]&0x80 != 0 {
					f.value().val = negativeR(r, s)
					return f.root.der()
				}
			}
		}, CheckSignatureValue, "a negative INTEGER r read as unsigned", time.Time{}},
		{"raw r||s in the seal's own signature", false, func(t *testing.T, f *sesFixture) []byte {
			f.resignSeal(t, rawRS)
			return f.resign(t, strictDER)
		}, CheckSealSignature, "64 raw bytes, accepted as r||s", time.Time{}},
		{"v1 layout whose header and TBS say version 4", true, func(t *testing.T, f *sesFixture) []byte {
			f.info().kids[0].kids[1].val = []byte{4}
			f.tbs().kids[0].val = []byte{4}
			f.resignSeal(t, strictDER)
			return f.resign(t, strictDER)
		}, CheckFormat, "GM/T 0031 v1 layout but its header says version 4", time.Time{}},
		{"text time in a BIT STRING", true, func(t *testing.T, f *sesFixture) []byte {
			f.timeInfo().val = append([]byte{0}, "2026-03-24 08:54:12"...)
			return f.resign(t, strictDER)
		}, CheckFormat, `"2026-03-24 08:54:12" in a BIT STRING (producer-specific); it has no zone, read as China Standard Time (UTC+8)`,
			time.Date(2026, 3, 24, 0, 54, 12, 0, time.UTC)},
		{"GeneralizedTime without Z", false, func(t *testing.T, f *sesFixture) []byte {
			f.timeInfo().val = []byte("20260301080000")
			return f.resign(t, strictDER)
		}, CheckFormat, `GeneralizedTime "20260301080000" has no zone; read as China Standard Time (UTC+8)`,
			time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"GeneralizedTime holding UTCTime text", false, func(t *testing.T, f *sesFixture) []byte {
			f.timeInfo().val = []byte("260301000000Z")
			return f.resign(t, strictDER)
		}, CheckFormat, `GeneralizedTime "260301000000Z" holds 12-digit UTCTime text; read as YYMMDDhhmmss with the RFC 5280 century window`,
			time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"v4 timeInfo as text in a BIT STRING", false, func(t *testing.T, f *sesFixture) []byte {
			f.timeInfo().tag = 0x03
			f.timeInfo().val = append([]byte{0}, "2026-03-24 08:54:12"...)
			return f.resign(t, strictDER)
		}, CheckFormat, "TBS_Sign timeInfo is a BIT STRING as in GM/T 0031", time.Date(2026, 3, 24, 0, 54, 12, 0, time.UTC)},
		{"seal times without Z", false, func(t *testing.T, f *sesFixture) []byte {
			f.info().kids[2].kids[5].val = []byte("20250101080000")
			f.resignSeal(t, strictDER)
			return f.resign(t, strictDER)
		}, CheckFormat, `seal validStart: GeneralizedTime "20250101080000" has no zone; read as China Standard Time (UTC+8)`, time.Time{}},
		{"propertyInfo a single space", false, func(t *testing.T, f *sesFixture) []byte {
			f.tbs().kids[4].val = []byte(" ")
			return f.resign(t, strictDER)
		}, CheckFormat, `propertyInfo is " ": it names nothing`, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, p, tc.v1)
			der := tc.build(t, f)
			r := v.VerifySignature(der, f.data)
			mustReport(t, r, map[string]string{CheckFormat: Passed, CheckSignatureValue: Passed, CheckSealSignature: Passed,
				CheckSignerInSeal: Passed, CheckDataHash: Passed, CheckSealValidity: Passed})
			if d := detail(r.Checks, tc.check); !strings.Contains(d, tc.note) {
				t.Errorf("%s detail %q does not name the quirk %q", tc.check, d, tc.note)
			}
			if !tc.signAt.IsZero() && r.SigningTime != fmtTime(tc.signAt) {
				t.Errorf("signing time %s, want %s", r.SigningTime, fmtTime(tc.signAt))
			}
			if tc.v1 && strings.Contains(tc.name, "version 4") && r.Version != 4 {
				t.Errorf("version %d, want the declared 4", r.Version)
			}
			// What we write stays strict: a signature this software makes under the same
			// seal carries none of these quirks in its own fields (the maker's seal is
			// embedded byte for byte, as the standard requires).
			assertStrict(t, f.strictAgain(t, f.seal().der()), true)
		})
	}
}

// strictAgain signs the fixture's data again with this software, under the given seal (nil:
// a seal this software made).
func (f *sesFixture) strictAgain(t *testing.T, sealDER []byte) []byte {
	if sealDER == nil {
		sealDER = newFixture(t, f.p, f.v1).seal().der()
	}
	seal, err := ses.ParseSeal(sealDER)
	if err != nil {
		t.Fatal(err)
	}
	sum := sm3.Sum(f.data)
	der, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: f.p.signer.Raw, DataHash: sum[:],
		PropertyInfo: "/Doc_0/Signs/Sign_0/Signature.xml", Time: time.Date(2026, 3, 1, 7, 0, 0, 0, time.FixedZone("CST", 8*3600))}, f.p.signerKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// assertStrict walks an emitted signature: every BIT STRING has 0 unused bits, every time is
// in its DER form with Z, and the signature value is minimal DER. The embedded seal (TBS_Sign's
// second element) is skipped when it is the maker's, copied byte for byte.
func assertStrict(t *testing.T, der []byte, skipSeal bool) {
	t.Helper()
	root := parseTLV(t, der)
	var walk func(n *tlv, path string)
	walk = func(n *tlv, path string) {
		if skipSeal && path == "/0/1" {
			return
		}
		switch n.tag {
		case 0x03: // BIT STRING
			if len(n.val) == 0 || n.val[0] != 0 {
				t.Errorf("%s: BIT STRING with unused-bits byte % x", path, n.val[:1])
			}
		case 0x18: // GeneralizedTime
			if len(n.val) != 15 || n.val[14] != 'Z' {
				t.Errorf("%s: GeneralizedTime %q", path, n.val)
			}
		case 0x17: // UTCTime
			if len(n.val) != 13 || n.val[12] != 'Z' {
				t.Errorf("%s: UTCTime %q", path, n.val)
			}
		}
		for i, k := range n.kids {
			walk(k, path+"/"+string(rune('0'+i)))
		}
	}
	walk(root, "")
	sig, err := ses.ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig.Notes) != 0 {
		t.Errorf("emitted signature has notes %q", sig.Notes)
	}
	vals := [][]byte{sig.Value}
	if !skipSeal {
		vals = append(vals, sig.TBS.Seal.SignValue)
	}
	for _, val := range vals {
		if d, err := ses.DecodeSM2Value(val); err != nil || d.Encoding != ses.EncDER || !bytes.Equal(d.DER(), val) {
			t.Errorf("signature value is not minimal DER (%v, %v)", d.Encoding, err)
		}
	}
}

// Reading leniently never turns a forged or changed signature into a pass: each case takes
// a quirk that verifies and changes what the leniency reads, without the key to sign again.
func TestLeniencyNeverForgives(t *testing.T) {
	p := newPKI(t)
	v := New(Options{})
	for _, tc := range []struct {
		name  string
		v1    bool
		build func(t *testing.T, f *sesFixture) []byte
		fails []string
	}{
		{"a bit flipped under the unused bits of the signature value", false, func(t *testing.T, f *sesFixture) []byte {
			f.resign(t, strictDER)
			val := f.value().val
			val[0] = 2
			val[len(val)-1] ^= 0x01
			return f.root.der()
		}, []string{CheckSignatureValue}},
		{"a bit flipped under the unused bits of dataHash", false, func(t *testing.T, f *sesFixture) []byte {
			f.tbs().kids[3].val[0] = 3
			f.resign(t, strictDER)
			h := f.tbs().kids[3].val
			h[len(h)-1] ^= 0x01
			return f.root.der()
		}, []string{CheckSignatureValue, CheckDataHash}},
		{"a bit flipped under the unused bits of the seal signature, re-signed by the signer", false, func(t *testing.T, f *sesFixture) []byte {
			f.sealValue().val[0] = 1
			sv := f.sealValue().val
			sv[len(sv)-1] ^= 0x01
			return f.resign(t, strictDER)
		}, []string{CheckSealSignature}},
		{"a negative INTEGER r that is not the true r", false, func(t *testing.T, f *sesFixture) []byte {
			r, s := sm2Sign(t, f.p.signerKey, f.tbs().der())
			if r[0]&0x80 == 0 {
				r[0] |= 0x80 // the true r with its top bit forced: read as unsigned it differs
			} else {
				r[31] ^= 0x01 // a negative INTEGER, but not the true r
			}
			f.value().val = negativeR(r, s)
			return f.root.der()
		}, []string{CheckSignatureValue}},
		{"the two's complement of the true r written as a negative INTEGER", false, func(t *testing.T, f *sesFixture) []byte {
			for {
				r, s := sm2Sign(t, f.p.signerKey, f.tbs().der())
				if r[0]&0x80 != 0 {
					continue
				}
				// -r in 33 bytes: FF followed by the low 32 bytes of 2^256 - r.
				neg := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), new(big.Int).SetBytes(r[:]))
				nb := make([]byte, 32)
				neg.FillBytes(nb)
				der := append([]byte{0x30, 0, 0x02, 33, 0xff}, nb...)
				sv := ses.SM2Value{R: r, S: s}.DER()
				der = append(der, sv[4+int(sv[3]):]...)
				der[1] = byte(len(der) - 2)
				f.value().val = append([]byte{0}, der...)
				return f.root.der()
			}
		}, []string{CheckSignatureValue}},
		{"a text time altered after signing", true, func(t *testing.T, f *sesFixture) []byte {
			f.timeInfo().val = append([]byte{0}, "2026-03-24 08:54:12"...)
			f.resign(t, strictDER)
			f.timeInfo().val = append([]byte{0}, "2026-03-23 08:54:12"...)
			return f.root.der()
		}, []string{CheckSignatureValue}},
		{"a zone-less GeneralizedTime altered after signing", false, func(t *testing.T, f *sesFixture) []byte {
			f.timeInfo().val = []byte("20260301080000")
			f.resign(t, strictDER)
			f.timeInfo().val = []byte("20260301000000")
			return f.root.der()
		}, []string{CheckSignatureValue}},
		{"a v1 seal whose header was changed to 4 without the maker", true, func(t *testing.T, f *sesFixture) []byte {
			f.info().kids[0].kids[1].val = []byte{4}
			return f.resign(t, strictDER)
		}, []string{CheckSealSignature}},
		{"a raw r||s seal signature with a flipped bit", false, func(t *testing.T, f *sesFixture) []byte {
			f.resignSeal(t, rawRS)
			f.sealValue().val[10] ^= 0x04
			return f.resign(t, strictDER)
		}, []string{CheckSealSignature}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, p, tc.v1)
			r := v.VerifySignature(tc.build(t, f), f.data)
			want := map[string]string{CheckFormat: Passed}
			for _, c := range tc.fails {
				want[c] = Failed
			}
			mustReport(t, r, want)
			if r.Indication != TotalFailed {
				t.Errorf("indication %s, want %s", r.Indication, TotalFailed)
			}
		})
	}
}

// What this software writes is strict DER: zone-bearing times are written in UTC with Z,
// every BIT STRING has 0 unused bits, signature values are minimal DER.
func TestEmittedStaysStrict(t *testing.T) {
	p := newPKI(t)
	for _, v1 := range []bool{false, true} {
		f := newFixture(t, p, v1)
		der := f.strictAgain(t, nil)
		assertStrict(t, der, false)
		sig, err := ses.ParseSignature(der)
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC); !sig.TBS.Time.Equal(want) {
			t.Errorf("v1=%v: time written %v, want %v", v1, sig.TBS.Time, want)
		}
	}
}

// The OFD carriage habits of these producers reach the format detail of the signature.
func TestCarriageNotesInDetail(t *testing.T) {
	r, err := New(Options{}).VerifyOFD(testvectors.Read(t, "ofd-go/samples/DZHD_1605281110201000001_202205250016050102202100000069141950_20220525_000413.ofd"), ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Signatures[0]
	if d := detail(s.Checks, CheckFormat); status(s.Checks, CheckFormat) != Passed || !strings.Contains(d, "the signature value file is SignValue.dat, as <SignedValue> names it") {
		t.Errorf("format %s: %q", status(s.Checks, CheckFormat), d)
	}
	mustReport(t, s, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Passed, CheckReferences: Passed})
}
