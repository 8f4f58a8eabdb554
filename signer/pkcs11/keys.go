//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"fmt"
	"sort"

	"github.com/emmansun/gmsm/sm2"
	p11 "github.com/miekg/pkcs11"

	"github.com/eseal/eseal/signer"
)

// findObjects returns handles of objects matching template (at most max).
func (s *Store) findObjects(sh p11.SessionHandle, tmpl []*p11.Attribute, max int) ([]p11.ObjectHandle, error) {
	if err := s.ctx.FindObjectsInit(sh, tmpl); err != nil {
		return nil, err
	}
	var out []p11.ObjectHandle
	for len(out) < max {
		hs, _, err := s.ctx.FindObjects(sh, min(max-len(out), 256))
		if err != nil {
			_ = s.ctx.FindObjectsFinal(sh)
			return nil, err
		}
		if len(hs) == 0 {
			break
		}
		out = append(out, hs...)
	}
	if err := s.ctx.FindObjectsFinal(sh); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) keyTemplate(class uint, label string) []*p11.Attribute {
	return []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, class),
		p11.NewAttribute(p11.CKA_KEY_TYPE, s.prof.KeyType),
		p11.NewAttribute(p11.CKA_LABEL, label),
	}
}

// privHandle returns the private key handle of label, from the cache when
// it is of the current generation.
func (s *Store) privHandle(sh p11.SessionHandle, label string) (p11.ObjectHandle, error) {
	g := s.gen.Load()
	if v, ok := s.handles.Load(label); ok {
		if r := v.(keyRef); r.gen == g {
			return r.h, nil
		}
	}
	hs, err := s.findObjects(sh, s.keyTemplate(p11.CKO_PRIVATE_KEY, label), 2)
	if err != nil {
		return 0, err
	}
	switch len(hs) {
	case 0:
		// A session that lost its login sees no private objects: report
		// that, so the caller re-logs in instead of calling the key missing.
		if si, err := s.ctx.GetSessionInfo(sh); err != nil {
			return 0, err
		} else if si.State != p11.CKS_RO_USER_FUNCTIONS && si.State != p11.CKS_RW_USER_FUNCTIONS {
			return 0, p11.Error(p11.CKR_USER_NOT_LOGGED_IN)
		}
		return 0, signer.Errorf(signer.ErrKeyNotFound, "pkcs11.FindKey", label, nil, "no %s private key with this label on token %q", s.prof.Algorithm, s.cfg.TokenLabel)
	case 1:
	default:
		return 0, signer.Errorf(signer.ErrCorrupt, "pkcs11.FindKey", label, nil, "more than one private key with this label on token %q", s.cfg.TokenLabel)
	}
	s.handles.Store(label, keyRef{h: hs[0], gen: g})
	return hs[0], nil
}

// publicKey reads the public key of label (public object, else CKA_EC_POINT
// on the private object).
func (s *Store) publicKey(sh p11.SessionHandle, label string) (crypto.PublicKey, error) {
	if v, ok := s.pubs.Load(label); ok {
		return v.(crypto.PublicKey), nil
	}
	priv, err := s.privHandle(sh, label)
	if err != nil {
		return nil, err
	}
	obj := priv
	if hs, err := s.findObjects(sh, s.keyTemplate(p11.CKO_PUBLIC_KEY, label), 1); err == nil && len(hs) == 1 {
		obj = hs[0]
	} else if err != nil {
		return nil, err
	}
	attrs, err := s.ctx.GetAttributeValue(sh, obj, []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_POINT, nil)})
	if err != nil {
		return nil, err
	}
	pub, err := s.parsePoint(attrs[0].Value)
	if err != nil {
		return nil, signer.Errorf(signer.ErrCorrupt, "pkcs11.PublicKey", label, err, "CKA_EC_POINT on token %q", s.cfg.TokenLabel)
	}
	s.pubs.Store(label, pub)
	return pub, nil
}

