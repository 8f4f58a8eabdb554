package signer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"reflect"

	"github.com/emmansun/gmsm/sm2"
)

// SM2Digest returns the 32-byte e that an SM2 signer signs for input and
// opts, following gmsm's convention: with a *sm2.SM2SignerOption that
// forces GM signing, input is the message and e = SM3(Z‖M) with the
// option's user ID; otherwise input must already be e (32 bytes).
//
// Backends that hand e to an HSM use it; it is exported so that tests and
// other backends agree on one rule.
func SM2Digest(pub *ecdsa.PublicKey, input []byte, opts crypto.SignerOpts) ([]byte, error) {
	if o, ok := opts.(*sm2.SM2SignerOption); ok && IsGMSign(o) {
		uid := SM2UID(o)
		return sm2.CalculateSM2Hash(pub, input, uid)
	}
	if len(input) != 32 {
		return nil, Errorf(ErrInvalidInput, "sm2.Sign", "", nil,
			"SM2 digest must be 32 bytes (e = SM3(Z‖M)); got %d — pass sm2.DefaultSM2SignerOpts to sign a message", len(input))
	}
	return input, nil
}

// IsGMSign reports whether o asks for message signing (forceGMSign).
func IsGMSign(o *sm2.SM2SignerOption) bool {
	gm, _ := sm2Option(o)
	return gm
}

// SM2UID returns the user ID o carries for message signing.
func SM2UID(o *sm2.SM2SignerOption) []byte {
	_, uid := sm2Option(o)
	return uid
}

// DefaultUID is the GB/T 35276 default SM2 user ID "1234567812345678".
var DefaultUID = []byte("1234567812345678")

// sm2Option reads gmsm's private option fields (gmsm offers no accessor).
// If a later gmsm renames them, only sm2.DefaultSM2SignerOpts itself is
// recognised, and every other option means "digest" — TestSM2Option
// catches that change.
func sm2Option(o *sm2.SM2SignerOption) (gm bool, uid []byte) {
	if o == nil {
		return false, nil
	}
	if o == sm2.DefaultSM2SignerOpts {
		return true, DefaultUID
	}
	v := reflect.ValueOf(o).Elem()
	f, u := v.FieldByName("forceGMSign"), v.FieldByName("uid")
	if !f.IsValid() || f.Kind() != reflect.Bool || !u.IsValid() || u.Kind() != reflect.Slice {
		return false, nil
	}
	if !f.Bool() {
		return false, nil
	}
	uid = bytes.Clone(u.Bytes())
	if len(uid) == 0 {
		uid = DefaultUID
	}
	return true, uid
}
