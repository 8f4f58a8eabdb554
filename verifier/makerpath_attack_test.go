package verifier

import (
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// TestMakerPathAttackRevokedMakerCA: the accepted maker CA certificate was revoked, and the
// same CA (its name and key) holds another certificate that chains too. The maker
// certificate then has two paths: one through the revoked, accepted certificate, one
// through the other. A maker accepted because of a certificate on one path must not pass on
// the revocation check of the other path.
func TestMakerPathAttackRevokedMakerCA(t *testing.T) {
	rootKey, caKey, makerKey, signerKey := newKey(t), newKey(t), newKey(t), newKey(t)
	root := issue(t, 1, "root", rootKey, smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign, true, nil, nil)
	accepted := issue(t, 10, "maker CA", caKey, smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign, true, root, rootKey)
	other := issue(t, 11, "maker CA", caKey, smx509.KeyUsageCertSign|smx509.KeyUsageCRLSign, true, root, rootKey)
	maker := issue(t, 20, "seal maker", makerKey, signKU, false, accepted, caKey)
	signer := issue(t, 30, "signer", signerKey, signKU, false, root, rootKey)

	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	revoked := start.AddDate(0, 1, 0)
	signed := revoked.AddDate(0, 1, 0)
	now := signed.Add(time.Hour)
	crl := mkCRL(t, root, rootKey, 2, signed.Add(time.Minute), now.AddDate(0, 0, 1),
		smx509.RevocationListEntry{SerialNumber: accepted.SerialNumber, RevocationTime: revoked})
	caCRL := mkCRL(t, accepted, caKey, 1, signed.Add(time.Minute), now.AddDate(0, 0, 1))
	seal := makeSeal(t, maker, makerKey, []*smx509.Certificate{signer}, start, start.AddDate(2, 0, 0))
	data := []byte("<Signature/>")
	der := signAs(t, seal, signer, signerKey, data, signed)

	for _, order := range []struct {
		name   string
		inters []*smx509.Certificate
	}{{"other listed as an intermediate", []*smx509.Certificate{other}}, {"both listed as intermediates", []*smx509.Certificate{other, accepted}}} {
		t.Run(order.name, func(t *testing.T) {
			opts := Options{Roots: []*smx509.Certificate{root}, Intermediates: order.inters,
				Makers: []*smx509.Certificate{accepted}, CRLs: []*smx509.RevocationList{crl, caCRL}, Now: at(now)}
			r := New(opts).VerifySignature(der, data)
			if r.Indication == TotalPassed || status(r.Checks, CheckRevocation) != Failed || !strings.Contains(detail(r.Checks, CheckRevocation), "maker CA") {
				t.Errorf("a seal made under a revoked maker CA: %s; maker: %s; revocation: %s", r.Indication,
					detail(r.Checks, CheckSealMaker), detail(r.Checks, CheckRevocation))
			}
			// The same trust without the revocation passes: the attack is only the revoked certificate.
			clean := opts
			clean.CRLs = []*smx509.RevocationList{mkCRL(t, root, rootKey, 3, signed.Add(time.Minute), now.AddDate(0, 0, 1)), caCRL}
			if r := New(clean).VerifySignature(der, data); r.Indication != TotalPassed {
				t.Errorf("without the revocation: %s / %s", r.Indication, r.SubIndication)
				for _, c := range r.Checks {
					t.Logf("%s %s %s", c.Name, c.Status, c.Detail)
				}
			}
		})
	}
}
