package pki

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"time"

	"github.com/eseal/eseal/store"
)

// The CA's keys in its keyspace. Values are DER, 8-byte big-endian
// counters, or versioned JSON records.
var (
	keyVersion = []byte("version")  // "1"
	keyRoot    = []byte("ca/root")  // root certificate, DER
	keyMaker   = []byte("ca/maker") // seal-maker certificate, DER
	keySeq     = []byte("seq")      // last issued sequence number
	keyCRL     = []byte("crl/current")
	keyCRLNum  = []byte("crl/number")

	prefixCert   = "cert/"   // + serial hex -> certRecord
	prefixRev    = "rev/"    // + serial hex -> revRecord
	prefixImport = "import/" // + label + "/" + SHA-256 hex -> importRecord
)

const stateVersion = "1"

// Certificate kinds in the index.
const (
	KindRoot   = "root"
	KindMaker  = "maker"
	KindSigner = "signer"
)

type certRecord struct {
	V         int       `json:"v"`
	Seq       uint64    `json:"seq"`
	Kind      string    `json:"kind"`
	KeyLabel  string    `json:"key"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	DER       []byte    `json:"der"`
}

type revRecord struct {
	V      int       `json:"v"`
	Time   time.Time `json:"time"`
	Reason Reason    `json:"reason"`
}

type importRecord struct {
	V        int       `json:"v"`
	KeyLabel string    `json:"key"`
	DER      []byte    `json:"der"`
	Chain    [][]byte  `json:"chain,omitempty"`
	Imported time.Time `json:"imported"`
}

func serialKey(serial *big.Int) string { return hex.EncodeToString(serial.Bytes()) }

func certKey(serial *big.Int) []byte { return []byte(prefixCert + serialKey(serial)) }
func revKey(serial *big.Int) []byte  { return []byte(prefixRev + serialKey(serial)) }

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// getU64 reads a counter; absent means 0.
func getU64(ctx context.Context, kv store.KV, key []byte) (uint64, error) {
	b, err := kv.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, errors.New("counter " + string(key) + " is not 8 bytes")
	}
	return binary.BigEndian.Uint64(b), nil
}

func setJSON(b store.Batch, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Set(key, data)
}
