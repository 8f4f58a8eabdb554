package ofd

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// producerPackage is a package as the bank-receipt, railway and county producers write it:
// first signature folder Sign_1 (no Sign_0), no Type attribute, the value file named
// SignValue.dat by <SignedValue>, which comes before <SignedInfo>, CheckMethod "sm3", a BMP
// seal picture beside it and a zone-less SignatureDateTime.
func producerPackage() map[string][]byte {
	m := map[string][]byte{
		"OFD.xml":                          []byte(fmt.Sprintf(testOFD, "Doc_0/Signs/Signatures.xml")),
		"Doc_0/Document.xml":               []byte(testDoc),
		"Doc_0/Pages/Page_0/Content.xml":   []byte(testPage),
		"Doc_0/Signs/Sign_1/SignValue.dat": []byte(testValue),
		"Doc_0/Signs/Sign_1/Seal.bmp":      append([]byte("BM"), bytes.Repeat([]byte{0xff}, 60)...),
	}
	var refs strings.Builder
	for _, f := range []string{"/Doc_0/Document.xml", "/Doc_0/Pages/Page_0/Content.xml", "/Doc_0/Signs/Sign_1/Seal.bmp"} {
		fmt.Fprintf(&refs, `<ofd:Reference FileRef="%s"><ofd:CheckValue>%s</ofd:CheckValue></ofd:Reference>`, f, b64sm3(m[strings.TrimPrefix(f, "/")]))
	}
	m["Doc_0/Signs/Sign_1/Signature.xml"] = []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signature ` + nsOFD + `>` +
		`<ofd:SignedValue>/Doc_0/Signs/Sign_1/SignValue.dat</ofd:SignedValue>` +
		`<ofd:SignedInfo><ofd:Provider ProviderName="DJ" Version="2.0" Company="DianJu"/>` +
		`<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod><ofd:SignatureDateTime>2022-10-17 09:45:19</ofd:SignatureDateTime>` +
		`<ofd:References CheckMethod="sm3">` + refs.String() + `</ofd:References>` +
		`<ofd:StampAnnot ID="1" PageRef="1" Boundary="10 20 40 40"/></ofd:SignedInfo></ofd:Signature>`)
	m["Doc_0/Signs/Signatures.xml"] = []byte(`<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures ` + nsOFD + `>` +
		`<ofd:MaxSignId>1</ofd:MaxSignId><ofd:Signature ID="1" BaseLoc="Sign_1/Signature.xml"/></ofd:Signatures>`)
	return m
}

func TestProducerCarriage(t *testing.T) {
	sigs := producerSigs(t, producerPackage())
	if len(sigs) != 1 {
		t.Fatalf("%d signatures, want 1", len(sigs))
	}
	s := sigs[0]
	switch {
	case s.Err != nil:
		t.Fatalf("Err = %v", s.Err)
	case s.Type != "Seal":
		t.Errorf("a missing Type attribute reads as %q, want Seal", s.Type)
	case s.Location != "Doc_0/Signs/Sign_1/Signature.xml":
		t.Errorf("location %q", s.Location)
	case s.SignedValuePath != "Doc_0/Signs/Sign_1/SignValue.dat" || string(s.SignedValue) != testValue:
		t.Errorf("value file %q (%q): the name must come from <SignedValue>", s.SignedValuePath, s.SignedValue)
	case s.CheckMethod != "sm3":
		t.Errorf("CheckMethod %q", s.CheckMethod)
	}
	expectClean(t, sigs, "1", 3)
	mustContain(t, "notes", strings.Join(s.Notes, "|"), "no Type; read as Seal", `CheckMethod "sm3" read as SM3`,
		"<SignedValue> before <SignedInfo>", "the signature value file is SignValue.dat")
	if len(s.Notes) != 4 || len(s.Warnings) != 0 {
		t.Errorf("notes %q, warnings %q", s.Notes, s.Warnings)
	}
	if ts, zoned, err := ParseDateTime(s.SignatureDateTime); err != nil || zoned || !ts.Equal(time.Date(2022, 10, 17, 1, 45, 19, 0, time.UTC)) {
		t.Errorf("SignatureDateTime %q read as %v (zoned %v, %v), want 01:45:19 UTC", s.SignatureDateTime, ts, zoned, err)
	}

	// Each quirk on its own, on the otherwise standard package.
	for _, tc := range []struct {
		name string
		edit func(m map[string][]byte)
		test func(t *testing.T, s *Signature)
	}{
		{"upper-case SM3 and lower-case sm3 agree", func(m map[string][]byte) {
			x := m["Doc_0/Signs/Sign_1/Signature.xml"]
			m["Doc_0/Signs/Sign_1/Signature.xml"] = bytes.Replace(x, []byte(`CheckMethod="sm3"`), []byte(`CheckMethod="Sm3"`), 1)
		}, func(t *testing.T, s *Signature) {
			expectClean(t, []*Signature{s}, "1", 3)
			mustContain(t, "notes", strings.Join(s.Notes, "|"), `CheckMethod "Sm3" read as SM3`)
		}},
		{"an unknown CheckMethod is not taken for SM3", func(m map[string][]byte) {
			x := m["Doc_0/Signs/Sign_1/Signature.xml"]
			m["Doc_0/Signs/Sign_1/Signature.xml"] = bytes.Replace(x, []byte(`CheckMethod="sm3"`), []byte(`CheckMethod="sm3x"`), 1)
		}, func(t *testing.T, s *Signature) {
			if ok, _ := okRefs(s); ok != 0 {
				t.Errorf("%d references pass under CheckMethod sm3x", ok)
			}
		}},
		{"Type written Sign is kept", func(m map[string][]byte) {
			x := m["Doc_0/Signs/Signatures.xml"]
			m["Doc_0/Signs/Signatures.xml"] = bytes.Replace(x, []byte(`ID="1"`), []byte(`ID="1" Type="Sign"`), 1)
		}, func(t *testing.T, s *Signature) {
			if s.Type != "Sign" || strings.Contains(strings.Join(s.Notes, "|"), "no Type") {
				t.Errorf("Type %q, notes %q", s.Type, s.Notes)
			}
		}},
		{"a missing value file is named, not looked for as SignedValue.dat", func(m map[string][]byte) {
			m["Doc_0/Signs/Sign_1/SignedValue.dat"] = m["Doc_0/Signs/Sign_1/SignValue.dat"]
			delete(m, "Doc_0/Signs/Sign_1/SignValue.dat")
		}, func(t *testing.T, s *Signature) {
			if s.Err == nil {
				t.Fatal("a signature whose named value file is missing was read")
			}
			mustContain(t, "error", s.Err.Error(), "SignValue.dat")
		}},
		{"SignedValue after SignedInfo", func(m map[string][]byte) {
			x := m["Doc_0/Signs/Sign_1/Signature.xml"]
			el := []byte(`<ofd:SignedValue>/Doc_0/Signs/Sign_1/SignValue.dat</ofd:SignedValue>`)
			x = bytes.Replace(x, el, nil, 1)
			m["Doc_0/Signs/Sign_1/Signature.xml"] = bytes.Replace(x, []byte(`</ofd:Signature>`), append(el, `</ofd:Signature>`...), 1)
		}, func(t *testing.T, s *Signature) {
			if s.Err != nil || s.SignedValuePath != "Doc_0/Signs/Sign_1/SignValue.dat" || strings.Contains(strings.Join(s.Notes, "|"), "before") {
				t.Errorf("Err %v, value %q, notes %q", s.Err, s.SignedValuePath, s.Notes)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := producerPackage()
			tc.edit(m)
			sigs := producerSigs(t, m)
			if len(sigs) != 1 {
				t.Fatalf("%d signatures", len(sigs))
			}
			tc.test(t, sigs[0])
		})
	}
}

func producerSigs(t *testing.T, m map[string][]byte) []*Signature {
	t.Helper()
	p, err := Open(zipMap(t, m), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := p.Signatures()
	if err != nil {
		t.Fatal(err)
	}
	return sigs
}

func TestParseDateTime(t *testing.T) {
	cst := func(y, mo, d, h, mi, s, ns int) time.Time {
		return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.FixedZone("", 8*3600)).UTC()
	}
	for _, tc := range []struct {
		in    string
		want  time.Time
		zoned bool
	}{
		{"2022-10-17 09:45:19", cst(2022, 10, 17, 9, 45, 19, 0), false},
		{"2020-07-16 16:04:27", cst(2020, 7, 16, 16, 4, 27, 0), false},
		{"20201010151120", cst(2020, 10, 10, 15, 11, 20, 0), false},
		{"20200817111329Z", time.Date(2020, 8, 17, 11, 13, 29, 0, time.UTC), true},
		{"20201004072855.302Z", time.Date(2020, 10, 4, 7, 28, 55, 302e6, time.UTC), true},
		{"2022-10-17T09:45:19+08:00", cst(2022, 10, 17, 9, 45, 19, 0), true},
		{" 2022-10-17 09:45:19 ", cst(2022, 10, 17, 9, 45, 19, 0), false},
	} {
		got, zoned, err := ParseDateTime(tc.in)
		if err != nil || !got.Equal(tc.want) || zoned != tc.zoned || got.Location() != time.UTC {
			t.Errorf("%q: %v zoned %v (%v), want %v zoned %v", tc.in, got, zoned, err, tc.want, tc.zoned)
		}
	}
	for _, bad := range []string{"", "yesterday", "2022-13-01 00:00:00", strings.Repeat("9", 100)} {
		if _, _, err := ParseDateTime(bad); err == nil || len(err.Error()) > 120 {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}
