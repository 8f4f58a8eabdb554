package ses

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OIDs of the algorithms the formats use.
var (
	OIDSM3WithSM2 = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501}
	OIDSM3        = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
)

// DefaultUID is the SM2 distinguishing identifier that every producer uses.
var DefaultUID = []byte("1234567812345678")

// SigEncoding says how an SM2 signature value was written.
type SigEncoding string

// Encodings of SM2 signature values met in the wild. Only DER is ever emitted.
const (
	EncDER        SigEncoding = "DER"
	EncRawRS      SigEncoding = "raw r||s"
	EncLenientDER SigEncoding = "DER with non-minimal or negative INTEGERs"
)

// SM2Value is a decoded SM2 signature value: r and s left-padded to 32 bytes.
type SM2Value struct {
	R, S     [32]byte
	Encoding SigEncoding
	quirks   []string // what exactly was lenient, for Note
}

// DER returns the strict DER SM2Signature.
func (v SM2Value) DER() []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		addUnsigned(b, v.R[:])
		addUnsigned(b, v.S[:])
	})
	out, _ := b.Bytes() // cannot fail: no errors set in the builder
	return out
}

func addUnsigned(b *cryptobyte.Builder, v []byte) {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) {
		if v[0]&0x80 != 0 {
			b.AddUint8(0)
		}
		b.AddBytes(v)
	})
}

// Note describes an accepted deviation, in words for the report.
func (v SM2Value) Note() string {
	switch v.Encoding {
	case EncRawRS:
		return "signature is 64 raw bytes, accepted as r||s"
	case EncLenientDER:
		return "signature is DER with " + strings.Join(v.quirks, " and ") + ", accepted (never written by this software)"
	}
	return ""
}

// DecodeSM2Value accepts the signature encodings met in the wild: strict DER
// SEQUENCE{r, s}; raw 64-byte r||s; DER whose INTEGERs carry extra leading zeros or are
// negative (read as unsigned). Only strict DER is ever emitted (DER, SignSM2).
func DecodeSM2Value(sig []byte) (SM2Value, error) {
	if len(sig) == 64 && sig[0] != 0x30 {
		var v SM2Value
		copy(v.R[:], sig[:32])
		copy(v.S[:], sig[32:])
		v.Encoding = EncRawRS
		return v, checkRange(v)
	}
	v, err := decodeDER(sig)
	if err != nil && len(sig) == 64 {
		// 64 bytes opening with 0x30 that are no DER: raw r||s whose r happens to start so.
		v = SM2Value{Encoding: EncRawRS}
		copy(v.R[:], sig[:32])
		copy(v.S[:], sig[32:])
		return v, checkRange(v)
	}
	return v, err
}

// decodeDER reads SEQUENCE{INTEGER r, INTEGER s}. A negative INTEGER (top bit set, no 00
// pad: a producer that forgot the sign) is read as its unsigned magnitude, and extra
// leading zeros are skipped; both are named in the value's note. The value is still
// checked by the signature verification, which decides.
func decodeDER(sig []byte) (SM2Value, error) {
	var v SM2Value
	e, rest, err := readOne(sig, "SM2 signature")
	if err != nil {
		return v, err
	}
	if len(rest) != 0 {
		return v, fmt.Errorf("SM2 signature: %d bytes after the SEQUENCE", len(rest))
	}
	kids, err := e.sequence("SM2 signature")
	if err != nil {
		return v, err
	}
	if len(kids) != 2 || kids[0].tag != cbasn1.INTEGER || kids[1].tag != cbasn1.INTEGER {
		return v, errors.New("SM2 signature: expected SEQUENCE{INTEGER r, INTEGER s}")
	}
	v.Encoding = EncDER
	for i, dst := range [][]byte{v.R[:], v.S[:]} {
		c := kids[i].content
		name := [2]string{"r", "s"}[i]
		if len(c) == 0 {
			return v, fmt.Errorf("SM2 signature: INTEGER %s is empty", name)
		}
		if c[0]&0x80 != 0 {
			v.Encoding = EncLenientDER
			v.quirks = append(v.quirks, "a negative INTEGER "+name+" read as unsigned")
		}
		if len(c) > 1 && c[0] == 0 && c[1]&0x80 == 0 {
			v.Encoding = EncLenientDER
			v.quirks = append(v.quirks, "a non-minimal INTEGER "+name)
		}
		for len(c) > 0 && c[0] == 0 {
			c = c[1:]
		}
		if len(c) > 32 {
			return v, errors.New("SM2 signature: r or s longer than 32 bytes")
		}
		copy(dst[32-len(c):], c)
	}
	return v, checkRange(v)
}

func checkRange(v SM2Value) error {
	var zero [32]byte
	if v.R == zero || v.S == zero {
		return errors.New("SM2 signature: r or s is zero")
	}
	return nil
}

// SM2Digest returns e = SM3(Z || msg) for pub with the default distinguishing ID.
func SM2Digest(pub *ecdsa.PublicKey, msg []byte) ([]byte, error) {
	return sm2.CalculateSM2Hash(pub, msg, DefaultUID)
}

// VerifySM2 checks an SM2 signature value of msg (SM3 with the default ID), in any accepted encoding.
func VerifySM2(pub *ecdsa.PublicKey, msg, sig []byte) (SM2Value, bool, error) {
	v, err := DecodeSM2Value(sig)
	if err != nil {
		return v, false, err
	}
	e, err := SM2Digest(pub, msg)
	if err != nil {
		return v, false, err
	}
	return v, sm2.VerifyASN1(pub, e, v.DER()), nil
}

// SignSM2 asks signer for an SM2 signature of msg with SM3 and the default ID and returns it
// as strict DER. A signer that implements crypto.MessageSigner gets the message; any other
// crypto.Signer is called with sm2.DefaultSM2SignerOpts, gmsm's convention for "msg is the
// message, hash it with Z". Raw r||s output from a device is converted to DER.
func SignSM2(rand io.Reader, signer crypto.Signer, msg []byte) ([]byte, error) {
	var sig []byte
	var err error
	if ms, ok := signer.(crypto.MessageSigner); ok {
		sig, err = ms.SignMessage(rand, msg, sm2.DefaultSM2SignerOpts)
	} else {
		sig, err = signer.Sign(rand, msg, sm2.DefaultSM2SignerOpts)
	}
	if err != nil {
		return nil, err
	}
	return strictDER(sig)
}

// strictDER returns a signer's SM2 signature as strict DER (a device may answer raw r||s).
func strictDER(sig []byte) ([]byte, error) {
	v, err := DecodeSM2Value(sig)
	if err != nil {
		return nil, fmt.Errorf("signer returned an unusable signature: %w", err)
	}
	if v.Encoding == EncDER {
		return sig, nil
	}
	return v.DER(), nil
}
