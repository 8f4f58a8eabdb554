package pki

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strconv"

	"github.com/emmansun/gmsm/smx509"
)

// CSRRequest asks for a PKCS#10 request for a key in the key store, to be
// sent to an outside CA.
type CSRRequest struct {
	KeyLabel string
	Holder   Holder
}

// CreateCSR returns a DER PKCS#10 certificate request (SM2 with SM3)
// for the key KeyLabel with the holder's subject, signed by that key.
func (ca *CA) CreateCSR(ctx context.Context, req CSRRequest) ([]byte, error) {
	const op = "pki.CreateCSR"
	if err := ca.checkOpenLocked(op); err != nil {
		return nil, err
	}
	if err := checkKeyLabel(op, req.KeyLabel); err != nil {
		return nil, err
	}
	if err := req.Holder.validate(op, "holder."); err != nil {
		return nil, err
	}
	if _, err := ca.keyPublic(ctx, op, req.KeyLabel); err != nil {
		return nil, err
	}
	key, err := ca.keys.Signer(ctx, req.KeyLabel)
	if err != nil {
		return nil, errorf(ErrUnavailable, op, "key_label", err, "key %q", req.KeyLabel)
	}
	der, err := smx509.CreateCertificateRequest(rand.Reader, &smx509.CertificateRequest{
		Subject:            req.Holder.subject(),
		SignatureAlgorithm: smx509.SM2WithSM3,
	}, key)
	if err != nil {
		return nil, errorf(ErrUnavailable, op, "", err, "signing the request")
	}
	csr, err := smx509.ParseCertificateRequest(der)
	if err == nil {
		err = csr.CheckSignature()
	}
	if err != nil {
		return nil, errorf(ErrCorrupt, op, "", err, "new request does not verify")
	}
	ca.log.InfoContext(ctx, "certificate request made", "key", req.KeyLabel)
	return der, nil
}

// ImportRequest carries a certificate an outside CA issued for a key in
// the key store.
type ImportRequest struct {
	KeyLabel string
	// Certificate is DER or PEM.
	Certificate []byte
	// Intermediates are DER or PEM certificates between it and a trust
	// anchor, if any.
	Intermediates [][]byte
}

// Imported is a certificate from an outside CA bound to a key.
type Imported struct {
	KeyLabel    string
	Certificate *smx509.Certificate
	// Chain is the verified path, from the certificate to its anchor.
	Chain []*smx509.Certificate
}

// Import checks a certificate from an outside CA and stores it for its key
// (art. 13: the bound certificate is checked when making): it must match
// the key under KeyLabel, be an end-entity certificate allowed to sign
// (digitalSignature or nonRepudiation), and chain to one of
// Options.TrustAnchors at the current time.
func (ca *CA) Import(ctx context.Context, req ImportRequest) (*Imported, error) {
	const op = "pki.Import"
	if err := ca.checkOpenLocked(op); err != nil {
		return nil, err
	}
	if err := checkKeyLabel(op, req.KeyLabel); err != nil {
		return nil, err
	}
	if ca.anchors == nil {
		return nil, errorf(ErrConfig, op, "Options.TrustAnchors", nil, "no trust anchors configured: outside certificates cannot be checked")
	}
	cert, err := parseCert(req.Certificate)
	if err != nil {
		return nil, errorf(ErrInvalidInput, op, "certificate", err, "not an X.509 certificate")
	}
	inter := smx509.NewCertPool()
	for i, b := range req.Intermediates {
		c, err := parseCert(b)
		if err != nil {
			return nil, errorf(ErrInvalidInput, op, "intermediates["+strconv.Itoa(i)+"]", err, "not an X.509 certificate")
		}
		inter.AddCert(c)
	}
	pub, err := ca.keyPublic(ctx, op, req.KeyLabel)
	if err != nil {
		return nil, err
	}
	if !pub.Equal(cert.PublicKey) {
		return nil, errorf(ErrKeyMismatch, op, "certificate", nil, "its public key is not the key %q in the key store", req.KeyLabel)
	}
	if cert.IsCA {
		return nil, errorf(ErrInvalidInput, op, "certificate", nil, "a CA certificate cannot be bound to a seal")
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&(smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment) == 0 {
		return nil, errorf(ErrInvalidInput, op, "certificate", nil, "key usage allows neither digitalSignature nor nonRepudiation")
	}
	chains, err := cert.Verify(smx509.VerifyOptions{
		Roots:         ca.anchors,
		Intermediates: inter,
		CurrentTime:   ca.now(),
		KeyUsages:     []smx509.ExtKeyUsage{smx509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, errorf(ErrUntrusted, op, "certificate", err, "does not chain to a configured trust anchor")
	}
	chain := chains[0]
	rec := importRecord{V: 1, KeyLabel: req.KeyLabel, DER: cert.Raw, Imported: ca.now().UTC()}
	for _, c := range chain[1:] {
		rec.Chain = append(rec.Chain, c.Raw)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, errorf(ErrUnavailable, op, "", err, "encoding")
	}
	fp := sha256.Sum256(cert.Raw)
	if err := ca.kv.Set(ctx, []byte(prefixImport+req.KeyLabel+"/"+hex.EncodeToString(fp[:])), data); err != nil {
		return nil, errorf(ErrUnavailable, op, "", err, "writing store")
	}
	ca.log.InfoContext(ctx, "outside certificate imported", "key", req.KeyLabel, "serial", serialKey(cert.SerialNumber), "sha256", hex.EncodeToString(fp[:]))
	return &Imported{KeyLabel: req.KeyLabel, Certificate: cert, Chain: chain}, nil
}

// ImportedFor returns the outside certificates imported for a key, in the
// order of their SHA-256 fingerprints.
func (ca *CA) ImportedFor(ctx context.Context, keyLabel string) ([]*Imported, error) {
	const op = "pki.ImportedFor"
	if err := ca.checkOpenLocked(op); err != nil {
		return nil, err
	}
	if err := checkKeyLabel(op, keyLabel); err != nil {
		return nil, err
	}
	var out []*Imported
	err := ca.kv.Scan(ctx, []byte(prefixImport+keyLabel+"/"), func(k, v []byte) error {
		var r importRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return errorf(ErrCorrupt, op, "", err, "import record %s", k)
		}
		im := &Imported{KeyLabel: r.KeyLabel}
		for _, der := range append([][]byte{r.DER}, r.Chain...) {
			c, err := smx509.ParseCertificate(der)
			if err != nil {
				return errorf(ErrCorrupt, op, "", err, "import record %s", k)
			}
			im.Chain = append(im.Chain, c)
		}
		im.Certificate = im.Chain[0]
		out = append(out, im)
		return nil
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, errorf(ErrUnavailable, op, "", err, "reading store")
	}
	return out, nil
}

func parseCert(b []byte) (*smx509.Certificate, error) {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN")) {
		blk, _ := pem.Decode(bytes.TrimSpace(b))
		if blk == nil || blk.Type != "CERTIFICATE" {
			return nil, errors.New("PEM block is not a CERTIFICATE")
		}
		b = blk.Bytes
	}
	return smx509.ParseCertificate(b)
}
