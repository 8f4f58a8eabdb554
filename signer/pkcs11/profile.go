package pkcs11

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/eseal/eseal/signer"
)

// SigFormat is the form in which a token returns an EC/SM2 signature.
type SigFormat int

const (
	// RawRS is r‖s, each padded to the curve size (PKCS#11 CKM_ECDSA).
	RawRS SigFormat = iota
	// DER is SEQUENCE{INTEGER r, INTEGER s} (X9.62 / GM/T 0009).
	DER
)

func (f SigFormat) String() string {
	if f == DER {
		return "DER"
	}
	return "r||s"
}

// Profile says how one kind of token makes and uses one kind of key. The
// vendor's own pkcs11.h is the source of truth for the numbers; the
// built-in profiles follow the mapping in shared/spec/HSM.md §2.
type Profile struct {
	Name      string           `json:"name"`
	Algorithm signer.Algorithm `json:"algorithm"` // signer.SM2 or signer.ECDSAP256
	// KeyType is CKA_KEY_TYPE: CKK_EC (3) or a vendor CKK_SM2.
	KeyType uint `json:"key_type"`
	// ECParams is CKA_EC_PARAMS for key generation (DER OID); nil leaves
	// it out (vendor key types that imply the curve).
	ECParams []byte `json:"ec_params,omitempty"`
	// KeyGenMech is the key-pair generation mechanism.
	KeyGenMech uint `json:"keygen_mechanism"`
	// SignMech is the signing mechanism.
	SignMech uint `json:"sign_mechanism"`
	// HashInside: SignMech takes the message and computes e = SM3(Z‖M)
	// itself, with the default user ID 1234567812345678. When false it
	// takes the 32-byte e computed by us (or, for ECDSA, the digest).
	HashInside bool `json:"hash_inside"`
	// Output is the signature form the token returns; we always hand out
	// DER.
	Output SigFormat `json:"output"`
}

// PKCS#11 numbers used by the profiles (kept here so that the profiles
// compile without cgo).
const (
	ckkEC            = 0x3
	ckmECKeyPairGen  = 0x1040
	ckmECDSA         = 0x1041
	ckmVendorDefined = 0x80000000
)

// DER-encoded curve OIDs for CKA_EC_PARAMS.
var (
	// OIDP256 is prime256v1 / secp256r1 (1.2.840.10045.3.1.7).
	OIDP256 = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}
	// OIDSM2 is sm2p256v1 (1.2.156.10197.1.301).
	OIDSM2 = []byte{0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d}
)

