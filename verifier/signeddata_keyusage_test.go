package verifier

import (
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ofd"
)

// A Type="Sign" SignedData made with a key its certificate does not allow to sign (an
// encipherment key, a CA's certificate-signing key) fails, as a seal signature's signer does.
func TestSignedDataSignerKeyUsage(t *testing.T) {
	p := newPKI(t)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	v := New(Options{Roots: []*smx509.Certificate{p.root}, CRLs: []*smx509.RevocationList{p.emptyCRL(now)}, Now: at(now)})
	xml := []byte("<Signature/>")
	encKey, caKey := newKey(t), newKey(t)
	for _, tc := range []struct {
		name       string
		cert       *smx509.Certificate
		indication string
		status     string
	}{
		{"an encipherment key", issue(t, 40, "encipherment only", encKey, smx509.KeyUsageKeyEncipherment, false, p.root, p.rootKey), TotalFailed, Failed},
		{"a CA's certificate-signing key", issue(t, 41, "a sub-CA", caKey, smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign, true, p.root, p.rootKey), TotalFailed, Failed},
		{"a signing key", p.signer, TotalPassed, Passed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := p.signerKey
			switch tc.cert.SerialNumber.Int64() {
			case 40:
				key = encKey
			case 41:
				key = caKey
			}
			sd := makeSignedData(t, nil, false, []*smx509.Certificate{tc.cert}, []sdSigner{{cert: tc.cert, key: key,
				attrs: [][]byte{typeAttr(t), digestAttr(t, xml), timeAttr(t, now.Add(-time.Hour))}}})
			r, c := v.verifyPlainSignature(&ofd.Signature{Type: "Sign", XML: xml, SignedValue: sd, SignedValuePath: "/Doc_0/Signs/Sign_0/SignedValue.dat"})
			r.Checks = c.list
			r.Indication, r.SubIndication = c.indication()
			if r.Indication != tc.indication || status(r.Checks, CheckSignerCertTime) != tc.status {
				t.Fatalf("%s with signer_certificate_validity %s, want %s with %s: %s", r.Indication, status(r.Checks, CheckSignerCertTime), tc.indication, tc.status, detail(r.Checks, CheckSignerCertTime))
			}
		})
	}
}
