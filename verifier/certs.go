package verifier

import (
	"crypto/x509/pkix"
	"encoding/asn1"
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
	lc, lerr := parseCertLenient(der)
	if lerr != nil {
		return nil, "", err
	}
	return lc, fmt.Sprintf("the certificate does not parse strictly (%v); its key was read leniently", err), nil
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

func parseCertLenient(der []byte) (*smx509.Certificate, error) {
	var lc lenientCert
	if _, err := asn1.Unmarshal(der, &lc); err != nil {
		return nil, err
	}
	var curve asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(lc.TBS.PublicKey.Algorithm.Parameters.FullBytes, &curve); err != nil || !curve.Equal(oidSM2Curve) {
		return nil, fmt.Errorf("not an SM2 public key")
	}
	pub, err := sm2.NewPublicKey(lc.TBS.PublicKey.Key.RightAlign())
	if err != nil {
		return nil, err
	}
	c := &smx509.Certificate{
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
	return c, nil
}
