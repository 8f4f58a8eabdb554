package audit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
)

// Seq is a record's sequence number: 1 for the first record, then one more for each.
type Seq uint64

// HashSize is the size of a record hash (SM3).
const HashSize = sm3.Size

// Hash is the SM3 digest of a record's canonical encoding.
type Hash [HashSize]byte

// Actions. Action is free text within its character rules; these are the names the
// platform's own packages use.
const (
	ActionApply            = "apply"
	ActionApprove          = "approve"
	ActionReject           = "reject"
	ActionMake             = "make"
	ActionIssue            = "issue"
	ActionChange           = "change"
	ActionSuspend          = "suspend"
	ActionResume           = "resume"
	ActionRevoke           = "revoke"
	ActionPINChange        = "pin-change"
	ActionImpressionImport = "impression-import"
	ActionUseApproval      = "use-approval"
	ActionBackup           = "backup"
	ActionRestore          = "restore"
	// ActionUnsignedFound is written by the log alone, when it opens a chain whose end
	// after the last signed head no head signed: details "from" and "to" name those
	// records. Nothing vouches for their times, so a proof of existence of a signature
	// among them is this record's time, never theirs. Append refuses it.
	ActionUnsignedFound = "audit-unsigned-found"
	// ActionSign is a use of a seal: one signature made (or refused). A sign record with
	// OutcomeOK and a SignatureSM3 is indexed for ProveExistence.
	ActionSign = "sign"
)

// Outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeRefused = "refused"
	OutcomeFailed  = "failed"
)

// Limits on a record's fields, so that a record can hold identities and digests but never a
// document.
const (
	MaxActorLen      = 256
	MaxNameLen       = 64 // Action, Outcome, detail keys
	MaxSealCodeLen   = 64
	MaxDigestLen     = 64
	MaxDetails       = 32
	MaxDetailLen     = 512
	recordVersion    = 1
	maxEncodedRecord = 64 << 10
)

// Record is one audit record. Callers fill Actor, Action, SealCode, Digest, SignatureSM3,
// Outcome and Details; the log sets Seq, Time, Prev and Hash when it appends the record.
//
// A record holds no PIN, key or document: Actor is a masked identity (an account name or a
// masked ID number, never a full resident ID), Digest is the document's digest, and detail
// keys that name a secret (pin, password, key, secret, ...) are refused.
type Record struct {
	Seq  Seq
	Time time.Time
	// Actor is who acted: an account or a masked identity.
	Actor string
	// Action is what was done: one of the Action constants or another name of
	// 'a'-'z', '0'-'9', '.', '_', '-'.
	Action string
	// SealCode is the seal concerned (its esID), empty when none.
	SealCode string
	// Digest is the document digest signed or concerned (at most 64 bytes), nil when none.
	Digest []byte
	// SignatureSM3 is the SM3 of the signature value made (the content of the signature BIT
	// STRING): 32 bytes, or nil.
	SignatureSM3 []byte
	// Outcome is OutcomeOK, OutcomeRefused, OutcomeFailed or another name.
	Outcome string
	// Details are further facts (a reason, an application id, a request id).
	Details map[string]string
	// Prev is the Hash of the record before (zero for record 1).
	Prev Hash
	// Hash is SM3 of the record's canonical encoding (see the package doc).
	Hash Hash
}

// ErrInvalidRecord is returned by Append for a record that breaks a field rule.
var ErrInvalidRecord = errors.New("audit: invalid record")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRecord, fmt.Sprintf(format, args...))
}

// secretWords are the words that may not appear in a detail key.
var secretWords = []string{"pin", "puk", "password", "passwd", "passphrase", "pwd", "secret", "key", "privkey", "private", "credential", "credentials"}

// SecretDetailKey reports whether a detail key names a secret and would be refused: one of
// its words (split at '.', '_' and '-') is pin, puk, password, passwd, passphrase, pwd,
// secret, key, privkey, private or credential(s).
func SecretDetailKey(k string) bool {
	for w := range strings.FieldsFuncSeq(strings.ToLower(k), func(r rune) bool { return r == '.' || r == '_' || r == '-' }) {
		if slices.Contains(secretWords, w) {
			return true
		}
	}
	return false
}

