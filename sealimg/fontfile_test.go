package sealimg

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// tables lists (tag, offset, length) of every font's table directory.
func tables(t testing.TB, data []byte) [][3]uint32 {
	t.Helper()
	dirs := []uint32{0}
	if binary.BigEndian.Uint32(data) == tagTTCF {
		n := binary.BigEndian.Uint32(data[8:])
		dirs = dirs[:0]
		for i := range n {
			dirs = append(dirs, binary.BigEndian.Uint32(data[12+4*i:]))
		}
	}
	var out [][3]uint32
	for _, d := range dirs {
		n := uint32(binary.BigEndian.Uint16(data[d+4:]))
		for j := range n {
			rec := data[d+12+16*j:]
			out = append(out, [3]uint32{binary.BigEndian.Uint32(rec), binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])})
		}
	}
	return out
}

func TestRealignUMing(t *testing.T) {
	testRenderer(t)
	orig, err := os.ReadFile(DefaultFontPath)
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := realign(orig)
	if err != nil {
		t.Fatal(err)
	}
	before, after := tables(t, orig), tables(t, fixed)
	if len(before) != len(after) {
		t.Fatalf("%d tables, was %d", len(after), len(before))
	}
	for i, a := range after {
		b := before[i]
		if a[0] != b[0] || a[2] != b[2] {
			t.Fatalf("table %d: tag or length changed", i)
		}
		if a[1]%4 != 0 {
			t.Errorf("table %q at offset %d, not aligned", string(binary.BigEndian.AppendUint32(nil, a[0])), a[1])
		}
		if !bytes.Equal(fixed[a[1]:a[1]+a[2]], orig[b[1]:b[1]+b[2]]) {
			t.Errorf("table %q: content changed", string(binary.BigEndian.AppendUint32(nil, a[0])))
		}
	}
	// Aligned input comes back as it is.
	again, err := realign(fixed)
	if err != nil || &again[0] != &fixed[0] {
		t.Errorf("realigning an aligned font copied it (err %v)", err)
	}
}

func TestRealignBad(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", []byte("ttcf")},
		{"ttc without fonts", []byte("ttcf\x00\x01\x00\x00\x00\x00\x00\x00")},
		{"ttc offset past the end", []byte("ttcf\x00\x01\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff")},
		{"table past the end", append([]byte("\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"), []byte("glyf\x00\x00\x00\x00\x00\x00\x00\x11\xff\xff\xff\xff")...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := realign(tt.data); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// FuzzRealign: any bytes, no panic; a result has aligned tables.
func FuzzRealign(f *testing.F) {
	f.Add([]byte("ttcf\x00\x01\x00\x00\x00\x00\x00\x01\x00\x00\x00\x10\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00glyf\x00\x00\x00\x00\x00\x00\x00\x2d\x00\x00\x00\x01x"))
	f.Add(append([]byte("\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"), []byte("glyf\x00\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00\x02ab")...))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := realign(data)
		if err != nil {
			return
		}
		for _, tb := range tables(t, out) {
			if tb[1]%4 != 0 && !bytes.Equal(out, data) {
				t.Fatalf("table at %d after realigning", tb[1])
			}
		}
	})
}
