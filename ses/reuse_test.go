package ses

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// A seal handed back by the reuse function is used only when its bytes are the embedded
// seal's: the same seal is shared, another one (or none) leaves the bytes parsed as usual.
func TestParseSignatureReusing(t *testing.T) {
	req, key := signCheckFixture(t)
	der, err := Sign(rand.Reader, req, key)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ParseSignature(der)
	if err != nil {
		t.Fatal(err)
	}

	// A seal whose bytes differ in the last one: it is not taken.
	otherSeal, err := ParseSeal(plain.TBS.Seal.Raw)
	if err != nil {
		t.Fatal(err)
	}
	otherSeal.Raw = append(bytes.Clone(otherSeal.Raw[:len(otherSeal.Raw)-1]), otherSeal.Raw[len(otherSeal.Raw)-1]^1)
	var asked [][]byte
	got, err := ParseSignatureReusing(der, func(raw []byte) *Seal {
		asked = append(asked, raw)
		return otherSeal
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || !bytes.Equal(asked[0], plain.TBS.Seal.Raw) {
		t.Fatalf("reuse asked %d times, or not with the embedded seal's bytes", len(asked))
	}
	if got.TBS.Seal == otherSeal || !bytes.Equal(got.TBS.Seal.Raw, plain.TBS.Seal.Raw) || got.TBS.Seal.Info.Property.Name != plain.TBS.Seal.Info.Property.Name {
		t.Fatal("a seal of other bytes was taken for the embedded one")
	}

	// The seal parsed before from the same bytes is shared.
	same, err := ParseSeal(bytes.Clone(plain.TBS.Seal.Raw))
	if err != nil {
		t.Fatal(err)
	}
	got, err = ParseSignatureReusing(der, func([]byte) *Seal { return same })
	if err != nil {
		t.Fatal(err)
	}
	if got.TBS.Seal != same {
		t.Fatal("the seal parsed before from the same bytes was not reused")
	}
	if !bytes.Equal(got.TBS.Raw, plain.TBS.Raw) || !bytes.Equal(got.Value, plain.Value) || got.TBS.PropertyInfo != plain.TBS.PropertyInfo {
		t.Fatal("the rest of the signature reads differently when the seal is reused")
	}
	if k := got.CheckValue(&key.PublicKey); !k.OK {
		t.Fatalf("the signature does not verify when its seal is reused: %s", k.Detail)
	}

	// No answer: parsed as usual.
	got, err = ParseSignatureReusing(der, func([]byte) *Seal { return nil })
	if err != nil || got.TBS.Seal == nil || !bytes.Equal(got.TBS.Seal.Raw, plain.TBS.Seal.Raw) {
		t.Fatalf("without a reused seal: %v", err)
	}
}
