package verifier

import (
	"context"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// The interfaces below are what a Verifier asks of the world outside it: trust sets kept in the
// store (package trust), CRLs fetched over HTTP (package revocation), the registry's own word on
// the seals and certificates it made, and caches (package cache). The verifier imports none of
// them; the wiring (the eseal command, the appliance) hands them in through Options.

// TrustSet is a named set of trust anchors: one department's or province's roots, the
// intermediates that help build chains to them, and the seal makers it accepts (a seal maker
// certificate listed, or one issued through a CA certificate listed).
type TrustSet struct {
	Name          string
	Roots         []*smx509.Certificate
	Intermediates []*smx509.Certificate
	Makers        []*smx509.Certificate
}

// TrustSource hands out trust sets by name.
type TrustSource interface {
	// TrustSet returns the set called name and its generation, a number that changes
	// whenever the set does (so that results computed under an older generation are not
	// used). An unknown name is an error of kind errs.NotFound.
	TrustSet(name string) (set TrustSet, generation uint64, err error)
}

// CRLSource finds the current CRL of an issuer.
type CRLSource interface {
	// CRL returns the newest complete CRL known for issuer, verified under issuer's key,
	// fetching it from urls (the distribution points named by a certificate issuer signed)
	// when none is known that is still before its nextUpdate. When no newer one can be had
	// it may return one past its nextUpdate: the verifier judges its freshness. When none at
	// all can be had it returns an error (errs.Unavailable for an unreachable or misbehaving
	// server, errs.LimitExceeded for one too large, errs.Untrusted for a bad signature).
	CRL(ctx context.Context, issuer *smx509.Certificate, urls []string) (*smx509.RevocationList, error)
}

// Status is an authoritative source's word on one certificate or seal.
type Status struct {
	// Known is true when the source made this very object and answers for it; when false,
	// the other fields mean nothing and the verifier relies on CRLs.
	Known bool
	// Revoked is when the object was revoked (or voided); zero when it is not.
	Revoked time.Time
	// Reason says why, in words, for the report.
	Reason string
	// Suspended lists the periods in which the object was suspended (a seal); a period
	// still running has a zero To.
	Suspended []Period
}

// Period is a span of time; a zero To means it has not ended.
type Period struct{ From, To time.Time }

// StatusSource is authoritative for what our own platform made: the registry knows at once
// when one of its seals or certificates is revoked, with no CRL to wait for.
type StatusSource interface {
	// SealStatus reports on the seal with the given code and DER encoding; Known is false
	// unless the source made a seal with exactly these bytes.
	SealStatus(ctx context.Context, esID string, der []byte) (Status, error)
	// CertStatus reports on a certificate; Known is false unless the source issued it.
	CertStatus(ctx context.Context, cert *smx509.Certificate) (Status, error)
}

// Cache remembers values the verifier computed, bounded by a budget in bytes. The cache
// package's Cache[any] implements it. Keys are 32 bytes chosen by the verifier; namespaces
// separate kinds of values and trust sets.
type Cache interface {
	// Load returns the value held for key in namespace ns, or runs load once (concurrent
	// misses for one key share one run), keeps its value at the cost it reports until the
	// time it reports (zero: no limit), and returns it. Errors are returned, never kept.
	Load(ns string, key [32]byte, load func() (value any, cost int64, until time.Time, err error)) (any, error)
	// Invalidate drops every value held under namespace ns.
	Invalidate(ns string)
}
