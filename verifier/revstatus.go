package verifier

import (
	"bytes"
	"context"
	"encoding/asn1"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ses"
)

// crlIndexes indexes CRLs by serial number, so that a CRL of many thousand entries is
// searched in one map lookup. It holds the indexes of a bounded number of CRLs and forgets
// them all when full: CRLs change seldom, and an index is rebuilt in one pass.
type crlIndexes struct {
	mu sync.Mutex
	m  map[*smx509.RevocationList]map[string]*smx509.RevocationListEntry
}

const maxCRLIndexes = 256

func newCRLIndexes() *crlIndexes {
	return &crlIndexes{m: map[*smx509.RevocationList]map[string]*smx509.RevocationListEntry{}}
}

// serialKey is a serial number as a map key.
func serialKey(n *big.Int) string {
	if n.Sign() < 0 {
		return "-" + string(n.Bytes())
	}
	return string(n.Bytes())
}

// entry returns the CRL entry of cert, or nil.
func (x *crlIndexes) entry(crl *smx509.RevocationList, cert *smx509.Certificate) *smx509.RevocationListEntry {
	x.mu.Lock()
	idx, ok := x.m[crl]
	if !ok {
		if len(x.m) >= maxCRLIndexes {
			clear(x.m)
		}
		idx = make(map[string]*smx509.RevocationListEntry, len(crl.RevokedCertificateEntries))
		for i := range crl.RevokedCertificateEntries {
			e := &crl.RevokedCertificateEntries[i]
			if e.SerialNumber == nil {
				continue
			}
			// A serial listed more than once (on hold, then revoked) counts from its
			// earliest revocation.
			if k := serialKey(e.SerialNumber); idx[k] == nil || revokedSince(e).Before(revokedSince(idx[k])) {
				idx[k] = e
			}
		}
		x.m[crl] = idx
	}
	x.mu.Unlock()
	if cert.SerialNumber == nil {
		return nil
	}
	return idx[serialKey(cert.SerialNumber)]
}

// hasRevocationSource tells whether anything can say a certificate was revoked.
func (v *Verifier) hasRevocationSource() bool {
	return len(v.opts.CRLs) > 0 || v.opts.CRLSource != nil || v.opts.Status != nil
}

// certRevocation is what is known of one certificate's revocation, from the registry or a CRL.
type certRevocation struct {
	// revoked is when the certificate was revoked, zero when it is not; reason says why.
	revoked time.Time
	reason  string
	// registry is true when the answer is the registry's: current and authoritative.
	registry bool
	// crl is the CRL that answered, when one did.
	crl *smx509.RevocationList
	// unknown says why there is no answer; the other fields are then empty.
	unknown string
}

// revEntry is a cached CRL answer for one certificate and issuer.
type revEntry struct {
	cert, issuer []byte
	crl          *smx509.RevocationList
	entry        *smx509.RevocationListEntry
	until        time.Time // on the wall clock: the answer is not used from then on
	gen          uint64    // the CRL source's generation read before the CRL was asked for
}

// crlGenerations is implemented by a CRL source that counts the changes of the CRLs it
// holds (revocation.Fetcher does): the count moves after a newer CRL is held and before the
// source's hook invalidates the cached answers. An answer cached with another count was
// built from a CRL that may have been replaced while it was built, after the invalidation
// that should have dropped it, and is not used.
type crlGenerations interface {
	CRLGeneration() uint64
}

// crlGeneration is the CRL source's generation, zero when it does not count.
func (v *Verifier) crlGeneration() uint64 {
	if g, ok := v.opts.CRLSource.(crlGenerations); ok {
		return g.CRLGeneration()
	}
	return 0
}

