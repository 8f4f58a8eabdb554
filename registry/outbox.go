package registry

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/store"
)

// OutboxTarget names a system that the outbox feeds (art. 5).
type OutboxTarget string

// The targets. Every event goes to both, and each is delivered on its own.
const (
	// OutboxPolice is the police seal filing system.
	OutboxPolice OutboxTarget = "police"
	// OutboxNational is the national unified electronic seal platform.
	OutboxNational OutboxTarget = "national"
)

// OutboxTargets lists the targets.
var OutboxTargets = []OutboxTarget{OutboxPolice, OutboxNational}

// Limits of the outbox.
const (
	// OutboxMaxFields is the most fields an event carries.
	OutboxMaxFields = 64
	// OutboxMaxFieldValue is the longest field value, in bytes.
	OutboxMaxFieldValue = 1024
	// OutboxMaxAck is the most ids MarkDelivered takes at once.
	OutboxMaxAck      = 10000
	outboxMaxFieldKey = 64
	outboxIDLen       = 25
)

// Outbox keeps the filing records for the police seal system and the sync records for the
// national platform (art. 5) until an operator has delivered them. It implements
// EventSink: EventWrites turns a lifecycle event into writes that the lifecycle step
// commits in its own batch, so that a step and its records are durable together or not at
// all.
//
// # Records and their ids
//
// Each event becomes one record per target, both with the same id: 16 hex digits of the
// time of allocation in Unix nanoseconds, '-', and 8 random hex digits, e.g.
// "18ed18e56a424000-9e31c2aa". Ids sort (as strings) in the order they were allocated: an
// Outbox never hands out a time at or before the last one it handed out, and at start it
// continues a minute after the time that the last committed batch recorded (concurrent
// steps may commit out of the order of their ids, by the time between a step's EventWrites
// and its commit, far below a minute), so that the order holds across restarts even when
// the clock was set back. The random part keeps ids of separate processes apart. Open one
// Outbox per store.
//
// # Export format (version 1)
//
// Export writes one JSON object per line for each record of a target not yet delivered, in
// id order:
//
//	{"version":1,"id":"18ed18e56a424000-9e31c2aa","target":"police","kind":"made",
//	 "seal":"4601000012345","time":"2026-12-01T10:00:00Z",
//	 "recorded":"2026-12-01T10:00:00.0123Z","fields":{"org":"...","seal_kind":"official"}}
//
// Its members:
//
//   - version: 1 for this format.
//   - id: the record's id, to give back to MarkDelivered ("eseal outbox ack").
//   - target: "police" or "national".
//   - kind: "made", "changed", "suspended", "resumed" or "revoked".
//   - seal: the seal code.
//   - time: when the act took effect, RFC 3339 in UTC with as many digits of the
//     second's fraction as it has (up to nanoseconds).
//   - recorded: when the record was made.
//   - fields: what the registry tells about the act (names, kinds, reasons, masked
//     identities); left out when empty. Field names are 1 to 64 bytes of a-z, 0-9, '_',
//     '.' or '-'; values at most 1024 bytes of printable UTF-8. Never a PIN, key or whole
//     resident ID: EventWrites refuses a field whose name is a secret's (see
//     audit.SecretDetailKey) or whose value holds a resident ID number.
//
// A consumer must ignore members it does not know; a new version adds members only.
//
// # Delivery and archive
//
// MarkDelivered moves records of a target from pending to delivered, all or none. Nothing
// is deleted: a record stays in the store as it was written, with the time it was marked
// delivered beside it. Marking a delivered record again changes nothing.
//
// # Store layout
//
// Under "reg/outbox/" in the store: target + "/r/" + id holds the record as exported;
// target + "/u/" + id marks it undelivered; target + "/d/" + id holds its delivery
// ({"delivered": time}); "clock" holds the last allocated time (8 bytes, big-endian).
//
// An Outbox is safe for concurrent use.
type Outbox struct {
	kv    store.KV     // the store the writes go to
	reg   *store.Space // "reg" in kv
	space *store.Space // "outbox" in reg
	now   func() time.Time
	rand  io.Reader

	mu   sync.Mutex
	last int64 // the last time handed out, Unix ns
}

// OutboxOptions configures an Outbox. The zero value is the default.
type OutboxOptions struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of the ids' random part; nil means crypto/rand.
	Rand io.Reader
}

var _ EventSink = (*Outbox)(nil)

var outboxClockKey = []byte("clock")

