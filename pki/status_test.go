package pki

import (
	"context"
	"math/big"
	"testing"
	"time"
)

// TestStatus: a certificate this CA issued is issued, with its revocation as soon as Revoke
// returns; other bytes under its serial, a serial never issued and a closed CA are not.
func TestStatus(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ca := e.open(t)
	e.newKey(t, "s1")
	is, err := ca.IssueSigner(ctx, SignerRequest{KeyLabel: "s1", Holder: Holder{Person: "张三", PersonID: idPerson}, NotAfter: e.clock.Now().Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	cert := is.Certificate
	issued, rev, err := ca.Status(ctx, cert.SerialNumber, cert.Raw)
	if err != nil || !issued || rev != nil {
		t.Fatalf("issued certificate: issued %v, revocation %+v, %v", issued, rev, err)
	}
	for _, c := range []struct {
		name   string
		serial *big.Int
		der    []byte
	}{
		{"other bytes under its serial", cert.SerialNumber, ca.Maker().Raw},
		{"its bytes cut short", cert.SerialNumber, cert.Raw[:len(cert.Raw)-1]},
		{"no bytes", cert.SerialNumber, nil},
		{"a serial never issued", new(big.Int).Add(cert.SerialNumber, big.NewInt(1)), cert.Raw},
		{"no serial", nil, cert.Raw},
		{"a negative serial", big.NewInt(-5), cert.Raw},
	} {
		t.Run(c.name, func(t *testing.T) {
			issued, rev, err := ca.Status(ctx, c.serial, c.der)
			if err != nil || issued || rev != nil {
				t.Fatalf("issued %v, revocation %+v, %v", issued, rev, err)
			}
		})
	}
	if issued, _, err := ca.Status(ctx, ca.Root().SerialNumber, ca.Root().Raw); err != nil || !issued {
		t.Fatalf("root: issued %v, %v", issued, err)
	}

	e.clock.Add(time.Hour)
	at := e.clock.Now().Truncate(time.Second)
	if err := ca.Revoke(ctx, cert.SerialNumber, Superseded, at); err != nil {
		t.Fatal(err)
	}
	issued, rev, err = ca.Status(ctx, cert.SerialNumber, cert.Raw)
	if err != nil || !issued || rev == nil || !rev.Time.Equal(at) || rev.Reason != Superseded {
		t.Fatalf("revoked certificate: issued %v, revocation %+v, %v", issued, rev, err)
	}

	ca.Close()
	_, _, err = ca.Status(ctx, cert.SerialNumber, cert.Raw)
	wantErr(t, err, ErrClosed, "")
}
