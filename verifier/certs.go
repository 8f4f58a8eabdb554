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
)

// parseCert parses a certificate strictly and, when that fails, reads just what the seal
// checks need (serial, names, validity, SM2 public key). Certificates from some producers
// break strict parsers in fields the checks never use (a malformed subjectAltName, say).
// A leniently read certificate is marked by a non-empty note; it can never build a chain.
func parseCert(der []byte) (*smx509.Certificate, string, error) {
	c, err := smx509.ParseCertificate(der)
	if err == nil {
		return c, "", nil
	}
	lc, compressed, lerr := parseCertLenient(der)
	if lerr != nil {
		return nil, "", err
	}
	if compressed {
		return lc, "the certificate's SM2 public key is a compressed point (GM/T 0003 allows it), decompressed on sm2p256v1; the certificate was read leniently, so no chain can be built for it", nil
	}
	return lc, fmt.Sprintf("the certificate does not parse strictly (%v); its key was read leniently", err), nil
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
