package appliance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/ses"
)

// BenchmarkSignBatch signs batches of DefaultBatchMax digests through POST
// /v1/sign/batch (decoding, authorisation, parallel signing, durable use records, the JSON
// answer); compare its ns/signature with BenchmarkSignSES, the same signature built directly.
func BenchmarkSignBatch(b *testing.B) {
	e := newRegEnv(b)
	s := e.made(b, registry.Personal, "")
	items := make([]signBatchItem, DefaultBatchMax)
	for i := range items {
		d := sm3.Sum(fmt.Appendf(nil, "licence %d", i))
		items[i] = signBatchItem{Digest: base64.StdEncoding.EncodeToString(d[:])}
	}
	body := map[string]any{"seal": s.Code, "pin": regPIN, "person_id": regIDHolder, "items": items}
	raw, err := json.Marshal(body)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		a := e.do(b, regHolder, "POST", "/v1/sign/batch", "", raw)
		if a.err != nil || bytes.Count(a.body, []byte(`"signature":`)) != len(items) {
			b.Fatalf("refused (%v), or not every item signed", a.err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(items)), "ns/signature")
}

// BenchmarkSignSES builds one SES_Signature with the seal's key, on one goroutine: the
// cost the batch route adds its work to.
func BenchmarkSignSES(b *testing.B) {
	e := newRegEnv(b)
	ctx := context.Background()
	v := e.made(b, registry.Personal, "")
	rec, err := e.reg.Seal(ctx, v.Code)
	if err != nil {
		b.Fatal(err)
	}
	key, err := e.keys.Signer(ctx, rec.KeyLabel)
	if err != nil {
		b.Fatal(err)
	}
	seal, err := ses.ParseSeal(rec.ESL)
	if err != nil {
		b.Fatal(err)
	}
	cert, err := smx509.ParseCertificate(rec.Certificate)
	if err != nil {
		b.Fatal(err)
	}
	d := sm3.Sum([]byte("licence"))
	now := time.Now()
	for b.Loop() {
		if _, err := ses.Sign(rand.Reader, &ses.SignRequest{Seal: seal, SignerCert: cert.Raw, DataHash: d[:], Time: now}, key); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/signature")
}
