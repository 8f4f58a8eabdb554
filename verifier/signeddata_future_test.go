package verifier

import (
	"testing"
	"time"

	"github.com/emmansun/gmsm/pkcs7"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ofd"
)

// A Type="Sign" SignedData whose signingTime lies in the future fails as a seal signature's
// does: no signature can have been made at a time that has not come. Without revocation
// sources it passed, its certificates being valid then and now.
func TestSignedDataFutureTime(t *testing.T) {
	p := newPKI(t)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	v := New(Options{Roots: []*smx509.Certificate{p.root}, Now: at(now)})
	xml := []byte("<Signature/>")
	for _, tc := range []struct {
		name  string
		times []time.Time
		want  string
	}{
		{"a year ahead", []time.Time{now.AddDate(1, 0, 0)}, Failed},
		{"the second signer a year ahead", []time.Time{now.Add(-time.Hour), now.AddDate(1, 0, 0)}, Failed},
		{"within the clock skew", []time.Time{now.Add(time.Minute)}, Passed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var signers []sdSigner
			for _, when := range tc.times {
				signers = append(signers, sdSigner{cert: p.signer, key: p.signerKey, attrs: [][]byte{typeAttr(t), digestAttr(t, xml), timeAttr(t, when)}})
			}
			sd := makeSignedData(t, nil, false, []*smx509.Certificate{p.signer}, signers)
			r, c := v.verifyPlainSignature(&ofd.Signature{Type: "Sign", XML: xml, SignedValue: sd, SignedValuePath: "/Doc_0/Signs/Sign_0/SignedValue.dat"})
			r.Checks = c.list
			r.Indication, r.SubIndication = c.indication()
			if got := status(r.Checks, CheckSignerCertTime); got != tc.want {
				t.Fatalf("%s with signer_certificate_validity %s, want %s: %s", r.Indication, got, tc.want, detail(r.Checks, CheckSignerCertTime))
			}
			if tc.want == Failed && (r.Indication != TotalFailed || r.SubIndication != SigningTimeInFuture) {
				t.Fatalf("%s / %s, want %s / %s", r.Indication, r.SubIndication, TotalFailed, SigningTimeInFuture)
			}
		})
	}
}

// A SignedData made by gmsm's pkcs7 package (detached, signed now) verifies.
func TestSignedDataFromLibrary(t *testing.T) {
	p := newPKI(t)
	xml := []byte("<Signature/>")
	sd, err := pkcs7.NewSMSignedData(xml)
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.AddSigner(p.signer, p.signerKey, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	v := New(Options{Roots: []*smx509.Certificate{p.root}})
	r, c := v.verifyPlainSignature(&ofd.Signature{Type: "Sign", XML: xml, SignedValue: der, SignedValuePath: "/Doc_0/Signs/Sign_0/SignedValue.dat"})
	r.Checks = c.list
	for _, n := range []string{CheckFormat, CheckSignatureValue, CheckDataHash} {
		if got := status(r.Checks, n); got != Passed {
			t.Errorf("%s %s: %s", n, got, detail(r.Checks, n))
		}
	}
	if got := status(r.Checks, CheckSignerCertTime); got == Failed && c.subOf(CheckSignerCertTime) == SigningTimeInFuture {
		t.Errorf("a signature made now is taken for one made in the future: %s", detail(r.Checks, CheckSignerCertTime))
	}
}