// NewOutbox returns the outbox kept in kv, the whole store: the writes that EventWrites
// returns name keys of kv, so they must be committed into kv itself (the store that the
// audit log is opened on), not into a keyspace of it.
func NewOutbox(ctx context.Context, kv store.KV, opts OutboxOptions) (*Outbox, error) {
	reg := store.MustSpace(kv, "reg")
	o := &Outbox{kv: kv, reg: reg, space: store.MustSpace(reg, "outbox"), now: opts.Now, rand: opts.Rand}
	if o.now == nil {
		o.now = time.Now
	}
	if o.rand == nil {
		o.rand = rand.Reader
	}
	v, err := o.space.Get(ctx, outboxClockKey)
	switch {
	case errors.Is(err, errs.NotFound):
	case err != nil:
		return nil, fmt.Errorf("registry: outbox: reading its clock: %w", err)
	case len(v) != 8:
		return nil, fmt.Errorf("registry: outbox: its clock holds %d bytes, not 8: %w", len(v), errs.Corrupt)
	default:
		o.last = int64(binary.BigEndian.Uint64(v)) + int64(time.Minute)
	}
	return o, nil
}

// outboxRecord is a record as stored and exported.
type outboxRecord struct {
	Version  int               `json:"version"`
	ID       string            `json:"id"`
	Target   OutboxTarget      `json:"target"`
	Kind     string            `json:"kind"`
	Seal     string            `json:"seal"`
	Time     time.Time         `json:"time"`
	Recorded time.Time         `json:"recorded"`
	Fields   map[string]string `json:"fields,omitempty"`
}

// outboxKinds are the event kinds.
var outboxKinds = map[string]bool{"made": true, "changed": true, "suspended": true, "resumed": true, "revoked": true}

// EventWrites checks ev and returns the writes that put its two records (one per target)
// in the outbox. It writes nothing itself: the caller commits the writes in its own batch.
// An id is allocated each call, so records of writes never committed leave only a gap.
func (o *Outbox) EventWrites(ctx context.Context, ev Event) ([]audit.Write, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := outboxCheckEvent(ev); err != nil {
		return nil, fmt.Errorf("registry: outbox: %w", err)
	}
	var rnd [4]byte
	if _, err := io.ReadFull(o.rand, rnd[:]); err != nil {
		return nil, fmt.Errorf("registry: outbox: reading random bytes (%v): %w", err, errs.Unavailable)
	}
	now := o.now().UTC()
	o.mu.Lock()
	t := now.UnixNano()
	if t <= o.last {
		t = o.last + 1
	}
	o.last = t
	o.mu.Unlock()
	id := fmt.Sprintf("%016x-%08x", uint64(t), binary.BigEndian.Uint32(rnd[:]))
	var clock [8]byte
	binary.BigEndian.PutUint64(clock[:], uint64(t))
	writes := make([]audit.Write, 0, 2*len(OutboxTargets)+1)
	for _, target := range OutboxTargets {
		rec := outboxRecord{Version: 1, ID: id, Target: target, Kind: ev.Kind, Seal: ev.SealCode,
			Time: ev.Time.UTC(), Recorded: now, Fields: ev.Fields}
		if len(rec.Fields) == 0 {
			rec.Fields = nil
		}
		enc, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("registry: outbox: encoding a record: %w", err)
		}
		writes = append(writes,
			audit.Write{Key: o.key(target, "r", id), Value: enc},
			audit.Write{Key: o.key(target, "u", id), Value: []byte{1}})
	}
	writes = append(writes, audit.Write{Key: o.rootKey(outboxClockKey), Value: clock[:]})
	return writes, nil
}

// key is the key in kv of a record ("r"), its pending mark ("u") or its delivery ("d").
func (o *Outbox) key(target OutboxTarget, part, id string) []byte {
	return o.rootKey(outboxRel(target, part, id))
}

// rootKey is the key in kv of a key of the outbox keyspace.
func (o *Outbox) rootKey(rel []byte) []byte {
	return o.reg.Key(o.space.Key(rel))
}

func outboxRel(target OutboxTarget, part, id string) []byte {
	return []byte(string(target) + "/" + part + "/" + id)
}