// Built-in profiles, by name.
//
//	ecdsa-p256   CKK_EC + P-256, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA (digest in, r‖s)
//	sansec       0x8000 family (Sansec/TASS/Koal numbers): CKK 0x80000004,
//	             keygen 0x80008001, CKM_SM2_SIGN 0x80008104 (e in, DER)
//	sansec-sm3   as sansec, CKM_SM3_SM2 0x80008100 (message in, Z‖M hashed
//	             inside with the default UID, DER)
//	sansec-raw   as sansec, 0x80008105 (e in, r‖s: the _NO_DER variant)
//	koal         = sansec
//	tass         as sansec, TASS's generic SM2 0x80008000 (e in, DER)
//	luna         Thales Luna: CKK 0x80000016, keygen 0x80000B20,
//	             CKM_SM2DSA 0x80000B21 (e in, r‖s)
//	luna-sm3     Luna CKM_SM3_SM2DSA 0x80000B22 (message in, r‖s)
//	ibm          IBM: CKK 0x80050002, keygen 0x8005000A, CKM_IBM_SM2
//	             0x8005000B (e in, r‖s)
//	ibm-sm3      IBM CKM_IBM_SM2_SM3 0x8005000C (message in, r‖s)
//
// Output forms of the vendor profiles other than sansec* and tass are
// assumptions: check them against the vendor's documentation and use a
// custom Profile when they differ.
var profiles = map[string]Profile{
	"ecdsa-p256": {Algorithm: signer.ECDSAP256, KeyType: ckkEC, ECParams: OIDP256, KeyGenMech: ckmECKeyPairGen, SignMech: ckmECDSA, Output: RawRS},
	"sansec":     {Algorithm: signer.SM2, KeyType: ckmVendorDefined + 0x4, KeyGenMech: ckmVendorDefined + 0x8001, SignMech: ckmVendorDefined + 0x8104, Output: DER},
	"sansec-sm3": {Algorithm: signer.SM2, KeyType: ckmVendorDefined + 0x4, KeyGenMech: ckmVendorDefined + 0x8001, SignMech: ckmVendorDefined + 0x8100, HashInside: true, Output: DER},
	"sansec-raw": {Algorithm: signer.SM2, KeyType: ckmVendorDefined + 0x4, KeyGenMech: ckmVendorDefined + 0x8001, SignMech: ckmVendorDefined + 0x8105, Output: RawRS},
	"koal":       {Algorithm: signer.SM2, KeyType: ckmVendorDefined + 0x4, KeyGenMech: ckmVendorDefined + 0x8001, SignMech: ckmVendorDefined + 0x8104, Output: DER},
	"tass":       {Algorithm: signer.SM2, KeyType: ckmVendorDefined + 0x4, KeyGenMech: ckmVendorDefined + 0x8001, SignMech: ckmVendorDefined + 0x8000, Output: DER},
	"luna":       {Algorithm: signer.SM2, KeyType: ckmVendorDefined + 0x16, KeyGenMech: ckmVendorDefined + 0xB20, SignMech: ckmVendorDefined + 0xB21, Output: RawRS},
	"luna-sm3":   {Algorithm: signer.SM2, KeyType: ckmVendorDefined + 0x16, KeyGenMech: ckmVendorDefined + 0xB20, SignMech: ckmVendorDefined + 0xB22, HashInside: true, Output: RawRS},
	"ibm":        {Algorithm: signer.SM2, KeyType: ckmVendorDefined + 0x50002, KeyGenMech: ckmVendorDefined + 0x5000A, SignMech: ckmVendorDefined + 0x5000B, Output: RawRS},
	"ibm-sm3":    {Algorithm: signer.SM2, KeyType: ckmVendorDefined + 0x50002, KeyGenMech: ckmVendorDefined + 0x5000A, SignMech: ckmVendorDefined + 0x5000C, HashInside: true, Output: RawRS},
}

