package verifier

import (
	"bytes"
	"path/filepath"
	"strings"

	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/ses"
)

// Kind tells what a file holds by its content: "ofd" (a ZIP package), "signature"
// (SES_Signature) or "seal" (SESeal). Unreadable DER is classed by its name's extension.
func Kind(name string, data []byte) string {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return "ofd"
	}
	if k := ses.Sniff(data); k != "" {
		return k
	}
	if bytes.Contains(data, []byte("PK\x05\x06")) { // a ZIP with bytes before it
		return "ofd"
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".ofd":
		return "ofd"
	case ".esl", ".seal":
		return "seal"
	}
	return "signature"
}

// VerifyFile verifies one file of any kind. original is the signed data for a bare
// signature (nil: data_hash is skipped); it is ignored for seals and OFD packages.
// The error is set only when a limit stops an OFD package from being checked.
func (v *Verifier) VerifyFile(name string, data, original []byte, lim ofd.Limits) (*Report, error) {
	kind := Kind(name, data)
	switch kind {
	case "ofd":
		r, err := v.VerifyOFD(data, lim)
		if err != nil {
			return nil, err
		}
		r.Path = name
		return r, nil
	case "seal":
		s, ind := v.VerifySeal(data)
		return limitReport(&Report{Path: name, Kind: kind, Indication: ind, Signatures: []SignatureReport{}, Seal: s,
			UnsignedFiles: []string{}, Warnings: []string{}}), nil
	}
	s := v.VerifySignature(data, original)
	s.ID = "1"
	return limitReport(&Report{Path: name, Kind: kind, Indication: s.Indication, Signatures: []SignatureReport{s},
		UnsignedFiles: []string{}, Warnings: []string{}}), nil
}
