package verifier

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/ses"
)

// TestCertDigestListAttackBoundedWork: a seal's signer list of certListType 2 holds
// digests of certificates, each under the algorithm its label names. Hashing the signer's
// certificate (and the maker's) once per entry costs entries × certificate size: a
// signature of a few megabytes, a seal of hundreds of thousands of empty entries and a
// "certificate" of a megabyte (nothing needs to verify or even parse for the comparison),
// would hash hundreds of gigabytes. Each certificate must be hashed once per algorithm.
func TestCertDigestListAttackBoundedWork(t *testing.T) {
	p := newPKI(t)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	seal, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{
		VID: "eseal", ESID: "4600002024000003", Type: 1, Name: "海南省测试单位", UseCertDigests: true,
		SignerCerts: [][]byte{p.signer.Raw}, CreateDate: start, ValidStart: start, ValidEnd: start.AddDate(2, 0, 0),
		Picture: ses.Picture{Type: "PNG", Data: []byte("\x89PNG picture"), Width: 40, Height: 40},
	}, p.maker.Raw, p.makerKey)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("<Signature/>")
	// attack signs with a seal listing entries digests, none of them the signer's, and a 1 MB
	// signer "certificate" that needs neither to verify nor to parse.
	attack := func(entries int) []byte {
		root := parseTLV(t, p.sign(t, seal, data, start.AddDate(0, 1, 0)))
		list := &tlv{tag: 0x30}
		labels := []string{"sm3", "sha1", "sha256", "x"}
		for i := range entries {
			list.kids = append(list.kids, &tlv{tag: 0x30, kids: []*tlv{{tag: 0x13, val: []byte(labels[i%len(labels)])}, {tag: 0x04}}})
		}
		property := root.kids[0].kids[1].kids[0].kids[2]
		if property.kids[2].val[0] != 2 {
			t.Fatal("the seal does not list certificate digests")
		}
		property.kids[3] = list
		root.kids[1] = &tlv{tag: 0x04, val: bytes.Repeat([]byte{0x5a}, 1<<20)}
		return root.der()
	}
	verify := func(der []byte, within time.Duration) SignatureReport {
		done := make(chan SignatureReport, 1)
		go func() { done <- New(p.trust(start.AddDate(0, 2, 0))).VerifySignature(der, data) }()
		select {
		case r := <-done:
			return r
		case <-time.After(within):
			t.Fatalf("verifying a %d-byte signature takes more than %s", len(der), within)
		}
		return SignatureReport{}
	}
	// As many digests as a list may hold: the certificate is hashed once per algorithm, not
	// once per entry (4 GB of hashing).
	if r := verify(attack(ses.MaxElements), 5*time.Second); r.Indication != TotalFailed || status(r.Checks, CheckSignerInSeal) != Failed {
		t.Errorf("%s / %s, signer_in_seal %s", r.Indication, r.SubIndication, detail(r.Checks, CheckSignerInSeal))
	}
	// More than a list may hold: refused as it is read.
	if r := verify(attack(300_000), 20*time.Second); r.Indication != TotalFailed || status(r.Checks, CheckFormat) != Failed ||
		!strings.Contains(detail(r.Checks, CheckFormat), "more than 4096 elements") {
		t.Errorf("%s / %s, format %s: %s", r.Indication, r.SubIndication, status(r.Checks, CheckFormat), detail(r.Checks, CheckFormat))
	}
	// Still found when it is there, under each label, after the entries that are not.
	sum3, sum1, sum256 := sm3.Sum(p.signer.Raw), sha1.Sum(p.signer.Raw), sha256.Sum256(p.signer.Raw)
	for label, want := range map[string][]byte{"": sum3[:], "SM3": sum3[:], "sha-1": sum1[:], "SHA256": sum256[:]} {
		sig, err := ses.ParseSignature(p.sign(t, seal, data, start.AddDate(0, 1, 0)))
		if err != nil {
			t.Fatal(err)
		}
		d := &sig.TBS.Seal.Info.Property.CertDigests
		*d = append([]ses.CertDigest{{Type: "sm3", Value: make([]byte, sm3.Size)}}, ses.CertDigest{Type: label, Value: want})
		if ok, detail := sig.SignerInSeal(); !ok {
			t.Errorf("label %q: %s", label, detail)
		}
		if i := inCertList(&sig.TBS.Seal.Info.Property, p.signer.Raw); i != 2 {
			t.Errorf("label %q: inCertList answers %d, want 2", label, i)
		}
		// The digest under a label naming another algorithm is no match.
		(*d)[1].Type = map[string]string{"": "sha256", "SM3": "sha1", "sha-1": "sm3", "SHA256": ""}[label]
		if ok, _ := sig.SignerInSeal(); ok {
			t.Errorf("label %q: the digest matches under another algorithm's label", label)
		}
	}
}
