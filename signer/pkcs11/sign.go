//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"io"

	"github.com/emmansun/gmsm/sm2"
	p11 "github.com/miekg/pkcs11"

	"github.com/eseal/eseal/signer"
)

// Key is a key in the token: crypto.Signer, signer.ContextSigner and, for
// SM2, crypto.MessageSigner.
type Key struct {
	s     *Store
	label string
	pub   *ecdsa.PublicKey
}

var (
	_ signer.ContextSigner = (*Key)(nil)
	_ signer.MessageSigner = (*Key)(nil)
)

// Public implements crypto.Signer.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// Sign implements crypto.Signer with the store's default wait bound.
func (k *Key) Sign(rnd io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.SignContext(context.Background(), rnd, digest, opts)
}

// SignsDigest tells ses.Sign whether the key signs a digest e = SM3(Z‖M) it is handed: an
// SM2 key whose profile hands the token e, not one whose token hashes the message itself.
func (k *Key) SignsDigest() bool { return k.s.prof.Algorithm == signer.SM2 && !k.s.prof.HashInside }

// SignMessage implements crypto.MessageSigner for SM2 keys: msg is the
// message; e = SM3(Z‖msg) with the UID in opts, or the default UID.
func (k *Key) SignMessage(rnd io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if k.s.prof.Algorithm != signer.SM2 {
		return nil, signer.Errorf(signer.ErrUnsupported, "pkcs11.SignMessage", k.label, nil, "message signing is for SM2 keys; hash and call Sign")
	}
	o, ok := opts.(*sm2.SM2SignerOption)
	if !ok || !signer.IsGMSign(o) {
		o = sm2.DefaultSM2SignerOpts
	}
	return k.SignContext(context.Background(), rnd, msg, o)
}

// SignContext signs on a pooled session. rnd is not used (the token makes
// its own randomness). SM2 follows gmsm's convention (see package
// signer); ECDSA takes the digest of opts.HashFunc(). The result is DER.
func (k *Key) SignContext(ctx context.Context, _ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	const op = "pkcs11.Sign"
	s := k.s
	var in []byte
	switch s.prof.Algorithm {
	case signer.SM2:
		o, isSM2 := opts.(*sm2.SM2SignerOption)
		gm := isSM2 && signer.IsGMSign(o)
		if s.prof.HashInside {
			if !gm {
				return nil, signer.Errorf(signer.ErrUnsupported, op, k.label, nil, "profile %q hashes the message inside the token; pass the message with sm2.DefaultSM2SignerOpts", s.prof.Name)
			}
			if string(signer.SM2UID(o)) != string(signer.DefaultUID) {
				return nil, signer.Errorf(signer.ErrUnsupported, op, k.label, nil, "profile %q hashes with the default user ID inside the token; a custom user ID needs a raw-digest profile", s.prof.Name)
			}
			in = digest
		} else {
			e, err := signer.SM2Digest(k.pub, digest, opts)
			if err != nil {
				return nil, err
			}
			in = e
		}
	default:
		if opts != nil && opts.HashFunc() != 0 && len(digest) != opts.HashFunc().Size() {
			return nil, signer.Errorf(signer.ErrInvalidInput, op, k.label, nil, "digest is %d bytes, %v wants %d", len(digest), opts.HashFunc(), opts.HashFunc().Size())
		}
		if len(digest) == 0 || len(digest) > 64 {
			return nil, signer.Errorf(signer.ErrInvalidInput, op, k.label, nil, "digest length %d", len(digest))
		}
		in = digest
	}
	var sig []byte
	err := s.do(ctx, op, k.label, func(sh p11.SessionHandle) error {
		h, err := s.privHandle(sh, k.label)
		if err != nil {
			return err
		}
		if err := s.ctx.SignInit(sh, s.signMec, h); err != nil {
			return err
		}
		sig, err = s.ctx.Sign(sh, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return toDER(op, k.label, s.prof, sig)
}

func toDER(op, label string, p Profile, sig []byte) ([]byte, error) {
	if p.Output == DER {
		if !checkDER(sig) {
			return nil, signer.Errorf(signer.ErrMechanism, op, label, nil, "profile %q expects a DER signature; the token returned %d bytes that are not one", p.Name, len(sig))
		}
		return sig, nil
	}
	if len(sig) != 64 {
		return nil, signer.Errorf(signer.ErrMechanism, op, label, nil, "profile %q expects a 64-byte r||s signature; the token returned %d bytes", p.Name, len(sig))
	}
	der, err := rawToDER(sig)
	if err != nil {
		return nil, signer.Errorf(signer.ErrMechanism, op, label, err, "profile %q: token signature", p.Name)
	}
	return der, nil
}
