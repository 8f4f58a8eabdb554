package verifier

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// parseCert parses a certificate strictly and, when that fails, reads just what the seal
// checks need (serial, names, validity, SM2 public key). Certificates from some producers
// break strict parsers in fields the checks never use (a malformed subjectAltName, say).
// A leniently read certificate has lenient set and a note; it can never build a chain.
//
// A certificate whose SM2 key is a compressed point (GM/T 0003 allows it, Go's parser does
// not) is valid: it is parsed in full with the point decompressed, keeping the original
// bytes that its issuer signed, so it chains like any other; the note says so.
func parseCert(der []byte) (c *smx509.Certificate, note string, lenient bool, err error) {
	c, err = smx509.ParseCertificate(der)
	if err == nil {
		return c, "", false, nil
	}
	if fc, ferr := parseCompressed(der); ferr == nil {
		return fc, "the certificate's SM2 public key is a compressed point (GM/T 0003 allows it), decompressed on sm2p256v1", false, nil
	}
	lc, compressed, lerr := parseCertLenient(der)
	if lerr != nil {
		return nil, "", false, err
	}
	if compressed {
		return lc, fmt.Sprintf("the certificate's SM2 public key is a compressed point (GM/T 0003 allows it), decompressed on sm2p256v1; the rest does not parse strictly (%v), so no chain can be built for it", err), true, nil
	}
	return lc, fmt.Sprintf("the certificate does not parse strictly (%v); its key was read leniently", err), true, nil
}

// parseCompressed parses a certificate whose SM2 public key is a compressed point: it
// rewrites the key uncompressed, parses that strictly, then puts back the original encodings
// (Raw, RawTBSCertificate, RawSubjectPublicKeyInfo), so that the issuer's signature is
// checked over the bytes it signed.
func parseCompressed(der []byte) (*smx509.Certificate, error) {
	in := cryptobyte.String(der)
	var rest, tbsFull, tbs cryptobyte.String
	if !in.ReadASN1(&rest, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, errors.New("not a certificate")
	}
	if !rest.ReadASN1Element(&tbsFull, cbasn1.SEQUENCE) {
		return nil, errors.New("no TBSCertificate")
	}
	if outer := tbsFull; !outer.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, errors.New("no TBSCertificate")
	}
	// The elements before the key: [0] version (optional), serial, signature, issuer,
	// validity, subject.
	var b cryptobyte.Builder
	var spkiFull []byte
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(tb *cryptobyte.Builder) {
			n := 0
			if tbs.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
				n = -1
			}
			for i := n; !tbs.Empty(); i++ {
				var el cryptobyte.String
				var tag cbasn1.Tag
				if !tbs.ReadAnyASN1Element(&el, &tag) {
					tb.SetError(errors.New("malformed TBSCertificate"))
					return
				}
				if i != 5 {
					tb.AddBytes(el)
					continue
				}
				spkiFull = el
				key, err := uncompressSPKI(el)
				if err != nil {
					tb.SetError(err)
					return
				}
				tb.AddBytes(key)
			}
		})
		b.AddBytes(rest)
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	if spkiFull == nil {
		return nil, errors.New("no subjectPublicKeyInfo")
	}
	c, err := smx509.ParseCertificate(out)
	if err != nil {
		return nil, err
	}
	c.Raw, c.RawTBSCertificate, c.RawSubjectPublicKeyInfo = der, tbsFull, spkiFull
	return c, nil
}

// uncompressSPKI returns subjectPublicKeyInfo with its compressed SM2 point written
// uncompressed; it fails for any other key.
func uncompressSPKI(spki []byte) ([]byte, error) {
	s := cryptobyte.String(spki)
	var inner, alg cryptobyte.String
	var bits asn1.BitString
	if !s.ReadASN1(&inner, cbasn1.SEQUENCE) || !inner.ReadASN1Element(&alg, cbasn1.SEQUENCE) ||
		!inner.ReadASN1BitString(&bits) || !inner.Empty() || bits.BitLength%8 != 0 {
		return nil, errors.New("malformed subjectPublicKeyInfo")
	}
	key := bits.RightAlign()
	if len(key) != 33 || (key[0] != 2 && key[0] != 3) {
		return nil, errors.New("not a compressed point")
	}
	full, err := decompressSM2(key)
	if err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(alg)
		b.AddASN1BitString(full)
	})
	return b.Bytes()
}

