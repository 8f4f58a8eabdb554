package verifier

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/eseal/eseal/ofd"
)

// Bounds on the size of one report, whatever the package holds. The number of signatures
// is bounded by ofd.Limits.MaxSignatures.
const (
	// MaxDetail is the longest detail of one check, in bytes; longer ones are cut.
	MaxDetail = 2048
	// MaxListed is the most entries listed in unsigned_files and in warnings.
	MaxListed = 1000
	// maxListedBytes bounds the bytes of the names listed in unsigned_files.
	maxListedBytes = 256 << 10
)

// openFailure turns an error from opening a package into a report whose format fails, unless
// a limit stopped the reading: then nothing was shown about the package, and the error is
// returned.
func openFailure(err error) (*Report, error) {
	if errors.Is(err, ofd.ErrLimit) {
		return nil, err
	}
	return limitReport(packageFailure(err)), nil
}

// limitReport cuts the report down to the bounds above, saying what was left out.
func limitReport(r *Report) *Report {
	for i := range r.Signatures {
		cutDetails(r.Signatures[i].Checks)
		if s := r.Signatures[i].Seal; s != nil {
			cutDetails(s.Checks)
		}
	}
	if r.Seal != nil {
		cutDetails(r.Seal.Checks)
	}
	var extra []string
	if n, size := len(r.UnsignedFiles), 0; n > 0 {
		for i, f := range r.UnsignedFiles {
			size += len(f)
			if i == MaxListed || size > maxListedBytes {
				extra = append(extra, fmt.Sprintf("%d more unsigned files are not listed (the report lists at most %d)", n-i, i))
				r.UnsignedFiles = r.UnsignedFiles[:i]
				break
			}
		}
	}
	for i := range r.Warnings {
		r.Warnings[i] = cut(r.Warnings[i])
	}
	if len(r.Warnings) > MaxListed {
		extra = append(extra, fmt.Sprintf("%d more warnings are not listed", len(r.Warnings)-MaxListed))
		r.Warnings = r.Warnings[:MaxListed]
	}
	r.Warnings = append(r.Warnings, extra...)
	return r
}

func cutDetails(list []Check) {
	for i := range list {
		list[i].Detail = cut(list[i].Detail)
	}
}

// cut shortens s to at most MaxDetail bytes, on a character boundary, saying how much was cut.
func cut(s string) string {
	if len(s) <= MaxDetail {
		return s
	}
	n := MaxDetail - 40
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%s … (%d more bytes)", s[:n], len(s)-n)
}
