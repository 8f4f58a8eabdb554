package ses

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
)

// SealTemplate describes a seal to make.
type SealTemplate struct {
	Version        int    // 4 (the default when zero) or 1
	VID            string // vendor id in the header, IA5
	ESID           string // unique seal id, IA5
	Type           int    // seal type; v1: 1 organisation, 2 personal
	Name           string
	SignerCerts    [][]byte // DER certificates allowed to use the seal
	UseCertDigests bool     // v4: write certListType 2 with SM3 digests instead of the certificates
	CreateDate     time.Time
	ValidStart     time.Time
	ValidEnd       time.Time
	Picture        Picture
	Extensions     []Extension
}

// Validate checks a template before anything is signed; the error names the field.
func (t *SealTemplate) Validate() error {
	switch {
	case t.Version != 0 && t.Version != 1 && t.Version != 4:
		return fmt.Errorf("seal template: version %d, only 1 and 4 can be made", t.Version)
	case t.VID == "" || !isIA5(t.VID):
		return errors.New("seal template: VID must be non-empty ASCII")
	case t.ESID == "" || !isIA5(t.ESID):
		return errors.New("seal template: ESID must be non-empty ASCII")
	case t.Name == "":
		return errors.New("seal template: name is empty")
	case len(t.SignerCerts) == 0:
		return errors.New("seal template: no signer certificate")
	case t.UseCertDigests && t.Version == 1:
		return errors.New("seal template: v1 seals cannot carry certificate digests")
	case t.ValidStart.IsZero() || t.ValidEnd.IsZero() || !t.ValidEnd.After(t.ValidStart):
		return errors.New("seal template: validity window is empty or missing")
	case t.Picture.Type == "" || !isIA5(t.Picture.Type):
		return errors.New("seal template: picture type must be non-empty ASCII")
	case len(t.Picture.Data) == 0:
		return errors.New("seal template: picture data is empty")
	case t.Picture.Width <= 0 || t.Picture.Height <= 0:
		return errors.New("seal template: picture width and height must be positive millimetres")
	}
	for i, c := range t.SignerCerts {
		if _, err := smx509.ParseCertificate(c); err != nil {
			return fmt.Errorf("seal template: signer certificate %d does not parse: %v", i+1, err)
		}
	}
	return nil
}

// MakeSeal builds a seal and has the maker sign it. makerCert is the maker's DER certificate
// and must hold maker's public key. The result is parsed back and its signature verified
// before it is returned, so a broken signer never yields a seal.
func MakeSeal(rand io.Reader, t *SealTemplate, makerCert []byte, maker crypto.Signer) (*Seal, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	mc, err := smx509.ParseCertificate(makerCert)
	if err != nil {
		return nil, fmt.Errorf("make seal: maker certificate does not parse: %v", err)
	}
	pub, ok := mc.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(maker.Public()) {
		return nil, errors.New("make seal: the maker certificate does not hold the maker key's public key")
	}
	version := t.Version
	if version == 0 {
		version = 4
	}
	info, err := encodeSealInfo(t, version)
	if err != nil {
		return nil, err
	}
	algDER, _ := encodeOID(OIDSM3WithSM2)
	certDER := encodeOctets(makerCert)
	msg := info
	if version == 1 {
		msg = seqOf(info, certDER, algDER)
	}
	sig, err := SignSM2(rand, maker, msg)
	if err != nil {
		return nil, fmt.Errorf("make seal: maker signature: %w", err)
	}
	var b cryptobyte.Builder
	addSealEnvelope(&b, info, certDER, algDER, sig, version == 1)
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("make seal: %w", err)
	}
	s, err := ParseSeal(der)
	if err != nil {
		return nil, fmt.Errorf("make seal: the new seal does not parse back: %w", err)
	}
	if c := s.CheckSignature(pub); !c.OK {
		return nil, fmt.Errorf("make seal: the new seal's signature does not verify: %s", c.Detail)
	}
	return s, nil
}

