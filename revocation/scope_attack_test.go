package revocation

import (
	"context"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
	"time"

	"github.com/eseal/eseal/errs"
)

// A CA that marks an issuing distribution point or a delta CRL indicator non-critical by
// mistake still issues a CRL that does not answer for all its certificates: a CA-only CRL,
// newer than the complete one, would hide every end-entity revocation. Such a CRL is
// refused, fetched or put, and the complete one stays held.
func TestCRLScopeAttackNonCritical(t *testing.T) {
	ca := newCA(t, "Scope CA")
	delta := deltaExt(t)
	delta.Critical = false
	// IssuingDistributionPoint { onlyContainsCACerts [2] TRUE }
	caOnly := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Value: []byte{0x30, 0x03, 0x82, 0x01, 0xff}}
	// IssuingDistributionPoint { onlyContainsUserCerts [1] TRUE }
	userOnly := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Value: []byte{0x30, 0x03, 0x81, 0x01, 0xff}}
	ctx := context.Background()
	for _, tc := range []struct {
		name, inError string
		ext           pkix.Extension
	}{
		{"non-critical delta indicator", "delta", delta},
		{"non-critical CA-only IDP", "issuing distribution point", caOnly},
		{"non-critical user-only IDP", "issuing distribution point", userOnly},
		{"critical extension not processed", "1.2.156.10197.99.7 (not processed)", pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 156, 10197, 99, 7}, Critical: true, Value: []byte{0x05, 0x00}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFetcher(t, nil, Config{Now: newClock(t0.Add(time.Minute)).nowFunc(), Logger: quiet})
			complete := ca.crl(t, 1, t0, t0.Add(time.Hour))
			if err := f.Put(ctx, ca.cert, complete); err != nil {
				t.Fatal(err)
			}
			limited := ca.crl(t, 2, t0.Add(time.Second), t0.Add(time.Hour), tc.ext)
			err := f.Put(ctx, ca.cert, limited)
			wantKind(t, err, errs.Unsupported)
			if !strings.Contains(err.Error(), tc.inError) {
				t.Errorf("error %q does not say %q", err, tc.inError)
			}
			if n := heldNumber(f, ca.cert); n != 1 {
				t.Fatalf("CRL %d held, want the complete CRL 1", n)
			}
		})
	}
}
