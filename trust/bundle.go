package trust

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/crypto/cryptobyte"
	cryptobyte_asn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var pemBegin = []byte("-----BEGIN ")

// ParseBundle splits a bundle of certificates into their DER encodings without parsing
// them (Put does that). A bundle is PEM, blocks of type CERTIFICATE without headers and
// nothing but white space around them, or DER, certificates one after another. An empty
// or all-white-space bundle holds no certificate. The bundle may hold at most
// limits.MaxBundleBytes bytes and limits.MaxCerts certificates (zero fields: the defaults).
// Errors are of kind ErrMalformed or ErrLimitExceeded and say where the bundle goes wrong;
// they never quote what a PEM block holds.
func ParseBundle(data []byte, limits Limits) ([][]byte, error) {
	return limits.withDefaults().parseBundle("trust.ParseBundle", "", "bundle", data)
}

// parseBundle is ParseBundle for the set name, naming the bundle what in errors.
func (l Limits) parseBundle(op, name, what string, data []byte) ([][]byte, error) {
	if len(data) > l.MaxBundleBytes {
		return nil, errorf(ErrLimitExceeded, op, name, what, nil, "%d bytes, at most %d allowed", len(data), l.MaxBundleBytes)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return nil, nil
	case bytes.HasPrefix(trimmed, pemBegin):
		return l.parsePEM(op, name, what, data)
	case data[0] == 0x30:
		return l.parseDER(op, name, what, data)
	}
	return nil, errorf(ErrMalformed, op, name, what, nil, "neither PEM (-----BEGIN CERTIFICATE-----) nor DER certificates")
}

func (l Limits) parsePEM(op, name, what string, data []byte) ([][]byte, error) {
	var out [][]byte
	rest := data
	for n := 0; ; n++ {
		at := len(data) - len(rest)
		trimmed := bytes.TrimLeft(rest, " \t\r\n")
		at += len(rest) - len(trimmed)
		rest = trimmed
		if len(rest) == 0 {
			return out, nil
		}
		if !bytes.HasPrefix(rest, pemBegin) {
			return nil, errorf(ErrMalformed, op, name, what, nil, "text outside PEM blocks at byte %d (after %d blocks)", at, n)
		}
		block, next := pem.Decode(rest)
		// pem.Decode skips a broken block and returns the next good one: a block taken
		// whole holds exactly one BEGIN line, its own.
		if block == nil || bytes.Count(rest[:len(rest)-len(next)], pemBegin) != 1 {
			return nil, errorf(ErrMalformed, op, name, what, nil, "PEM block %d at byte %d is broken (no matching END line, or bad base64)", n+1, at)
		}
		if block.Type != "CERTIFICATE" {
			return nil, errorf(ErrMalformed, op, name, what, nil, "PEM block %d at byte %d is of type %q, not CERTIFICATE", n+1, at, nameOf(clip(block.Type, 40)))
		}
		if len(block.Headers) != 0 {
			return nil, errorf(ErrMalformed, op, name, what, nil, "PEM block %d at byte %d has headers; a certificate's has none", n+1, at)
		}
		if len(block.Bytes) == 0 {
			return nil, errorf(ErrMalformed, op, name, what, nil, "PEM block %d at byte %d is empty", n+1, at)
		}
		if len(out) == l.MaxCerts {
			return nil, errorf(ErrLimitExceeded, op, name, what, nil, "more than %d certificates", l.MaxCerts)
		}
		out = append(out, block.Bytes)
		rest = next
	}
}

func (l Limits) parseDER(op, name, what string, data []byte) ([][]byte, error) {
	var out [][]byte
	s := cryptobyte.String(data)
	for len(s) > 0 {
		at := len(data) - len(s)
		var elem cryptobyte.String
		if !s.ReadASN1Element(&elem, cryptobyte_asn1.SEQUENCE) {
			return nil, errorf(ErrMalformed, op, name, what, nil, "the bytes at %d (after %d certificates) are not a DER SEQUENCE", at, len(out))
		}
		if len(out) == l.MaxCerts {
			return nil, errorf(ErrLimitExceeded, op, name, what, nil, "more than %d certificates", l.MaxCerts)
		}
		out = append(out, bytes.Clone(elem))
	}
	return out, nil
}

// readFile reads a bundle file named in the configuration, at most l.MaxBundleBytes.
func (l Limits) readFile(op, name, what, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errorf(ErrConfig, op, name, what, err, "the file does not exist")
		}
		return nil, errorf(ErrConfig, op, name, what, err, "the file cannot be opened")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(l.MaxBundleBytes)+1))
	if err != nil {
		return nil, errorf(ErrConfig, op, name, what, err, "reading the file")
	}
	if len(data) > l.MaxBundleBytes {
		return nil, errorf(ErrLimitExceeded, op, name, what, nil, "more than %d bytes", l.MaxBundleBytes)
	}
	return data, nil
}

// PutPEM is Put with each list given as a bundle (see ParseBundle), as configuration
// files and the HTTP API give them. A nil or empty bundle gives an empty list. Errors
// name a certificate by its place in its bundle ("makers[2]": the third of the makers).
func (s *Sets) PutPEM(ctx context.Context, name string, roots, intermediates, makers []byte) (uint64, error) {
	const op = "trust.PutPEM"
	return s.putBundles(ctx, op, name, [nLists][]byte{roots, intermediates, makers}, nil)
}

// LoadFiles is PutPEM with the bundles read from files, as the configuration names them;
// an empty file name gives an empty list. Each file may hold at most
// Limits.MaxBundleBytes. A file that cannot be read is an error of kind ErrConfig; errors
// name the file.
func (s *Sets) LoadFiles(ctx context.Context, name, rootsFile, intermediatesFile, makersFile string) (uint64, error) {
	const op = "trust.LoadFiles"
	if err := checkName(op, name); err != nil {
		return 0, err
	}
	var bundles [nLists][]byte
	var src [nLists]string
	for li, path := range [nLists]string{rootsFile, intermediatesFile, makersFile} {
		if path == "" {
			continue
		}
		src[li] = fmt.Sprintf("file %s", path)
		data, err := s.lim.readFile(op, name, listNames[li]+" "+src[li], path)
		if err != nil {
			return 0, err
		}
		bundles[li] = data
	}
	return s.putBundles(ctx, op, name, bundles, &src)
}

func (s *Sets) putBundles(ctx context.Context, op, name string, bundles [nLists][]byte, src *[nLists]string) (uint64, error) {
	if err := checkName(op, name); err != nil {
		return 0, err
	}
	var lists [nLists][][]byte
	for li, b := range bundles {
		what := listNames[li] + " bundle"
		if src != nil && src[li] != "" {
			what = listNames[li] + " " + src[li]
		}
		ders, err := s.lim.parseBundle(op, name, what, b)
		if err != nil {
			return 0, err
		}
		lists[li] = ders
	}
	in := TrustSetInput{Roots: lists[listRoots], Intermediates: lists[listIntermediates], Makers: lists[listMakers]}
	return s.put(ctx, op, name, in, src)
}
