package appliance

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/verifier"
)

// metricsOverHTTP reads GET /metrics (no key) into a map from series (name and labels) to
// value.
func (e *e2e) metricsOverHTTP() map[string]float64 {
	e.t.Helper()
	a := e.raw("", "GET", "/metrics", "", nil)
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
		e.t.Fatalf("metrics: %d %s", a.status, a.header.Get("Content-Type"))
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(a.body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			e.t.Fatalf("metrics line %q has no value", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			e.t.Fatalf("metrics line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

// TestMetricsOverHTTP: after a walk through signing and verification on the configured
// default, GET /metrics counts the signatures made (one by one and in a batch) and verified
// (by indication, one by one, in a batch and in an OFD document), the requests by route and status, and shows
// every verifier cache with its hits, misses and hit ratio.
func TestMetricsOverHTTP(t *testing.T) {
	cfg := testConfig(t)
	e := startE2E(t, cfg)
	code := e.makeSeal(regApplication(registry.Personal, ""))
	signerKey := e.key("licence-system", registry.RoleSigner)
	verifierKey := e.key("other-dept", RoleVerifier)
	const (
		made     = `eseal_signatures_made_total`
		passed   = `eseal_signatures_verified_total{indication="TOTAL_PASSED"}`
		failed   = `eseal_signatures_verified_total{indication="TOTAL_FAILED"}`
		signOK   = `eseal_http_requests_total{method="POST",route="/v1/sign",status="200"}`
		verifyOK = `eseal_http_requests_total{method="POST",route="/v1/verify/batch",status="200"}`
	)
	before := e.metricsOverHTTP() // the counters of signatures are the process's: compare

	doc := []byte("电子营业执照 2026-0007")
	d := sm3.Sum(doc)
	var sig signAnswer
	e.must(http.StatusOK, signerKey, "POST", "/v1/sign", signRequest{Seal: code, PIN: regPIN, PersonID: regIDHolder, Digest: d[:]}, &sig)
	docs, items := batchDocs(3)
	sigs := e.signBatchOverHTTP(signerKey, code, items)
	e.verifyBatchOverHTTP(verifierKey, sigs, docs)
	var rep verifier.SignatureReport
	e.must(http.StatusOK, verifierKey, "POST", "/v1/verify", VerifyRequest{Signature: base64.StdEncoding.EncodeToString(sig.Signature),
		Data: base64.StdEncoding.EncodeToString(doc)}, &rep)
	if rep.Indication != verifier.TotalPassed {
		t.Fatalf("the signature: %s", rep.Indication)
	}
	// The signature with another document: it fails.
	e.must(http.StatusOK, verifierKey, "POST", "/v1/verify", VerifyRequest{Signature: base64.StdEncoding.EncodeToString(sig.Signature),
		Data: base64.StdEncoding.EncodeToString([]byte("another document"))}, &rep)
	if rep.Indication != verifier.TotalFailed {
		t.Fatalf("the signature with another document: %s", rep.Indication)
	}

	want := map[string]float64{made: 4, passed: 4, failed: 1, signOK: 1, verifyOK: 1}
	// An OFD document: each of its signatures counts under its indication.
	a := e.raw(verifierKey, "POST", "/v1/ofd/verify", "application/ofd", testvectors.Read(t, "esl-demo/test.ofd"))
	var ofdRep verifier.Report
	if err := json.Unmarshal(a.body, &ofdRep); err != nil || a.status != http.StatusOK || len(ofdRep.Signatures) == 0 {
		t.Fatalf("the OFD document: %d %.200s %v", a.status, a.body, err)
	}
	for _, r := range ofdRep.Signatures {
		want[`eseal_signatures_verified_total{indication="`+r.Indication+`"}`]++
	}

	after := e.metricsOverHTTP()
	for series, delta := range want {
		if got := after[series] - before[series]; got != delta {
			t.Errorf("%s went from %v to %v, want +%v", series, before[series], after[series], delta)
		}
	}
	hits := 0.0
	for _, name := range []string{"certs", "seals", "chains", "revocation"} {
		l := `{cache="` + name + `"}`
		h, okH := after["eseal_cache_hits_total"+l]
		m, okM := after["eseal_cache_misses_total"+l]
		if !okH || !okM {
			t.Errorf("the %s cache is not in /metrics", name)
			continue
		}
		ratio, ok := after["eseal_cache_hit_ratio"+l]
		switch {
		case h+m == 0 && ok:
			t.Errorf("the %s cache has a hit ratio without lookups", name)
		case h+m > 0 && (!ok || ratio != h/(h+m)):
			t.Errorf("the %s cache: %v hits, %v misses, hit ratio %v (shown: %v)", name, h, m, ratio, ok)
		}
		hits += h
	}
	// Five verifications of signatures under one seal: the later ones find the seal's
	// certificates in the caches.
	if hits == 0 {
		t.Error("no cache was hit in five verifications under one seal")
	}
	// The verification queue: every signature verified through the routes went through it.
	if got := after["eseal_verify_queue_admitted_total"] - before["eseal_verify_queue_admitted_total"]; got < 5 {
		t.Errorf("the verification queue admitted %v signatures, want at least 5", got)
	}
	if after["eseal_verify_queue_capacity"] <= 0 || after["eseal_verify_pool_workers"] <= 0 {
		t.Errorf("the verification pool's size is not in /metrics: capacity %v, workers %v",
			after["eseal_verify_queue_capacity"], after["eseal_verify_pool_workers"])
	}
}
