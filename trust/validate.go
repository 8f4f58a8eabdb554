package trust

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/verifier"
)

// MaxNameLen is the longest trust set name, in bytes.
const MaxNameLen = 64

// DefaultName is the name of the default set, the one Options.Default creates. It
// cannot be removed.
const DefaultName = "default"

// The limits used where a Limits field is zero.
const (
	DefaultMaxCerts       = 1000
	DefaultMaxBytes       = 4 << 20
	DefaultMaxCertBytes   = 64 << 10
	DefaultMaxBundleBytes = 8 << 20
)

// Limits bound what a trust set may hold. The zero value gives the defaults above.
type Limits struct {
	// MaxCerts bounds the certificates of one set, its three lists together, as given
	// (duplicates included).
	MaxCerts int
	// MaxBytes bounds the DER bytes of one set, as given.
	MaxBytes int
	// MaxCertBytes bounds one certificate's DER.
	MaxCertBytes int
	// MaxBundleBytes bounds one PEM or DER bundle given to PutPEM, and one file read by
	// LoadFiles.
	MaxBundleBytes int
}

func (l Limits) withDefaults() Limits {
	if l.MaxCerts <= 0 {
		l.MaxCerts = DefaultMaxCerts
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxCertBytes <= 0 {
		l.MaxCertBytes = DefaultMaxCertBytes
	}
	if l.MaxBundleBytes <= 0 {
		l.MaxBundleBytes = DefaultMaxBundleBytes
	}
	return l
}

// ValidName reports whether name can name a trust set: 1 to MaxNameLen bytes of 'a'-'z',
// '0'-'9', '-', '_' and '.'.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func checkName(op, name string) error {
	if !ValidName(name) {
		return errorf(ErrInvalidInput, op, "", "", nil, "set name %q: must be 1 to %d bytes of a-z, 0-9, '-', '_' and '.'", clip(name, MaxNameLen+8), MaxNameLen)
	}
	return nil
}

// TrustSetInput is a trust set as Put takes it: DER certificates, by list.
type TrustSetInput struct {
	// Roots are the trust anchors: self-signed SM2 CA certificates. At least one is needed.
	Roots [][]byte
	// Intermediates are SM2 CA certificates that help build chains to the roots.
	Intermediates [][]byte
	// Makers are the accepted seal makers: certificates that allow digitalSignature or
	// nonRepudiation (a seal maker's own), or CA certificates (seals made by a
	// certificate issued through one are accepted).
	Makers [][]byte
}

// The lists of a set, in the order they are checked and reported.
const (
	listRoots = iota
	listIntermediates
	listMakers
	nLists
)

var listNames = [nLists]string{"roots", "intermediates", "makers"}

func (in TrustSetInput) lists() [nLists][][]byte {
	return [nLists][][]byte{in.Roots, in.Intermediates, in.Makers}
}

// check validates in for the set name and returns it parsed, with duplicates dropped
// (within a list, by bytes; the first stays) and the certificates in the order given.
// src, when not nil, names where each list came from (a file), for errors.
func (l Limits) check(op, name string, in TrustSetInput, src *[nLists]string) (verifier.TrustSet, error) {
	set := verifier.TrustSet{Name: name}
	lists := in.lists()
	n, size := 0, 0
	for _, ders := range lists {
		n += len(ders)
		for _, d := range ders {
			size += len(d)
		}
	}
	if n > l.MaxCerts {
		return set, errorf(ErrLimitExceeded, op, name, "", nil, "%d certificates given, at most %d allowed in one set", n, l.MaxCerts)
	}
	if size > l.MaxBytes {
		return set, errorf(ErrLimitExceeded, op, name, "", nil, "%d bytes of certificates given, at most %d allowed in one set", size, l.MaxBytes)
	}
	var out [nLists][]*smx509.Certificate
	for li, ders := range lists {
		seen := make(map[string]bool, len(ders))
		for i, der := range ders {
			c, err := l.checkCert(op, name, li, i, der, src)
			if err != nil {
				return set, err
			}
			if seen[string(c.Raw)] {
				continue
			}
			seen[string(c.Raw)] = true
			out[li] = append(out[li], c)
		}
	}
	if len(out[listRoots]) == 0 {
		return set, errorf(ErrInvalidInput, op, name, "", nil, "no roots: a trust set needs at least one trust anchor")
	}
	set.Roots, set.Intermediates, set.Makers = out[listRoots], out[listIntermediates], out[listMakers]
	return set, nil
}

