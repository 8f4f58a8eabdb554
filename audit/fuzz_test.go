package audit

import (
	"bytes"
	"testing"
	"time"
)

func FuzzDecodeRecord(f *testing.F) {
	r := useRecord(1)
	r.Seq, r.Time = 1, time.Unix(1700000000, 0)
	f.Add(r.Encode())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(b)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Encode(), b) {
			t.Fatalf("decoded record does not encode back to its bytes")
		}
	})
}

func FuzzDecodeHead(f *testing.F) {
	h := Head{Seq: 3, Time: time.Unix(1700000000, 0), Signature: []byte{0x30, 0x02, 1, 2}}
	f.Add(h.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHead(b)
		if err != nil {
			return
		}
		if !bytes.Equal(h.encode(), b) {
			t.Fatalf("decoded head does not encode back to its bytes")
		}
	})
}
