//go:build cgo

package appliance

import (
	"context"
	"crypto"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
