package appliance

import (
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/audit"
	"github.com/eseal/eseal/backup"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/trust"
)

// Bounds of GET /v1/audit: records answered when no limit is asked, and at most.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// maxBackupPath bounds the directory named by POST /v1/backup.
const maxBackupPath = 4096

// CertSummary names one certificate of a trust set.
type CertSummary struct {
	Subject   string `json:"subject"`
	Serial    string `json:"serial"`
	NotBefore string `json:"not_before"`
	NotAfter  string `json:"not_after"`
	// SM3 is the SM3 of the certificate's DER, in hex: its fingerprint.
	SM3 string `json:"sm3"`
}

// TrustSetSummary describes a trust set: its generation (which changes with every change
// to the set) and its certificates by list.
type TrustSetSummary struct {
	Name          string        `json:"name"`
	Generation    uint64        `json:"generation"`
	Roots         []CertSummary `json:"roots"`
	Intermediates []CertSummary `json:"intermediates"`
	Makers        []CertSummary `json:"makers"`
}

// TrustSetList answers GET /v1/trust, in name order.
type TrustSetList struct {
	TrustSets []TrustSetSummary `json:"trust_sets"`
}

// TrustSetPEM is a trust set as PEM bundles: the answer of GET /v1/trust/{name} and, without
// name and generation, the body of POST /v1/trust/{name}.
type TrustSetPEM struct {
	Name          string `json:"name,omitempty"`
	Generation    uint64 `json:"generation,omitempty"`
	Roots         string `json:"roots"`
	Intermediates string `json:"intermediates"`
	Makers        string `json:"makers"`
}

// TrustSetRequest is the body of POST /v1/trust/{name}: each list a PEM bundle of
// CERTIFICATE blocks. The set is replaced by these lists; it needs at least one root.
type TrustSetRequest struct {
	Roots         string `json:"roots"`
	Intermediates string `json:"intermediates,omitempty"`
	Makers        string `json:"makers,omitempty"`
}

// AuditRecord is one record of the audit log, as GET /v1/audit answers it. Hashes and
// digests are hex.
type AuditRecord struct {
	Seq          uint64            `json:"seq"`
	Time         string            `json:"time"`
	Actor        string            `json:"actor"`
	Action       string            `json:"action"`
	Seal         string            `json:"seal,omitempty"`
	Digest       string            `json:"digest,omitempty"`
	SignatureSM3 string            `json:"signature_sm3,omitempty"`
	Outcome      string            `json:"outcome"`
	Details      map[string]string `json:"details,omitempty"`
	Prev         string            `json:"prev"`
	Hash         string            `json:"hash"`
}

// AuditPage answers GET /v1/audit?from=SEQ&limit=N: records from SEQ on, at most N. Next is
// the from of the following page, zero when the page reaches the tail; Tail is the last
// record's number when the page was read.
type AuditPage struct {
	Records []AuditRecord `json:"records"`
	Next    uint64        `json:"next,omitempty"`
	Tail    uint64        `json:"tail"`
}

