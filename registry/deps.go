package registry

import (
	"context"
	"time"

	"github.com/eseal/eseal/audit"
)

// ImpressionSource gives the filed impression (PNG or SVG bytes as filed) of a physical seal code.
type ImpressionSource interface {
	FiledImpression(ctx context.Context, sealCode string) (picture []byte, pictureType string, err error) // errs.NotFound when none
}

// EventSink turns a lifecycle event into store writes committed in the step's own batch.
type EventSink interface {
	EventWrites(ctx context.Context, ev Event) ([]audit.Write, error)
}

// Event is what the outbox exports for the police filing system and the national platform.
type Event struct {
	Kind     string // "made", "changed", "suspended", "resumed", "revoked"
	SealCode string
	Time     time.Time
	Fields   map[string]string // no PIN, key or unmasked ID
}
