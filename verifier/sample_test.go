package verifier

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// sampleOptions trusts the committed sample of the quick start (testdata/sample): its root,
// its seal maker and its CRL, with the clock at now.
func sampleOptions(t *testing.T, now time.Time) (Options, func(string) []byte) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "sample", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cert := func(name string) *smx509.Certificate {
		b, _ := pem.Decode(read(name))
		if b == nil {
			t.Fatalf("%s holds no PEM", name)
		}
		c, err := smx509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	crl, err := smx509.ParseRevocationList(read("crl.der"))
	if err != nil {
		t.Fatal(err)
	}
	return Options{Roots: []*smx509.Certificate{cert("root.pem")}, Makers: []*smx509.Certificate{cert("maker.pem")},
		CRLs: []*smx509.RevocationList{crl}, Now: at(now)}, read
}

// The quick start must keep its verdict as time passes. The sample's certificates and seal
// last until 2046-11-01 and its CRL's nextUpdate lies beyond that, so ten years from now
// (until 2036) it is TOTAL_PASSED; once its certificates have expired, nothing proves when
// it was signed, and it is INDETERMINATE. This test fails from 2036 on: by then the sample
// must be made again (go run ./internal/cmd/mksample testdata/sample).
func TestSampleOverTime(t *testing.T) {
	tenYears := time.Now().AddDate(10, 0, 0)
	for _, tc := range []struct {
		name            string
		now             time.Time
		indication, sub string
		statuses        map[string]string
	}{
		{"today", time.Now(), TotalPassed, "", map[string]string{CheckRevocation: Passed, CheckSealMaker: Passed, CheckTimeProof: Skipped}},
		{"ten years from now", tenYears, TotalPassed, "", map[string]string{CheckRevocation: Passed, CheckSealMaker: Passed, CheckTimeProof: Skipped}},
		{"after the certificates expired", time.Date(2046, 11, 2, 0, 0, 0, 0, time.UTC), Indeterminate, OutOfBoundsNoPOE,
			map[string]string{CheckRevocation: Passed, CheckSealMaker: Passed, CheckTimeProof: Indet, CheckSignerCertTime: Passed}},
		{"after the CRL's grace", time.Date(2046, 12, 1, 0, 0, 0, 0, time.UTC), Indeterminate, TryLater,
			map[string]string{CheckRevocation: Indet, CheckTimeProof: Indet}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, read := sampleOptions(t, tc.now)
			r := New(opts).VerifySignature(read("SignedValue.dat"), read("Signature.xml"))
			if r.Indication != tc.indication || r.SubIndication != tc.sub {
				t.Errorf("%s / %s, want %s / %s", r.Indication, r.SubIndication, tc.indication, tc.sub)
			}
			for name, want := range tc.statuses {
				if got := status(r.Checks, name); got != want {
					t.Errorf("%s is %s, want %s: %s", name, got, want, detail(r.Checks, name))
				}
			}
			if t.Failed() {
				for _, c := range r.Checks {
					t.Logf("%s %s %s", c.Name, c.Status, c.Detail)
				}
			}
		})
	}
	opts, read := sampleOptions(t, tenYears)
	if s, ind := New(opts).VerifySeal(read("Seal.esl")); ind != TotalPassed {
		t.Errorf("the sample seal ten years from now: %s %v", ind, s.Checks)
	}
}
