package revocation

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// recordVersion is the first byte of a kept record.
const recordVersion = 1

// A record kept under the SM3 digest of the issuer's certificate is
//
//	version (1 byte) | uvarint length of the issuer's certificate | certificate DER | CRL DER
//
// The certificate is kept so that the CRL can be checked again when it is loaded.
func encodeRecord(issuerDER, crlDER []byte) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(issuerDER)+len(crlDER))
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(len(issuerDER)))
	b = append(b, issuerDER...)
	return append(b, crlDER...)
}

func decodeRecord(v []byte) (issuerDER, crlDER []byte, err error) {
	if len(v) == 0 || v[0] != recordVersion {
		return nil, nil, errors.New("unknown record version")
	}
	n, w := binary.Uvarint(v[1:])
	if w <= 0 || n > uint64(len(v)-1-w) {
		return nil, nil, errors.New("bad certificate length")
	}
	rest := v[1+w:]
	return rest[:n], rest[n:], nil
}

// load reads the records kept in the store into memory, checking each again as if it had
// been fetched. Records that fail are skipped, with a log line.
func (f *Fetcher) load(ctx context.Context) error {
	return f.kv.Scan(ctx, nil, func(k, v []byte) error {
		h, err := readRecord(k, bytes.Clone(v))
		if err != nil {
			f.log.Warn("kept CRL skipped", "key", hex.EncodeToString(k), "error", err)
			return nil
		}
		f.held[[32]byte(k)] = h
		return nil
	})
}

func readRecord(k, v []byte) (*heldCRL, error) {
	if len(k) != 32 {
		return nil, errors.New("the key is not an SM3 digest")
	}
	issuerDER, crlDER, err := decodeRecord(v)
	if err != nil {
		return nil, err
	}
	if sm3.Sum(issuerDER) != [32]byte(k) {
		return nil, errors.New("the certificate kept is not the one of the key")
	}
	issuer, err := smx509.ParseCertificate(issuerDER)
	if err != nil {
		return nil, err
	}
	l, err := parseCRL(crlDER)
	if err == nil {
		err = checkCRL(l, issuer)
	}
	if err != nil {
		return nil, err
	}
	return &heldCRL{issuer: issuer, crl: l}, nil
}
