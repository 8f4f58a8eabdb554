package pki

import (
	"log/slog"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/store"
)

// Key labels of the CA's own keys in the key store. They are fixed so that a
// restart finds them; IssueSigner, CreateCSR and Import refuse them.
const (
	RootKeyLabel  = "pki-root-ca"
	MakerKeyLabel = "pki-seal-maker"
)

// SpaceName is the store keyspace holding the CA's state.
const SpaceName = "pki"

// MaxBackdate is how far before now a requested notBefore may lie.
const MaxBackdate = 24 * time.Hour

// Defaults for the zero values of Options.
const (
	DefaultRootValidity  = 20 * 365 * 24 * time.Hour
	DefaultMakerValidity = 10 * 365 * 24 * time.Hour
	DefaultCRLRefresh    = 24 * time.Hour
	DefaultCRLValidity   = 48 * time.Hour
)

// Options configure Open. Zero values mean the defaults above.
type Options struct {
	// Store holds the CA's state, under the keyspace SpaceName. Required.
	// Open does not close it.
	Store store.KV
	// Keys is the key store where the CA's keys are generated and found.
	// Required. Open does not close it.
	Keys signer.KeyStore
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// Logger receives one line per CA event (no key material, no holder
	// identity numbers); nil means slog.Default().
	Logger *slog.Logger

	// CRLURL is the absolute http(s) URL at which the appliance serves the
	// CRL; it goes into every certificate's CRL distribution point. Required.
	CRLURL string
	// Organisation is the platform's registered name: the root's O and the
	// seal maker's subject. Required, 1..MaxNameLen characters.
	Organisation string
	// OrgCode is the platform's unified social credit code. Required.
	OrgCode string
	// RootCommonName is the root's CN; default Organisation + " SM2 Root CA".
	RootCommonName string

	// RootValidity and MakerValidity are the lifetimes of the certificates
	// made on first start. The maker's is cut to the root's end.
	RootValidity  time.Duration
	MakerValidity time.Duration
	// CRLRefresh is the age at which CRL re-issues the CRL, at most 24h.
	CRLRefresh time.Duration
	// CRLValidity is nextUpdate - thisUpdate, at least CRLRefresh.
	CRLValidity time.Duration

	// TrustAnchors are the outside CAs whose certificates Import accepts
	// (art. 13). Each must be a CA certificate with keyCertSign.
	TrustAnchors []*smx509.Certificate
}

func (o *Options) setDefaults() {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RootCommonName == "" && o.Organisation != "" {
		o.RootCommonName = o.Organisation + " SM2 Root CA"
	}
	if o.RootValidity == 0 {
		o.RootValidity = DefaultRootValidity
	}
	if o.MakerValidity == 0 {
		o.MakerValidity = DefaultMakerValidity
	}
	if o.CRLRefresh == 0 {
		o.CRLRefresh = DefaultCRLRefresh
	}
	if o.CRLValidity == 0 {
		o.CRLValidity = max(DefaultCRLValidity, o.CRLRefresh)
	}
}

// validate checks the options after setDefaults.
func (o *Options) validate() error {
	const op = "pki.Open"
	if o.Store == nil {
		return errorf(ErrConfig, op, "Options.Store", nil, "required")
	}
	if o.Keys == nil {
		return errorf(ErrConfig, op, "Options.Keys", nil, "required")
	}
	if o.CRLURL == "" {
		return errorf(ErrConfig, op, "Options.CRLURL", nil, "required")
	}
	u, err := url.Parse(o.CRLURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errorf(ErrConfig, op, "Options.CRLURL", nil, "must be an absolute http or https URL")
	}
	if len(o.CRLURL) > 1024 {
		return errorf(ErrConfig, op, "Options.CRLURL", nil, "longer than 1024 bytes")
	}
	if err := checkName(op, "Options.Organisation", o.Organisation); err != nil {
		err.(*Error).Kind = ErrConfig
		return err
	}
	if err := CheckCreditCode(o.OrgCode); err != nil {
		return errorf(ErrConfig, op, "Options.OrgCode", nil, "%s", err.Error())
	}
	if n := utf8.RuneCountInString(o.RootCommonName); n > 64 {
		return errorf(ErrConfig, op, "Options.RootCommonName", nil, "%d characters, at most 64", n)
	}
	switch {
	case o.RootValidity < 24*time.Hour:
		return errorf(ErrConfig, op, "Options.RootValidity", nil, "shorter than a day")
	case o.MakerValidity < time.Hour:
		return errorf(ErrConfig, op, "Options.MakerValidity", nil, "shorter than an hour")
	case o.CRLRefresh < 0 || o.CRLRefresh > 24*time.Hour:
		return errorf(ErrConfig, op, "Options.CRLRefresh", nil, "must be between 0 and 24h (a CRL is issued at least daily)")
	case o.CRLValidity < o.CRLRefresh:
		return errorf(ErrConfig, op, "Options.CRLValidity", nil, "shorter than Options.CRLRefresh")
	}
	for i, a := range o.TrustAnchors {
		if a == nil || !a.BasicConstraintsValid || !a.IsCA || a.KeyUsage&smx509.KeyUsageCertSign == 0 {
			return errorf(ErrConfig, op, "Options.TrustAnchors["+itoa(i)+"]", nil,
				"not a CA certificate (basicConstraints CA:TRUE and keyCertSign are required)")
		}
	}
	return nil
}