// checkCert parses the i-th certificate of list li and checks it against the list's rules.
func (l Limits) checkCert(op, name string, li, i int, der []byte, src *[nLists]string) (*smx509.Certificate, error) {
	where := fmt.Sprintf("%s[%d]", listNames[li], i)
	if src != nil && src[li] != "" {
		where += " of " + src[li]
	}
	if len(der) > l.MaxCertBytes {
		return nil, errorf(ErrLimitExceeded, op, name, where, nil, "%d bytes, at most %d allowed for one certificate", len(der), l.MaxCertBytes)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, errorf(ErrMalformed, op, name, where, err, "not a DER X.509 certificate")
	}
	where += " (" + subjectOf(c) + ")"
	if p, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || !sm2.IsSM2PublicKey(p) {
		return nil, errorf(ErrUnsupported, op, name, where, nil, "its public key is %s, not SM2", keyName(c))
	}
	isCA := c.BasicConstraintsValid && c.IsCA
	canCertSign := c.KeyUsage == 0 || c.KeyUsage&smx509.KeyUsageCertSign != 0
	switch li {
	case listRoots, listIntermediates:
		if !isCA {
			return nil, errorf(ErrInvalidInput, op, name, where, nil, "not a CA certificate (basicConstraints does not assert cA)")
		}
		if !canCertSign {
			return nil, errorf(ErrInvalidInput, op, name, where, nil, "a CA certificate whose keyUsage does not allow keyCertSign, so no chain can be verified through it")
		}
		if li == listIntermediates {
			break
		}
		if !bytes.Equal(c.RawSubject, c.RawIssuer) {
			return nil, errorf(ErrInvalidInput, op, name, where, nil, "not self-signed: issued by %s; put it among the intermediates", nameOf(c.Issuer.String()))
		}
		if err := c.CheckSignatureFrom(c); err != nil {
			return nil, errorf(ErrInvalidInput, op, name, where, err, "not self-signed: its signature does not verify under its own key")
		}
	case listMakers:
		switch {
		case isCA:
		case c.KeyUsage == 0:
			return nil, errorf(ErrInvalidInput, op, name, where, nil, "no keyUsage: a seal maker's certificate must allow digitalSignature or nonRepudiation (or be a CA certificate)")
		case c.KeyUsage&(smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment) == 0:
			return nil, errorf(ErrInvalidInput, op, name, where, nil, "keyUsage allows neither digitalSignature nor nonRepudiation, so it cannot make seals")
		}
	}
	return c, nil
}

func keyName(c *smx509.Certificate) string {
	if p, ok := c.PublicKey.(*ecdsa.PublicKey); ok && p.Curve != nil && p.Curve.Params() != nil {
		return "ECDSA " + p.Curve.Params().Name
	}
	return c.PublicKeyAlgorithm.String()
}

// subjectOf names a certificate in an error: its subject, or its serial number when the
// subject is empty.
func subjectOf(c *smx509.Certificate) string {
	if s := c.Subject.String(); s != "" {
		return nameOf(s)
	}
	return "no subject, serial " + c.SerialNumber.String()
}

// nameOf makes a distinguished name fit for an error message: non-graphic characters
// shown as '?', at most 160 bytes.
func nameOf(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsGraphic(r) {
			return r
		}
		return '?'
	}, s)
	return clip(s, 160)
}

// clip shortens s to at most n bytes, on a rune boundary, marking a cut with "...".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}