// parsePoint accepts CKA_EC_POINT as DER OCTET STRING (the standard) or as
// the raw uncompressed point (some vendors).
func (s *Store) parsePoint(v []byte) (*ecdsa.PublicKey, error) {
	pt := v
	if len(v) != 65 {
		var os []byte
		rest, err := asn1.Unmarshal(v, &os)
		if err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("not a DER OCTET STRING nor a raw point (%d bytes)", len(v))
		}
		pt = os
	}
	if len(pt) != 65 || pt[0] != 4 {
		return nil, fmt.Errorf("not an uncompressed 256-bit point (%d bytes)", len(pt))
	}
	if s.prof.Algorithm == signer.SM2 {
		return sm2.NewPublicKey(pt)
	}
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
}

// Generate implements signer.KeyStore: a token key pair (CKA_TOKEN true,
// private key sensitive and not extractable).
func (s *Store) Generate(ctx context.Context, label string, alg signer.Algorithm) (signer.KeyInfo, error) {
	const op = "pkcs11.Generate"
	if err := s.check(op, label); err != nil {
		return signer.KeyInfo{}, err
	}
	if alg != s.prof.Algorithm {
		return signer.KeyInfo{}, signer.Errorf(signer.ErrUnsupported, op, label, nil, "mechanism profile %q makes %s keys, not %s", s.prof.Name, s.prof.Algorithm, alg)
	}
	if s.prof.KeyGenMech == 0 {
		return signer.KeyInfo{}, signer.Errorf(signer.ErrUnsupported, op, label, nil, "mechanism profile %q has no key generation mechanism", s.prof.Name)
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return signer.KeyInfo{}, err
	}
	var pub crypto.PublicKey
	err := s.do(ctx, op, label, func(sh p11.SessionHandle) error {
		if hs, err := s.findObjects(sh, s.keyTemplate(p11.CKO_PRIVATE_KEY, label), 1); err != nil {
			return err
		} else if len(hs) > 0 {
			return signer.Errorf(signer.ErrKeyExists, op, label, nil, "a private key with this label exists on token %q", s.cfg.TokenLabel)
		}
		pubT := []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, s.prof.KeyType),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_VERIFY, true),
			p11.NewAttribute(p11.CKA_LABEL, label),
			p11.NewAttribute(p11.CKA_ID, id),
		}
		if s.prof.ECParams != nil {
			pubT = append(pubT, p11.NewAttribute(p11.CKA_EC_PARAMS, s.prof.ECParams))
		}
		privT := []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, s.prof.KeyType),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_PRIVATE, true),
			p11.NewAttribute(p11.CKA_SENSITIVE, true),
			p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
			p11.NewAttribute(p11.CKA_SIGN, true),
			p11.NewAttribute(p11.CKA_LABEL, label),
			p11.NewAttribute(p11.CKA_ID, id),
		}
		pubH, privH, err := s.ctx.GenerateKeyPair(sh, s.genMec, pubT, privT)
		if err != nil {
			return err
		}
		attrs, err := s.ctx.GetAttributeValue(sh, pubH, []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_POINT, nil)})
		if err != nil {
			return err
		}
		k, err := s.parsePoint(attrs[0].Value)
		if err != nil {
			_ = s.ctx.DestroyObject(sh, privH)
			_ = s.ctx.DestroyObject(sh, pubH)
			return signer.Errorf(signer.ErrMechanism, op, label, err, "token %q returned an unusable public key for profile %q", s.cfg.TokenLabel, s.prof.Name)
		}
		pub = k
		s.handles.Store(label, keyRef{h: privH, gen: s.gen.Load()})
		return nil
	})
	if err != nil {
		return signer.KeyInfo{}, err
	}
	s.pubs.Store(label, pub)
	s.log.InfoContext(ctx, "key generated", "key", label, "alg", string(alg))
	return signer.KeyInfo{Label: label, Algorithm: alg, Public: pub, Backend: s.backend()}, nil
}