func outboxCheckEvent(ev Event) error {
	if !outboxKinds[ev.Kind] {
		return fmt.Errorf("event kind %q, want made, changed, suspended, resumed or revoked: %w", filingClip(ev.Kind), errs.InvalidInput)
	}
	if err := filingCheckCode(ev.SealCode); err != nil {
		return err
	}
	if ev.Time.IsZero() {
		return fmt.Errorf("event of seal %s without a time: %w", ev.SealCode, errs.InvalidInput)
	}
	if len(ev.Fields) > OutboxMaxFields {
		return fmt.Errorf("%d event fields, at most %d: %w", len(ev.Fields), OutboxMaxFields, errs.LimitExceeded)
	}
	for k, v := range ev.Fields {
		if !outboxFieldName(k) {
			return fmt.Errorf("event field name %q: want 1 to %d bytes of a-z, 0-9, '_', '.' or '-': %w", filingClip(k), outboxMaxFieldKey, errs.InvalidInput)
		}
		if audit.SecretDetailKey(k) {
			return fmt.Errorf("event field %q names a secret, which never leaves the platform: %w", k, errs.InvalidInput)
		}
		if len(v) > OutboxMaxFieldValue {
			return fmt.Errorf("event field %q of %d bytes, at most %d: %w", k, len(v), OutboxMaxFieldValue, errs.LimitExceeded)
		}
		if !outboxPrintable(v) {
			return fmt.Errorf("event field %q is not printable UTF-8: %w", k, errs.InvalidInput)
		}
		if audit.HasResidentID(v) {
			return fmt.Errorf("event field %q holds a whole resident ID number; give it masked: %w", k, errs.InvalidInput)
		}
	}
	return nil
}

func outboxFieldName(k string) bool {
	if k == "" || len(k) > outboxMaxFieldKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func outboxPrintable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
			return false
		}
	}
	return true
}

// outboxCheckTarget refuses an unknown target.
func outboxCheckTarget(target OutboxTarget) error {
	for _, t := range OutboxTargets {
		if t == target {
			return nil
		}
	}
	return fmt.Errorf("outbox target %q, want police or national: %w", filingClip(string(target)), errs.InvalidInput)
}

// outboxCheckID refuses anything but an id as EventWrites makes them.
func outboxCheckID(id string) error {
	ok := len(id) == outboxIDLen && id[16] == '-'
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = i == 16 || '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
	}
	if !ok {
		return fmt.Errorf("outbox id %q: want 16 hex digits, '-', 8 hex digits: %w", filingClip(id), errs.InvalidInput)
	}
	return nil
}

// pending lists the ids of a target's undelivered records, in order.
func (o *Outbox) pending(ctx context.Context, target OutboxTarget) ([]string, error) {
	var ids []string
	err := o.space.Scan(ctx, outboxRel(target, "u", ""), func(k, _ []byte) error {
		id := string(k[len(target)+3:])
		if outboxCheckID(id) != nil {
			return fmt.Errorf("a pending mark under %q: %w", filingClip(string(k)), errs.Corrupt)
		}
		ids = append(ids, id)
		return nil
	})
	return ids, err
}

// Export writes the undelivered records of target as JSON lines (see Outbox for the
// format), in id order, and returns how many it wrote. It marks nothing: once the target
// has taken them, MarkDelivered does. It holds the ids of the pending records in memory
// (25 bytes each), not the records.
func (o *Outbox) Export(ctx context.Context, w io.Writer, target OutboxTarget) (int, error) {
	if err := outboxCheckTarget(target); err != nil {
		return 0, fmt.Errorf("registry: outbox export: %w", err)
	}
	ids, err := o.pending(ctx, target)
	if err != nil {
		return 0, fmt.Errorf("registry: outbox export: %w", err)
	}
	n := 0
	for _, id := range ids {
		v, err := o.kv.Get(ctx, o.key(target, "r", id))
		if err != nil {
			if errors.Is(err, errs.NotFound) {
				err = fmt.Errorf("record %s is marked pending but missing: %w", id, errs.Corrupt)
			}
			return n, fmt.Errorf("registry: outbox export: %w", err)
		}
		var rec outboxRecord
		if err := json.Unmarshal(v, &rec); err != nil || rec.ID != id || rec.Target != target || rec.Version != 1 {
			return n, fmt.Errorf("registry: outbox export: record %s unreadable or not its own: %w", id, errs.Corrupt)
		}
		line, err := json.Marshal(rec)
		if err != nil {
			return n, fmt.Errorf("registry: outbox export: %w", err)
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return n, fmt.Errorf("registry: outbox export: writing: %w", err)
		}
		n++
	}
	return n, nil
}

// OutboxAck says what MarkDelivered did.
type OutboxAck struct {
	// Marked is the number of records marked delivered now.
	Marked int
	// Already is the number of records that were delivered before.
	Already int
}

