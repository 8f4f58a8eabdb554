package ses

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
)

// SigCheck is the outcome of checking one SM2 signature value.
type SigCheck struct {
	OK       bool
	Encoding SigEncoding // how the value was written, when it could be decoded
	Detail   string      // what matched, or why it failed, in words for a report
}

// CheckSignature verifies the maker's signature on the seal with the maker's public key.
// v4 and v5 seals are signed over DER(SES_SealInfo), v1 seals over
// DER(SEQUENCE{SES_SealInfo, cert, alg}); a seal that verifies only under the other
// version's convention passes, and the detail says so.
func (s *Seal) CheckSignature(pub *ecdsa.PublicKey) SigCheck {
	algNote, ok := algorithm(s.SignAlg)
	if !ok {
		return SigCheck{Detail: fmt.Sprintf("seal signature algorithm %s is not SM3withSM2 (%s)", s.SignAlg, OIDSM3WithSM2)}
	}
	own, other := "DER(SES_SealInfo)", "DER(SEQUENCE{SES_SealInfo, cert, alg})"
	if s.Version == 1 {
		own, other = other, own
	}
	msg, otherMsg := s.messages()
	v, ok, err := VerifySM2(pub, msg, s.SignValue)
	if err != nil {
		return SigCheck{Detail: "seal signature value: " + err.Error()}
	}
	c := SigCheck{Encoding: v.Encoding}
	note := join(v.Note(), algNote)
	if ok {
		c.OK = true
		c.Detail = join("seal signature verifies over "+own, note)
		return c
	}
	if _, ok, _ := VerifySM2(pub, otherMsg(), s.SignValue); ok {
		c.OK = true
		c.Detail = join(fmt.Sprintf("seal signature verifies over %s, the other version's convention (v%d seal)", other, s.Version), note)
		return c
	}
	c.Detail = join(fmt.Sprintf("seal signature does not verify with the maker's key over %s nor over %s", own, other), note)
	return c
}

// CheckValue verifies the signer's signature over the original bytes of TBS_Sign.
func (s *Signature) CheckValue(pub *ecdsa.PublicKey) SigCheck {
	algNote, ok := algorithm(s.SignAlg)
	if !ok {
		return SigCheck{Detail: fmt.Sprintf("signature algorithm %s is not SM3withSM2 (%s)", s.SignAlg, OIDSM3WithSM2)}
	}
	v, err := DecodeSM2Value(s.Value)
	if err != nil {
		return SigCheck{Detail: "signature value: " + err.Error()}
	}
	var e []byte
	if s.TBS.Seal != nil && s.TBS.sealAt >= 0 {
		e, err = sealDigest(s.TBS.Seal, pub, s.TBS.Raw, s.TBS.sealAt)
	} else {
		e, err = SM2Digest(pub, s.TBS.Raw)
	}
	if err != nil {
		return SigCheck{Detail: "signature value: " + err.Error()}
	}
	der := v.DER()
	ok = sm2.VerifyASN1(pub, e, der)
	c := SigCheck{OK: ok, Encoding: v.Encoding}
	note := join(v.Note(), algNote)
	if ok {
		c.Detail = join("signature verifies over TBS_Sign with the signer's certificate", note)
		return c
	}
	c.Detail = join("signature does not verify over TBS_Sign with the signer's certificate", note)
	if len(s.TBS.DataHash) == 32 && sm2.VerifyASN1(pub, s.TBS.DataHash, der) {
		c.Detail += "; it verifies only as a bare SM2 signature of e = dataHash (no Z, no TBS_Sign), a non-standard legacy convention that is not accepted"
	}
	return c
}

// SignerInSeal tells whether the signer's certificate is one the seal allows: byte-equal to an
// entry of the certificate list, or, for certListType 2, its digest equal to an entry.
func (s *Signature) SignerInSeal() (bool, string) {
	p := &s.TBS.Seal.Info.Property
	if len(s.Cert) == 0 {
		return false, "the signature carries no signer certificate"
	}
	if p.CertListType == 2 {
		if i, name := p.DigestEntry(s.Cert); i > 0 {
			return true, fmt.Sprintf("the signer certificate's %s digest equals entry %d of the seal's digest list", name, i)
		}
		return false, fmt.Sprintf("the signer certificate's digest matches none of the seal's %d digest entries", len(p.CertDigests))
	}
	nonCert := 0
	for i, c := range p.Certs {
		if c == nil {
			nonCert++
			continue
		}
		if bytes.Equal(c, s.Cert) {
			return true, fmt.Sprintf("the signer certificate is entry %d of the seal's certificate list", i+1)
		}
	}
	if nonCert > 0 {
		return false, fmt.Sprintf("the signer certificate is not in the seal's certificate list (%d of its %d entries are not certificates)", nonCert, len(p.Certs))
	}
	return false, fmt.Sprintf("the signer certificate is not among the %d certificates the seal allows", len(p.Certs))
}

// DigestEntry returns the 1-based entry of the certificate digest list (CertDigests) that is
// cert's digest under the algorithm the entry's type names (SM3 when the label is empty or
// unknown), with that algorithm's name; 0 when no entry is. cert is hashed at most once per
// algorithm however long the list: hashing it once per entry would make a seal of many small
// entries and a large certificate cost their product.
func (p *Property) DigestEntry(cert []byte) (int, string) {
	var sums [len(certAlgorithms)][]byte
	for i, d := range p.CertDigests {
		a := certAlgorithm(d.Type)
		if sums[a] == nil {
			sums[a] = certAlgorithms[a].sum(cert)
		}
		if bytes.Equal(sums[a], d.Value) {
			return i + 1, certAlgorithms[a].name
		}
	}
	return 0, ""
}

// certAlgorithms are the digests a CertDigestObj type can name; SM3 first, the default.
var certAlgorithms = [...]struct {
	name string
	sum  func([]byte) []byte
}{
	{"SM3", func(b []byte) []byte { s := sm3.Sum(b); return s[:] }},
	{"SHA-1", func(b []byte) []byte { s := sha1.Sum(b); return s[:] }},
	{"SHA-256", func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
}

// certAlgorithm returns the index in certAlgorithms of the digest a CertDigestObj type label
// names; SM3 when the label is empty or unknown.
func certAlgorithm(label string) int {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "sha1", "sha-1":
		return 1
	case "sha256", "sha-256":
		return 2
	}
	return 0
}

// DataHashMatches compares dataHash with SM3 of the original data.
func (s *Signature) DataHashMatches(data []byte) bool {
	sum := sm3.Sum(data)
	return bytes.Equal(sum[:], s.TBS.DataHash)
}

// oidSM2Sign is "SM2 signature" of GM/T 0006, which some producers write where the
// standard wants SM3withSM2; the computation is the same.
var oidSM2Sign = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 301, 1}

// algorithm tells whether oid names SM2 with SM3, with a note when it is the alias.
func algorithm(oid asn1.ObjectIdentifier) (string, bool) {
	switch {
	case oid.Equal(OIDSM3WithSM2):
		return "", true
	case oid.Equal(oidSM2Sign):
		return "algorithm written as " + oidSM2Sign.String() + " (SM2 signing), read as SM3withSM2", true
	}
	return "", false
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
