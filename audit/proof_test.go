package audit_test

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/verifier"
)

// TestAuditProofOfExistence checks the log through the verifier's interface.
func TestAuditProofOfExistence(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key, _ := sm2.GenerateKey(rand.Reader)
	lg, err := audit.Open(ctx, db, audit.Options{HeadSigner: key})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	value := []byte("the signature value of a seal signature")
	vh := sm3.Sum(value)
	seq, err := lg.Append(ctx, audit.Record{Actor: "tax-system", Action: audit.ActionSign, SealCode: "460100000001",
		SignatureSM3: vh[:], Outcome: audit.OutcomeOK})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := lg.Record(ctx, seq)
	var poe verifier.ProofOfExistence = verifier.ProofFunc(lg.ProveExistence)
	p, ok, err := poe.ProveExistence(vh)
	if err != nil || !ok || !p.Time.Equal(rec.Time) || p.Source != "audit log record 1" {
		t.Fatalf("proof %+v %v %v", p, ok, err)
	}
	if _, ok, err := poe.ProveExistence(sm3.Sum([]byte("another"))); ok || err != nil {
		t.Fatalf("proved an unknown signature: %v %v", ok, err)
	}
}
