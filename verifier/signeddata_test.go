package verifier

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

var oidContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}

func attribute(t testing.TB, oid asn1.ObjectIdentifier, value func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, value)
	})
	out, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func digestAttr(t testing.TB, data []byte) []byte {
	sum := sm3.Sum(data)
	return attribute(t, oidMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(sum[:]) })
}

func timeAttr(t testing.TB, at time.Time) []byte {
	return attribute(t, oidSigningTime, func(b *cryptobyte.Builder) { b.AddASN1UTCTime(at) })
}

func typeAttr(t testing.TB) []byte {
	return attribute(t, oidContentType, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 1})
	})
}

// sdSigner is one signerInfo of a SignedData built for a test.
type sdSigner struct {
	cert  *smx509.Certificate
	key   *sm2.PrivateKey
	attrs [][]byte // in the order written; nil: no authenticated attributes, the content is signed
	// signed returns what the key signs, given the [0] attributes as written; nil: the
	// attributes with the SET tag, as the standard says.
	signed         func(written []byte) []byte
	bySKID         bool                  // name the certificate by its subject key identifier, not issuer and serial
	digest, sigAlg asn1.ObjectIdentifier // nil: SM3 and SM2
}

// makeSignedData writes a GB/T 35275 SignedData by hand, attributes in the given order.
func makeSignedData(t testing.TB, content []byte, attached bool, certs []*smx509.Certificate, signers []sdSigner) []byte {
	t.Helper()
	algo := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oid); b.AddASN1NULL() })
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oidGMSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { algo(b, ses.OIDSM3) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 156, 10197, 6, 1, 4, 2, 1})
					if attached {
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddASN1OctetString(content) })
					}
				})
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range certs {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					for _, s := range signers {
						var attrs []byte
						if s.attrs != nil {
							var ab cryptobyte.Builder
							ab.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
								for _, a := range s.attrs {
									b.AddBytes(a)
								}
							})
							attrs = ab.BytesOrPanic()
						}
						msg := content
						if attrs != nil {
							msg = append([]byte{0x31}, attrs[1:]...)
						}
						if s.signed != nil {
							msg = s.signed(attrs)
						}
						sig, err := ses.SignSM2(rand.Reader, s.key, msg)
						if err != nil {
							t.Fatal(err)
						}
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							if s.bySKID {
								b.AddASN1Int64(3)
								b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(s.cert.SubjectKeyId) })
							} else {
								b.AddASN1Int64(1)
								b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
									b.AddBytes(s.cert.RawIssuer)
									b.AddASN1BigInt(s.cert.SerialNumber)
								})
							}
							algo(b, orOID(s.digest, ses.OIDSM3))
							b.AddBytes(attrs)
							algo(b, orOID(s.sigAlg, oidSM2Signing))
							b.AddASN1OctetString(sig)
						})
					}
				})
			})
		})
	})
	return b.BytesOrPanic()
}

// The provincial app's two signatures, which a pkcs7 library failed: each verifies over its
// attributes' original bytes and its messageDigest is SM3 of its own Signature.xml.
func TestSignedDataVector(t *testing.T) {
	r, err := New(Options{}).VerifyOFD(testvectors.Read(t, "ofdrw/ofdrw-converter/src/test/resources/testImageNotFound.ofd"), ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Signatures) != 2 {
		t.Fatalf("%d signatures", len(r.Signatures))
	}
	for _, s := range r.Signatures {
		mustReport(t, s, map[string]string{CheckFormat: Passed, CheckSignatureValue: Passed, CheckDataHash: Passed,
			CheckReferences: Passed, CheckSignerCertTime: Passed})
		if s.SigningTime != "2022-11-01T09:22:33Z" || s.Signer == nil || !strings.Contains(s.Signer.Subject, "topsec") {
			t.Errorf("signature %s: time %q signer %+v", s.ID, s.SigningTime, s.Signer)
		}
		if d := detail(s.Checks, CheckDataHash); !strings.Contains(d, "messageDigest equals SM3 of Signature.xml") {
			t.Errorf("data_hash detail %q", d)
		}
		// The signer certificate has expired since: the claimed signing time needs a proof.
		mustReport(t, s, map[string]string{CheckTimeProof: Indet, CheckSealMaker: Skipped})
		if s.SubIndication != NoCertificateChainFound || !strings.Contains(detail(s.Checks, CheckTimeProof), "expired") {
			t.Errorf("signature %s: %s, time_proof %q", s.ID, s.SubIndication, detail(s.Checks, CheckTimeProof))
		}
	}
	// While the certificate is valid, no proof is needed.
	during := func() time.Time { return time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC) }
	r, err = New(Options{Now: during}).VerifyOFD(testvectors.Read(t, "ofdrw/ofdrw-converter/src/test/resources/testImageNotFound.ofd"), ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Signatures {
		mustReport(t, s, map[string]string{CheckTimeProof: Skipped})
	}
}

