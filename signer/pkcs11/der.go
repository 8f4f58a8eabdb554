package pkcs11

import "errors"

// rawToDER turns r‖s (two equal halves, big-endian) into DER
// SEQUENCE{INTEGER r, INTEGER s}. Hand-written: this runs once per
// signature and encoding/asn1 with big.Int costs microseconds.
func rawToDER(sig []byte) ([]byte, error) {
	if len(sig) == 0 || len(sig)%2 != 0 || len(sig) > 2*66 {
		return nil, errors.New("r||s signature has odd or bad length")
	}
	r, s := trimInt(sig[:len(sig)/2]), trimInt(sig[len(sig)/2:])
	if r == nil || s == nil {
		return nil, errors.New("r or s is zero")
	}
	lr, ls := intLen(r), intLen(s)
	body := 2 + lr + 2 + ls
	if lr > 127 || ls > 127 || body > 255 {
		return nil, errors.New("signature too long")
	}
	out := make([]byte, 0, 3+body)
	out = append(out, 0x30)
	if body > 127 {
		out = append(out, 0x81)
	}
	out = append(out, byte(body))
	out = appendInt(out, r)
	out = appendInt(out, s)
	return out, nil
}

func trimInt(b []byte) []byte {
	for len(b) > 0 && b[0] == 0 {
		b = b[1:]
	}
	if len(b) == 0 {
		return nil
	}
	return b
}

func intLen(b []byte) int {
	if b[0]&0x80 != 0 {
		return len(b) + 1
	}
	return len(b)
}

func appendInt(out, b []byte) []byte {
	out = append(out, 0x02, byte(intLen(b)))
	if b[0]&0x80 != 0 {
		out = append(out, 0)
	}
	return append(out, b...)
}

// checkDER reports whether sig is exactly one DER SEQUENCE of two positive,
// minimally encoded INTEGERs of at most 66 bytes each.
func checkDER(sig []byte) bool {
	if len(sig) < 8 || sig[0] != 0x30 {
		return false
	}
	n, hdr := int(sig[1]), 2
	if sig[1] == 0x81 {
		if len(sig) < 3 || sig[2] < 0x80 {
			return false
		}
		n, hdr = int(sig[2]), 3
	} else if sig[1] >= 0x80 {
		return false
	}
	if hdr+n != len(sig) {
		return false
	}
	rest := sig[hdr:]
	for range 2 {
		if len(rest) < 3 || rest[0] != 0x02 || rest[1] >= 0x80 {
			return false
		}
		l := int(rest[1])
		if l == 0 || l > 67 || len(rest) < 2+l {
			return false
		}
		v := rest[2 : 2+l]
		if v[0]&0x80 != 0 { // negative
			return false
		}
		if v[0] == 0 && (l == 1 || v[1]&0x80 == 0) { // zero or not minimal
			return false
		}
		rest = rest[2+l:]
	}
	return len(rest) == 0
}