// ProfileNames lists the built-in profiles.
func ProfileNames() []string {
	var n []string
	for k := range profiles {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// LookupProfile returns a built-in profile by name.
func LookupProfile(name string) (Profile, error) {
	p, ok := profiles[name]
	if !ok {
		return Profile{}, signer.Errorf(signer.ErrConfig, "pkcs11.LookupProfile", "", nil,
			"unknown mechanism profile %q (known: %s)", name, strings.Join(ProfileNames(), ", "))
	}
	p.Name = name
	return p, nil
}

// Validate checks a profile for internal consistency.
func (p *Profile) Validate() error {
	bad := func(f string, a ...any) error {
		return signer.Errorf(signer.ErrConfig, "pkcs11.Profile", "", nil, "profile %q: %s", p.Name, fmt.Sprintf(f, a...))
	}
	switch p.Algorithm {
	case signer.SM2, signer.ECDSAP256:
	default:
		return bad("algorithm %q (want %s or %s)", p.Algorithm, signer.SM2, signer.ECDSAP256)
	}
	if p.KeyGenMech == 0 && p.SignMech == 0 {
		return bad("no mechanisms")
	}
	if p.SignMech == 0 {
		return bad("no sign mechanism")
	}
	if p.HashInside && p.Algorithm != signer.SM2 {
		return bad("HashInside applies to SM2 only")
	}
	return nil
}

// Defaults.
const (
	// DefaultMaxSessions caps the pool when the token reports no limit.
	DefaultMaxSessions = 32
	// DefaultWaitTimeout bounds the wait for a session when the request's
	// context has no deadline.
	DefaultWaitTimeout = 5 * time.Second
)

// Automatic re-login after a refused PIN is spaced out: the first retry
// waits LoginRetryMin, each further refusal doubles the wait, up to
// LoginRetryMax. A token counts wrong PINs and locks its user PIN after a
// few, so the store never offers the same refused PIN faster than this.
const (
	LoginRetryMin = time.Minute
	LoginRetryMax = time.Hour
)

// Config selects a token and says how to use it.
type Config struct {
	// Module is the path of the PKCS#11 library.
	Module string
	// TokenLabel selects the token (never the slot number: slot IDs are
	// not stable).
	TokenLabel string
	// PIN is the user PIN (NewSecret). It is kept in memory for re-login
	// and prints as [redacted] however the Config is formatted.
	PIN Secret
	// Profile names a built-in profile (see LookupProfile); ignored when
	// CustomProfile is set.
	Profile string
	// CustomProfile overrides Profile with explicit numbers.
	CustomProfile *Profile
	// Sessions is the worker pool size; 0 means the token's session
	// limit less one (for the login session), capped at DefaultMaxSessions.
	Sessions int
	// WaitTimeout bounds the wait for a free session when the context has
	// no deadline; 0 means DefaultWaitTimeout.
	WaitTimeout time.Duration
	// Logger; nil means slog.Default(). It never receives the PIN.
	Logger *slog.Logger
}

// profile resolves the configured profile.
func (c *Config) profile() (Profile, error) {
	if c.CustomProfile != nil {
		p := *c.CustomProfile
		if p.Name == "" {
			p.Name = "custom"
		}
		return p, p.Validate()
	}
	if c.Profile == "" {
		return Profile{}, signer.Errorf(signer.ErrConfig, "pkcs11.Open", "", nil, "no mechanism profile configured (known: %s)", strings.Join(ProfileNames(), ", "))
	}
	p, err := LookupProfile(c.Profile)
	if err != nil {
		return Profile{}, err
	}
	return p, p.Validate()
}

// Validate checks the configuration without touching the module.
func (c *Config) Validate() error {
	if c == nil {
		return signer.Errorf(signer.ErrConfig, "pkcs11.Open", "", nil, "no configuration")
	}
	if c.Module == "" {
		return signer.Errorf(signer.ErrConfig, "pkcs11.Open", "", nil, "no PKCS#11 module path configured")
	}
	if c.TokenLabel == "" {
		return signer.Errorf(signer.ErrConfig, "pkcs11.Open", "", nil, "no token label configured")
	}
	if c.Sessions < 0 {
		return signer.Errorf(signer.ErrConfig, "pkcs11.Open", "", nil, "session pool size %d is negative", c.Sessions)
	}
	if c.WaitTimeout < 0 {
		return signer.Errorf(signer.ErrConfig, "pkcs11.Open", "", nil, "wait timeout %v is negative", c.WaitTimeout)
	}
	_, err := c.profile()
	return err
}

// redacted is what a Secret prints as.
const redacted = "[redacted]"

// Secret holds a PIN so that it never prints: String, GoString, Format
// (every verb, including %+v and %#v of a struct holding it) and
// MarshalText give "[redacted]". It keeps the value behind a pointer, so
// even a struct that holds it in an unexported field (where fmt calls no
// methods) prints an address, never the PIN. The zero Secret is empty.
type Secret struct{ p *string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{p: &s} }

// IsZero reports whether no PIN was given.
func (s Secret) IsZero() bool { return s.p == nil || *s.p == "" }

// value is the PIN itself, for C_Login only.
func (s Secret) value() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter for every verb.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalText implements encoding.TextMarshaler (JSON, slog).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// String describes the configuration, with the PIN redacted.
func (c Config) String() string {
	prof := c.Profile
	if c.CustomProfile != nil {
		prof = "custom " + c.CustomProfile.Name
	}
	pin := "none"
	if !c.PIN.IsZero() {
		pin = redacted
	}
	return fmt.Sprintf("pkcs11.Config{Module: %q, TokenLabel: %q, PIN: %s, Profile: %q, Sessions: %d, WaitTimeout: %v}",
		c.Module, c.TokenLabel, pin, prof, c.Sessions, c.WaitTimeout)
}

// GoString implements fmt.GoStringer (%#v), with the PIN redacted.
func (c Config) GoString() string { return c.String() }

// Format implements fmt.Formatter: every verb prints String, so no verb
// can reach the PIN.
func (c Config) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }
