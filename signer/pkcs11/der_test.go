package pkcs11

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"math/big"
	"testing"
)

func TestRawToDER(t *testing.T) {
	type sig struct{ R, S *big.Int }
	cases := [][]byte{
		append(bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0x01}, 32)...),
		append(append(make([]byte, 31), 1), append(make([]byte, 5), bytes.Repeat([]byte{0x80}, 27)...)...),
	}
	for range 200 {
		b := make([]byte, 64)
		_, _ = rand.Read(b)
		cases = append(cases, b)
	}
	for _, raw := range cases {
		der, err := rawToDER(raw)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := asn1.Marshal(sig{new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])})
		if !bytes.Equal(der, want) {
			t.Fatalf("rawToDER(%x) = %x, want %x", raw, der, want)
		}
		if !checkDER(der) {
			t.Fatalf("checkDER rejects %x", der)
		}
	}
	for _, bad := range [][]byte{nil, make([]byte, 64), make([]byte, 63)} {
		if _, err := rawToDER(bad); err == nil {
			t.Errorf("rawToDER(%x) accepted", bad)
		}
	}
}

func TestCheckDER(t *testing.T) {
	good, _ := rawToDER(bytes.Repeat([]byte{0x42}, 64))
	if !checkDER(good) {
		t.Fatal("good rejected")
	}
	for name, bad := range map[string][]byte{
		"empty":      nil,
		"trailing":   append(append([]byte{}, good...), 0),
		"truncated":  good[:len(good)-1],
		"not seq":    append([]byte{0x31}, good[1:]...),
		"negative r": {0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01},
		"zero r":     {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01},
		"padded r":   {0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01},
		"raw r||s":   bytes.Repeat([]byte{0x30}, 64),
	} {
		if checkDER(bad) {
			t.Errorf("%s: accepted %x", name, bad)
		}
	}
}

func FuzzCheckDER(f *testing.F) {
	good, _ := rawToDER(bytes.Repeat([]byte{0x42}, 64))
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		if !checkDER(b) {
			return
		}
		var v struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(b, &v); err != nil || len(rest) != 0 || v.R.Sign() <= 0 || v.S.Sign() <= 0 {
			t.Fatalf("checkDER accepted %x that encoding/asn1 rejects: %v", b, err)
		}
	})
}