// TestSignedDataBackdated: a SignedData whose signer is revoked now, claiming a time before the
// revocation, is not passed on its own claim.
func TestSignedDataBackdated(t *testing.T) {
	p := newPKI(t)
	signedAt := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now := signedAt.Add(30 * 24 * time.Hour)
	crl := mkCRL(t, p.root, p.rootKey, 1, now.Add(-time.Hour), now.Add(24*time.Hour), revoke(p.signer, signedAt.Add(24*time.Hour), 1))
	v := New(Options{Roots: []*smx509.Certificate{p.root}, CRLs: []*smx509.RevocationList{crl}, Now: at(now)})
	xml := []byte("<Signature/>")
	sd := makeSignedData(t, nil, false, []*smx509.Certificate{p.signer}, []sdSigner{{cert: p.signer, key: p.signerKey,
		attrs: [][]byte{typeAttr(t), digestAttr(t, xml), timeAttr(t, signedAt)}}})
	r, c := v.verifyPlainSignature(&ofd.Signature{Type: "Sign", XML: xml, SignedValue: sd, SignedValuePath: "/Doc_0/Signs/Sign_0/SignedValue.dat"})
	r.Checks = c.list
	r.Indication, r.SubIndication = c.indication()
	mustReport(t, r, map[string]string{CheckSignatureValue: Passed, CheckChain: Passed, CheckRevocation: Passed, CheckTimeProof: Indet})
	if r.Indication != Indeterminate || r.SubIndication != RevokedNoPOE {
		t.Fatalf("%s %s: %q", r.Indication, r.SubIndication, detail(r.Checks, CheckTimeProof))
	}
}