// AuditProblem is one thing wrong with the audit chain, at record Seq.
type AuditProblem struct {
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// AuditVerification answers GET /v1/audit/verify: the walk of the whole chain.
type AuditVerification struct {
	// OK is true when no record was changed, removed or reordered and every signed head
	// verifies.
	OK         bool   `json:"ok"`
	Records    uint64 `json:"records"`
	Last       uint64 `json:"last"`
	LastHash   string `json:"last_hash"`
	Heads      int    `json:"heads"`
	LastSigned uint64 `json:"last_signed"`
	// Unsigned is the number of records after the last verified signed head.
	Unsigned uint64 `json:"unsigned"`
	// KeysFromLog: the heads were checked with the keys kept in the log itself.
	KeysFromLog bool           `json:"keys_from_log"`
	Problems    []AuditProblem `json:"problems"`
	// More: there were more problems than listed.
	More bool `json:"more"`
}

// BackupRequest is the body of POST /v1/backup: an absolute directory on the server, which
// must not exist yet (its parent must).
type BackupRequest struct {
	To string `json:"to"`
}

// BackupResponse answers POST /v1/backup: where the copy was written, and the audit record
// of the backup.
type BackupResponse struct {
	To       string `json:"to"`
	AuditSeq uint64 `json:"audit_seq"`
}

var (
	trustReaders  = []registry.Role{registry.RoleAdmin, RoleVerifier, RoleAuditor}
	pkiAdminRoles = []registry.Role{registry.RoleAdmin}
	auditReaders  = []registry.Role{RoleAuditor, registry.RoleAdmin}
)

// pkiRoutes are the routes of the CA, the trust sets, the audit log and backup.
func pkiRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/v1/pki/ca.pem", Anonymous: AlwaysAnonymous,
			Summary: "The platform's root CA certificate, PEM.", Handle: handleCAPEM},
		{Method: "GET", Path: "/v1/pki/crl", Anonymous: AlwaysAnonymous,
			Summary: "The platform CA's current CRL, DER (application/pkix-crl).", Handle: handleCRL},
		{Method: "GET", Path: "/v1/trust", Roles: trustReaders, Anonymous: AnonymousIfOpen,
			Summary: "The trust sets verification judges by, with their certificates named.", Response: TrustSetList{}, Handle: handleTrustList},
		{Method: "GET", Path: "/v1/trust/{name}", Roles: trustReaders, Anonymous: AnonymousIfOpen,
			Summary: "One trust set, its lists as PEM bundles.", Response: TrustSetPEM{}, Handle: handleTrustGet},
		{Method: "POST", Path: "/v1/trust/{name}", Roles: pkiAdminRoles, Idempotent: true,
			Summary: "Create or replace a trust set: roots, intermediates and accepted seal makers as PEM bundles.",
			Request: TrustSetRequest{}, Response: TrustSetSummary{}, Handle: handleTrustPut},
		{Method: "DELETE", Path: "/v1/trust/{name}", Roles: pkiAdminRoles,
			Summary: "Remove a trust set (not the default one).", Handle: handleTrustDelete},
		{Method: "GET", Path: "/v1/audit", Roles: auditReaders,
			Summary:  fmt.Sprintf("A page of the audit log: ?from=SEQ (default 1) and ?limit=N (default %d, at most %d).", DefaultAuditLimit, MaxAuditLimit),
			Response: AuditPage{}, Handle: handleAuditList},
		{Method: "GET", Path: "/v1/audit/verify", Roles: auditReaders,
			Summary:  "Walk the whole audit chain and name every record changed, removed or reordered and every bad signed head.",
			Response: AuditVerification{}, Handle: handleAuditVerify},
		{Method: "POST", Path: "/v1/backup", Roles: pkiAdminRoles, Idempotent: true,
			Summary: "Write a consistent copy of the store, taken while serving, into a new directory on the server.",
			Request: BackupRequest{}, Response: BackupResponse{}, Handle: handleBackup},
	}
}

// notConfigured refuses a route whose service this server was not given.
func notConfigured(what string) error {
	return &Error{Kind: errs.Unavailable, Message: what + " is not configured on this server"}
}

func handleCAPEM(c *Call) error {
	ca := c.Services().CA
	if ca == nil {
		return notConfigured("the certificate authority")
	}
	return c.Bytes(200, "application/x-pem-file", ca.RootPEM())
}

func handleCRL(c *Call) error {
	ca := c.Services().CA
	if ca == nil {
		return notConfigured("the certificate authority")
	}
	der, err := ca.CRL(c.Context())
	if err != nil {
		return fmt.Errorf("the CRL: %w", err)
	}
	return c.Bytes(200, "application/pkix-crl", der)
}

// trustSets returns the server's trust sets.
func trustSets(c *Call) (*trust.Sets, error) {
	s := c.Services().Trust
	if s == nil {
		return nil, notConfigured("trust sets")
	}
	return s, nil
}

// trustName is the {name} of the path, checked.
func trustName(c *Call) (string, error) {
	name := c.Param("name")
	if !trust.ValidName(name) {
		return "", &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("not a trust set name: 1 to %d bytes of a-z, 0-9, '-', '_' and '.'", trust.MaxNameLen)}
	}
	return name, nil
}

func trustSummary(name string, gen uint64, roots, inters, makers []*smx509.Certificate) TrustSetSummary {
	return TrustSetSummary{Name: name, Generation: gen, Roots: certSummaries(roots), Intermediates: certSummaries(inters), Makers: certSummaries(makers)}
}

