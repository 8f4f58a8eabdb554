package ses

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/internal/testvectors"
)

// signUnder signs req with key under the propertyInfo given, and parses the result reusing
// seal, as a verifier with a warm cache does.
func signUnder(t *testing.T, req *SignRequest, key *sm2.PrivateKey, prop string, seal *Seal) *Signature {
	t.Helper()
	r := *req
	r.PropertyInfo = prop
	der, err := Sign(rand.Reader, &r, key)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ParseSignatureReusing(der, func([]byte) *Seal { return seal })
	if err != nil {
		t.Fatal(err)
	}
	if sig.TBS.Seal != seal {
		t.Fatal("the seal was not reused")
	}
	return sig
}

// The digest continued from a seal's remembered state equals the digest of every byte, for
// signatures whose bytes before the seal differ (TBS_Sign's length), for another key, and
// after the remembered states were replaced; and a change after the seal still fails.
func TestSealDigest(t *testing.T) {
	req, key := signCheckFixture(t)
	seal, err := ParseSeal(bytes.Clone(req.Seal.Raw))
	if err != nil {
		t.Fatal(err)
	}
	other, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	props := []string{"/Doc_0/Signs/Sign_0/Signature.xml", "/p", strings.Repeat("/long", 40), "/Doc_0/Signs/Sign_12/Signature.xml", "/q", "/r"}
	for round := range 2 {
		for _, prop := range props {
			sig := signUnder(t, req, key, prop, seal)
			if sig.TBS.sealAt <= 0 || !bytes.Equal(sig.TBS.Raw[sig.TBS.sealAt:sig.TBS.sealAt+len(seal.Raw)], seal.Raw) {
				t.Fatalf("%s: sealAt %d does not locate the seal in TBS_Sign", prop, sig.TBS.sealAt)
			}
			for _, pub := range []*sm2.PrivateKey{key, other, key} {
				want, err := SM2Digest(&pub.PublicKey, sig.TBS.Raw)
				if err != nil {
					t.Fatal(err)
				}
				got, err := sealDigest(seal, &pub.PublicKey, sig.TBS.Raw, sig.TBS.sealAt)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("round %d, %s: the continued digest differs from the whole one", round, prop)
				}
			}
			if k := sig.CheckValue(&key.PublicKey); !k.OK {
				t.Fatalf("round %d, %s: %s", round, prop, k.Detail)
			}
			// A byte changed after the seal, with the state remembered: it fails.
			bad := *sig
			bad.TBS.Raw = bytes.Clone(sig.TBS.Raw)
			bad.TBS.Raw[len(bad.TBS.Raw)-2] ^= 1
			if k := bad.CheckValue(&key.PublicKey); k.OK {
				t.Fatalf("round %d, %s: a changed TBS_Sign verifies", round, prop)
			}
		}
	}
	n := 0
	for i := range seal.digests.slots {
		if seal.digests.slots[i].Load() != nil {
			n++
		}
	}
	if n != digestMemoSlots {
		t.Fatalf("%d remembered states, want %d", n, digestMemoSlots)
	}

	// The bytes before the seal changed (not a parse: the message is made by hand): the
	// remembered state is not taken.
	sig := signUnder(t, req, key, props[0], seal)
	msg := bytes.Clone(sig.TBS.Raw)
	msg[sig.TBS.sealAt-1] ^= 1
	want, _ := SM2Digest(&key.PublicKey, msg)
	got, err := sealDigest(seal, &key.PublicKey, msg, sig.TBS.sealAt)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("a changed byte before the seal took a remembered state: %v", err)
	}
}

