package registry

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/signer"
)

// A key store that already holds a key under the label a seal's code would once have given
// (another installation on the same token, or an earlier data directory) never lends it to a
// new seal: each making generates its own key under a label of its own.
func TestMakingNeverTakesOverAKey(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, true)
	const physical = "460100200077"
	old, err := e.keys.Generate(ctx, "seal-"+physical, signer.SM2)
	if err != nil {
		t.Fatal(err)
	}
	oldPub, err := e.keys.PublicKey(ctx, old.Label)
	if err != nil {
		t.Fatal(err)
	}
	s := e.made(t, Contract, physical)
	if s.Code != physical || !strings.HasPrefix(s.KeyLabel, "seal-"+physical+"-") {
		t.Fatalf("code %s, key label %q", s.Code, s.KeyLabel)
	}
	cert, err := smx509.ParseCertificate(s.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	oldDER, _ := smx509.MarshalPKIXPublicKey(oldPub)
	newDER, _ := smx509.MarshalPKIXPublicKey(cert.PublicKey)
	if bytes.Equal(oldDER, newDER) {
		t.Fatal("the seal's certificate is for the key that was on the key store before")
	}
	// Two makings never share a label.
	s2 := e.made(t, Personal, "")
	if s2.KeyLabel == s.KeyLabel || !strings.HasPrefix(s2.KeyLabel, "seal-"+s2.Code+"-") {
		t.Fatalf("labels %q and %q", s.KeyLabel, s2.KeyLabel)
	}
}