func encodeSealInfo(t *SealTemplate, version int) ([]byte, error) {
	addTime := addGeneralizedTime
	if version == 1 {
		addTime = addUTCTime
	}
	var b cryptobyte.Builder
	b.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
		b.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
			addIA5(b, "ES")
			b.AddASN1Int64(int64(version))
			addIA5(b, t.VID)
		})
		addIA5(b, t.ESID)
		b.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(int64(t.Type))
			addUTF8(b, t.Name)
			if version != 1 {
				if t.UseCertDigests {
					b.AddASN1Int64(2)
				} else {
					b.AddASN1Int64(1)
				}
			}
			b.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
				for _, c := range t.SignerCerts {
					if t.UseCertDigests {
						sum := sm3.Sum(c)
						b.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
							addPrintable(b, "sm3")
							addOctets(b, sum[:])
						})
					} else {
						addOctets(b, c)
					}
				}
			})
			addTime(b, t.CreateDate)
			addTime(b, t.ValidStart)
			addTime(b, t.ValidEnd)
		})
		b.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
			addIA5(b, t.Picture.Type)
			addOctets(b, t.Picture.Data)
			b.AddASN1Int64(int64(t.Picture.Width))
			b.AddASN1Int64(int64(t.Picture.Height))
		})
		if len(t.Extensions) > 0 {
			addExtensions(b, t.Extensions)
		}
	})
	return b.Bytes()
}

func addExtensions(b *cryptobyte.Builder, exts []Extension) {
	b.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
		for _, x := range exts {
			b.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(x.ID)
				b.AddASN1Boolean(x.Critical)
				addOctets(b, x.Value)
			})
		}
	})
}

func encodeOID(oid []int) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1ObjectIdentifier(oid)
	return b.Bytes()
}

func encodeOctets(v []byte) []byte {
	var b cryptobyte.Builder
	addOctets(&b, v)
	out, _ := b.Bytes()
	return out
}

// SignRequest is what a signer signs: the hash of the original data under a seal.
type SignRequest struct {
	Seal         *Seal
	SignerCert   []byte    // DER; must be allowed by the seal
	DataHash     []byte    // SM3 of the original data (OFD: of Signature.xml), 32 bytes
	PropertyInfo string    // IA5; OFD: the absolute path of Signature.xml
	Time         time.Time // signing time
	Extensions   []Extension
}

// Validate checks a request before anything is signed; the error names the field.
func (r *SignRequest) Validate() error {
	switch {
	case r.Seal == nil || len(r.Seal.Raw) == 0:
		return errors.New("sign request: no seal")
	case len(r.DataHash) != sm3.Size:
		return fmt.Errorf("sign request: dataHash is %d bytes, an SM3 digest is 32", len(r.DataHash))
	case !isIA5(r.PropertyInfo):
		return errors.New("sign request: propertyInfo must be ASCII (IA5String)")
	case r.Time.IsZero():
		return errors.New("sign request: no signing time")
	case len(r.Extensions) > 0 && r.Seal.Version == 1:
		return errors.New("sign request: v1 signatures carry no extensions")
	}
	if r.Seal.Version == 1 && r.Seal.Info.Property.CertListType == 2 {
		return errors.New("sign request: a v1 seal cannot list certificate digests")
	}
	p := &r.Seal.Info.Property
	for _, c := range p.Certs {
		if bytes.Equal(c, r.SignerCert) {
			return nil
		}
	}
	if p.CertListType == 2 {
		sig := Signature{Cert: r.SignerCert, TBS: TBSSign{Seal: r.Seal}}
		if ok, _ := sig.SignerInSeal(); ok {
			return nil
		}
	}
	return errors.New("sign request: the signer certificate is not one the seal allows")
}

// Sign builds a DER SES_Signature in the seal's version (v1, v4 or v5) and has signer sign
// TBS_Sign. The seal is embedded byte for byte.
//
// Sign checks what it signs, as MakeSeal does, but once per signer rather than per
// signature: the signer's public key must be the one in SignerCert, and the first signature
// of each signer (by its type, public key and certificate) is verified under SignerCert
// before it is returned. A signer whose key does not match its certificate, or a device or
// mechanism profile that returns invalid signatures, fails at the first signature.
func Sign(rand io.Reader, r *SignRequest, signer crypto.Signer) ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if signer == nil {
		return nil, errors.New("sign: no signer")
	}
	ck, checked, err := signerChecks.lookup(signer, r.SignerCert)
	if err != nil {
		return nil, err
	}
	version := r.Seal.Version
	// Both encodings are sized beforehand: TBS_Sign holds the whole seal (tens of kilobytes
	// with its picture), and a builder that grows copies it again at each step.
	extra := len(r.DataHash) + len(r.PropertyInfo) + len(r.SignerCert) + 256
	for _, e := range r.Extensions {
		extra += len(e.ID)*4 + len(e.Value) + 16
	}
	tb := cryptobyte.NewBuilder(make([]byte, 0, len(r.Seal.Raw)+extra))
	tb.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(int64(version))
		b.AddBytes(r.Seal.Raw)
		if version == 1 {
			var t cryptobyte.Builder
			addUTCTime(&t, r.Time)
			tv, _ := t.Bytes()
			addBits(b, tv)
		} else {
			addGeneralizedTime(b, r.Time)
		}
		addBits(b, r.DataHash)
		addIA5(b, r.PropertyInfo)
		if version == 1 {
			addOctets(b, r.SignerCert)
			b.AddASN1ObjectIdentifier(OIDSM3WithSM2)
		} else if len(r.Extensions) > 0 {
			b.AddASN1(tagContext0, func(b *cryptobyte.Builder) { addExtensions(b, r.Extensions) })
		}
	})
	tbs, err := tb.Bytes()
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sig, err := signTBS(rand, signer, r.Seal, tbs)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if !checked {
		if err := signerChecks.verifyFirst(ck, tbs, sig); err != nil {
			return nil, err
		}
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)+len(r.SignerCert)+len(sig)+64))
	b.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		if version != 1 {
			addOctets(b, r.SignerCert)
			b.AddASN1ObjectIdentifier(OIDSM3WithSM2)
		}
		addBits(b, sig)
	})
	return b.Bytes()
}