func TestSignedData(t *testing.T) {
	p := newPKI(t)
	other := newPKI(t)
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	v := New(Options{Roots: []*smx509.Certificate{p.root}, Now: func() time.Time { return at }})
	certs := []*smx509.Certificate{p.signer}
	std := func(xml []byte) [][]byte { return [][]byte{typeAttr(t), digestAttr(t, xml), timeAttr(t, at)} }
	for _, tc := range []struct {
		name   string
		sd     func(xml []byte) []byte
		want   map[string]string
		detail string // in signature_value or data_hash
	}{
		{"standard", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: std(xml)}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Passed, CheckSignerCertTime: Passed, CheckChain: Passed}, "authenticated attributes"},
		{"attributes not in DER order, verified as written", func(xml []byte) []byte {
			a := std(xml)
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: [][]byte{a[2], a[1], a[0]}}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Passed}, ""},
		{"signed over re-sorted attributes but stored unsorted", func(xml []byte) []byte {
			a := std(xml)
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: [][]byte{a[2], a[1], a[0]},
				signed: func(written []byte) []byte {
					return append([]byte{0x31, written[1]}, append(append(bytes.Clone(a[0]), a[1]...), a[2]...)...)
				}}})
		}, map[string]string{CheckSignatureValue: Failed}, "does not verify over the DER of its authenticated attributes"},
		{"signed over the [0] tag instead of SET", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: std(xml),
				signed: func(written []byte) []byte { return written }}})
		}, map[string]string{CheckSignatureValue: Failed}, ""},
		{"messageDigest of other data", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey,
				attrs: [][]byte{typeAttr(t), digestAttr(t, append(xml, ' ')), timeAttr(t, at)}}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Failed}, "messageDigest differs from SM3"},
		{"no messageDigest", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: [][]byte{typeAttr(t), timeAttr(t, at)}}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Failed}, "no messageDigest"},
		{"signed by a key other than the certificate's", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: other.signerKey, attrs: std(xml)}})
		}, map[string]string{CheckSignatureValue: Failed}, ""},
		{"the named certificate is not in the SignedData", func(xml []byte) []byte {
			// Both test PKIs name their root alike: the maker has another serial number.
			return makeSignedData(t, xml, false, []*smx509.Certificate{other.maker}, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: std(xml)}})
		}, map[string]string{CheckSignatureValue: Failed}, "no certificate in the SignedData is the one it names"},
		{"two signers, both good", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, []*smx509.Certificate{p.signer, p.maker},
				[]sdSigner{{cert: p.signer, key: p.signerKey, attrs: std(xml)}, {cert: p.maker, key: p.makerKey, attrs: std(xml)}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Passed, CheckChain: Passed}, "signerInfo 2 verifies"},
		{"two signers, the second forged", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, []*smx509.Certificate{p.signer, p.maker},
				[]sdSigner{{cert: p.signer, key: p.signerKey, attrs: std(xml)}, {cert: p.maker, key: p.signerKey, attrs: std(xml)}})
		}, map[string]string{CheckSignatureValue: Failed}, "signerInfo 2"},
		{"no attributes, the content signed", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Passed, CheckSignerCertTime: Skipped}, "no authenticated attributes"},
		{"detached over the SM3 digest of Signature.xml", func(xml []byte) []byte {
			sum := sm3.Sum(xml)
			return makeSignedData(t, sum[:], false, certs, []sdSigner{{cert: p.signer, key: p.signerKey,
				attrs: [][]byte{typeAttr(t), digestAttr(t, sum[:]), timeAttr(t, at)}}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Passed}, "SM3 of the SM3 digest of Signature.xml"},
		{"detached over the SM3 digest of other data", func(xml []byte) []byte {
			sum := sm3.Sum(append(xml, ' '))
			return makeSignedData(t, sum[:], false, certs, []sdSigner{{cert: p.signer, key: p.signerKey,
				attrs: [][]byte{typeAttr(t), digestAttr(t, sum[:]), timeAttr(t, at)}}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Failed}, ""},
		{"no attributes, over the SM3 digest of Signature.xml", func(xml []byte) []byte {
			sum := sm3.Sum(xml)
			return makeSignedData(t, sum[:], false, certs, []sdSigner{{cert: p.signer, key: p.signerKey}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Passed}, "signs SM3 of Signature.xml"},
		{"no attributes, over other data", func(xml []byte) []byte {
			return makeSignedData(t, append(xml, ' '), false, certs, []sdSigner{{cert: p.signer, key: p.signerKey}})
		}, map[string]string{CheckSignatureValue: Failed}, ""},
		{"attached content other than Signature.xml", func(xml []byte) []byte {
			return makeSignedData(t, []byte("another document"), true, certs, []sdSigner{{cert: p.signer, key: p.signerKey}})
		}, map[string]string{CheckDataHash: Failed}, "content other than this Signature.xml"},
		{"signing time outside the certificate", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey,
				attrs: [][]byte{digestAttr(t, xml), timeAttr(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))}}})
		}, map[string]string{CheckSignatureValue: Passed, CheckSignerCertTime: Failed}, ""},
		{"BER outer layers (indefinite lengths)", func(xml []byte) []byte {
			sd := makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: std(xml)}})
			return parseTLV(t, sd).ber(3)
		}, map[string]string{CheckFormat: Passed, CheckSignatureValue: Passed, CheckDataHash: Passed}, ""},
		{"BER at every level, the attributes too", func(xml []byte) []byte {
			sd := makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: std(xml)}})
			return parseTLV(t, sd).ber(10)
		}, map[string]string{CheckFormat: Passed, CheckSignatureValue: Passed, CheckDataHash: Passed}, ""},
		{"BER whose attributes were changed after signing", func(xml []byte) []byte {
			a := std(xml)
			sd := makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: a}})
			i := bytes.Index(sd, a[2])
			sd[i+len(a[2])-2] ^= 1 // a digit of the signing time
			return parseTLV(t, sd).ber(3)
		}, map[string]string{CheckFormat: Passed, CheckSignatureValue: Failed}, ""},
		{"algorithms under other names", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: std(xml),
				digest: oidSM3NoKey, sigAlg: oidECPublicKey}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Passed}, "read as SM2"},
		{"a digest algorithm that is not SM3", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: std(xml),
				digest: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}}})
		}, map[string]string{CheckSignatureValue: Failed}, "are not SM3 and SM2"},
		{"signer named by subject key identifier", func(xml []byte) []byte {
			if len(p.root.SubjectKeyId) == 0 {
				t.Fatal("the test root has no subject key identifier")
			}
			return makeSignedData(t, xml, false, []*smx509.Certificate{p.signer, p.root}, []sdSigner{{cert: p.root, key: p.rootKey, attrs: std(xml), bySKID: true}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Passed}, ""},
		{"subject key identifier of no certificate present", func(xml []byte) []byte {
			return makeSignedData(t, xml, false, []*smx509.Certificate{p.signer}, []sdSigner{{cert: p.root, key: p.rootKey, attrs: std(xml), bySKID: true}})
		}, map[string]string{CheckSignatureValue: Failed}, "no certificate in the SignedData"},
		{"a signingTime that is no DER time", func(xml []byte) []byte {
			bad := attribute(t, oidSigningTime, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte("2603010000")) })
			})
			return makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: [][]byte{digestAttr(t, xml), bad}}})
		}, map[string]string{CheckSignatureValue: Passed, CheckDataHash: Passed, CheckSignerCertTime: Skipped}, "signingTime attribute is not a DER time"},
		{"a seal signature under Type=Sign", func(xml []byte) []byte {
			return p.sign(t, p.seal(t, at.AddDate(-1, 0, 0), at.AddDate(1, 0, 0)), xml, at)
		}, map[string]string{CheckFormat: Passed, CheckSignatureValue: Passed, CheckSealSignature: Passed, CheckDataHash: Passed}, "verifies over TBS_Sign"},
		{"truncated", func(xml []byte) []byte {
			sd := makeSignedData(t, xml, false, certs, []sdSigner{{cert: p.signer, key: p.signerKey, attrs: std(xml)}})
			return sd[:len(sd)-1]
		}, map[string]string{CheckFormat: Failed}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkg := buildOFD(t, []ofdSig{{"Sign", tc.sd}, {"Sign", tc.sd}})
			r, err := v.VerifyOFD(pkg, ofd.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Signatures) != 2 {
				t.Fatalf("%d signatures", len(r.Signatures))
			}
			for _, s := range r.Signatures {
				mustReport(t, s, tc.want)
				if s.Type != "Sign" {
					t.Errorf("type %q", s.Type)
				}
				if strings.Contains(tc.name, "Type=Sign") && !strings.Contains(detail(s.Checks, CheckFormat), "verified as one") {
					t.Errorf("format detail %q", detail(s.Checks, CheckFormat))
				}
				if tc.detail != "" && !strings.Contains(detail(s.Checks, CheckSignatureValue)+detail(s.Checks, CheckDataHash), tc.detail) {
					t.Errorf("details %q / %q do not say %q", detail(s.Checks, CheckSignatureValue), detail(s.Checks, CheckDataHash), tc.detail)
				}
				failed := false
				for _, st := range tc.want {
					failed = failed || st == Failed
				}
				if failed && s.Indication != TotalFailed {
					t.Errorf("indication %s", s.Indication)
				}
			}
		})
	}
}

