package audit

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/store"
)

// testKey is one SM2 head key for all the tests of the package.
var testKey = func() *sm2.PrivateKey {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}()

func openStore(t testing.TB, noSync bool) (*store.Pebble, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	db, err := store.Open(dir, &store.Options{NoSync: noSync})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dir
}

func openLog(t testing.TB, kv store.KV, opts Options) *Log {
	t.Helper()
	if opts.HeadSigner == nil {
		opts.HeadSigner = testKey
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	lg, err := Open(context.Background(), kv, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	return lg
}

// sigValue is a stand-in signature value for record i.
func sigValue(i int) [sm3.Size]byte {
	return sm3.Sum(fmt.Appendf(nil, "signature value %d", i))
}

func useRecord(i int) Record {
	v := sigValue(i)
	d := sm3.Sum(binary.BigEndian.AppendUint64(nil, uint64(i)))
	return Record{Actor: fmt.Sprintf("oa-system-%d", i%7), Action: ActionSign, SealCode: "460100000001",
		Digest: d[:], SignatureSM3: v[:], Outcome: OutcomeOK, Details: map[string]string{"request": fmt.Sprint(i)}}
}

// appendN appends records 0..n-1 (use records) and checks their sequence numbers.
func appendN(t testing.TB, lg *Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := lg.Append(context.Background(), useRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// rawRecord reads the stored value of record s.
func rawRecord(t testing.TB, kv store.KV, s Seq) []byte {
	t.Helper()
	v, err := newView(kv).sp.Get(context.Background(), recKey(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func setRaw(t testing.TB, kv store.KV, key, v []byte) {
	t.Helper()
	if err := newView(kv).sp.Set(context.Background(), key, v); err != nil {
		t.Fatal(err)
	}
}

func delRaw(t testing.TB, kv store.KV, key []byte) {
	t.Helper()
	if err := newView(kv).sp.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
}

// rewrite decodes record s, lets edit change it, and stores it again with a recomputed hash
// (an intruder who knows the format).
func rewrite(t testing.TB, kv store.KV, s Seq, edit func(r *Record)) {
	t.Helper()
	enc, _, err := splitStored(rawRecord(t, kv, s))
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeRecord(enc)
	if err != nil {
		t.Fatal(err)
	}
	edit(&r)
	enc = r.Encode()
	setRaw(t, kv, recKey(s), storedRecord(enc, sm3.Sum(enc)))
}