// revocationOf asks the registry, then the CRLs, about cert, which issuer signed.
func (v *Verifier) revocationOf(cert, issuer *smx509.Certificate, now time.Time) certRevocation {
	if v.opts.Status != nil {
		st, err := v.opts.Status.CertStatus(context.Background(), cert)
		switch {
		case err != nil:
			return certRevocation{unknown: fmt.Sprintf("the registry could not be asked about %s: %v", subjectOf(cert), err)}
		case st.Known:
			return certRevocation{revoked: st.Revoked, reason: st.Reason, registry: true}
		}
	}
	if len(v.opts.CRLs) == 0 && v.opts.CRLSource == nil {
		return certRevocation{unknown: fmt.Sprintf("no CRL source is configured for %s", subjectOf(issuer))}
	}
	gen := v.crlGeneration()
	load := func() (any, int64, time.Time, error) {
		crl, err := v.crlFor(cert, issuer)
		if err != nil {
			return nil, 0, time.Time{}, err
		}
		until := crl.NextUpdate
		if !until.After(now) {
			// A stale CRL is used within its grace; ask again soon for a newer one.
			until = now.Add(staleRecheck)
		}
		wall := v.cacheUntil(until, now)
		e := &revEntry{cert: cert.Raw, issuer: issuer.Raw, crl: crl, entry: v.crlIdx.entry(crl, cert), until: wall, gen: gen}
		return e, revCost, wall, nil
	}
	var x any
	var err error
	if v.caches.Revocation != nil {
		x, err = v.load(v.caches.Revocation, nsRevocation, v.keys.pair(keyRevocation, cert.Raw, issuer.Raw), load)
		e, ok := x.(*revEntry)
		if err == nil && (!ok || !bytes.Equal(e.cert, cert.Raw) || !bytes.Equal(e.issuer, issuer.Raw) || !time.Now().Before(e.until) || e.gen != gen) {
			// A key collision, an answer held in front past its time, or one built while the
			// CRL source took a newer CRL: answer afresh.
			x, _, _, err = load()
		}
	} else {
		x, _, _, err = load()
	}
	if err != nil {
		return certRevocation{unknown: err.Error()}
	}
	e := x.(*revEntry)
	r := certRevocation{crl: e.crl}
	if e.entry != nil {
		r.revoked, r.reason = e.entry.RevocationTime, reasonText(e.entry.ReasonCode)
		if at, ok := invalidityDate(e.entry); ok && at.Before(r.revoked) {
			r.reason += fmt.Sprintf(", the key invalid since %s by the CRL's invalidityDate, revoked at %s", fmtTime(at), fmtTime(r.revoked))
			r.revoked = at
		}
	}
	return r
}

var oidInvalidityDate = asn1.ObjectIdentifier{2, 5, 29, 24}

// revokedSince is when a CRL entry's certificate stopped being good: its revocation date, or
// its invalidityDate when that is earlier.
func revokedSince(e *smx509.RevocationListEntry) time.Time {
	if at, ok := invalidityDate(e); ok && at.Before(e.RevocationTime) {
		return at
	}
	return e.RevocationTime
}

// invalidityDate returns the invalidityDate of a CRL entry (RFC 5280 §5.3.2): when its
// certificate's key is known or suspected to have been compromised, which may be before the
// revocation. A signature made after it is not the certificate holder's to stand behind,
// even though the revocation came later.
func invalidityDate(e *smx509.RevocationListEntry) (time.Time, bool) {
	for _, x := range e.Extensions {
		if !x.Id.Equal(oidInvalidityDate) {
			continue
		}
		var at time.Time
		if rest, err := asn1.UnmarshalWithParams(x.Value, &at, "generalized"); err != nil || len(rest) != 0 {
			return time.Time{}, false
		}
		return at, true
	}
	return time.Time{}, false
}

// revMemo is one answer of revocationOf kept for the rest of a verification.
type revMemo struct {
	cert, issuer *smx509.Certificate
	r            certRevocation
}

// revocationIn is revocationOf asked once per verification: the revocation check and the
// time proof ask about the same certificates.
func (v *Verifier) revocationIn(c *checks, cert, issuer *smx509.Certificate, now time.Time) certRevocation {
	for _, m := range c.revs {
		if m.cert == cert && m.issuer == issuer {
			return m.r
		}
	}
	r := v.revocationOf(cert, issuer, now)
	c.revs = append(c.revs, revMemo{cert, issuer, r})
	return r
}

// staleRecheck is how long the answer of a CRL past its nextUpdate is kept before the CRL
// source is asked again for a newer one.
const staleRecheck = time.Minute

// crlFor returns the newest CRL of issuer: from the configured CRLs or the CRL source,
// whichever is newer. The error says why there is none.
func (v *Verifier) crlFor(cert, issuer *smx509.Certificate) (*smx509.RevocationList, error) {
	crl := v.crls.newest(issuer)
	if v.opts.CRLSource == nil {
		if crl == nil {
			return nil, fmt.Errorf("no CRL from %s is available", subjectOf(issuer))
		}
		return crl, nil
	}
	fetched, err := v.opts.CRLSource.CRL(context.Background(), issuer, cert.CRLDistributionPoints)
	switch {
	case err != nil && crl == nil:
		return nil, fmt.Errorf("no CRL from %s is available: %w", subjectOf(issuer), err)
	case err != nil:
		return crl, nil
	case fetched == nil || !bytes.Equal(fetched.RawIssuer, issuer.RawSubject) || !completeCRL(fetched):
		if crl == nil {
			return nil, fmt.Errorf("no CRL from %s is available: the CRL source gave none usable for it", subjectOf(issuer))
		}
		return crl, nil
	case crl == nil || newer(fetched, crl) > 0:
		return fetched, nil
	}
	return crl, nil
}