// HasResidentID reports whether s holds what reads as a whole, unmasked resident ID number
// (GB 11643: 17 digits and a check character, 0-9 or X, that matches them), not part of a
// longer run of ASCII letters and digits: a certificate serial or a digest in hexadecimal
// holds runs of 18 digits often enough (one record in a few thousand), and is not an
// identity.
func HasResidentID(s string) bool {
	for i := 0; i+18 <= len(s); i++ {
		if i > 0 && isAlnum(s[i-1]) {
			continue
		}
		if residentID(s[i:i+18]) && (i+18 == len(s) || !isAlnum(s[i+18])) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// residentID checks 18 characters against the GB 11643 check character (ISO 7064 MOD 11-2).
func residentID(s string) bool {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		if !isDigit(s[i]) {
			return false
		}
		sum += int(s[i]-'0') * w
	}
	check := "10X98765432"[sum%11]
	c := s[17]
	if c == 'x' {
		c = 'X'
	}
	return c == check
}

// validName reports whether s is 1..MaxNameLen bytes of 'a'-'z', '0'-'9', '.', '_', '-'.
func validName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validText reports whether s is UTF-8 without control characters.
func validText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Validate checks the fields a caller fills. It is what Append checks.
func (r *Record) Validate() error {
	switch {
	case r.Actor == "" || len(r.Actor) > MaxActorLen || !validText(r.Actor):
		return invalid("actor must be 1..%d bytes of printable UTF-8", MaxActorLen)
	case HasResidentID(r.Actor):
		return invalid("actor holds an unmasked resident ID number: records hold masked identities")
	case !validName(r.Action):
		return invalid("action %q must be 1..%d bytes of a-z, 0-9, '.', '_', '-'", r.Action, MaxNameLen)
	case len(r.SealCode) > MaxSealCodeLen || !validText(r.SealCode):
		return invalid("seal code must be at most %d bytes of printable UTF-8", MaxSealCodeLen)
	case len(r.Digest) > MaxDigestLen:
		return invalid("digest is %d bytes, more than %d: records hold digests, never documents", len(r.Digest), MaxDigestLen)
	case len(r.SignatureSM3) != 0 && len(r.SignatureSM3) != HashSize:
		return invalid("signature SM3 is %d bytes, want %d", len(r.SignatureSM3), HashSize)
	case !validName(r.Outcome):
		return invalid("outcome %q must be 1..%d bytes of a-z, 0-9, '.', '_', '-'", r.Outcome, MaxNameLen)
	case len(r.Details) > MaxDetails:
		return invalid("%d details, at most %d", len(r.Details), MaxDetails)
	}
	for k, v := range r.Details {
		switch {
		case !validName(k):
			return invalid("detail key %q must be 1..%d bytes of a-z, 0-9, '.', '_', '-'", k, MaxNameLen)
		case SecretDetailKey(k):
			return invalid("detail key %q names a secret: records never hold a PIN, password or key", k)
		case len(v) > MaxDetailLen || !validText(v):
			return invalid("detail %q must be at most %d bytes of printable UTF-8", k, MaxDetailLen)
		case HasResidentID(v):
			return invalid("detail %q holds an unmasked resident ID number: records hold masked identities", k)
		}
	}
	return nil
}

// indexed reports whether the record goes into the signature index.
func (r *Record) indexed() bool {
	return r.Action == ActionSign && r.Outcome == OutcomeOK && len(r.SignatureSM3) == HashSize
}

// Encode returns the record's canonical encoding, version 1 (see the package doc). Hash is
// SM3 of exactly these bytes; Hash itself is not part of them.
func (r *Record) Encode() []byte {
	return r.appendEncoding(make([]byte, 0, r.encodedLen()))
}

// encodedLen is the length of the record's encoding.
func (r *Record) encodedLen() int {
	return 1 + 8 + 8 + r.fieldsLen() + HashSize
}

// fieldsLen is the length of the encoding of the fields a caller fills (appendFields).
func (r *Record) fieldsLen() int {
	n := 4*7 + len(r.Actor) + len(r.Action) + len(r.SealCode) + len(r.Digest) + len(r.SignatureSM3) + len(r.Outcome)
	for k, v := range r.Details {
		n += 8 + len(k) + len(v)
	}
	return n
}

// appendEncoding appends the record's encoding to b: the version, Seq and Time, the
// caller's fields (appendFields), Prev. It allocates nothing when b has room and the
// record has at most MaxDetails details.
func (r *Record) appendEncoding(b []byte) []byte {
	b = appendHeader(b, r.Seq, r.Time)
	b = r.appendFields(b)
	return append(b, r.Prev[:]...)
}

// appendHeader appends the start of a record's encoding: the version, seq and time.
func appendHeader(b []byte, s Seq, t time.Time) []byte {
	b = append(b, recordVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(s))
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
}

// appendFields appends the encoding of the fields a caller fills, Actor to Details: the
// part of the record's encoding between its time and Prev.
func (r *Record) appendFields(b []byte) []byte {
	var arr [MaxDetails]string
	keys := arr[:0]
	for k := range r.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = appendString(b, r.Actor)
	b = appendString(b, r.Action)
	b = appendString(b, r.SealCode)
	b = appendBytes(b, r.Digest)
	b = appendBytes(b, r.SignatureSM3)
	b = appendString(b, r.Outcome)
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, r.Details[k])
	}
	return b
}

