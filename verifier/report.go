package verifier

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/ses"
)

// Indications of a report, after the EU DSS result model.
const (
	TotalPassed   = "TOTAL_PASSED"
	TotalFailed   = "TOTAL_FAILED"
	Indeterminate = "INDETERMINATE"
	NoSignature   = "NO_SIGNATURE"
)

// Sub-indications.
const (
	FormatFailure           = "FORMAT_FAILURE"
	SigCryptoFailure        = "SIG_CRYPTO_FAILURE"
	HashFailure             = "HASH_FAILURE"
	SigConstraintsFailure   = "SIG_CONSTRAINTS_FAILURE"
	Expired                 = "EXPIRED"
	NotYetValid             = "NOT_YET_VALID"
	Revoked                 = "REVOKED"
	ChainConstraintsFailure = "CHAIN_CONSTRAINTS_FAILURE"
	NoCertificateChainFound = "NO_CERTIFICATE_CHAIN_FOUND"
	TryLater                = "TRY_LATER"
	TimestampNotVerified    = "TIMESTAMP_NOT_VERIFIED"
	SigningTimeUnknown      = "SIGNING_TIME_UNKNOWN"
	// SigningTimeInFuture: the signing time lies after the current time by more than the
	// allowed clock skew; no signature can have been made then.
	SigningTimeInFuture = "SIGNING_TIME_IN_FUTURE"
	// RevokedNoPOE: a certificate is revoked now and nothing proves the signature existed
	// before the revocation.
	RevokedNoPOE = "REVOKED_NO_POE"
	// OutOfBoundsNoPOE: a certificate or the seal has expired (or is not yet valid) now and
	// nothing proves the signature existed while it was valid.
	OutOfBoundsNoPOE = "OUT_OF_BOUNDS_NO_POE"
	// SignedDataNotFound: the data the signature is over was not given, so nothing is proven
	// about any document.
	SignedDataNotFound = "SIGNED_DATA_NOT_FOUND"
)

// Check statuses.
const (
	Passed   = "passed"
	Failed   = "failed"
	Indet    = "indeterminate"
	Skipped  = "skipped"
	timeJSON = time.RFC3339
)

// Check names, in report order.
const (
	CheckFormat         = "format"
	CheckSignatureValue = "signature_value"
	CheckSealSignature  = "seal_signature"
	CheckSignerInSeal   = "signer_in_seal"
	CheckSealMaker      = "seal_maker"
	CheckDataHash       = "data_hash"
	CheckReferences     = "references"
	CheckCoverage       = "coverage"
	CheckSealValidity   = "seal_validity"
	CheckSignerCertTime = "signer_certificate_validity"
	CheckChain          = "certificate_chain"
	CheckRevocation     = "revocation"
	CheckTimeProof      = "time_proof"
	CheckTimestamp      = "timestamp"
)

// Report is the verification report of one file.
type Report struct {
	Path       string            `json:"path"`
	Kind       string            `json:"kind"` // "ofd", "signature" or "seal"
	Indication string            `json:"indication"`
	Signatures []SignatureReport `json:"signatures"`
	Seal       *SealReport       `json:"seal"`
	// UnsignedFiles lists every package file that no signature's references cover with a
	// matching digest, other than the signature files themselves. It is written as a list,
	// never null; it is empty for a bare seal or signature, which has no package.
	UnsignedFiles []string `json:"unsigned_files"`
	// Warnings names what is suspicious without failing a signature, such as bytes before
	// or after the ZIP. It is written as a list, never null.
	Warnings []string `json:"warnings"`
}

// MarshalJSON writes the report, with unsigned_files and warnings as lists even when nil.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	if r.UnsignedFiles == nil {
		r.UnsignedFiles = []string{}
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	return json.Marshal(plain(r))
}

// SignatureReport is the result for one seal signature.
type SignatureReport struct {
	ID            string      `json:"id"`
	Location      string      `json:"location"`
	Type          string      `json:"type"` // "Seal" or "Sign"
	Version       int         `json:"version"`
	Indication    string      `json:"indication"`
	SubIndication string      `json:"sub_indication"`
	SigningTime   string      `json:"signing_time"`
	Seal          *SealReport `json:"seal"`
	Signer        *CertInfo   `json:"signer"`
	Checks        []Check     `json:"checks"`
}

