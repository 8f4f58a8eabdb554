package audit

import (
	"context"
	"crypto"
	"crypto/rand"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/store"
)

// storedHash returns the hash stored with record s.
func storedHash(t *testing.T, kv store.KV, s Seq) Hash {
	t.Helper()
	_, h, err := splitStored(rawRecord(t, kv, s))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// swapUnsignedTail is an intruder with the data directory of a stopped appliance: it deletes
// the last signed head, puts its own signature's SM3 into record 35 (keeping the record's
// time, before any revocation), links records 36..40 again, moves the tail marker and the
// signature index. Only the end after head 30 changed, so Open finds nothing wrong.
func swapUnsignedTail(t *testing.T, db store.KV, forged [32]byte) {
	t.Helper()
	delRaw(t, db, headKey(40))
	rewrite(t, db, 35, func(r *Record) { r.SignatureSM3 = forged[:] })
	for s := Seq(36); s <= 40; s++ {
		prev := storedHash(t, db, s-1)
		rewrite(t, db, s, func(r *Record) { r.Prev = prev })
	}
	setRaw(t, db, tailKey, tailValue(40, storedHash(t, db, 40)))
	setRaw(t, db, sigKey(forged[:]), []byte{0, 0, 0, 0, 0, 0, 0, 35})
}

// TestAuditProofAttackUnsignedTail: records found after the last signed head when the log
// opens were not signed by anyone; the log's next head would vouch for them as if it had
// written them. Their proof of existence is the time the log found them, never the time
// they claim, in this process and in every one after (the record naming them is chained).
func TestAuditProofAttackUnsignedTail(t *testing.T) {
	db := tamperLog(t)
	r35, err := newView(db).record(context.Background(), 35)
	if err != nil {
		t.Fatal(err)
	}
	forged := sigValue(999)
	swapUnsignedTail(t, db, forged)

	opened := time.Now()
	lg := openLog(t, db, Options{HeadEvery: 10})
	check := func(when string) {
		t.Helper()
		tm, src, ok, err := lg.ProveExistence(forged)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if ok && tm.Before(opened) {
			t.Fatalf("%s: a record found unsigned at open proves the signature at %s (%s), before the log found it at %s (record 35 was written at %s)",
				when, tm, src, opened, r35.Time)
		}
	}
	check("after open")
	appendN(t, lg, 1000, 12) // a head is signed over the found records
	check("after a new head")
	// Records signed before are proven at their own time still.
	r5, _ := lg.Record(context.Background(), 5)
	if tm, _, ok, err := lg.ProveExistence(sigValue(4)); !ok || err != nil || !tm.Equal(r5.Time) {
		t.Fatalf("record 5 under head 10: %v %v %v", tm, ok, err)
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	lg = openLog(t, db, Options{HeadEvery: 10})
	check("after reopening")
	if rep, err := lg.Verify(context.Background()); err != nil || !rep.OK() {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

// TestAuditProofAttackUnsignedTailAppended: an intruder appends a backdated record after the
// last head and moves the tail marker.
func TestAuditProofAttackUnsignedTailAppended(t *testing.T) {
	db := tamperLog(t)
	forged := sigValue(998)
	prev := storedHash(t, db, 40)
	r := useRecord(998)
	r.Seq, r.Prev = 41, prev
	r40, _ := newView(db).record(context.Background(), 40)
	r.Time = r40.Time.Add(-time.Hour)
	enc := r.Encode()
	h := Hash(sm3.Sum(enc))
	setRaw(t, db, recKey(41), storedRecord(enc, h))
	setRaw(t, db, tailKey, tailValue(41, h))
	setRaw(t, db, sigKey(forged[:]), []byte{0, 0, 0, 0, 0, 0, 0, 41})

	opened := time.Now()
	lg := openLog(t, db, Options{HeadEvery: 10})
	if tm, _, ok, err := lg.ProveExistence(forged); err != nil || ok && tm.Before(opened) {
		t.Fatalf("a record appended by an intruder proves the signature at %s (%v %v)", tm, ok, err)
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	lg = openLog(t, db, Options{HeadEvery: 10})
	if tm, _, ok, err := lg.ProveExistence(forged); err != nil || ok && tm.Before(opened) {
		t.Fatalf("after reopening, a record appended by an intruder proves the signature at %s (%v %v)", tm, ok, err)
	}
}

// TestAuditUnsignedFoundReserved: callers cannot write the record the log writes for an
// unsigned end it found.
func TestAuditUnsignedFoundReserved(t *testing.T) {
	db, _ := openStore(t, true)
	lg := openLog(t, db, Options{})
	rec := Record{Actor: "x", Action: ActionUnsignedFound, Outcome: OutcomeOK, Details: map[string]string{"from": "1", "to": "1"}}
	if _, err := lg.Append(context.Background(), rec); err == nil {
		t.Fatal("a caller wrote an unsigned-found record")
	}
	if _, err := lg.AppendAll(context.Background(), []Record{rec}); err == nil {
		t.Fatal("a caller wrote an unsigned-found record in a bulk append")
	}
}

// TestAuditProofAttackUntrustedHead: records under heads signed by a key that is no longer
// trusted (an earlier head key left out of HeadKeys) prove nothing; those under the trusted
// key's heads still do.
func TestAuditProofAttackUntrustedHead(t *testing.T) {
	db, _ := openStore(t, true)
	lg := openLog(t, db, Options{HeadEvery: 10})
	appendN(t, lg, 0, 20)
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	other, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	lg = openLog(t, db, Options{HeadSigner: other, HeadKeys: []crypto.PublicKey{testKey.Public()}, HeadEvery: 10})
	appendN(t, lg, 20, 20)
	if _, _, ok, err := lg.ProveExistence(sigValue(4)); !ok || err != nil {
		t.Fatalf("with the earlier key trusted: %v %v", ok, err)
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	lg = openLog(t, db, Options{HeadSigner: other, HeadEvery: 10})
	if _, _, ok, err := lg.ProveExistence(sigValue(4)); ok || err != nil {
		t.Fatalf("a record under a head of a key no longer trusted is proved: %v %v", ok, err)
	}
	if _, _, ok, err := lg.ProveExistence(sigValue(34)); !ok || err != nil {
		t.Fatalf("a record under a trusted head: %v %v", ok, err)
	}
}