// FuzzParseSignedData: no panic, and what parses keeps its signed attributes' original bytes.
func FuzzParseSignedData(f *testing.F) {
	p := newPKI(f)
	xml := []byte("<x/>")
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Add(makeSignedData(f, xml, false, []*smx509.Certificate{p.signer}, []sdSigner{{cert: p.signer, key: p.signerKey,
		attrs: [][]byte{typeAttr(f), digestAttr(f, xml), timeAttr(f, at)}}}))
	f.Add(makeSignedData(f, xml, true, nil, []sdSigner{{cert: p.signer, key: p.signerKey}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		sd, note, err := parseSignedData(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if len(sd.signers) == 0 || len(sd.signers) > maxSignerInfos || len(sd.certs) > maxSignedDataCert {
			t.Fatalf("%d signers, %d certificates", len(sd.signers), len(sd.certs))
		}
		for _, si := range sd.signers {
			if si.signedAttrs != nil && ((note == "" && !bytes.Contains(data, si.signedAttrs)) || si.signedMessage()[0] != 0x31) {
				t.Fatal("signed attributes are not the original bytes")
			}
		}
	})
}

// ber writes n in BER with indefinite lengths for constructed elements down to depth levels.
func (n *tlv) ber(depth int) []byte {
	if n.tag&0x20 == 0 || depth == 0 {
		return n.der()
	}
	out := []byte{n.tag, 0x80}
	for _, k := range n.kids {
		out = append(out, k.ber(depth-1)...)
	}
	return append(out, 0, 0)
}

func TestBERToDER(t *testing.T) {
	der := []byte{0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa}
	for _, tc := range []struct {
		name string
		in   []byte
		err  string
	}{
		{"indefinite", []byte{0x30, 0x80, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa, 0, 0}, ""},
		{"non-minimal length", []byte{0x30, 0x81, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa}, ""},
		{"chunked OCTET STRING", []byte{0x30, 0x80, 0x02, 0x01, 0x05, 0x24, 0x80, 0x04, 0x00, 0x04, 0x01, 0xaa, 0, 0, 0, 0}, ""},
		{"no end", []byte{0x30, 0x80, 0x02, 0x01, 0x05}, "without its end"},
		{"indefinite primitive", []byte{0x04, 0x80, 0, 0}, "primitive"},
		{"too deep", append(bytes.Repeat([]byte{0x30, 0x80}, 40), make([]byte, 80)...), "too deeply"},
		{"length past the end", []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff}, "larger than the input"},
		{"trailing", append(bytes.Clone(der), 0x05, 0x00), "after the SignedData"},
	} {
		out, _, err := berToDER(tc.in, 0)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !bytes.Equal(out, der) {
			t.Errorf("%s: % x (%v), want % x", tc.name, out, err, der)
		}
	}
}

func orOID(oid, def asn1.ObjectIdentifier) asn1.ObjectIdentifier {
	if oid == nil {
		return def
	}
	return oid
}