// SealReport describes a seal; for a bare seal it carries its own checks.
type SealReport struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Type      int     `json:"type"`
	ValidFrom string  `json:"valid_from"`
	ValidTo   string  `json:"valid_to"`
	Maker     string  `json:"maker"`
	Checks    []Check `json:"checks,omitempty"`
}

// CertInfo names a certificate.
type CertInfo struct {
	Subject string `json:"subject"`
	Serial  string `json:"serial"`
}

// Check is one named step of the procedure.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// checks collects the outcome of every step and keeps the report order.
type checks struct {
	list  []Check
	sub   []string   // sub-indication per failed or indeterminate check, by index in list
	tv    *trustView // the trust set the verification is made under
	tvErr error      // why there is none
	revs  []revMemo  // revocation answers already had in this verification
	seal  *sealMemo  // the registry's answer about the seal in this verification
}

func newChecks(names ...string) *checks {
	c := &checks{list: make([]Check, len(names), len(names)+2), sub: make([]string, len(names), len(names)+2)}
	for i, n := range names {
		c.list[i] = Check{Name: n, Status: Skipped}
	}
	return c
}

func (c *checks) set(name, status, detail string) int {
	for i := range c.list {
		if c.list[i].Name == name {
			c.list[i].Status, c.list[i].Detail = status, detail
			return i
		}
	}
	c.list = append(c.list, Check{Name: name, Status: status, Detail: detail})
	c.sub = append(c.sub, "")
	return len(c.list) - 1
}

func (c *checks) pass(name, detail string) { c.set(name, Passed, detail) }
func (c *checks) skip(name, detail string) { c.set(name, Skipped, detail) }
func (c *checks) fail(name, sub, detail string) {
	c.sub[c.set(name, Failed, detail)] = sub
}
func (c *checks) indet(name, sub, detail string) {
	c.sub[c.set(name, Indet, detail)] = sub
}

// status is the status of the named check, or "" when it is not in the list.
func (c *checks) status(name string) string {
	for _, k := range c.list {
		if k.Name == name {
			return k.Status
		}
	}
	return ""
}

// indication is TOTAL_FAILED when any check failed (the sub-indication is that of the first
// failed check in report order), else INDETERMINATE when any is indeterminate, else TOTAL_PASSED.
func (c *checks) indication() (string, string) {
	for i, k := range c.list {
		if k.Status == Failed {
			return TotalFailed, c.sub[i]
		}
	}
	for i, k := range c.list {
		if k.Status == Indet {
			return Indeterminate, c.sub[i]
		}
	}
	return TotalPassed, ""
}

// worst folds indications: failed over indeterminate over passed.
func worst(a, b string) string {
	rank := map[string]int{TotalPassed: 1, Indeterminate: 2, TotalFailed: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func sealReport(s *ses.Seal, maker *smx509.Certificate) *SealReport {
	r := &SealReport{
		ID:        s.Info.ESID,
		Name:      s.Info.Property.Name,
		Type:      s.Info.Property.Type,
		ValidFrom: fmtTime(s.Info.Property.ValidStart),
		ValidTo:   fmtTime(s.Info.Property.ValidEnd),
	}
	if maker != nil {
		r.Maker = subjectOf(maker)
	}
	return r
}

func certInfo(c *smx509.Certificate) *CertInfo {
	return &CertInfo{Subject: subjectOf(c), Serial: strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes()))}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	sec := t.Unix()
	if t.Nanosecond() != 0 {
		return t.UTC().Format(timeJSON)
	}
	slot := &timeTexts[uint64(sec)%uint64(len(timeTexts))]
	if e := slot.Load(); e != nil && e.sec == sec {
		return e.text
	}
	text := t.UTC().Format(timeJSON)
	slot.Store(&timeText{sec, text})
	return text
}

// timeTexts remembers the text of recently written whole-second times: a report writes the
// same few (the signing time, validity bounds, CRL times) many times over.
var timeTexts [512]atomic.Pointer[timeText]

type timeText struct {
	sec  int64
	text string
}

// get returns the named check, or nil.
func (c *checks) get(name string) *Check {
	for i := range c.list {
		if c.list[i].Name == name {
			return &c.list[i]
		}
	}
	return nil
}

// subOf is the sub-indication of the named check, or "".
func (c *checks) subOf(name string) string {
	for i := range c.list {
		if c.list[i].Name == name {
			return c.sub[i]
		}
	}
	return ""
}