func certSummaries(certs []*smx509.Certificate) []CertSummary {
	out := make([]CertSummary, 0, len(certs))
	for _, cert := range certs {
		sum := sm3.Sum(cert.Raw)
		out = append(out, CertSummary{Subject: cert.Subject.String(), Serial: strings.ToUpper(cert.SerialNumber.Text(16)),
			NotBefore: cert.NotBefore.UTC().Format(time.RFC3339), NotAfter: cert.NotAfter.UTC().Format(time.RFC3339),
			SM3: hex.EncodeToString(sum[:])})
	}
	return out
}

func pemBundle(certs []*smx509.Certificate) string {
	var b strings.Builder
	for _, cert := range certs {
		b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	}
	return b.String()
}

func handleTrustList(c *Call) error {
	sets, err := trustSets(c)
	if err != nil {
		return err
	}
	list := sets.List()
	out := TrustSetList{TrustSets: make([]TrustSetSummary, 0, len(list))}
	for _, s := range list {
		out.TrustSets = append(out.TrustSets, trustSummary(s.Name, s.Generation, s.Roots, s.Intermediates, s.Makers))
	}
	return c.JSON(200, out)
}

// noSuchSet is the refusal of a name that is no trust set.
func noSuchSet(name string) error {
	return &Error{Kind: errs.NotFound, Message: fmt.Sprintf("trust set %q: no such trust set", name)}
}

func handleTrustGet(c *Call) error {
	sets, err := trustSets(c)
	if err != nil {
		return err
	}
	name, err := trustName(c)
	if err != nil {
		return err
	}
	set, gen, err := sets.TrustSet(name)
	if err != nil {
		if errs.KindOf(err) == errs.NotFound {
			return noSuchSet(name)
		}
		return fmt.Errorf("trust set %q: %w", name, err)
	}
	return c.JSON(200, TrustSetPEM{Name: name, Generation: gen, Roots: pemBundle(set.Roots),
		Intermediates: pemBundle(set.Intermediates), Makers: pemBundle(set.Makers)})
}

func handleTrustPut(c *Call) error {
	sets, err := trustSets(c)
	if err != nil {
		return err
	}
	name, err := trustName(c)
	if err != nil {
		return err
	}
	var req TrustSetRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Roots) == "" {
		return &Error{Kind: errs.InvalidInput, Message: "roots: required, a PEM bundle of at least one root CA certificate"}
	}
	if _, err := sets.PutPEM(c.Context(), name, []byte(req.Roots), []byte(req.Intermediates), []byte(req.Makers)); err != nil {
		return err // it names the list, the place and the subject of what is wrong
	}
	// Answer what is stored now (another writer may have changed it since).
	set, gen, err := sets.TrustSet(name)
	if err != nil {
		return fmt.Errorf("trust set %q after the change: %w", name, err)
	}
	return c.JSON(200, trustSummary(name, gen, set.Roots, set.Intermediates, set.Makers))
}

func handleTrustDelete(c *Call) error {
	sets, err := trustSets(c)
	if err != nil {
		return err
	}
	name, err := trustName(c)
	if err != nil {
		return err
	}
	if err := sets.Remove(c.Context(), name); err != nil {
		switch errs.KindOf(err) {
		case errs.NotFound:
			return noSuchSet(name)
		case errs.InvalidInput:
			return &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("trust set %q cannot be removed: put other certificates in it instead", name)}
		}
		return err
	}
	return c.Bytes(204, "text/plain; charset=utf-8", nil)
}

// auditQueryUint reads a positive integer query argument, or def when it is absent.
func auditQueryUint(c *Call, name string, def uint64) (uint64, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("%s: a whole number from 1 is expected", name)}
	}
	return n, nil
}

func handleAuditList(c *Call) error {
	lg := c.Services().Audit
	if lg == nil {
		return notConfigured("the audit log")
	}
	from, err := auditQueryUint(c, "from", 1)
	if err != nil {
		return err
	}
	limit, err := auditQueryUint(c, "limit", DefaultAuditLimit)
	if err != nil {
		return err
	}
	if limit > MaxAuditLimit {
		return &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("limit: at most %d records a page", MaxAuditLimit)}
	}
	tail, _ := lg.Tail()
	page := AuditPage{Records: []AuditRecord{}, Tail: uint64(tail)}
	err = lg.Records(c.Context(), audit.Seq(from), func(r audit.Record) error {
		if uint64(len(page.Records)) == limit {
			page.Next = uint64(r.Seq)
			return store.ErrStop
		}
		page.Records = append(page.Records, auditRecord(r))
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the audit log: %w", err)
	}
	return c.JSON(200, page)
}