// decompressSM2 returns the uncompressed encoding 04||X||Y of a compressed SM2 point
// 02||X or 03||X (GM/T 0003.1 §4.2.10, SEC 1 §2.3.4): y is the square root of
// x^3 + ax + b mod p with the parity the prefix names; p = 3 mod 4, so it is
// (x^3 + ax + b)^((p+1)/4). A point whose root does not exist is not on the curve.
func decompressSM2(pt []byte) ([]byte, error) {
	params := sm2.P256().Params()
	if len(pt) != 33 || (pt[0] != 2 && pt[0] != 3) {
		return nil, errors.New("not a compressed SM2 point")
	}
	p := params.P
	x := new(big.Int).SetBytes(pt[1:])
	if x.Cmp(p) >= 0 {
		return nil, errors.New("compressed SM2 point: x is not below p")
	}
	// a = p - 3
	rhs := new(big.Int).Exp(x, big.NewInt(3), p)
	rhs.Sub(rhs, new(big.Int).Mul(big.NewInt(3), x))
	rhs.Add(rhs, params.B)
	rhs.Mod(rhs, p)
	e := new(big.Int).Add(p, big.NewInt(1))
	e.Rsh(e, 2)
	y := new(big.Int).Exp(rhs, e, p)
	if new(big.Int).Exp(y, big.NewInt(2), p).Cmp(rhs) != 0 {
		return nil, errors.New("compressed SM2 point: x is not on the curve")
	}
	if y.Bit(0) != uint(pt[0]&1) {
		y.Sub(p, y)
	}
	out := make([]byte, 65)
	out[0] = 4
	x.FillBytes(out[1:33])
	y.FillBytes(out[33:])
	return out, nil
}

type lenientTBS struct {
	Version   int `asn1:"optional,explicit,default:0,tag:0"`
	Serial    *big.Int
	SigAlg    pkix.AlgorithmIdentifier
	Issuer    asn1.RawValue
	Validity  lenientValidity
	Subject   asn1.RawValue
	PublicKey struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
}

type lenientValidity struct {
	NotBefore, NotAfter time.Time
}

type lenientCert struct {
	TBS    lenientTBS
	SigAlg pkix.AlgorithmIdentifier
	Sig    asn1.BitString
}

var oidSM2Curve = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301}

func parseCertLenient(der []byte) (c *smx509.Certificate, compressed bool, err error) {
	var lc lenientCert
	if _, err := asn1.Unmarshal(der, &lc); err != nil {
		return nil, false, err
	}
	var curve asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(lc.TBS.PublicKey.Algorithm.Parameters.FullBytes, &curve); err != nil || !curve.Equal(oidSM2Curve) {
		return nil, false, fmt.Errorf("not an SM2 public key")
	}
	key := lc.TBS.PublicKey.Key.RightAlign()
	if len(key) == 33 && (key[0] == 2 || key[0] == 3) {
		if key, err = decompressSM2(key); err != nil {
			return nil, false, err
		}
		compressed = true
	}
	pub, err := sm2.NewPublicKey(key)
	if err != nil {
		return nil, false, err
	}
	c = &smx509.Certificate{
		Raw:          der,
		SerialNumber: lc.TBS.Serial,
		NotBefore:    lc.TBS.Validity.NotBefore,
		NotAfter:     lc.TBS.Validity.NotAfter,
		PublicKey:    pub,
		RawSubject:   lc.TBS.Subject.FullBytes,
		RawIssuer:    lc.TBS.Issuer.FullBytes,
	}
	var rdn pkix.RDNSequence
	if _, err := asn1.Unmarshal(lc.TBS.Subject.FullBytes, &rdn); err == nil {
		c.Subject.FillFromRDNSequence(&rdn)
	}
	if _, err := asn1.Unmarshal(lc.TBS.Issuer.FullBytes, &rdn); err == nil {
		c.Issuer.FillFromRDNSequence(&rdn)
	}
	return c, compressed, nil
}
