package revocation

import (
	"bytes"
	"encoding/pem"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/errs"
)

func TestParseCRL(t *testing.T) {
	ca := newCA(t, "eseal test root")
	der := ca.crl(t, 9, t0, t0.Add(time.Hour))
	p := pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})
	for _, tc := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"DER", der, true},
		{"PEM", p, true},
		{"PEM with white space", append(append([]byte("\r\n  "), p...), "\n\n"...), true},
		{"empty", nil, false},
		{"garbage", []byte("garbage"), false},
		{"DER and a byte", append(bytes.Clone(der), 0), false},
		{"truncated DER", der[:len(der)-1], false},
		{"two PEM blocks", append(bytes.Clone(p), p...), false},
		{"PEM of a certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), false},
		{"broken PEM", []byte("-----BEGIN X509 CRL-----\nAAAA"), false},
		{"a certificate", ca.cert.Raw, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := parseCRL(tc.in)
			if !tc.ok {
				wantKind(t, err, errs.Malformed)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(l.Raw, der) || l.Number.Int64() != 9 {
				t.Fatal("not the CRL given")
			}
			if err := checkCRL(l, ca.cert); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestNewer(t *testing.T) {
	ca := newCA(t, "eseal test root")
	parse := func(der []byte) *smx509.RevocationList {
		l, err := parseCRL(der)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a := parse(ca.crl(t, 1, t0, t0.Add(time.Hour)))
	b := parse(ca.crl(t, 2, t0, t0.Add(time.Hour)))
	c := parse(ca.crl(t, 1, t0.Add(time.Second), t0.Add(time.Hour)))
	if newer(b, a) <= 0 || newer(a, b) >= 0 || newer(b, c) <= 0 || newer(c, b) >= 0 || newer(c, a) <= 0 || newer(a, a) != 0 {
		t.Fatal("wrong order: the CRL number first, then thisUpdate")
	}
	// Without a number on both sides, thisUpdate decides.
	unnumbered := *b
	unnumbered.Number = nil
	if newer(c, &unnumbered) <= 0 || newer(&unnumbered, c) >= 0 || newer(&unnumbered, a) != 0 {
		t.Fatal("wrong order without a CRL number: thisUpdate decides")
	}
}

// FuzzParseCRL feeds parseCRL arbitrary bodies: it never panics, and what it accepts is one
// CRL whose encoding reads back the same.
func FuzzParseCRL(f *testing.F) {
	ca := newCA(f, "eseal test root")
	der := ca.crl(f, 1, t0, t0.Add(time.Hour))
	f.Add(der)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}))
	f.Add(ca.crl(f, 2, t0, t0.Add(time.Hour), deltaExt(f)))
	f.Add([]byte("-----BEGIN X509 CRL-----\n-----END X509 CRL-----\n"))
	f.Add([]byte{0x30, 0x80})
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := parseCRL(body)
		if err != nil {
			if errs.KindOf(err) != errs.Malformed {
				t.Fatalf("error %q is not MALFORMED", err)
			}
			return
		}
		again, err := smx509.ParseRevocationList(l.Raw)
		if err != nil || !bytes.Equal(again.Raw, l.Raw) {
			t.Fatalf("accepted, but its encoding does not read back: %v", err)
		}
		_ = checkCRL(l, ca.cert)
		_, _ = partial(l)
	})
}