// checkRevocation checks every certificate of the chains, as of the signing time t: a
// certificate revoked at or before t fails; one revoked after t passes, and the detail says
// when (time_proof then asks for proof that the signature is older). The registry answers
// at once for what our platform issued; for the rest the newest CRL of the issuer does, with
// two limits: a CRL issued before a past t cannot show the certificate was good at t
// (current: t is the current time, which the current CRL answers for), and a CRL past its
// grace cannot be relied on at all.
func (v *Verifier) checkRevocation(c *checks, chains []chainResult, t, now time.Time, current bool) {
	if !v.hasRevocationSource() {
		c.indet(CheckRevocation, TryLater, "no revocation source is configured (--crl, --fetch-crl): whether the certificates were revoked is unknown")
		return
	}
	var good, notes []string
	for _, r := range chains {
		path := r.paths[0]
		for i := 0; i+1 < len(path); i++ {
			cert, issuer := path[i], path[i+1]
			rv := v.revocationIn(c, cert, issuer, now)
			if rv.unknown != "" {
				c.indet(CheckRevocation, TryLater, fmt.Sprintf("the revocation status of %s (the %s chain) is unknown: %s", subjectOf(cert), r.role, rv.unknown))
				return
			}
			if !rv.revoked.IsZero() && !rv.revoked.After(t) {
				c.fail(CheckRevocation, Revoked, fmt.Sprintf("certificate %s (%s) was revoked at %s (%s), before %s", subjectOf(cert), serialHex(cert), fmtTime(rv.revoked), rv.reason, fmtTime(t)))
				return
			}
			var line string
			if rv.registry {
				line = fmt.Sprintf("%s is not revoked, says the registry that issued it", subjectOf(cert))
			} else {
				crl := rv.crl
				fresh, note := v.crlFresh(crl, issuer, now)
				if !fresh {
					c.indet(CheckRevocation, TryLater, note)
					return
				}
				if !current && crl.ThisUpdate.Before(t) && rv.revoked.IsZero() {
					c.indet(CheckRevocation, TryLater, fmt.Sprintf("the newest CRL of %s was issued at %s, before %s: it cannot show that %s was not revoked by then", subjectOf(issuer), fmtTime(crl.ThisUpdate), fmtTime(t), subjectOf(cert)))
					return
				}
				line = fmt.Sprintf("%s is not on the CRL of %s (thisUpdate %s)", subjectOf(cert), subjectOf(issuer), fmtTime(crl.ThisUpdate))
				if note != "" && !slices.Contains(notes, note) {
					notes = append(notes, note)
				}
			}
			if !rv.revoked.IsZero() {
				line = fmt.Sprintf("%s (%s) was revoked at %s (%s), after %s: not revoked when it signed", subjectOf(cert), serialHex(cert), fmtTime(rv.revoked), rv.reason, fmtTime(t))
			}
			good = append(good, line)
		}
	}
	c.pass(CheckRevocation, join(strings.Join(good, "; ")+" at "+fmtTime(t), notes...))
}

// checkSealStatus asks the registry about the seal, as of t (the signing time, or now for a
// bare seal): a seal revoked or voided at or before t, or suspended at t, fails the
// revocation check; otherwise what the registry says is added to its detail. A seal the
// registry did not make is left to the other checks.
func (v *Verifier) checkSealStatus(c *checks, seal *ses.Seal, t time.Time) {
	if v.opts.Status == nil || seal == nil || t.IsZero() {
		return
	}
	st, err := v.sealStatus(c, seal)
	switch {
	case err != nil:
		c.indet(CheckRevocation, TryLater, fmt.Sprintf("the registry could not be asked about seal %s: %v", seal.Info.ESID, err))
		return
	case !st.Known:
		return
	case !st.Revoked.IsZero() && !st.Revoked.After(t):
		c.fail(CheckRevocation, Revoked, fmt.Sprintf("seal %s was revoked at %s (%s), before %s", seal.Info.ESID, fmtTime(st.Revoked), st.Reason, fmtTime(t)))
		return
	}
	for _, p := range st.Suspended {
		if !t.Before(p.From) && (p.To.IsZero() || t.Before(p.To)) {
			c.fail(CheckRevocation, Revoked, fmt.Sprintf("seal %s was suspended at %s (since %s)", seal.Info.ESID, fmtTime(t), fmtTime(p.From)))
			return
		}
	}
	line := fmt.Sprintf("seal %s is not revoked, says the registry that made it", seal.Info.ESID)
	if !st.Revoked.IsZero() {
		line = fmt.Sprintf("seal %s was revoked at %s (%s), after %s", seal.Info.ESID, fmtTime(st.Revoked), st.Reason, fmtTime(t))
	}
	if k := c.get(CheckRevocation); k != nil && (k.Status == Passed || k.Status == Skipped) {
		k.Detail += "; " + line
	}
}

