package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/internal/genmemo"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/store"
)

// CA is the built-in SM2 certificate authority. It is safe for concurrent
// use; issuance, revocation and CRL issuance are serialised.
type CA struct {
	opts    Options
	kv      store.KV
	keys    signer.KeyStore
	now     func() time.Time
	log     *slog.Logger
	anchors *smx509.CertPool

	root, maker *smx509.Certificate
	rootSigner  crypto.Signer

	mu     sync.Mutex // guards everything below and serialises writes
	closed bool
	crlDER []byte
	crl    *smx509.RevocationList

	statuses *genmemo.Table[caStatus] // Status's answers; moved on by every write
}

// Open opens the CA kept in opts.Store. On the first start of a new data
// directory it creates the root CA and the seal-maker certificate, with
// their keys generated in opts.Keys under RootKeyLabel and MakerKeyLabel
// (a key already under such a label, made in an HSM key ceremony say, is
// used as it is), and issues CRL number 1. On every start it checks that
// each key matches its certificate, by public key and by a test signature,
// and that the stored certificates and CRL chain to the root; it refuses to
// open otherwise.
func Open(ctx context.Context, opts Options) (*CA, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	ca := &CA{
		opts: opts,
		kv:   store.MustSpace(opts.Store, SpaceName),
		keys: opts.Keys,
		now:  opts.Clock,
		log:  opts.Logger.With("component", "pki"),

		statuses: genmemo.New[caStatus](statusMemoSize),
	}
	if len(opts.TrustAnchors) > 0 {
		ca.anchors = smx509.NewCertPool()
		for _, a := range opts.TrustAnchors {
			ca.anchors.AddCert(a)
		}
	}
	_, err := ca.kv.Get(ctx, keyRoot)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if err := ca.initialise(ctx); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, errorf(ErrUnavailable, "pki.Open", "", err, "reading store")
	}
	if err := ca.load(ctx); err != nil {
		return nil, err
	}
	return ca, nil
}

// Close marks the CA closed. The store and key store stay open: they
// belong to the caller.
func (ca *CA) Close() error {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.closed = true
	return nil
}

// Root returns the root CA certificate. Callers must not modify it.
func (ca *CA) Root() *smx509.Certificate { return ca.root }

// RootPEM returns the root certificate PEM-encoded (GET /v1/pki/ca.pem).
func (ca *CA) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.root.Raw})
}

// Maker returns the seal maker's certificate (its key is MakerKeyLabel in
// the key store). Callers must not modify it.
func (ca *CA) Maker() *smx509.Certificate { return ca.maker }

// Roots returns a new pool holding the root, for smx509 Verify.
func (ca *CA) Roots() *smx509.CertPool {
	p := smx509.NewCertPool()
	p.AddCert(ca.root)
	return p
}

func (ca *CA) checkOpen(op string) error {
	if ca.closed {
		return errorf(ErrClosed, op, "", nil, "CA closed")
	}
	return nil
}

// nowSec is the clock truncated to seconds (certificate time precision).
func (ca *CA) nowSec() time.Time { return ca.now().UTC().Truncate(time.Second) }

// ensureKey returns the public key under label, generating an SM2 key when
// there is none.
func (ca *CA) ensureKey(ctx context.Context, label string) (*ecdsa.PublicKey, error) {
	const op = "pki.Open"
	info, err := ca.keys.Find(ctx, label)
	switch {
	case signer.KindOf(err) == signer.ErrKeyNotFound:
		info, err = ca.keys.Generate(ctx, label, signer.SM2)
		if err != nil {
			return nil, errorf(ErrUnavailable, op, "", err, "generating CA key %q", label)
		}
		ca.log.InfoContext(ctx, "CA key generated", "key", label)
	case err != nil:
		return nil, errorf(ErrUnavailable, op, "", err, "looking up CA key %q", label)
	default:
		ca.log.WarnContext(ctx, "new CA adopts a key already in the key store", "key", label)
	}
	pub, ok := info.Public.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, errorf(ErrConfig, op, "", nil, "CA key %q is not an SM2 key", label)
	}
	return pub, nil
}

// subjectKeyID is the leftmost 160 bits of SM3 over the public key bits
// (RFC 7093 method 1 with the national hash).
func subjectKeyID(pub *ecdsa.PublicKey) []byte {
	h := sm3.Sum(pointBytes(pub))
	return h[:20]
}

// pointBytes returns the uncompressed point 04‖X‖Y, or nil when pub is not
// a point on the SM2 curve (the CA's keys are checked to be SM2 keys first).
func pointBytes(pub *ecdsa.PublicKey) []byte {
	k, err := sm2.PublicKeyToECDH(pub)
	if err != nil {
		return nil
	}
	return k.Bytes()
}