// MarkDelivered marks the records of target with the given ids delivered, in one atomic,
// synced batch: all of them or, on an error, none. An id marked before is counted in
// Already and left as it was; an id with no record of that target fails the call with
// errs.NotFound. At most OutboxMaxAck ids at once.
func (o *Outbox) MarkDelivered(ctx context.Context, target OutboxTarget, ids []string) (OutboxAck, error) {
	if err := outboxCheckTarget(target); err != nil {
		return OutboxAck{}, fmt.Errorf("registry: outbox ack: %w", err)
	}
	if len(ids) > OutboxMaxAck {
		return OutboxAck{}, fmt.Errorf("registry: outbox ack: %d ids, at most %d at once: %w", len(ids), OutboxMaxAck, errs.LimitExceeded)
	}
	for _, id := range ids {
		if err := outboxCheckID(id); err != nil {
			return OutboxAck{}, fmt.Errorf("registry: outbox ack: %w", err)
		}
	}
	var err error
	for range 3 {
		var ack OutboxAck
		ack, err = o.markOnce(ctx, target, ids)
		if !errors.Is(err, errs.Conflict) {
			return ack, err
		}
	}
	return OutboxAck{}, err
}

func (o *Outbox) markOnce(ctx context.Context, target OutboxTarget, ids []string) (OutboxAck, error) {
	var ack OutboxAck
	b := o.kv.NewBatch()
	defer b.Close()
	delivered, err := json.Marshal(struct {
		Delivered time.Time `json:"delivered"`
	}{o.now().UTC()})
	if err != nil {
		return ack, err
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		u := o.key(target, "u", id)
		mark, err := o.kv.Get(ctx, u)
		switch {
		case err == nil:
			if err := errors.Join(b.Expect(u, mark), b.Delete(u), b.Set(o.key(target, "d", id), delivered)); err != nil {
				return OutboxAck{}, fmt.Errorf("registry: outbox ack: %w", err)
			}
			ack.Marked++
			continue
		case !errors.Is(err, errs.NotFound):
			return OutboxAck{}, fmt.Errorf("registry: outbox ack: %w", err)
		}
		_, err = o.kv.Get(ctx, o.key(target, "d", id))
		switch {
		case err == nil:
			ack.Already++
		case errors.Is(err, errs.NotFound):
			return OutboxAck{}, fmt.Errorf("registry: outbox ack: no %s record %s: %w", target, id, errs.NotFound)
		default:
			return OutboxAck{}, fmt.Errorf("registry: outbox ack: %w", err)
		}
	}
	if ack.Marked == 0 {
		return ack, nil
	}
	if err := b.Commit(ctx); err != nil {
		return OutboxAck{}, fmt.Errorf("registry: outbox ack: %w", err)
	}
	return ack, nil
}

// OutboxDelivery is one record's delivery state, for queries and tests.
type OutboxDelivery struct {
	Pending   bool
	Delivered time.Time // zero while pending
}

// Delivery tells whether the record id of target is still pending or when it was marked
// delivered; errs.NotFound when there is no such record.
func (o *Outbox) Delivery(ctx context.Context, target OutboxTarget, id string) (OutboxDelivery, error) {
	if err := outboxCheckTarget(target); err != nil {
		return OutboxDelivery{}, fmt.Errorf("registry: outbox: %w", err)
	}
	if err := outboxCheckID(id); err != nil {
		return OutboxDelivery{}, fmt.Errorf("registry: outbox: %w", err)
	}
	if _, err := o.kv.Get(ctx, o.key(target, "r", id)); err != nil {
		return OutboxDelivery{}, fmt.Errorf("registry: outbox: record %s of %s: %w", id, target, err)
	}
	if _, err := o.kv.Get(ctx, o.key(target, "u", id)); err == nil {
		return OutboxDelivery{Pending: true}, nil
	} else if !errors.Is(err, errs.NotFound) {
		return OutboxDelivery{}, fmt.Errorf("registry: outbox: %w", err)
	}
	v, err := o.kv.Get(ctx, o.key(target, "d", id))
	if err != nil {
		if errors.Is(err, errs.NotFound) {
			err = fmt.Errorf("record %s of %s neither pending nor delivered: %w", id, target, errs.Corrupt)
		}
		return OutboxDelivery{}, fmt.Errorf("registry: outbox: %w", err)
	}
	var d struct {
		Delivered time.Time `json:"delivered"`
	}
	if err := json.Unmarshal(v, &d); err != nil {
		return OutboxDelivery{}, fmt.Errorf("registry: outbox: delivery of %s unreadable: %w", id, errs.Corrupt)
	}
	return OutboxDelivery{Delivered: d.Delivered}, nil
}
