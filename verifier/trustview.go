package verifier

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/emmansun/gmsm/smx509"
)

// DefaultTrustSet is the name of the trust set a Verifier uses when Options.TrustSet is empty:
// the one holding our own root.
const DefaultTrustSet = "default"

// trustView is a trust set made ready for verification: pools for path building and the
// accepted makers by DER. Views are immutable; a changed set gets a new view with a new id,
// and the id salts the chain cache's keys, so no result built under an old view is found.
type trustView struct {
	name          string
	gen           uint64
	id            uint64
	roots, inters *smx509.CertPool // roots nil when the set has no root
	rootList      []*smx509.Certificate
	interList     []*smx509.Certificate
	makers        map[string]bool
	nMakers       int
}

var viewIDs atomic.Uint64

func newTrustView(set TrustSet, gen uint64) *trustView {
	tv := &trustView{name: set.Name, gen: gen, id: viewIDs.Add(1), inters: smx509.NewCertPool(), makers: map[string]bool{}}
	for _, c := range set.Roots {
		if c == nil {
			continue
		}
		if tv.roots == nil {
			tv.roots = smx509.NewCertPool()
		}
		tv.roots.AddCert(c)
		tv.rootList = append(tv.rootList, c)
	}
	for _, c := range set.Intermediates {
		if c != nil {
			tv.inters.AddCert(c)
			tv.interList = append(tv.interList, c)
		}
	}
	for _, c := range set.Makers {
		if c != nil {
			tv.makers[string(c.Raw)] = true
			tv.inters.AddCert(c)
			tv.nMakers++
		}
	}
	return tv
}

// views holds the compiled trust sets of a TrustSource, shared by a Verifier and the views
// Using returns.
type views struct {
	mu sync.Mutex
	m  sync.Map // name -> *trustView
}

// trust returns the view of the trust set this Verifier verifies under: Options' Roots,
// Intermediates and Makers when there is no TrustSource, else the set named by Using or
// Options.TrustSet, compiled again whenever its generation moves.
func (v *Verifier) trust() (*trustView, error) {
	if v.opts.TrustSets == nil {
		return v.static, nil
	}
	set, gen, err := v.opts.TrustSets.TrustSet(v.setName)
	if err != nil {
		return nil, fmt.Errorf("trust set %q: %w", v.setName, err)
	}
	if x, ok := v.views.m.Load(v.setName); ok && x.(*trustView).gen == gen {
		return x.(*trustView), nil
	}
	v.views.mu.Lock()
	defer v.views.mu.Unlock()
	if x, ok := v.views.m.Load(v.setName); ok && x.(*trustView).gen == gen {
		return x.(*trustView), nil
	}
	if set.Name == "" {
		set.Name = v.setName
	}
	tv := newTrustView(set, gen)
	v.views.m.Store(v.setName, tv)
	// The old view's chain results can no longer be found (their keys carry its id); free
	// their room too.
	if v.caches.Chains != nil {
		v.caches.Chains.Invalidate(nsChains(v.setName))
	}
	return tv, nil
}

// Using returns a Verifier that verifies under the trust set called name, sharing this one's
// caches and sources. It needs Options.TrustSets; the set is looked up at each verification,
// so a set changed or removed later takes effect on the next one.
func (v *Verifier) Using(name string) (*Verifier, error) {
	if v.opts.TrustSets == nil {
		return nil, fmt.Errorf("verifier: no trust sets are configured, so trust set %q cannot be used", name)
	}
	if _, _, err := v.opts.TrustSets.TrustSet(name); err != nil {
		return nil, fmt.Errorf("verifier: trust set %q: %w", name, err)
	}
	w := *v
	w.setName = name
	return &w, nil
}

// TrustSetName names the trust set this Verifier verifies under; empty when it uses the
// anchors of its Options.
func (v *Verifier) TrustSetName() string {
	if v.opts.TrustSets == nil {
		return ""
	}
	return v.setName
}