// newSerial returns a random positive 20-octet serial (159 random bits)
// not yet in the index. Callers hold ca.mu.
func (ca *CA) newSerial(ctx context.Context) (*big.Int, error) {
	for range 4 {
		b := make([]byte, 20)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		b[0] = b[0]&0x7f | 0x40 // positive, always 20 octets
		s := new(big.Int).SetBytes(b)
		_, err := ca.kv.Get(ctx, certKey(s))
		if errors.Is(err, store.ErrNotFound) {
			return s, nil
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, errors.New("no unused serial after 4 tries")
}

// initialise creates the root, the maker certificate and CRL number 1, and
// writes them in one batch.
func (ca *CA) initialise(ctx context.Context) error {
	const op = "pki.Open"
	if _, err := ca.kv.Get(ctx, keyMaker); err == nil {
		return errorf(ErrCorrupt, op, "", nil, "store holds a seal-maker certificate but no root")
	}
	now := ca.nowSec()
	rootPub, err := ca.ensureKey(ctx, RootKeyLabel)
	if err != nil {
		return err
	}
	rootSigner, err := ca.keys.Signer(ctx, RootKeyLabel)
	if err != nil {
		return errorf(ErrUnavailable, op, "", err, "root key")
	}
	rootSerial, err := ca.newSerial(ctx)
	if err != nil {
		return errorf(ErrUnavailable, op, "", err, "root serial")
	}
	skid := subjectKeyID(rootPub)
	rootTmpl := &smx509.Certificate{
		SerialNumber: rootSerial,
		Subject: pkix.Name{
			Country:      []string{"CN"},
			Organization: []string{ca.opts.Organisation},
			CommonName:   ca.opts.RootCommonName,
		},
		// Back-dated so that every notBefore IssueSigner accepts lies
		// within the root's validity, even on the first day.
		NotBefore:             now.Add(-MaxBackdate),
		NotAfter:              now.Add(ca.opts.RootValidity),
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true, // root -> end entity; no intermediates
		SubjectKeyId:          skid,
		AuthorityKeyId:        skid,
		SignatureAlgorithm:    smx509.SM2WithSM3,
	}
	rootDER, err := smx509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootPub, rootSigner)
	if err != nil {
		return errorf(ErrUnavailable, op, "", err, "signing the root certificate")
	}
	root, err := smx509.ParseCertificate(rootDER)
	if err != nil {
		return errorf(ErrCorrupt, op, "", err, "parsing the new root certificate")
	}

	makerPub, err := ca.ensureKey(ctx, MakerKeyLabel)
	if err != nil {
		return err
	}
	makerSerial, err := ca.newSerial(ctx)
	if err != nil {
		return errorf(ErrUnavailable, op, "", err, "maker serial")
	}
	maker := Holder{Organisation: ca.opts.Organisation, CreditCode: ca.opts.OrgCode}
	makerTmpl := ca.leafTemplate(makerSerial, maker.subject(), makerPub, now, minTime(now.Add(ca.opts.MakerValidity), root.NotAfter))
	makerDER, err := smx509.CreateCertificate(rand.Reader, makerTmpl, root, makerPub, rootSigner)
	if err != nil {
		return errorf(ErrUnavailable, op, "", err, "signing the seal-maker certificate")
	}

	crlDER, err := ca.signCRL(root, rootSigner, big.NewInt(1), now, nil)
	if err != nil {
		return errorf(ErrUnavailable, op, "", err, "signing CRL 1")
	}

	b := ca.kv.NewBatch()
	defer b.Close()
	err = errors.Join(
		// Created only once, even by processes starting together.
		b.Expect(keyVersion, nil),
		b.Expect(keySeq, nil),
		b.Set(keyVersion, []byte(stateVersion)),
		b.Set(keyRoot, rootDER),
		b.Set(keyMaker, makerDER),
		b.Set(keySeq, u64(2)),
		setJSON(b, certKey(rootSerial), certRecord{V: 1, Seq: 1, Kind: KindRoot, KeyLabel: RootKeyLabel, NotBefore: rootTmpl.NotBefore, NotAfter: rootTmpl.NotAfter, DER: rootDER}),
		setJSON(b, certKey(makerSerial), certRecord{V: 1, Seq: 2, Kind: KindMaker, KeyLabel: MakerKeyLabel, NotBefore: makerTmpl.NotBefore, NotAfter: makerTmpl.NotAfter, DER: makerDER}),
		b.Set(keyCRL, crlDER),
		b.Set(keyCRLNum, u64(1)),
	)
	if err == nil {
		err = b.Commit(ctx)
	}
	if errors.Is(err, store.ErrConflict) {
		return errorf(ErrUnavailable, op, "", err, "another process created the CA at the same time; open it again")
	}
	if err != nil {
		return errorf(ErrUnavailable, op, "", err, "writing the new CA")
	}
	ca.log.InfoContext(ctx, "CA created", "root_serial", serialKey(rootSerial), "maker_serial", serialKey(makerSerial))
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// leafTemplate is the profile of seal-maker and signer certificates.
func (ca *CA) leafTemplate(serial *big.Int, subject pkix.Name, pub *ecdsa.PublicKey, notBefore, notAfter time.Time) *smx509.Certificate {
	return &smx509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          subjectKeyID(pub),
		CRLDistributionPoints: []string{ca.opts.CRLURL},
		SignatureAlgorithm:    smx509.SM2WithSM3,
	}
}

// load reads the CA's state and checks it: every key against its
// certificate, the maker and the CRL against the root.
func (ca *CA) load(ctx context.Context) error {
	const op = "pki.Open"
	v, err := ca.kv.Get(ctx, keyVersion)
	if err != nil {
		return errorf(ErrCorrupt, op, "", err, "state version missing")
	}
	if string(v) != stateVersion {
		return errorf(ErrCorrupt, op, "", nil, "state version %q, this build reads %q", v, stateVersion)
	}
	root, err := ca.loadCert(ctx, keyRoot, "root")
	if err != nil {
		return err
	}
	if !root.BasicConstraintsValid || !root.IsCA || root.KeyUsage&(smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign) != smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign {
		return errorf(ErrCorrupt, op, "", nil, "stored root is not a CA certificate with keyCertSign and cRLSign")
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		return errorf(ErrCorrupt, op, "", err, "root certificate's self-signature")
	}
	rootSigner, err := ca.checkKey(ctx, RootKeyLabel, root)
	if err != nil {
		return err
	}
	maker, err := ca.loadCert(ctx, keyMaker, "seal-maker")
	if err != nil {
		return err
	}
	if err := maker.CheckSignatureFrom(root); err != nil {
		return errorf(ErrCorrupt, op, "", err, "seal-maker certificate is not signed by the root")
	}
	if _, err := ca.checkKey(ctx, MakerKeyLabel, maker); err != nil {
		return err
	}
	crlDER, err := ca.kv.Get(ctx, keyCRL)
	if err != nil {
		return errorf(ErrCorrupt, op, "", err, "current CRL missing")
	}
	crl, err := smx509.ParseRevocationList(crlDER)
	if err != nil {
		return errorf(ErrCorrupt, op, "", err, "current CRL unreadable")
	}
	if err := crl.CheckSignatureFrom(root); err != nil {
		return errorf(ErrCorrupt, op, "", err, "current CRL is not signed by the root")
	}
	num, err := getU64(ctx, ca.kv, keyCRLNum)
	if err != nil || crl.Number == nil || !crl.Number.IsUint64() || crl.Number.Uint64() != num {
		return errorf(ErrCorrupt, op, "", err, "CRL number counter does not match the current CRL")
	}
	ca.root, ca.maker, ca.rootSigner = root, maker, rootSigner
	ca.crlDER, ca.crl = crlDER, crl
	return nil
}

func (ca *CA) loadCert(ctx context.Context, key []byte, what string) (*smx509.Certificate, error) {
	der, err := ca.kv.Get(ctx, key)
	if err != nil {
		return nil, errorf(ErrCorrupt, "pki.Open", "", err, "%s certificate missing", what)
	}
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, errorf(ErrCorrupt, "pki.Open", "", err, "%s certificate unreadable", what)
	}
	return c, nil
}

