package verifier

import (
	"strings"
	"testing"

	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
)

// A signature value one byte short inside its BIT STRING (the DER of the whole signature still
// well formed) fails signature_value; the file is read and the other checks still run.
func TestTruncatedSignatureValue(t *testing.T) {
	for _, tc := range []struct {
		file  string
		value func(root *tlv) *tlv
	}{
		{"ofdrw/ofdrw-gm/src/test/resources/SignedValueV4.dat", func(root *tlv) *tlv { return root.kids[3] }},
		{"ofd-parser/tests/files/00101_unzip_files/Doc_0/Signs/Sign_0/SignedValue.dat", func(root *tlv) *tlv { return root.kids[1] }},
		{"synthetic/v4_SignedValue_rawRS.dat", func(root *tlv) *tlv { return root.kids[3] }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			root := parseTLV(t, testvectors.Read(t, tc.file))
			val := tc.value(root)
			if before := New(Options{}).VerifySignature(root.der(), nil); status(before.Checks, CheckSignatureValue) != Passed {
				t.Fatalf("the vector itself does not verify: %s", detail(before.Checks, CheckSignatureValue))
			}
			val.val = val.val[:len(val.val)-1]
			r := New(Options{}).VerifySignature(root.der(), nil)
			mustReport(t, r, map[string]string{CheckFormat: Passed, CheckSignatureValue: Failed, CheckSealSignature: Passed, CheckSignerInSeal: Passed})
			if r.Indication != TotalFailed || r.SubIndication != SigCryptoFailure {
				t.Errorf("%s / %s, want %s / %s", r.Indication, r.SubIndication, TotalFailed, SigCryptoFailure)
			}
		})
	}
}

// replaceEntry rewrites a ZIP with one entry's bytes replaced.
func replaceEntry(t *testing.T, pkg []byte, name string, data []byte) []byte {
	t.Helper()
	found := false
	out := rezip(t, pkg, func(n string, b []byte) []byte {
		if n == name {
			b, found = data, true
		}
		return b
	}, nil)
	if !found {
		t.Fatalf("no entry %s", name)
	}
	return out
}

