package audit

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestAuditTailAttackTruncatedMarker: a tail marker cut short (or padded) is tampering with
// the store, not a store that cannot be read: Verify names it as a problem with the last
// record (a report that is not OK, no error, so that a restore refuses the backup as
// broken), Export writes it as a tail line with an error, and Open refuses with ErrBroken.
func TestAuditTailAttackTruncatedMarker(t *testing.T) {
	for _, n := range []int{0, 5, 8 + HashSize + 1} {
		db := tamperLog(t)
		v := make([]byte, n)
		copy(v, tailValue(40, storedHash(t, db, 40)))
		setRaw(t, db, tailKey, v)
		rep, err := Verify(context.Background(), db, VerifyOptions{})
		if err != nil {
			t.Fatalf("%d-byte tail marker: Verify failed instead of naming it: %v", n, err)
		}
		if rep.OK() || rep.First().Seq != 40 || rep.First().Kind != Changed {
			t.Fatalf("%d-byte tail marker: %+v", n, rep.Problems)
		}
		var out bytes.Buffer
		if err := Export(context.Background(), db, &out); err != nil {
			t.Fatalf("%d-byte tail marker: export: %v", n, err)
		}
		lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
		if last := lines[len(lines)-1]; !bytes.Contains(last, []byte(`"type":"tail"`)) || !bytes.Contains(last, []byte(`"error":"the tail marker is malformed`)) {
			t.Fatalf("%d-byte tail marker: export ends with %s", n, last)
		}
		lg, err := Open(context.Background(), db, Options{HeadSigner: testKey})
		if err == nil {
			lg.Close()
			t.Fatalf("%d-byte tail marker: opened", n)
		}
		if !errors.Is(err, ErrBroken) {
			t.Fatalf("%d-byte tail marker: %v, want ErrBroken", n, err)
		}
	}
}
