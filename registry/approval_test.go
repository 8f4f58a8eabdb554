package registry

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/errs"
)

// TestApprovalByDocument uses an approval of three documents over three signings: each uses
// the digests it names, a digest used before is refused (ApprovalUsed, naming it) even beside
// a new one, which stays usable; the approval is used when its last digest is, and every use
// has its audit record.
func TestApprovalByDocument(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	official := e.made(t, Contract, "460100600001")
	a, b, c := digest("contract a"), digest("contract b"), digest("contract c")
	id, err := e.reg.RequestUse(ctx, oa, official.Code, [][]byte{a, b, c}, "three contracts")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.ApproveUse(ctx, reviewer, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	use := func(ds ...[]byte) error {
		u, err := e.reg.Authorize(ctx, oa, UseRequest{SealCode: official.Code, Digests: ds, PIN: pin, Approval: id})
		if err != nil {
			return err
		}
		for _, d := range ds {
			if _, err := u.Sign(ctx, SignItem{Digest: d, PropertyInfo: "contract"}); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	}
	status := func(want string, used ...[]byte) {
		t.Helper()
		u, err := e.reg.UseApproval(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var hexes []string
		for _, d := range used {
			hexes = append(hexes, hex.EncodeToString(d))
		}
		if u.Status != want || fmt.Sprint(u.UsedDigests) != fmt.Sprint(hexes) || (want == UseUsed) == u.Used.IsZero() {
			t.Fatalf("approval %+v, want %s with %v used", u, want, hexes)
		}
	}
	// lastUse is the approval's last "used" audit record.
	lastUse := func() audit.Record {
		t.Helper()
		tail, _ := e.log.Tail()
		for s := tail; s > 0; s-- {
			rec, err := e.log.Record(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Action == audit.ActionUseApproval && rec.Details["step"] == "used" {
				return rec
			}
		}
		t.Fatal("no use record")
		return audit.Record{}
	}

	if err := use(a); err != nil {
		t.Fatal(err)
	}
	status(UseApproved, a)
	if rec := lastUse(); rec.Details["request"] != id || rec.Details["documents"] != "1" || rec.Details["left"] != "2" {
		t.Fatalf("first use record %+v", rec)
	}
	err = use(b, a)
	wantKind(t, "a used digest beside a new one", err, errs.ApprovalUsed)
	if !strings.Contains(err.Error(), "digest 1") || !strings.Contains(err.Error(), hex.EncodeToString(a)) {
		t.Fatalf("the refusal does not name the used digest: %v", err)
	}
	status(UseApproved, a) // the refused call used nothing
	wantKind(t, "a digest the approval was not granted for", use(b, digest("contract d")), errs.DigestNotApproved)
	if err := use(b, c); err != nil {
		t.Fatal(err)
	}
	status(UseUsed, a, b, c)
	if rec := lastUse(); rec.Details["documents"] != "2" || rec.Details["left"] != "0" {
		t.Fatalf("last use record %+v", rec)
	}
	err = use(c)
	wantKind(t, "the used approval", err, errs.ApprovalUsed)
}

// TestApprovalConcurrentDocuments authorises the digests of one approval from many goroutines
// at once, each digest twice (run it with -race): each digest is used exactly once, and the
// approval ends used.
func TestApprovalConcurrentDocuments(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	official := e.made(t, Contract, "460100600002")
	const n = 8
	ds := make([][]byte, n)
	for i := range ds {
		ds[i] = digest(fmt.Sprint("licence ", i))
	}
	id, err := e.reg.RequestUse(ctx, oa, official.Code, ds, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.reg.ApproveUse(ctx, reviewer, id, time.Hour); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	used := make([]int, n)
	for i := range 2 * n {
		wg.Go(func() {
			_, err := e.reg.Authorize(ctx, oa, UseRequest{SealCode: official.Code, Digests: [][]byte{ds[i%n]}, PIN: pin, Approval: id})
			switch {
			case err == nil:
				mu.Lock()
				used[i%n]++
				mu.Unlock()
			case !errorsIs(err, errs.ApprovalUsed):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, k := range used {
		if k != 1 {
			t.Fatalf("digest %d used %d times", i, k)
		}
	}
	u, err := e.reg.UseApproval(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if u.Status != UseUsed || len(u.UsedDigests) != n {
		t.Fatalf("approval %+v", u)
	}
}
