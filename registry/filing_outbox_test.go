package registry

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/store"
)

// filingCommit commits writes in one batch, as a lifecycle step does.
func filingCommit(t testing.TB, kv store.KV, writes []audit.Write) {
	t.Helper()
	b := kv.NewBatch()
	defer b.Close()
	for _, w := range writes {
		var err error
		if w.Delete {
			err = b.Delete(w.Key)
		} else {
			err = b.Set(w.Key, w.Value)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// filingOutbox opens an outbox with opts on a new store.
func filingOutbox(t testing.TB, opts OutboxOptions) (*store.Pebble, *Outbox) {
	t.Helper()
	db := filingStore(t)
	ob, err := NewOutbox(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return db, ob
}

// filingOneEvent opens an outbox on a new store and commits the writes of one "made" event
// of seal S1, which it returns.
func filingOneEvent(t testing.TB) (*store.Pebble, *Outbox, []audit.Write) {
	t.Helper()
	db, ob := filingOutbox(t, OutboxOptions{})
	w, err := ob.EventWrites(context.Background(), Event{Kind: "made", SealCode: "S1", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	filingCommit(t, db, w)
	return db, ob, w
}

// filingExport exports target and decodes the lines.
func filingExport(t testing.TB, ob *Outbox, target OutboxTarget) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	n, err := ob.Export(context.Background(), &buf, target)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	if n != len(out) {
		t.Fatalf("Export said %d records, wrote %d", n, len(out))
	}
	return out
}

func filingClock(start time.Time) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return t // a clock that stands still: ids must still grow
	}
}

func TestOutboxEventsExportAck(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	db, ob := filingOutbox(t, OutboxOptions{Now: filingClock(at)})
	events := []Event{
		{Kind: "made", SealCode: "4601000012345", Time: at, Fields: map[string]string{"org": "海南省大数据管理局", "seal_kind": "official"}},
		{Kind: "suspended", SealCode: "4601000012345", Time: at.Add(time.Hour), Fields: map[string]string{"reason": "lost carrier"}},
		{Kind: "revoked", SealCode: "460100A000001", Time: at.Add(2 * time.Hour)},
	}
	// The second and third event go in one batch, as a change does.
	w0, err := ob.EventWrites(ctx, events[0])
	if err != nil {
		t.Fatal(err)
	}
	filingCommit(t, db, w0)
	w1, err := ob.EventWrites(ctx, events[1])
	if err != nil {
		t.Fatal(err)
	}
	w2, err := ob.EventWrites(ctx, events[2])
	if err != nil {
		t.Fatal(err)
	}
	filingCommit(t, db, append(w1, w2...))
	for _, w := range slices.Concat(w0, w1, w2) {
		if !bytes.HasPrefix(w.Key, []byte("reg/outbox/")) || w.Delete {
			t.Fatalf("write %q outside reg/outbox/ or a delete", w.Key)
		}
	}

	var ids []string
	for _, target := range OutboxTargets {
		recs := filingExport(t, ob, target)
		if len(recs) != 3 {
			t.Fatalf("%s: %d records, want 3", target, len(recs))
		}
		var got []string
		for i, r := range recs {
			ev := events[i]
			if r["version"] != 1.0 || r["target"] != string(target) || r["kind"] != ev.Kind || r["seal"] != ev.SealCode ||
				r["time"] != ev.Time.Format(time.RFC3339Nano) || r["recorded"] != at.Format(time.RFC3339Nano) {
				t.Errorf("%s record %d = %v", target, i, r)
			}
			f, _ := r["fields"].(map[string]any)
			if len(f) != len(ev.Fields) {
				t.Errorf("%s record %d fields = %v, want %v", target, i, f, ev.Fields)
			}
			for k, v := range ev.Fields {
				if f[k] != v {
					t.Errorf("%s record %d field %s = %v, want %s", target, i, k, f[k], v)
				}
			}
			got = append(got, r["id"].(string))
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != 3 {
			t.Fatalf("ids not strictly increasing: %v", got)
		}
		if ids == nil {
			ids = got
		} else if !slices.Equal(ids, got) {
			t.Fatalf("targets got different ids: %v and %v", ids, got)
		}
	}

	// Deliver two police records; the national ones stay pending.
	ack, err := ob.MarkDelivered(ctx, OutboxPolice, ids[:2])
	if err != nil || ack != (OutboxAck{Marked: 2}) {
		t.Fatalf("MarkDelivered = %+v, %v", ack, err)
	}
	if recs := filingExport(t, ob, OutboxPolice); len(recs) != 1 || recs[0]["id"] != ids[2] {
		t.Fatalf("police after ack: %v", recs)
	}
	if recs := filingExport(t, ob, OutboxNational); len(recs) != 3 {
		t.Fatalf("national after police ack: %d records", len(recs))
	}
	// Again, with the last: two already, one new.
	ack, err = ob.MarkDelivered(ctx, OutboxPolice, ids)
	if err != nil || ack != (OutboxAck{Marked: 1, Already: 2}) {
		t.Fatalf("MarkDelivered again = %+v, %v", ack, err)
	}
	if recs := filingExport(t, ob, OutboxPolice); len(recs) != 0 {
		t.Fatalf("police after full ack: %v", recs)
	}
	d, err := ob.Delivery(ctx, OutboxPolice, ids[0])
	if err != nil || d.Pending || !d.Delivered.Equal(at) {
		t.Fatalf("Delivery = %+v, %v", d, err)
	}
	if d, err := ob.Delivery(ctx, OutboxNational, ids[0]); err != nil || !d.Pending {
		t.Fatalf("national Delivery = %+v, %v", d, err)
	}
	// Nothing was deleted: every record is still in the store as written.
	for _, w := range slices.Concat(w0, w1, w2) {
		if bytes.Contains(w.Key, []byte("/r/")) {
			v, err := db.Get(ctx, w.Key)
			if err != nil || !bytes.Equal(v, w.Value) {
				t.Fatalf("record %q after delivery: %v", w.Key, err)
			}
		}
	}
}

func TestOutboxAckRefusals(t *testing.T) {
	ctx := context.Background()
	_, ob, _ := filingOneEvent(t)
	id := filingExport(t, ob, OutboxNational)[0]["id"].(string)
	missing := "0000000000000001-00000000"
	tests := []struct {
		name   string
		target OutboxTarget
		ids    []string
		kind   errs.Kind
	}{
		{"unknown target", "tax", []string{id}, errs.InvalidInput},
		{"bad id", OutboxNational, []string{id, "../../x"}, errs.InvalidInput},
		{"upper-case id", OutboxNational, []string{strings.ToUpper(id)}, errs.InvalidInput},
		{"no such record", OutboxNational, []string{id, missing}, errs.NotFound},
		{"too many", OutboxNational, make([]string, OutboxMaxAck+1), errs.LimitExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ob.MarkDelivered(ctx, tc.target, tc.ids)
			if errs.KindOf(err) != tc.kind {
				t.Fatalf("MarkDelivered = %v, want %s", err, tc.kind.Code())
			}
		})
	}
	// All or none: the good id of the refused calls is still pending.
	if d, err := ob.Delivery(ctx, OutboxNational, id); err != nil || !d.Pending {
		t.Fatalf("Delivery after refused acks = %+v, %v", d, err)
	}
	if _, err := ob.Export(ctx, &bytes.Buffer{}, "tax"); !errors.Is(err, errs.InvalidInput) {
		t.Fatalf("Export to an unknown target = %v", err)
	}
	if _, err := ob.Delivery(ctx, OutboxNational, missing); !errors.Is(err, errs.NotFound) {
		t.Fatalf("Delivery of a missing id = %v", err)
	}
}

func TestOutboxEventRefusals(t *testing.T) {
	ctx := context.Background()
	_, ob := filingOutbox(t, OutboxOptions{})
	now := time.Now()
	many := map[string]string{}
	for i := range OutboxMaxFields + 1 {
		many[fmt.Sprintf("f%d", i)] = "x"
	}
	tests := []struct {
		name string
		ev   Event
		kind errs.Kind
	}{
		{"unknown kind", Event{Kind: "deleted", SealCode: "S1", Time: now}, errs.InvalidInput},
		{"no code", Event{Kind: "made", Time: now}, errs.InvalidInput},
		{"code with slash", Event{Kind: "made", SealCode: "S/1", Time: now}, errs.InvalidInput},
		{"no time", Event{Kind: "made", SealCode: "S1"}, errs.InvalidInput},
		{"pin field", Event{Kind: "made", SealCode: "S1", Time: now, Fields: map[string]string{"new_pin": "1234"}}, errs.InvalidInput},
		{"key field", Event{Kind: "made", SealCode: "S1", Time: now, Fields: map[string]string{"private.key": "x"}}, errs.InvalidInput},
		{"resident id", Event{Kind: "made", SealCode: "S1", Time: now, Fields: map[string]string{"holder": "张三 11010519491231002X"}}, errs.InvalidInput},
		{"upper-case name", Event{Kind: "made", SealCode: "S1", Time: now, Fields: map[string]string{"Org": "x"}}, errs.InvalidInput},
		{"control character", Event{Kind: "made", SealCode: "S1", Time: now, Fields: map[string]string{"org": "a\nb"}}, errs.InvalidInput},
		{"long value", Event{Kind: "made", SealCode: "S1", Time: now, Fields: map[string]string{"org": strings.Repeat("x", OutboxMaxFieldValue+1)}}, errs.LimitExceeded},
		{"too many fields", Event{Kind: "made", SealCode: "S1", Time: now, Fields: many}, errs.LimitExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := ob.EventWrites(ctx, tc.ev)
			if errs.KindOf(err) != tc.kind || w != nil {
				t.Fatalf("EventWrites = %d writes, %v; want %s", len(w), err, tc.kind.Code())
			}
		})
	}
	// A masked ID is fine.
	if _, err := ob.EventWrites(ctx, Event{Kind: "made", SealCode: "S1", Time: now, Fields: map[string]string{"holder_id": "110105********002X"}}); err != nil {
		t.Fatal(err)
	}
}

// Ids keep growing when a new Outbox opens the store after the clock went back, and stay
// distinct when many goroutines take them at once.
func TestOutboxIDsMonotonic(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	db, ob := filingOutbox(t, OutboxOptions{Now: filingClock(at)})
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				w, err := ob.EventWrites(ctx, Event{Kind: "made", SealCode: "S1", Time: at})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				filingCommit(t, db, w)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	first := filingExport(t, ob, OutboxPolice)
	if len(first) != 200 {
		t.Fatalf("%d records, want 200", len(first))
	}
	last := first[len(first)-1]["id"].(string)
	// Reopen with a clock an hour behind.
	ob2, err := NewOutbox(ctx, db, OutboxOptions{Now: filingClock(at.Add(-time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	w, err := ob2.EventWrites(ctx, Event{Kind: "resumed", SealCode: "S1", Time: at})
	if err != nil {
		t.Fatal(err)
	}
	filingCommit(t, db, w)
	all := filingExport(t, ob2, OutboxPolice)
	if len(all) != 201 || all[200]["kind"] != "resumed" || all[200]["id"].(string) <= last {
		t.Fatalf("after reopening: %d records, last %v (previous last %s)", len(all), all[len(all)-1], last)
	}
	// A minute past the time the last committed batch recorded, for steps that committed out
	// of order. The goroutines above commit in another order than their ids, so the stored
	// clock may be a few ids (nanoseconds here) behind the largest id: the jump is a minute
	// from it, not from that id.
	lastT, _ := strconv.ParseUint(last[:16], 16, 64)
	newT, _ := strconv.ParseUint(all[200]["id"].(string)[:16], 16, 64)
	if newT <= lastT || newT-lastT < uint64(time.Minute-time.Microsecond) {
		t.Fatalf("id after reopening %x not a minute after %x", newT, lastT)
	}
}

// The writes are accepted by the audit log, which commits them with its record.
func TestOutboxWithAuditLog(t *testing.T) {
	ctx := context.Background()
	db := filingStore(t)
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := audit.Open(ctx, db, audit.Options{HeadSigner: key, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	ob, err := NewOutbox(ctx, db, OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := ob.EventWrites(ctx, Event{Kind: "revoked", SealCode: "4601000012345", Time: time.Now(), Fields: map[string]string{"reason": "dissolved"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lg.AppendWith(ctx, audit.Record{Actor: "admin-1", Action: "revoke", SealCode: "4601000012345", Outcome: audit.OutcomeOK}, w); err != nil {
		t.Fatal(err)
	}
	for _, target := range OutboxTargets {
		if recs := filingExport(t, ob, target); len(recs) != 1 || recs[0]["kind"] != "revoked" {
			t.Fatalf("%s: %v", target, recs)
		}
	}
}

func TestOutboxCorruptRecord(t *testing.T) {
	ctx := context.Background()
	db, ob, w := filingOneEvent(t)
	for _, x := range w {
		if bytes.HasPrefix(x.Key, []byte("reg/outbox/police/r/")) {
			// The record claims another seal's id.
			bad := bytes.Replace(x.Value, []byte(`"id":"`), []byte(`"id":"f`), 1)
			if err := db.Set(ctx, x.Key, bad); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := ob.Export(ctx, &bytes.Buffer{}, OutboxPolice); !errors.Is(err, errs.Corrupt) {
		t.Fatalf("Export of a changed record = %v, want Corrupt", err)
	}
	if err := db.Set(ctx, []byte("reg/outbox/clock"), []byte("short")); err != nil {
		t.Fatal(err)
	}
	if _, err := NewOutbox(ctx, db, OutboxOptions{}); !errors.Is(err, errs.Corrupt) {
		t.Fatalf("NewOutbox with a bad clock = %v", err)
	}
}

// Ids given to MarkDelivered come from outside: anything but an id as the outbox makes
// them is refused as invalid input, never a panic or a write.
func FuzzOutboxAck(f *testing.F) {
	f.Add("18819f3c2a4b5d60-9e31c2aa", "police")
	f.Add("../u/18819f3c2a4b5d60-9e3", "national")
	f.Add("18819F3C2A4B5D60-9E31C2AA", "tax")
	ctx := context.Background()
	_, ob := filingOutbox(f, OutboxOptions{})
	f.Fuzz(func(t *testing.T, id, target string) {
		ack, err := ob.MarkDelivered(ctx, OutboxTarget(target), []string{id})
		if err == nil || ack != (OutboxAck{}) {
			t.Fatalf("ack of %q to %q on an empty outbox = %+v, %v", id, target, ack, err)
		}
		valid := outboxCheckTarget(OutboxTarget(target)) == nil && outboxCheckID(id) == nil
		if valid != errors.Is(err, errs.NotFound) || !valid && !errors.Is(err, errs.InvalidInput) {
			t.Fatalf("ack of %q to %q = %v", id, target, err)
		}
	})
}
