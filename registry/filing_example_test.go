package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/store"
)

// A lifecycle step commits the outbox's writes in its own batch; an operator exports what
// is pending for a target and marks it delivered once the target has it.
func ExampleOutbox() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "outbox")
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "data"), nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()

	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ob, err := registry.NewOutbox(ctx, db, registry.OutboxOptions{
		Now:  func() time.Time { return at },
		Rand: bytes.NewReader([]byte{0x9e, 0x31, 0xc2, 0xaa}),
	})
	if err != nil {
		panic(err)
	}
	writes, err := ob.EventWrites(ctx, registry.Event{Kind: "made", SealCode: "4601000012345", Time: at,
		Fields: map[string]string{"seal_kind": "official"}})
	if err != nil {
		panic(err)
	}
	b := db.NewBatch() // the step's batch, with its own writes beside these
	for _, w := range writes {
		if err := b.Set(w.Key, w.Value); err != nil {
			panic(err)
		}
	}
	if err := b.Commit(ctx); err != nil {
		panic(err)
	}
	b.Close()

	n, err := ob.Export(ctx, os.Stdout, registry.OutboxPolice)
	if err != nil {
		panic(err)
	}
	ack, err := ob.MarkDelivered(ctx, registry.OutboxPolice, []string{"18ed18e56a424000-9e31c2aa"})
	fmt.Println(n, ack.Marked, err)
	// Output:
	// {"version":1,"id":"18ed18e56a424000-9e31c2aa","target":"police","kind":"made","seal":"4601000012345","time":"2026-12-01T10:00:00Z","recorded":"2026-12-01T10:00:00Z","fields":{"seal_kind":"official"}}
	// 1 1 <nil>
}
