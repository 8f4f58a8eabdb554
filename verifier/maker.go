package verifier

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ses"
)

// checkSealMaker decides whether the seal was made by an accepted seal maker. It fails when
// the maker is the signer (by certificate or by key), is one of the certificates the seal
// lets sign, or may not sign (keyUsage without digitalSignature and nonRepudiation). It
// passes only when, besides, the maker certificate chains to a trust anchor and is an
// accepted maker (Options.Makers): listed itself, or issued through a listed CA. Anything
// short of that is indeterminate: nothing says the maker may not make seals, but nothing
// says it may.
//
// signer is nil for a bare seal; chain is the maker's path building, nil when none was tried.
func (v *Verifier) checkSealMaker(c *checks, seal *ses.Seal, maker parsedCert, signerDER []byte, signer *smx509.Certificate, chain *chainResult) {
	if maker.cert == nil {
		c.skip(CheckSealMaker, "not checked: the seal maker certificate does not parse")
		return
	}
	m := maker.cert
	switch {
	case signerDER != nil && bytes.Equal(m.Raw, signerDER):
		c.fail(CheckSealMaker, SigConstraintsFailure, "the seal was made with the signer's own certificate: a signer cannot make the seal it signs with")
		return
	case signer != nil && sameKey(m, signer):
		c.fail(CheckSealMaker, SigConstraintsFailure, fmt.Sprintf("the seal maker certificate (%s) holds the signer's public key: a signer cannot make the seal it signs with", subjectOf(m)))
		return
	}
	if i := inCertList(&seal.Info.Property, m.Raw); i > 0 {
		c.fail(CheckSealMaker, SigConstraintsFailure, fmt.Sprintf("the seal maker certificate is entry %d of the seal's own signer list: a signer cannot make the seal it signs with", i))
		return
	}
	if !maker.lenient {
		switch {
		case m.KeyUsage == 0:
			c.fail(CheckSealMaker, SigConstraintsFailure, fmt.Sprintf("the seal maker certificate (%s) has no keyUsage: a seal maker's must allow digitalSignature or nonRepudiation", subjectOf(m)))
			return
		case m.KeyUsage&(smx509.KeyUsageDigitalSignature|smx509.KeyUsageContentCommitment) == 0:
			c.fail(CheckSealMaker, SigConstraintsFailure, fmt.Sprintf("the seal maker certificate (%s) allows neither digitalSignature nor nonRepudiation", subjectOf(m)))
			return
		}
	}
	if c.tv == nil || c.tv.nMakers == 0 {
		c.indet(CheckSealMaker, NoCertificateChainFound, "no accepted seal makers are configured (--maker), so no seal maker is trusted, however well its certificate chains")
		return
	}
	if chain == nil || chain.paths == nil {
		c.indet(CheckSealMaker, NoCertificateChainFound, fmt.Sprintf("the seal maker certificate (%s) has no valid chain to a trust anchor (see certificate_chain)", subjectOf(m)))
		return
	}
	if c.tv.makers[string(m.Raw)] {
		c.pass(CheckSealMaker, fmt.Sprintf("the seal maker certificate (%s) is an accepted seal maker, chained to %s", subjectOf(m), subjectOf(anchorOf(chain.paths[0]))))
		return
	}
	// Only the first path: the one whose certificates the revocation check and the time proof
	// judge (makerPathFirst put a path through an accepted maker there when there is one).
	path := chain.paths[0]
	for _, ca := range path[1:] {
		if c.tv.makers[string(ca.Raw)] {
			c.pass(CheckSealMaker, fmt.Sprintf("the seal maker certificate (%s) was issued through %s, an accepted maker CA, and chains to %s", subjectOf(m), subjectOf(ca), subjectOf(anchorOf(path))))
			return
		}
	}
	c.indet(CheckSealMaker, ChainConstraintsFailure, fmt.Sprintf("the seal maker certificate (%s) chains to %s but is not an accepted seal maker, nor issued through one (%d accepted, --maker)",
		subjectOf(m), subjectOf(anchorOf(chain.paths[0])), c.tv.nMakers))
}

// roleMaker names the seal maker's certificate among those whose chains are built.
const roleMaker = "seal maker"

// makerPathFirst returns the maker certificate's paths with the first that passes through an
// accepted seal maker (a CA of the path listed among the makers) in front, the others in their
// order. The revocation check and the time proof judge a certificate by its first path, so the
// path that makes the maker accepted must be that one: a maker accepted through a revoked CA
// certificate must not pass on the revocation status of another path to the same CA. paths
// itself is left as it is (it may be a cached value).
func makerPathFirst(tv *trustView, paths [][]*smx509.Certificate) [][]*smx509.Certificate {
	if tv == nil {
		return paths
	}
	for i, p := range paths {
		for _, ca := range p[1:] {
			if !tv.makers[string(ca.Raw)] {
				continue
			}
			if i == 0 {
				return paths
			}
			out := make([][]*smx509.Certificate, 0, len(paths))
			out = append(append(out, p), paths[:i]...)
			return append(out, paths[i+1:]...)
		}
	}
	return paths
}

func anchorOf(path []*smx509.Certificate) *smx509.Certificate { return path[len(path)-1] }

func sameKey(a, b *smx509.Certificate) bool {
	pa, ok1 := a.PublicKey.(*ecdsa.PublicKey)
	pb, ok2 := b.PublicKey.(*ecdsa.PublicKey)
	return ok1 && ok2 && pa.Equal(pb)
}

// inCertList returns the 1-based entry of the seal's signer list that is cert (by bytes, or
// by digest for certListType 2), or 0.
func inCertList(p *ses.Property, cert []byte) int {
	for i, c := range p.Certs {
		if bytes.Equal(c, cert) {
			return i + 1
		}
	}
	i, _ := p.DigestEntry(cert)
	return i
}
