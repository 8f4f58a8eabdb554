package audit

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

func sm2GenerateForTest() (*sm2.PrivateKey, error) { return sm2.GenerateKey(rand.Reader) }

// checkExport checks an export as an outside auditor would, knowing only the format: the
// hashes, the links, and the heads' signatures with the exported key.
func checkExport(t *testing.T, out []byte, records, heads int) {
	t.Helper()
	prev := hex.EncodeToString(make([]byte, 32))
	var nRec, nHead int
	keys := map[string][]byte{}
	hashes := map[uint64]string{}
	for i, raw := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var l struct {
			Type       string `json:"type"`
			Format     string `json:"format"`
			Version    int    `json:"version"`
			Seq        uint64 `json:"seq"`
			Time       string `json:"time"`
			Hash       string `json:"hash"`
			Prev       string `json:"prev"`
			StoredHash string `json:"stored_hash"`
			Key        string `json:"key"`
			Encoding   []byte `json:"encoding"`
			PublicKey  []byte `json:"public_key"`
			Signature  []byte `json:"signature"`
		}
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		switch l.Type {
		case "log":
			if i != 0 || l.Format != ExportFormat || l.Version != 1 {
				t.Fatalf("first line %s", raw)
			}
		case "key":
			keys[l.Key] = l.PublicKey
		case "record":
			nRec++
			h := sm3.Sum(l.Encoding)
			if hex.EncodeToString(h[:]) != l.Hash || l.Hash != l.StoredHash || l.Prev != prev {
				t.Fatalf("record %d: hash or link does not check: %s", l.Seq, raw)
			}
			prev = l.Hash
			hashes[l.Seq] = l.Hash
		case "head":
			nHead++
			pub, err := smx509.ParsePKIXPublicKey(keys[l.Key])
			if err != nil {
				t.Fatalf("head %d: key: %v", l.Seq, err)
			}
			if hashes[l.Seq] != l.Hash {
				t.Fatalf("head %d does not follow its record", l.Seq)
			}
			hd := Head{Seq: Seq(l.Seq), Signature: l.Signature}
			hb, _ := hex.DecodeString(l.Hash)
			copy(hd.Hash[:], hb)
			kb, _ := hex.DecodeString(l.Key)
			copy(hd.Key[:], kb)
			if hd.Time, err = time.Parse(time.RFC3339Nano, l.Time); err != nil {
				t.Fatal(err)
			}
			k, err := sm2Public(pub)
			if err != nil || !verifyHead(&hd, k) {
				t.Fatalf("head %d: signature does not verify from the export (%v)", l.Seq, err)
			}
		case "tail":
			if l.Hash != prev {
				t.Fatal("tail is not the last record")
			}
		default:
			t.Fatalf("line %d: type %q", i+1, l.Type)
		}
	}
	if nRec != records || nHead != heads {
		t.Fatalf("%d records and %d heads exported, want %d and %d", nRec, nHead, records, heads)
	}
}
