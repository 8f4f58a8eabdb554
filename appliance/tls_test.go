package appliance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial int64

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key}
}

// issue makes a leaf for cn: a server certificate for 127.0.0.1 or a client certificate.
func (ca *testCA) issue(t *testing.T, cn string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestMutualTLS serves HTTPS with client certificates: a certificate under the client CA
// whose common name is a key's name authenticates as that key; one under another CA fails
// the handshake; one whose name has no key gets 401; a bearer key still works.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA, otherCA := newTestCA(t, "server CA"), newTestCA(t, "client CA"), newTestCA(t, "other CA")
	srvCert := serverCA.issue(t, "eseal", true)
	writePEM(t, filepath.Join(dir, "server.pem"), "CERTIFICATE", srvCert.Certificate[0])
	kder, err := x509.MarshalPKCS8PrivateKey(srvCert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "server.key"), "PRIVATE KEY", kder)
	writePEM(t, filepath.Join(dir, "clients.pem"), "CERTIFICATE", clientCA.cert.Raw)
	ts, _ := startServer(t, serverOpts{cfg: ServerConfig{TLS: TLSConfig{
		Cert: filepath.Join(dir, "server.pem"), Key: filepath.Join(dir, "server.key"), ClientCA: filepath.Join(dir, "clients.pem"),
	}}})
	url := strings.Replace(ts.url, "http://", "https://", 1)
	roots := x509.NewCertPool()
	roots.AddCert(serverCA.cert)
	client := func(cert *tls.Certificate) *http.Client {
		c := &tls.Config{RootCAs: roots}
		if cert != nil {
			// Sent whatever CAs the server names.
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: c}}
	}
	get := func(c *http.Client, bearer string) (int, string, error) {
		req, _ := http.NewRequest("GET", url+"/v1/test/items/1", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	maker := clientCA.issue(t, "maker-1", false)
	if st, body, err := get(client(&maker), ""); err != nil || st != 200 || !strings.Contains(body, `"caller":"maker-1"`) {
		t.Fatalf("client certificate of maker-1: %d %s %v", st, body, err)
	}
	stranger := clientCA.issue(t, "stranger", false)
	if st, body, err := get(client(&stranger), ""); err != nil || st != 401 || !strings.Contains(body, "UNAUTHENTICATED") {
		t.Fatalf("client certificate without a key: %d %s %v", st, body, err)
	}
	forged := otherCA.issue(t, "admin-1", false)
	if st, body, err := get(client(&forged), ""); err == nil {
		t.Fatalf("a certificate under another CA was taken: %d %s", st, body)
	}
	if st, body, err := get(client(nil), ""); err != nil || st != 401 {
		t.Fatalf("no certificate, no key: %d %s %v", st, body, err)
	}
	if st, body, err := get(client(nil), ts.keys["signer-1"]); err != nil || st != 200 || !strings.Contains(body, `"caller":"signer-1"`) {
		t.Fatalf("bearer key over TLS: %d %s %v", st, body, err)
	}
	// Plain HTTP is not served on a TLS port.
	if resp, err := http.Get(ts.url + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered on the TLS port")
		}
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]TLSConfig{
		"cert without key":   {Cert: filepath.Join(dir, "c.pem")},
		"missing files":      {Cert: filepath.Join(dir, "c.pem"), Key: filepath.Join(dir, "k.pem")},
		"client CA, no cert": {ClientCA: filepath.Join(dir, "ca.pem")},
	} {
		if _, err := NewServer(&Services{}, ServerConfig{TLS: c}); err == nil || !strings.Contains(err.Error(), "tls") && !strings.Contains(err.Error(), "TLS") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