// checkKey refuses a key that is missing or does not match cert: the key
// store's public key must equal the certificate's, and a test signature
// made by the key store must verify under the certificate's key.
func (ca *CA) checkKey(ctx context.Context, label string, cert *smx509.Certificate) (crypto.Signer, error) {
	const op = "pki.Open"
	certPub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(certPub) {
		return nil, errorf(ErrCorrupt, op, "", nil, "certificate of key %q does not hold an SM2 key", label)
	}
	pub, err := ca.keys.PublicKey(ctx, label)
	if signer.KindOf(err) == signer.ErrKeyNotFound {
		return nil, errorf(ErrKeyNotFound, op, "", err, "CA key %q is missing from the key store (certificate serial %s); refusing to start", label, serialKey(cert.SerialNumber))
	}
	if err != nil {
		return nil, errorf(ErrUnavailable, op, "", err, "CA key %q", label)
	}
	if p, ok := pub.(*ecdsa.PublicKey); !ok || !p.Equal(certPub) {
		return nil, errorf(ErrKeyMismatch, op, "", nil, "key %q in the key store does not match its certificate (serial %s); refusing to start", label, serialKey(cert.SerialNumber))
	}
	s, err := ca.keys.Signer(ctx, label)
	if err != nil {
		return nil, errorf(ErrUnavailable, op, "", err, "CA key %q", label)
	}
	msg := []byte("eseal pki key check " + label)
	sig, err := s.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
	if err != nil {
		return nil, errorf(ErrUnavailable, op, "", err, "test signature with CA key %q", label)
	}
	if !sm2.VerifyASN1WithSM2(certPub, nil, msg, sig) {
		return nil, errorf(ErrKeyMismatch, op, "", nil, "test signature of key %q does not verify under its certificate (serial %s); refusing to start", label, serialKey(cert.SerialNumber))
	}
	return s, nil
}