// sealMemo is the registry's answer about a seal, asked once per verification: the
// revocation check and the time proof ask about the same seal.
type sealMemo struct {
	seal *ses.Seal
	st   Status
	err  error
}

// sealStatus asks the registry about seal, once per verification: by its bytes, and when it
// does not know them, by each strict encoding of the same seal (ses.Seal.StrictEncodings)
// that differs from them. The maker signed only part of a seal's bytes, so a seal the
// registry made, revoked or suspended can be carried in another envelope that still
// verifies; asked by those bytes alone, the registry would not know it, and its word would
// be lost.
func (v *Verifier) sealStatus(c *checks, seal *ses.Seal) (Status, error) {
	if m := c.seal; m != nil && m.seal == seal {
		return m.st, m.err
	}
	ctx := context.Background()
	st, err := v.opts.Status.SealStatus(ctx, seal.Info.ESID, seal.Raw)
	if err == nil && !st.Known {
		for _, der := range seal.StrictEncodings() {
			if bytes.Equal(der, seal.Raw) {
				continue
			}
			if st, err = v.opts.Status.SealStatus(ctx, seal.Info.ESID, der); err != nil || st.Known {
				break
			}
		}
	}
	c.seal = &sealMemo{seal, st, err}
	return st, err
}

// revocationNow is what the registry and the CRLs say about the chains' certificates and the
// seal at the current time.
type revocationNow struct {
	revoked []string // one line per revoked certificate or seal
	first   time.Time
	unknown []string // why the status of a certificate is not known
}

func (r *revocationNow) add(line string, at time.Time) {
	r.revoked = append(r.revoked, line)
	if r.first.IsZero() || at.Before(r.first) {
		r.first = at
	}
}

// revokedNow consults the registry and the newest CRL of each issuer at now, and the
// registry about the seal (nil for none). Any listing counts, stale CRL or not: revocation is
// final. A seal suspended now counts as revoked from the start of its suspension, and so does
// one whose suspension ended after the claimed signing time (zero: not known): the claim is
// the signer's own, and a signature made while the seal could sign nothing can claim a time
// before it.
func (v *Verifier) revokedNow(c *checks, chains []chainResult, seal *ses.Seal, claimed, now time.Time) revocationNow {
	var r revocationNow
	if !v.hasRevocationSource() {
		r.unknown = append(r.unknown, "no revocation source is configured (--crl, --fetch-crl)")
		return r
	}
	for _, ch := range chains {
		path := ch.paths[0]
		for i := 0; i+1 < len(path); i++ {
			cert, issuer := path[i], path[i+1]
			rv := v.revocationIn(c, cert, issuer, now)
			switch {
			case rv.unknown != "":
				r.unknown = append(r.unknown, rv.unknown)
			case !rv.revoked.IsZero() && !rv.revoked.After(now):
				r.add(fmt.Sprintf("certificate %s (%s) was revoked at %s (%s)", subjectOf(cert), serialHex(cert), fmtTime(rv.revoked), rv.reason), rv.revoked)
			case rv.crl != nil:
				if ok, note := v.crlFresh(rv.crl, issuer, now); !ok {
					r.unknown = append(r.unknown, note)
				}
			}
		}
	}
	if v.opts.Status != nil && seal != nil {
		st, err := v.sealStatus(c, seal)
		switch {
		case err != nil:
			r.unknown = append(r.unknown, fmt.Sprintf("the registry could not be asked about seal %s: %v", seal.Info.ESID, err))
		case !st.Known:
		case !st.Revoked.IsZero() && !st.Revoked.After(now):
			r.add(fmt.Sprintf("seal %s was revoked at %s (%s)", seal.Info.ESID, fmtTime(st.Revoked), st.Reason), st.Revoked)
		default:
			for _, p := range st.Suspended {
				switch {
				case p.To.IsZero() && !now.Before(p.From):
					r.add(fmt.Sprintf("seal %s has been suspended since %s", seal.Info.ESID, fmtTime(p.From)), p.From)
				case !p.To.IsZero() && !now.Before(p.From) && (claimed.IsZero() || p.To.After(claimed)):
					r.add(fmt.Sprintf("seal %s was suspended from %s to %s, after the claimed signing time: a signature made then can claim an earlier time",
						seal.Info.ESID, fmtTime(p.From), fmtTime(p.To)), p.From)
				}
			}
		}
	}
	return r
}
