package audit_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/verifier"
)

// The registry records a lifecycle act and a signature, and the verifier asks the log when
// the signature existed.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)
	db, _ := store.Open(filepath.Join(dir, "data"), nil)
	defer db.Close()
	platformKey, _ := sm2.GenerateKey(rand.Reader) // in production a signer.KeyStore signer

	lg, err := audit.Open(ctx, db, audit.Options{HeadSigner: platformKey})
	if err != nil {
		fmt.Println(err)
		return
	}
	seq, _ := lg.Append(ctx, audit.Record{Actor: "reviewer-7", Action: audit.ActionApprove,
		SealCode: "460100000001", Outcome: audit.OutcomeOK, Details: map[string]string{"application": "A-12"}})
	fmt.Println("approval recorded as", seq)

	value := []byte("the signature value") // what the signer made
	vh := sm3.Sum(value)
	digest := sm3.Sum([]byte("the document"))
	seq, _ = lg.Append(ctx, audit.Record{Actor: "tax-system", Action: audit.ActionSign,
		SealCode: "460100000001", Digest: digest[:], SignatureSM3: vh[:], Outcome: audit.OutcomeOK})
	fmt.Println("signature recorded as", seq)

	_, err = lg.Append(ctx, audit.Record{Actor: "clerk", Action: audit.ActionSign, Outcome: audit.OutcomeOK,
		Details: map[string]string{"pin": "123456"}})
	fmt.Println("a record with a PIN is refused:", errors.Is(err, audit.ErrInvalidRecord))

	poe := verifier.ProofFunc(lg.ProveExistence)
	p, ok, _ := poe.ProveExistence(vh)
	fmt.Println("proved:", ok, p.Source)

	_ = lg.Close()
	rep, _ := audit.Verify(ctx, db, audit.VerifyOptions{Keys: []crypto.PublicKey{platformKey.Public()}})
	fmt.Println("intact:", rep.OK(), rep.Records, "records, signed up to", rep.LastSigned)
	// Output:
	// approval recorded as 1
	// signature recorded as 2
	// a record with a PIN is refused: true
	// proved: true audit log record 2
	// intact: true 2 records, signed up to 2
}