func appendBytes(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// reader reads the fields of an encoding, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (d *reader) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("truncated at %s", what)
	}
}

func (d *reader) u64(what string) uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *reader) u32(what string) uint32 {
	if d.err != nil || len(d.b) < 4 {
		d.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *reader) bytes(what string, max int) []byte {
	n := d.u32(what)
	if d.err != nil {
		return nil
	}
	if int64(n) > int64(max) {
		d.err = fmt.Errorf("%s is %d bytes, more than %d", what, n, max)
		return nil
	}
	if uint64(len(d.b)) < uint64(n) {
		d.fail(what)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *reader) fixed(what string, n int) []byte {
	if d.err != nil || len(d.b) < n {
		d.fail(what)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// DecodeRecord parses a record's canonical encoding (without its hash) and sets Hash to its
// SM3. It refuses anything Encode would not have written: an unknown version, a field over
// its limit, details out of order, trailing bytes.
func DecodeRecord(enc []byte) (Record, error) {
	if len(enc) == 0 {
		return Record{}, errors.New("audit: record: empty")
	}
	if len(enc) > maxEncodedRecord {
		return Record{}, fmt.Errorf("audit: record: %d bytes, more than %d", len(enc), maxEncodedRecord)
	}
	if enc[0] != recordVersion {
		return Record{}, fmt.Errorf("audit: record: unknown encoding version %d", enc[0])
	}
	d := &reader{b: enc[1:]}
	var r Record
	r.Seq = Seq(d.u64("seq"))
	r.Time = time.Unix(0, int64(d.u64("time"))).UTC()
	r.Actor = string(d.bytes("actor", MaxActorLen))
	r.Action = string(d.bytes("action", MaxNameLen))
	r.SealCode = string(d.bytes("seal code", MaxSealCodeLen))
	r.Digest = bytes.Clone(d.bytes("digest", MaxDigestLen))
	r.SignatureSM3 = bytes.Clone(d.bytes("signature SM3", HashSize))
	r.Outcome = string(d.bytes("outcome", MaxNameLen))
	n := d.u32("details")
	if d.err == nil && n > MaxDetails {
		d.err = fmt.Errorf("%d details, more than %d", n, MaxDetails)
	}
	last := ""
	for i := uint32(0); d.err == nil && i < n; i++ {
		k := string(d.bytes("detail key", MaxNameLen))
		v := string(d.bytes("detail value", MaxDetailLen))
		if d.err != nil {
			break
		}
		if i > 0 && k <= last {
			d.err = fmt.Errorf("detail %q out of order or repeated", k)
			break
		}
		if r.Details == nil {
			r.Details = make(map[string]string, n)
		}
		r.Details[k], last = v, k
	}
	copy(r.Prev[:], d.fixed("prev", HashSize))
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d bytes after the record", len(d.b))
	}
	if d.err != nil {
		return Record{}, fmt.Errorf("audit: record: %w", d.err)
	}
	if len(r.Digest) == 0 {
		r.Digest = nil
	}
	if len(r.SignatureSM3) == 0 {
		r.SignatureSM3 = nil
	}
	r.Hash = sm3.Sum(enc)
	return r, nil
}

// stored is the value kept under a record's key: its encoding followed by its hash.
func storedRecord(enc []byte, h Hash) []byte {
	v := make([]byte, 0, len(enc)+HashSize)
	return append(append(v, enc...), h[:]...)
}

// splitStored splits a stored record value into its encoding and the hash stored with it.
func splitStored(v []byte) (enc []byte, stored Hash, err error) {
	if len(v) <= HashSize {
		return nil, Hash{}, fmt.Errorf("audit: record: stored value is %d bytes, too short", len(v))
	}
	copy(stored[:], v[len(v)-HashSize:])
	return v[:len(v)-HashSize], stored, nil
}
