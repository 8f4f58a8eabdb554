package revocation

import (
	"bytes"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/internal/crlrules"
)

// pemType is the PEM block type of a CRL (RFC 7468 §5).
const pemType = "X509 CRL"

// parseCRL reads a CRL as a distribution point or a file gives it: DER, or one PEM block of
// type "X509 CRL" with nothing but white space around it. It checks the form only, not who
// signed it. Its errors are of kind errs.Malformed.
func parseCRL(body []byte) (*smx509.RevocationList, error) {
	if len(body) == 0 {
		return nil, errorf(errs.Malformed, nil, "empty")
	}
	der := body
	if t := bytes.TrimLeft(body, " \t\r\n"); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		block, rest := pem.Decode(t)
		if block == nil {
			return nil, errorf(errs.Malformed, nil, "not a well-formed PEM block")
		}
		if block.Type != pemType {
			return nil, errorf(errs.Malformed, nil, "a PEM block of type %q, not %s", clip(block.Type, 40), pemType)
		}
		if len(bytes.TrimSpace(rest)) != 0 {
			return nil, errorf(errs.Malformed, nil, "data after the PEM block")
		}
		der = block.Bytes
	}
	l, err := smx509.ParseRevocationList(der)
	if err != nil {
		return nil, errorf(errs.Malformed, err, "not a DER or PEM CRL")
	}
	if len(l.Raw) != len(der) {
		return nil, errorf(errs.Malformed, nil, "%d bytes after the CRL", len(der)-len(l.Raw))
	}
	return l, nil
}

// checkCRL checks that issuer made l and that l answers for all of issuer's certificates:
// l names issuer's subject (byte for byte, as the verifier matches them), its signature
// verifies under issuer's key, and it has no critical extension but the CRL number and the
// authority key identifier, nor a delta CRL indicator or issuing distribution point.
func checkCRL(l *smx509.RevocationList, issuer *smx509.Certificate) error {
	if !bytes.Equal(l.RawIssuer, issuer.RawSubject) {
		return errorf(errs.Untrusted, nil, "it was issued by %s, not by this issuer", clip(l.Issuer.String(), 200))
	}
	if err := l.CheckSignatureFrom(issuer); err != nil {
		return errorf(errs.Untrusted, err, "its signature does not verify under the issuer's key")
	}
	if id, ok := partial(l); ok {
		return errorf(errs.Unsupported, nil, "it carries the extension %s (%s): it does not answer for all the issuer's certificates", id, extName(id))
	}
	return nil
}

// partial and newer are the rules the verifier applies too (internal/crlrules).
var (
	partial = crlrules.Partial
	newer   = crlrules.Newer
)

func extName(id asn1.ObjectIdentifier) string {
	switch {
	case id.Equal(crlrules.OIDDeltaIndicator):
		return "a delta CRL"
	case id.Equal(crlrules.OIDIssuingDP):
		return "an issuing distribution point"
	}
	return "not processed"
}

// clip shortens s, taken from outside input, for an error message.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// errKind returns the kind of err, Unavailable when it has none.
func errKind(err error) errs.Kind {
	var e *Error
	if errors.As(err, &e) && e.Kind != 0 {
		return e.Kind
	}
	if k := errs.KindOf(err); k != 0 {
		return k
	}
	return errs.Unavailable
}

// describe names a CRL for messages and logs.
func describe(l *smx509.RevocationList) string {
	n := "none"
	if l.Number != nil {
		n = l.Number.String()
	}
	return fmt.Sprintf("CRL number %s, thisUpdate %s, nextUpdate %s", n,
		l.ThisUpdate.UTC().Format("2006-01-02T15:04:05Z"), l.NextUpdate.UTC().Format("2006-01-02T15:04:05Z"))
}