// Many goroutines verifying under one shared seal, with keys and lengths that keep replacing
// the remembered states, all get the right answer (run with -race).
func TestSealDigestConcurrent(t *testing.T) {
	req, key := signCheckFixture(t)
	seal, err := ParseSeal(bytes.Clone(req.Seal.Raw))
	if err != nil {
		t.Fatal(err)
	}
	var sigs []*Signature
	for i := range 8 {
		sigs = append(sigs, signUnder(t, req, key, "/"+strings.Repeat("x", i*7), seal))
	}
	var wg sync.WaitGroup
	errc := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				s := sigs[(g+i)%len(sigs)]
				if k := s.CheckValue(&key.PublicKey); !k.OK {
					errc <- k.Detail
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for e := range errc {
		t.Fatal(e)
	}
}

// In every signature among the vectors (files and the signatures inside OFD packages), the
// seal is found where it lies in TBS_Sign.
func TestSealAtInVectors(t *testing.T) {
	dir := testvectors.Dir(t)
	found := 0
	check := func(name string, b []byte) {
		if Sniff(b) != "signature" {
			return
		}
		sig, err := ParseSignature(b)
		if err != nil {
			return // the verifier's conformance tests judge these
		}
		found++
		at := sig.TBS.sealAt
		if at < 0 || !bytes.Equal(sig.TBS.Raw[at:at+len(sig.TBS.Seal.Raw)], sig.TBS.Seal.Raw) {
			t.Errorf("%s: sealAt %d does not locate the seal in TBS_Sign", name, at)
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		check(path, b)
		if zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err == nil {
			for _, f := range zr.File {
				if f.UncompressedSize64 > 16<<20 {
					continue
				}
				rc, err := f.Open()
				if err != nil {
					continue
				}
				e, _ := io.ReadAll(rc)
				rc.Close()
				check(path+":"+f.Name, e)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 10 {
		t.Fatalf("only %d signatures found among the vectors", found)
	}
	t.Logf("%d signatures", found)
}

// A second signature under the seal continues from the state the first left: the state is
// found and taken (shown by swapping in a state of other bytes, which changes the answer).
func TestSealDigestTakesState(t *testing.T) {
	req, key := signCheckFixture(t)
	seal, err := ParseSeal(bytes.Clone(req.Seal.Raw))
	if err != nil {
		t.Fatal(err)
	}
	sig := signUnder(t, req, key, "/a", seal)
	want, _ := SM2Digest(&key.PublicKey, sig.TBS.Raw)
	if got, _ := sealDigest(seal, &key.PublicKey, sig.TBS.Raw, sig.TBS.sealAt); !bytes.Equal(got, want) {
		t.Fatal("first digest wrong")
	}
	var d *digestState
	for i := range seal.digests.slots {
		if d = seal.digests.slots[i].Load(); d != nil {
			break
		}
	}
	if d == nil || d.cut <= sig.TBS.sealAt || d.cut > sig.TBS.sealAt+len(seal.Raw) || (d.cut+32)%64 != 0 {
		t.Fatalf("no state remembered up to the seal's last whole block: %+v", d)
	}
	if got, _ := sealDigest(seal, &key.PublicKey, sig.TBS.Raw, sig.TBS.sealAt); !bytes.Equal(got, want) {
		t.Fatal("continued digest wrong")
	}
	// Swap in the state of different bytes: the answer changes, so the state was taken.
	h := sm2DigestState(t, key, append([]byte("other bytes"), sig.TBS.Raw[11:d.cut]...))
	d.state = h
	if got, _ := sealDigest(seal, &key.PublicKey, sig.TBS.Raw, sig.TBS.sealAt); bytes.Equal(got, want) {
		t.Fatal("the remembered state was not taken")
	}
}

func sm2DigestState(t *testing.T, key *sm2.PrivateKey, b []byte) []byte {
	t.Helper()
	za, err := sm2.CalculateZA(&key.PublicKey, DefaultUID)
	if err != nil {
		t.Fatal(err)
	}
	h := sm3.New()
	h.Write(za)
	h.Write(b)
	s, err := marshalState(h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A Seal of other bytes that shares the memo (a copy with its Raw changed, which no code of
// the package makes) does not take a state remembered for the original.
func TestSealDigestOtherBytesSharingMemo(t *testing.T) {
	req, key := signCheckFixture(t)
	seal, err := ParseSeal(bytes.Clone(req.Seal.Raw))
	if err != nil {
		t.Fatal(err)
	}
	sig := signUnder(t, req, key, "/a", seal)
	if _, err := sealDigest(seal, &key.PublicKey, sig.TBS.Raw, sig.TBS.sealAt); err != nil {
		t.Fatal(err)
	}
	other := *seal
	other.Raw = bytes.Clone(seal.Raw)
	other.Raw[len(other.Raw)-1] ^= 1 // another maker's signature value
	other.Raw[10] ^= 1               // and bytes the remembered state covers
	msg := bytes.Clone(sig.TBS.Raw)
	copy(msg[sig.TBS.sealAt:], other.Raw)
	want, _ := SM2Digest(&key.PublicKey, msg)
	got, err := sealDigest(&other, &key.PublicKey, msg, sig.TBS.sealAt)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("a seal of other bytes took the original's state: %v", err)
	}
}

// FuzzSealDigest checks that the digest continued from a remembered state always equals the
// digest of every byte, whatever the signature's bytes: for a signature that parses, with its
// seal parsed on its own and then reused, twice (the second time from the state the first
// left), and for a key other than the signer's.
func FuzzSealDigest(f *testing.F) {
	makerKey, makerCert := selfSigned(f, "maker")
	userKey, userCert := selfSigned(f, "user")
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range []int{4, 1} {
		seal, err := MakeSeal(rand.Reader, &SealTemplate{Version: v, VID: "v", ESID: "1", Type: 1, Name: "章",
			SignerCerts: [][]byte{userCert}, CreateDate: start, ValidStart: start, ValidEnd: start.AddDate(1, 0, 0),
			Picture: Picture{Type: "PNG", Data: bytes.Repeat([]byte("p"), 300), Width: 1, Height: 1}}, makerCert, makerKey)
		if err != nil {
			f.Fatal(err)
		}
		der, err := Sign(rand.Reader, &SignRequest{Seal: seal, SignerCert: userCert, DataHash: make([]byte, 32),
			PropertyInfo: "/p", Time: start.AddDate(0, 1, 0)}, userKey)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	other, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		first, err := ParseSignature(der)
		if err != nil || first.TBS.sealAt < 0 {
			return
		}
		seal, err := ParseSeal(bytes.Clone(first.TBS.Seal.Raw))
		if err != nil {
			return
		}
		for _, pub := range []*ecdsa.PublicKey{&userKey.PublicKey, &other.PublicKey} {
			want, err := SM2Digest(pub, first.TBS.Raw)
			if err != nil {
				t.Fatal(err)
			}
			for round := range 2 {
				sig, err := ParseSignatureReusing(der, func([]byte) *Seal { return seal })
				if err != nil {
					t.Fatalf("parses alone but not reusing its seal: %v", err)
				}
				if sig.TBS.sealAt < 0 {
					continue
				}
				got, err := sealDigest(sig.TBS.Seal, pub, sig.TBS.Raw, sig.TBS.sealAt)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("round %d: the continued digest differs from the whole one (%v)", round, err)
				}
			}
		}
	})
}