func auditRecord(r audit.Record) AuditRecord {
	return AuditRecord{Seq: uint64(r.Seq), Time: r.Time.UTC().Format(time.RFC3339Nano), Actor: r.Actor, Action: r.Action,
		Seal: r.SealCode, Digest: hex.EncodeToString(r.Digest), SignatureSM3: hex.EncodeToString(r.SignatureSM3),
		Outcome: r.Outcome, Details: r.Details, Prev: hex.EncodeToString(r.Prev[:]), Hash: hex.EncodeToString(r.Hash[:])}
}

func handleAuditVerify(c *Call) error {
	lg := c.Services().Audit
	if lg == nil {
		return notConfigured("the audit log")
	}
	rep, err := lg.Verify(c.Context())
	if err != nil {
		return fmt.Errorf("verifying the audit log: %w", err)
	}
	out := AuditVerification{OK: rep.OK(), Records: rep.Records, Last: uint64(rep.Last), LastHash: hex.EncodeToString(rep.LastHash[:]),
		Heads: rep.Heads, LastSigned: uint64(rep.LastSigned), Unsigned: rep.Unsigned(), KeysFromLog: rep.KeysFromLog,
		Problems: make([]AuditProblem, 0, len(rep.Problems)), More: rep.More}
	for _, p := range rep.Problems {
		out.Problems = append(out.Problems, AuditProblem{Seq: uint64(p.Seq), Kind: string(p.Kind), Detail: p.Detail})
	}
	return c.JSON(200, out)
}

// backupTarget checks the directory a backup is asked into: absolute, new, in a directory
// that exists.
func backupTarget(to string) (string, error) {
	switch {
	case to == "":
		return "", &Error{Kind: errs.InvalidInput, Message: "to: required, the absolute path of a new directory on the server"}
	case len(to) > maxBackupPath || strings.ContainsRune(to, 0):
		return "", &Error{Kind: errs.InvalidInput, Message: fmt.Sprintf("to: not a usable path (at most %d bytes, no NUL)", maxBackupPath)}
	case !filepath.IsAbs(to):
		return "", &Error{Kind: errs.InvalidInput, Message: "to: an absolute path is expected, not one relative to the server's working directory"}
	}
	dir := filepath.Clean(to)
	if fi, err := os.Stat(filepath.Dir(dir)); err != nil || !fi.IsDir() {
		return "", &Error{Kind: errs.InvalidInput, Message: "to: its parent directory does not exist on the server"}
	}
	if _, err := os.Lstat(dir); err == nil {
		return "", &Error{Kind: errs.Conflict, Message: "to: it exists already; a backup is written into a new directory"}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", &Error{Kind: errs.InvalidInput, Message: "to: the path cannot be used on the server"}
	}
	return dir, nil
}

func handleBackup(c *Call) error {
	svc := c.Services()
	if svc.DB == nil {
		return notConfigured("the store")
	}
	var req BackupRequest
	if err := c.Decode(&req); err != nil {
		return err
	}
	dir, err := backupTarget(req.To)
	if err != nil {
		return err
	}
	berr := backup.Backup(c.Context(), svc.DB, dir)
	var seq audit.Seq
	if svc.Audit != nil {
		rec := audit.Record{Actor: auditActor(c), Action: audit.ActionBackup, Outcome: audit.OutcomeOK}
		if berr != nil {
			rec.Outcome = audit.OutcomeFailed
		}
		rec.Details = map[string]string{"directory": dir}
		if rec.Validate() != nil { // a path the record's text rules refuse is left out
			rec.Details = nil
		}
		var aerr error
		if seq, aerr = svc.Audit.Append(c.Context(), rec); aerr != nil && berr == nil {
			return fmt.Errorf("the backup was written but its audit record was not: %w", aerr)
		}
	}
	if berr != nil {
		return fmt.Errorf("backup: %w", berr)
	}
	return c.JSON(200, BackupResponse{To: dir, AuditSeq: uint64(seq)})
}

// auditActor names the caller in an audit record.
func auditActor(c *Call) string {
	if n := c.Actor().Name; n != "" {
		return n
	}
	return "anonymous"
}