// signerChecks remembers the signers whose key matched their certificate and whose first
// signature verified, so that Sign checks each signer once.
var signerChecks = &checkedSigners{max: 4096}

// checkedSigners is a bounded set of checked (signer type, public key, certificate)
// triples. When it is full it is emptied: the signers in use are
// then checked once more, which costs one verification each.
type checkedSigners struct {
	m        sync.Map // type name, 0, public point, certificate -> struct{}
	n        atomic.Int64
	max      int64
	verifies atomic.Uint64 // first-signature verifications run (for tests)
}

// pendingCheck is a signer whose key matched its certificate and whose first signature is
// yet to be verified.
type pendingCheck struct {
	key string
	pub *ecdsa.PublicKey
}

// lookup reports whether signer with cert was already checked. If not, it checks that the
// signer's public key is the certificate's and returns what verifyFirst needs.
func (c *checkedSigners) lookup(signer crypto.Signer, cert []byte) (pendingCheck, bool, error) {
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || pub == nil {
		return pendingCheck{}, false, fmt.Errorf("sign: the signer's public key is %T, not an SM2 key", signer.Public())
	}
	pk, err := sm2.PublicKeyToECDH(pub)
	if err != nil {
		return pendingCheck{}, false, fmt.Errorf("sign: the signer's public key is not an SM2 key: %v", err)
	}
	key := reflect.TypeOf(signer).String() + "\x00" + string(pk.Bytes()) + string(cert)
	if _, ok := c.m.Load(key); ok {
		return pendingCheck{}, true, nil
	}
	sc, err := smx509.ParseCertificate(cert)
	if err != nil {
		return pendingCheck{}, false, fmt.Errorf("sign: signer certificate does not parse: %v", err)
	}
	cpub, ok := sc.PublicKey.(*ecdsa.PublicKey)
	if !ok || !cpub.Equal(pub) {
		return pendingCheck{}, false, errors.New("sign: the signer's public key is not the one in the signer certificate (wrong key or wrong certificate configured)")
	}
	return pendingCheck{key: key, pub: cpub}, false, nil
}

// verifyFirst verifies a signer's first signature over tbs and remembers the signer when it
// verifies.
func (c *checkedSigners) verifyFirst(p pendingCheck, tbs, sig []byte) error {
	c.verifies.Add(1)
	if _, ok, err := VerifySM2(p.pub, tbs, sig); err != nil || !ok {
		return errors.New("sign: the signer's first signature does not verify under the signer certificate (misconfigured device or mechanism profile?); nothing was returned")
	}
	if _, loaded := c.m.LoadOrStore(p.key, struct{}{}); !loaded {
		if c.n.Add(1) > c.max {
			c.m.Clear()
			c.n.Store(0)
		}
	}
	return nil
}

// addSealEnvelope writes an SESeal around the DER of its SES_SealInfo: the maker certificate
// (certDER, an OCTET STRING), the algorithm (algDER) and the signature value in a BIT STRING,
// after the info in the GB/T 38540 v4 layout, in a SEQUENCE of their own in the GM/T 0031 v1
// layout (v1).
func addSealEnvelope(b *cryptobyte.Builder, info, certDER, algDER, sig []byte, v1 bool) {
	b.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
		b.AddBytes(info)
		if v1 {
			b.AddASN1(tagSequence, func(b *cryptobyte.Builder) {
				b.AddBytes(certDER)
				b.AddBytes(algDER)
				addBits(b, sig)
			})
			return
		}
		b.AddBytes(certDER)
		b.AddBytes(algDER)
		addBits(b, sig)
	})
}
