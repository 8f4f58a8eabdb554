//go:build cgo

package appliance

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/signer/pkcs11"
	"github.com/eseal/eseal/verifier"
)

// TestServeWithHSM: the server started from configs/hsm.yaml against the SM2 test token (as
// hsmConfig finds it; skipped without it unless ESEAL_PKCS11_REQUIRED=1) makes a seal whose
// key is in the token, signs a batch through the token's session pool over HTTP, and every
// signature verifies TOTAL_PASSED, through POST /v1/verify/batch and by a verifier of its
// own. The token's PIN is in no log line or answer.
func TestServeWithHSM(t *testing.T) {
	const n = 1000
	cfg, pin := hsmConfig(t)
	cfg.CA.CRLRefresh = time.Second // see TestSignBatchOverHTTP
	t.Setenv(EnvPIN, pin)
	e := startE2E(t, cfg)
	if _, ok := e.svc.Keys.(*pkcs11.Store); !ok {
		t.Fatalf("the key store is %T, not the HSM", e.svc.Keys)
	}
	if _, err := os.Stat(filepath.Join(cfg.Data.Dir, KEKFileName)); !os.IsNotExist(err) {
		t.Fatal("a KEK file was written on the HSM backend")
	}
	if st := e.call("", "GET", "/readyz", nil, nil); st != http.StatusOK {
		t.Fatalf("readyz on the HSM: %d", st)
	}
	code := e.makeSeal(regApplication(registry.Personal, ""))
	// The seal's key is the token's: its signer certificate holds the token's public key.
	ctx := context.Background()
	rec, err := e.svc.Registry.Seal(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := e.svc.Keys.PublicKey(ctx, rec.KeyLabel)
	if err != nil {
		t.Fatalf("the seal's key %s in the token: %v", rec.KeyLabel, err)
	}
	cert, err := smx509.ParseCertificate(rec.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(cert.PublicKey) {
		t.Fatal("the seal's signer certificate does not hold the token key's public key")
	}
	signerKey := e.key("licence-system", registry.RoleSigner)
	verifierKey := e.key("other-dept", RoleVerifier)

	docs, items := batchDocs(n)
	start := time.Now()
	sigs := e.signBatchOverHTTP(signerKey, code, items)
	t.Logf("%d digests signed in the token over HTTP in %v (%d sessions)", n, time.Since(start).Round(time.Millisecond), cfg.Keys.PKCS11.Sessions)
	e.verifyBatchOverHTTP(verifierKey, sigs, docs)
	// The token's session pool in /metrics: every signature took a session.
	m := e.metricsOverHTTP()
	if m["eseal_key_sessions"] != float64(cfg.Keys.PKCS11.Sessions) || m["eseal_key_session_acquires_total"] < float64(n) {
		t.Errorf("the session pool in /metrics: %v sessions, %v acquires after %d signatures",
			m["eseal_key_sessions"], m["eseal_key_session_acquires_total"], n)
	}
	time.Sleep(1100 * time.Millisecond)
	v := e.independentVerifier()
	for i, sig := range sigs {
		if r := v.VerifySignature(sig, docs[i]); r.Indication != verifier.TotalPassed {
			t.Fatalf("signature %d by verifier/: %s/%s %+v", i, r.Indication, r.SubIndication, r.Checks)
		}
	}

	e.stop()
	if strings.Contains(e.logs.String(), pin) || strings.Contains(e.bodies.String(), pin) {
		t.Error("the token's PIN is in a log line or an answer")
	}
}

// TestHSMBusyOverHTTP: with one session and a wait of a millisecond, signings sent at once
// find the token's session pool taken: those are answered 503 BUSY with Retry-After, the
// others are signed.
func TestHSMBusyOverHTTP(t *testing.T) {
	cfg, pin := hsmConfig(t)
	cfg.Keys.PKCS11.Sessions = 1
	cfg.Keys.PKCS11.WaitTimeout = time.Millisecond
	t.Setenv(EnvPIN, pin)
	e := startE2E(t, cfg)
	code := e.makeSeal(regApplication(registry.Personal, ""))
	signerKey := e.key("licence-system", registry.RoleSigner)

	var (
		mu       sync.Mutex
		busy     []rawAnswer
		fails    []string
		ok, stop atomic.Int64
	)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				if stop.Load() != 0 {
					return
				}
				d := sm3.Sum(fmt.Appendf(nil, "licence %d-%d", g, i))
				body, _ := json.Marshal(signRequest{Seal: code, PIN: regPIN, PersonID: regIDHolder, Digest: d[:]})
				a, err := e.rawErr(signerKey, "POST", "/v1/sign", "application/json", body)
				mu.Lock()
				switch {
				case err != nil:
					fails = append(fails, err.Error())
				case a.status == http.StatusServiceUnavailable:
					busy = append(busy, a)
					stop.Store(1)
				case a.status == http.StatusOK:
					ok.Add(1)
				default:
					fails = append(fails, fmt.Sprintf("%d %s", a.status, a.body))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(fails) > 0 {
		t.Fatalf("signings failed otherwise than busy: %v", fails)
	}
	if len(busy) == 0 {
		t.Fatalf("%d signings sent eight at a time to one session, none answered busy", ok.Load())
	}
	a := busy[0]
	if r := a.refusal(t); r.Code != "BUSY" || a.header.Get("Retry-After") == "" {
		t.Fatalf("busy: %s %q, Retry-After %q", r.Code, r.Message, a.header.Get("Retry-After"))
	}
	if ok.Load() == 0 {
		t.Fatal("no signing got the session")
	}
}