// A genuine SES blob reused from another document verifies as a signature but fails
// data_hash, and the detail names what else disagrees: propertyInfo and the signing time.
func TestReusedSealSignature(t *testing.T) {
	target := testvectors.Read(t, "esl-demo/test.ofd") // SignatureDateTime 2024-03-28 15:49:36
	donor := testvectors.Read(t, "ofd.js/public/h.ofd")
	for _, tc := range []struct {
		name, from string
		want, not  []string
	}{
		{"another path and time", "Doc_0/Signs/Sign_1/SignedValue.dat",
			[]string{`propertyInfo "/Doc_0/Signs/Sign_1/Signature.xml" is not this signature's path "/Doc_0/Signs/Sign_0/Signature.xml"`,
				"differs from SignatureDateTime \"2024-03-28 15:49:36\" of Signature.xml (2024-03-28T07:49:36Z, read as China Standard Time (UTC+8))"}, nil},
		{"the same path, another time", "Doc_0/Signs/Sign_0/SignedValue.dat",
			[]string{"its signing time (timeInfo)", "differs from SignatureDateTime"}, []string{"propertyInfo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkg := replaceEntry(t, target, "Doc_0/Signs/Sign_0/SignedValue.dat", readEntry(t, donor, tc.from))
			r, err := New(Options{}).VerifyOFD(pkg, ofd.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			s := r.Signatures[0]
			mustReport(t, s, map[string]string{CheckFormat: Passed, CheckSignatureValue: Passed, CheckSealSignature: Passed, CheckDataHash: Failed})
			if s.Indication != TotalFailed || s.SubIndication != HashFailure {
				t.Errorf("%s / %s", s.Indication, s.SubIndication)
			}
			d := detail(s.Checks, CheckDataHash)
			for _, w := range tc.want {
				if !strings.Contains(d, w) {
					t.Errorf("data_hash detail %q does not say %q", d, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(d, w) {
					t.Errorf("data_hash detail %q says %q", d, w)
				}
			}
		})
	}
	// The untouched package names no mismatch.
	r, err := New(Options{}).VerifyOFD(target, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if d := detail(r.Signatures[0].Checks, CheckDataHash); status(r.Signatures[0].Checks, CheckDataHash) != Passed || strings.Contains(d, "does not belong") {
		t.Errorf("original: %s", d)
	}
}

// An extension marked critical, which no standard defines, fails the signature (TBS_Sign:
// format) or the seal (seal_validity), even when everything is correctly signed.
func TestUnknownCriticalExtension(t *testing.T) {
	p := newPKI(t)
	v := New(Options{})
	ext := func(critical byte) *tlv {
		return &tlv{tag: 0x30, kids: []*tlv{
			{tag: 0x06, val: []byte{0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x63, 0x01}}, // 1.2.156.10197.99.1
			{tag: 0x01, val: []byte{critical}},
			{tag: 0x04, val: []byte("vendor")},
		}}
	}
	for _, tc := range []struct {
		name    string
		build   func(t *testing.T, f *sesFixture) []byte
		check   string
		outcome string
	}{
		{"critical in TBS_Sign", func(t *testing.T, f *sesFixture) []byte {
			f.tbs().kids = append(f.tbs().kids, &tlv{tag: 0xa0, kids: []*tlv{{tag: 0x30, kids: []*tlv{ext(0xff)}}}})
			return f.resign(t, strictDER)
		}, CheckFormat, Failed},
		{"critical in TBS_Sign under [0] IMPLICIT, one entry", func(t *testing.T, f *sesFixture) []byte {
			f.tbs().kids = append(f.tbs().kids, &tlv{tag: 0xa0, kids: []*tlv{ext(0xff)}})
			return f.resign(t, strictDER)
		}, CheckFormat, Failed},
		{"critical in TBS_Sign under [0] IMPLICIT, second of two", func(t *testing.T, f *sesFixture) []byte {
			f.tbs().kids = append(f.tbs().kids, &tlv{tag: 0xa0, kids: []*tlv{ext(0x00), ext(0xff)}})
			return f.resign(t, strictDER)
		}, CheckFormat, Failed},
		{"critical in the seal", func(t *testing.T, f *sesFixture) []byte {
			f.info().kids = append(f.info().kids, &tlv{tag: 0x30, kids: []*tlv{ext(0xff)}})
			f.resignSeal(t, strictDER)
			return f.resign(t, strictDER)
		}, CheckSealValidity, Failed},
		{"critical in the seal under [0]", func(t *testing.T, f *sesFixture) []byte {
			f.info().kids = append(f.info().kids, &tlv{tag: 0xa0, kids: []*tlv{ext(0xff)}})
			f.resignSeal(t, strictDER)
			return f.resign(t, strictDER)
		}, CheckSealValidity, Failed},
		{"seal extensions that are no SEQUENCE", func(t *testing.T, f *sesFixture) []byte {
			f.info().kids = append(f.info().kids, &tlv{tag: 0x04, val: []byte("hidden")})
			f.resignSeal(t, strictDER)
			return f.resign(t, strictDER)
		}, CheckFormat, Failed},
		{"malformed entry claiming critical in the seal", func(t *testing.T, f *sesFixture) []byte {
			bad := ext(0xff)
			bad.kids[2].tag = 0x0c // value not an OCTET STRING: unreadable, but critical
			f.info().kids = append(f.info().kids, &tlv{tag: 0x30, kids: []*tlv{bad}})
			f.resignSeal(t, strictDER)
			return f.resign(t, strictDER)
		}, CheckSealValidity, Failed},
		{"not critical in TBS_Sign", func(t *testing.T, f *sesFixture) []byte {
			f.tbs().kids = append(f.tbs().kids, &tlv{tag: 0xa0, kids: []*tlv{{tag: 0x30, kids: []*tlv{ext(0x00)}}}})
			return f.resign(t, strictDER)
		}, CheckFormat, Passed},
		{"not critical in the seal", func(t *testing.T, f *sesFixture) []byte {
			f.info().kids = append(f.info().kids, &tlv{tag: 0x30, kids: []*tlv{ext(0x00)}})
			f.resignSeal(t, strictDER)
			return f.resign(t, strictDER)
		}, CheckSealValidity, Passed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, p, false)
			r := v.VerifySignature(tc.build(t, f), f.data)
			if strings.Contains(tc.name, "no SEQUENCE") {
				mustReport(t, r, map[string]string{CheckFormat: Failed})
				if d := detail(r.Checks, CheckFormat); !strings.Contains(d, "expected extDatas") {
					t.Errorf("detail %q", d)
				}
				return
			}
			mustReport(t, r, map[string]string{CheckSignatureValue: Passed, CheckSealSignature: Passed, tc.check: tc.outcome})
			if d := detail(r.Checks, tc.check); tc.outcome == Failed && !strings.Contains(d, "critical extension(s) 1.2.156.10197.99.1") &&
				!strings.Contains(d, "(unreadable)") {
				t.Errorf("detail %q does not name the extension", d)
			}
			if tc.outcome == Failed && r.Indication != TotalFailed {
				t.Errorf("indication %s", r.Indication)
			}
		})
	}
	// A bare seal with a critical extension fails seal_validity too.
	f := newFixture(t, p, false)
	f.info().kids = append(f.info().kids, &tlv{tag: 0x30, kids: []*tlv{ext(0xff)}})
	f.resignSeal(t, strictDER)
	sr, ind := v.VerifySeal(f.seal().der())
	if status(sr.Checks, CheckSealValidity) != Failed || status(sr.Checks, CheckSealSignature) != Passed || ind != TotalFailed {
		t.Errorf("bare seal: %s, %v", ind, sr.Checks)
	}
}