// Find implements signer.KeyStore.
func (s *Store) Find(ctx context.Context, label string) (signer.KeyInfo, error) {
	const op = "pkcs11.Find"
	if err := s.check(op, label); err != nil {
		return signer.KeyInfo{}, err
	}
	var pub crypto.PublicKey
	err := s.do(ctx, op, label, func(sh p11.SessionHandle) error {
		if _, err := s.privHandle(sh, label); err != nil {
			return err
		}
		var err error
		pub, err = s.publicKey(sh, label)
		return err
	})
	if err != nil {
		return signer.KeyInfo{}, err
	}
	return signer.KeyInfo{Label: label, Algorithm: s.prof.Algorithm, Public: pub, Backend: s.backend()}, nil
}

// PublicKey implements signer.KeyStore.
func (s *Store) PublicKey(ctx context.Context, label string) (crypto.PublicKey, error) {
	ki, err := s.Find(ctx, label)
	return ki.Public, err
}

// Signer implements signer.KeyStore.
func (s *Store) Signer(ctx context.Context, label string) (crypto.Signer, error) {
	ki, err := s.Find(ctx, label)
	if err != nil {
		return nil, err
	}
	return &Key{s: s, label: label, pub: ki.Public.(*ecdsa.PublicKey)}, nil
}

// List implements signer.KeyStore: the private keys of the profile's key
// type on the token.
func (s *Store) List(ctx context.Context) ([]signer.KeyInfo, error) {
	const op = "pkcs11.List"
	if s.closed.Load() {
		return nil, signer.Errorf(signer.ErrClosed, op, "", nil, "key store for token %q closed", s.cfg.TokenLabel)
	}
	var labels []string
	err := s.do(ctx, op, "", func(sh p11.SessionHandle) error {
		labels = labels[:0]
		hs, err := s.findObjects(sh, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, s.prof.KeyType),
		}, 1<<16)
		if err != nil {
			return err
		}
		for _, h := range hs {
			a, err := s.ctx.GetAttributeValue(sh, h, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, nil)})
			if err != nil {
				return err
			}
			if l := string(a[0].Value); signer.ValidLabel(l) {
				labels = append(labels, l)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(labels)
	out := make([]signer.KeyInfo, 0, len(labels))
	for _, l := range labels {
		ki, err := s.Find(ctx, l)
		if err != nil {
			if signer.KindOf(err) == signer.ErrKeyNotFound || signer.KindOf(err) == signer.ErrCorrupt {
				continue
			}
			return nil, err
		}
		out = append(out, ki)
	}
	return out, nil
}

// Delete implements signer.KeyStore: destroys the private and public
// objects labelled label.
func (s *Store) Delete(ctx context.Context, label string) error {
	const op = "pkcs11.Delete"
	if err := s.check(op, label); err != nil {
		return err
	}
	s.genMu.Lock()
	defer s.genMu.Unlock()
	err := s.do(ctx, op, label, func(sh p11.SessionHandle) error {
		priv, err := s.findObjects(sh, s.keyTemplate(p11.CKO_PRIVATE_KEY, label), 16)
		if err != nil {
			return err
		}
		if len(priv) == 0 {
			return signer.Errorf(signer.ErrKeyNotFound, op, label, nil, "no %s private key with this label on token %q", s.prof.Algorithm, s.cfg.TokenLabel)
		}
		pub, err := s.findObjects(sh, s.keyTemplate(p11.CKO_PUBLIC_KEY, label), 16)
		if err != nil {
			return err
		}
		for _, h := range append(priv, pub...) {
			if err := s.ctx.DestroyObject(sh, h); err != nil {
				return err
			}
		}
		return nil
	})
	s.handles.Delete(label)
	s.pubs.Delete(label)
	if err == nil {
		s.log.InfoContext(ctx, "key deleted", "key", label)
	}
	return err
}
