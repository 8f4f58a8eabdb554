package revocation_test

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/revocation"
)

// A Fetcher asked for the CRL of an issuer fetches it from the distribution point once and
// answers from memory until its nextUpdate.
func Example() {
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	key, _ := sm2.GenerateKey(rand.Reader)
	tpl := &smx509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example Root"},
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign, SubjectKeyId: []byte{1}}
	der, _ := smx509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	root, _ := smx509.ParseCertificate(der)
	crl, _ := smx509.CreateRevocationList(rand.Reader, &smx509.RevocationList{
		Number: big.NewInt(42), ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour)}, root, key)

	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write(crl)
	}))
	defer srv.Close()

	f, err := revocation.New(nil, revocation.Config{
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	for range 3 {
		l, err := f.CRL(context.Background(), root, []string{srv.URL + "/root.crl"})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("CRL number", l.Number, "of", l.Issuer.CommonName)
	}
	fmt.Println("requests:", requests.Load())
	// Output:
	// CRL number 42 of Example Root
	// CRL number 42 of Example Root
	// CRL number 42 of Example Root
	// requests: 1
}
