package signer

// MaxLabelLen is the longest label accepted.
const MaxLabelLen = 128

// ValidLabel reports whether label is acceptable as a key label: 1..128
// bytes of printable ASCII (0x21..0x7e) without '/'.
func ValidLabel(label string) bool {
	if len(label) == 0 || len(label) > MaxLabelLen {
		return false
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if c < 0x21 || c > 0x7e || c == '/' {
			return false
		}
	}
	return true
}

// CheckLabel returns an ErrInvalidInput error when label is not valid.
func CheckLabel(op, label string) error {
	if ValidLabel(label) {
		return nil
	}
	// Do not echo arbitrary bytes back; give the length only.
	return Errorf(ErrInvalidInput, op, "", nil, "label must be 1..%d printable ASCII bytes without '/' (got %d bytes)", MaxLabelLen, len(label))
}
