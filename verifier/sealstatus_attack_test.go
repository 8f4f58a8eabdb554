package verifier

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ses"
)

// fakeRegistry answers for one seal it made, by its exact bytes, as the registry does: any
// other bytes are not a seal it made. It issued no certificate.
type fakeRegistry struct {
	esl    []byte
	status Status
	asked  [][]byte
}

func (f *fakeRegistry) SealStatus(_ context.Context, _ string, der []byte) (Status, error) {
	f.asked = append(f.asked, bytes.Clone(der))
	if bytes.Equal(der, f.esl) {
		return f.status, nil
	}
	return Status{}, nil
}

func (f *fakeRegistry) CertStatus(context.Context, *smx509.Certificate) (Status, error) {
	return Status{}, nil
}

// sealVariants re-encodes a strict v4 seal without touching what its maker signed
// (DER(SES_SealInfo)): each variant is the same seal in another envelope, and its maker
// signature still verifies.
func sealVariants(t *testing.T, seal *ses.Seal) map[string][]byte {
	t.Helper()
	n := parseTLV(t, seal.Raw)
	if len(n.kids) != 4 {
		t.Fatalf("a v4 seal has 4 elements, this one %d", len(n.kids))
	}
	out := map[string][]byte{}
	// The outer SEQUENCE's length in a longer form than DER's (BER, read leniently).
	der := n.der()
	hdr := 2 + int(der[1]&0x7f)
	long := append([]byte{0x30, 0x84}, make([]byte, 4-(hdr-2))...)
	long = append(long, der[2:hdr]...)
	out["non-minimal outer length"] = append(long, der[hdr:]...)
	// The maker certificate written bare instead of in an OCTET STRING.
	bare := *n
	bare.kids = append([]*tlv{}, n.kids...)
	bare.kids[1] = parseTLV(t, n.kids[1].val)
	out["bare maker certificate"] = bare.der()
	// The maker's signature as 64 raw bytes r||s instead of DER.
	v, err := ses.DecodeSM2Value(seal.SignValue)
	if err != nil {
		t.Fatal(err)
	}
	raw := *n
	raw.kids = append([]*tlv{}, n.kids...)
	raw.kids[3] = &tlv{tag: 0x03, val: append(append([]byte{0}, v.R[:]...), v.S[:]...)}
	out["raw r||s maker signature"] = raw.der()
	// The signature algorithm written as the SM2 signing alias.
	alias := *n
	alias.kids = append([]*tlv{}, n.kids...)
	alias.kids[2] = &tlv{tag: 0x06, val: []byte{0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x01}}
	out["algorithm alias"] = alias.der()
	// The v1 layout: SES_SignInfo{cert, alg, signature} (verifies under the v4 convention).
	v1 := &tlv{tag: 0x30, kids: []*tlv{n.kids[0], {tag: 0x30, kids: n.kids[1:]}}}
	out["v1 layout"] = v1.der()
	// An unsigned [0] timeStamp appended (read as v5).
	ts := *n
	ts.kids = append(append([]*tlv{}, n.kids...), &tlv{tag: 0xa0, kids: []*tlv{{tag: 0x03, val: []byte{0, 1, 2, 3}}}})
	out["appended timeStamp"] = ts.der()
	return out
}

// TestSealStatusAttackReencodedSeal: the registry revoked (or voided, or suspended) a seal it
// made, and answers only for the exact bytes it made. Its signer, still holding the key,
// re-encodes the seal's envelope (what the maker did not sign) and signs after the
// revocation: the registry must not be kept from answering by the new envelope.
func TestSealStatusAttackReencodedSeal(t *testing.T) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal := p.seal(t, start, start.AddDate(3, 0, 0))
	revoked := start.AddDate(1, 0, 0)
	signed := revoked.AddDate(0, 1, 0)
	data := []byte("<Signature/>")
	for _, tc := range []struct {
		name   string
		status Status
	}{
		{"revoked", Status{Known: true, Revoked: revoked, Reason: "voided"}},
		{"suspended", Status{Known: true, Suspended: []Period{{From: revoked}}}},
	} {
		for name, variant := range sealVariants(t, seal) {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				reg := &fakeRegistry{esl: seal.Raw, status: tc.status}
				opts := p.trust(signed.Add(time.Hour))
				opts.Status = reg
				// The genuine seal: the registry's word fails it.
				if r := New(opts).VerifySignature(p.sign(t, seal, data, signed), data); r.Indication != TotalFailed || status(r.Checks, CheckRevocation) != Failed {
					t.Fatalf("the genuine seal: %s / %s, revocation %s", r.Indication, r.SubIndication, detail(r.Checks, CheckRevocation))
				}
				if len(reg.asked) != 1 {
					t.Errorf("the registry was asked %d times about the seal in one verification, want once", len(reg.asked))
				}
				for _, der := range reg.asked {
					if !bytes.Equal(der, seal.Raw) {
						t.Fatal("the registry was asked about other bytes than the genuine seal's, which it knows")
					}
				}
				vs, err := ses.ParseSeal(variant)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(vs.Raw, seal.Raw) {
					t.Fatal("the variant is the seal itself")
				}
				der := p.sign(t, vs, data, signed)
				r := New(opts).VerifySignature(der, data)
				if status(r.Checks, CheckSealSignature) != Passed {
					t.Fatalf("the variant's maker signature does not verify, so it proves nothing: %s", detail(r.Checks, CheckSealSignature))
				}
				if r.Indication == TotalPassed || status(r.Checks, CheckRevocation) != Failed {
					t.Errorf("a %s seal in another envelope: %s / %s, revocation %s: %s", tc.name, r.Indication, r.SubIndication,
						status(r.Checks, CheckRevocation), detail(r.Checks, CheckRevocation))
				}
			})
		}
	}
}
