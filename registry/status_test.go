package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/pki"
	"github.com/eseal/eseal/ses"
	"github.com/eseal/eseal/verifier"
)

var _ verifier.StatusSource = (*Registry)(nil)

// sealStatus is SealStatus that must not fail.
func (e *env) sealStatus(t testing.TB, code string, der []byte) verifier.Status {
	t.Helper()
	st, err := e.reg.SealStatus(context.Background(), code, der)
	if err != nil {
		t.Fatalf("SealStatus %s: %v", code, err)
	}
	return st
}

// certStatus is CertStatus that must not fail.
func (e *env) certStatus(t testing.TB, c *smx509.Certificate) verifier.Status {
	t.Helper()
	st, err := e.reg.CertStatus(context.Background(), c)
	if err != nil {
		t.Fatalf("CertStatus %s: %v", c.SerialNumber.Text(16), err)
	}
	return st
}

func parseCert(t testing.TB, der []byte) *smx509.Certificate {
	t.Helper()
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantPeriods(t testing.TB, what string, got []verifier.Period, want ...verifier.Period) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: suspended %v, want %v", what, got, want)
	}
	for i := range want {
		if !got[i].From.Equal(want[i].From) || !got[i].To.Equal(want[i].To) {
			t.Fatalf("%s: suspended %v, want %v", what, got, want)
		}
	}
}

// TestSealStatusLifecycle follows a seal through suspension, resumption and revocation: each
// step is in the registry's answer at once, and so is the revocation of its signer
// certificate, with no CRL fetched.
func TestSealStatusLifecycle(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	cert := parseCert(t, s.Certificate)

	st := e.sealStatus(t, s.Code, s.ESL)
	if !st.Known || !st.Revoked.IsZero() || len(st.Suspended) != 0 || st.Reason != "" {
		t.Fatalf("issued seal: %+v", st)
	}
	if cs := e.certStatus(t, cert); !cs.Known || !cs.Revoked.IsZero() {
		t.Fatalf("issued seal's certificate: %+v", cs)
	}

	e.clock.Add(time.Hour)
	suspended := e.clock.Now()
	if err := e.reg.Suspend(ctx, admin, s.Code, StatusRequest{Reason: "carrier mislaid"}); err != nil {
		t.Fatal(err)
	}
	st = e.sealStatus(t, s.Code, s.ESL)
	wantPeriods(t, "after Suspend", st.Suspended, verifier.Period{From: suspended})
	if !st.Known || !st.Revoked.IsZero() || !strings.Contains(st.Reason, "suspended") || !strings.Contains(st.Reason, "carrier mislaid") {
		t.Fatalf("after Suspend: %+v", st)
	}
	if cs := e.certStatus(t, cert); !cs.Known || !cs.Revoked.IsZero() {
		t.Fatalf("a suspension revoked the certificate: %+v", cs)
	}

	e.clock.Add(time.Hour)
	resumed := e.clock.Now()
	if err := e.reg.Resume(ctx, admin, s.Code, StatusRequest{Reason: "carrier found"}); err != nil {
		t.Fatal(err)
	}
	st = e.sealStatus(t, s.Code, s.ESL)
	wantPeriods(t, "after Resume", st.Suspended, verifier.Period{From: suspended, To: resumed})
	if !st.Known || !st.Revoked.IsZero() || st.Reason != "" {
		t.Fatalf("after Resume: %+v", st)
	}

	e.clock.Add(time.Hour)
	revoked := e.clock.Now()
	if err := e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "holder left", CRLReason: pki.KeyCompromise}); err != nil {
		t.Fatal(err)
	}
	// The certificate first: its answer comes from the CA's record, not from a CRL.
	cs := e.certStatus(t, cert)
	if !cs.Known || !cs.Revoked.Equal(revoked) || !strings.Contains(cs.Reason, "key compromise") {
		t.Fatalf("revoked seal's certificate: %+v, want revoked at %s for key compromise", cs, revoked)
	}
	st = e.sealStatus(t, s.Code, s.ESL)
	if !st.Known || !st.Revoked.Equal(revoked) || !strings.Contains(st.Reason, "revoked") || !strings.Contains(st.Reason, "holder left") {
		t.Fatalf("after Revoke: %+v, want revoked at %s", st, revoked)
	}
	wantPeriods(t, "after Revoke", st.Suspended, verifier.Period{From: suspended, To: resumed})
}

// TestSealStatusSuspendedThenRevoked: a suspension ends where the revocation begins.
func TestSealStatusSuspendedThenRevoked(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	e.clock.Add(time.Minute)
	suspended := e.clock.Now()
	if err := e.reg.Suspend(ctx, admin, s.Code, StatusRequest{Reason: "inquiry"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	revoked := e.clock.Now()
	if err := e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "inquiry concluded"}); err != nil {
		t.Fatal(err)
	}
	st := e.sealStatus(t, s.Code, s.ESL)
	if !st.Known || !st.Revoked.Equal(revoked) || !strings.Contains(st.Reason, "inquiry concluded") {
		t.Fatalf("%+v, want revoked at %s", st, revoked)
	}
	wantPeriods(t, "suspended then revoked", st.Suspended, verifier.Period{From: suspended, To: revoked})
	cs := e.certStatus(t, parseCert(t, s.Certificate))
	if !cs.Revoked.Equal(revoked) || !strings.Contains(cs.Reason, "unspecified") {
		t.Fatalf("certificate: %+v", cs)
	}
}

// TestSealStatusChange: a change voids the old version at once (and supersedes its
// certificate); the new version is known, signs nothing until issued, and is good after.
func TestSealStatusChange(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	old := e.made(t, Personal, "")
	e.clock.Add(time.Hour)
	changed := e.clock.Now()
	ns, err := e.reg.Change(ctx, admin, old.Code, Change{Reason: ChangeName, Holder: &Person{Name: "张山", ID: idHolder}, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	st := e.sealStatus(t, old.Code, old.ESL)
	if !st.Known || !st.Revoked.Equal(changed) || !strings.Contains(st.Reason, "voided") || !strings.Contains(st.Reason, ns.Code) {
		t.Fatalf("old version: %+v, want voided at %s and replaced by %s", st, changed, ns.Code)
	}
	cs := e.certStatus(t, parseCert(t, old.Certificate))
	if !cs.Known || !cs.Revoked.Equal(changed) || !strings.Contains(cs.Reason, "superseded") {
		t.Fatalf("old version's certificate: %+v", cs)
	}

	// Made, not issued: it signs nothing yet.
	st = e.sealStatus(t, ns.Code, ns.ESL)
	wantPeriods(t, "new version before Issue", st.Suspended, verifier.Period{From: changed})
	if !st.Known || !st.Revoked.IsZero() || !strings.Contains(st.Reason, "not been issued") {
		t.Fatalf("new version before Issue: %+v", st)
	}
	e.clock.Add(time.Minute)
	issued := e.clock.Now()
	if err := e.reg.Issue(ctx, maker, ns.Code); err != nil {
		t.Fatal(err)
	}
	st = e.sealStatus(t, ns.Code, ns.ESL)
	wantPeriods(t, "new version after Issue", st.Suspended, verifier.Period{From: changed, To: issued})
	if !st.Known || !st.Revoked.IsZero() || st.Reason != "" {
		t.Fatalf("new version after Issue: %+v", st)
	}
	if cs := e.certStatus(t, parseCert(t, ns.Certificate)); !cs.Known || !cs.Revoked.IsZero() {
		t.Fatalf("new version's certificate: %+v", cs)
	}
	// Each version answers for its own bytes only.
	if st := e.sealStatus(t, ns.Code, old.ESL); st.Known {
		t.Fatalf("the old version's bytes are known under the new code: %+v", st)
	}
}

// outsiderCA is a CA of another platform whose root has the very name of ours.
type outsiderCA struct {
	root *smx509.Certificate
	key  *sm2.PrivateKey
}

func newOutsiderCA(t testing.TB, like *smx509.Certificate) *outsiderCA {
	t.Helper()
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &smx509.Certificate{SerialNumber: big.NewInt(1), RawSubject: like.RawSubject,
		NotBefore: start.Add(-time.Hour), NotAfter: start.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return &outsiderCA{root: parseCert(t, der), key: key}
}

// issue issues a certificate with the given serial and subject, for a new key.
func (o *outsiderCA) issue(t testing.TB, serial *big.Int, subject []byte) (*smx509.Certificate, *sm2.PrivateKey) {
	t.Helper()
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &smx509.Certificate{SerialNumber: serial, RawSubject: subject, NotBefore: start.Add(-time.Hour),
		NotAfter: start.AddDate(2, 0, 0), KeyUsage: smx509.KeyUsageDigitalSignature | smx509.KeyUsageContentCommitment}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, o.root, key.Public(), o.key)
	if err != nil {
		t.Fatal(err)
	}
	return parseCert(t, der), key
}

// TestStatusNotOurs: what the registry did not make is not known, without an error.
func TestStatusNotOurs(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	cert := parseCert(t, s.Certificate)
	out := newOutsiderCA(t, e.ca.Root())

	// A seal of another maker under our seal's code.
	makerCert, makerKey := out.issue(t, big.NewInt(2), e.ca.Maker().RawSubject)
	signerCert, _ := out.issue(t, cert.SerialNumber, cert.RawSubject)
	foreign, err := ses.MakeSeal(rand.Reader, &ses.SealTemplate{VID: "other", ESID: s.Code, Type: 2, Name: s.Name,
		SignerCerts: [][]byte{signerCert.Raw}, CreateDate: start, ValidStart: start, ValidEnd: start.AddDate(1, 0, 0),
		Picture: ses.Picture{Type: s.PictureType, Data: s.Picture, Width: 20, Height: 20}}, makerCert.Raw, makerKey)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(s.ESL)
	flipped[len(flipped)-1] ^= 1

	seals := []struct {
		name string
		code string
		der  []byte
	}{
		{"another maker's seal with our code", s.Code, foreign.Raw},
		{"our seal with one byte changed", s.Code, flipped},
		{"our seal cut short", s.Code, s.ESL[:len(s.ESL)-1]},
		{"our seal with a byte more", s.Code, append(bytes.Clone(s.ESL), 0)},
		{"no bytes", s.Code, nil},
		{"a code never assigned", "46010099999999", s.ESL},
		{"a code that cannot be ours", "../seal/" + s.Code, s.ESL},
		{"an empty code", "", s.ESL},
	}
	for _, c := range seals {
		t.Run(c.name, func(t *testing.T) {
			if st := e.sealStatus(t, c.code, c.der); st.Known {
				t.Fatalf("known: %+v", st)
			}
		})
	}
	if !bytes.Equal(signerCert.RawIssuer, e.ca.Root().RawSubject) || signerCert.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Fatal("the outsider's certificate should share our issuer name and our serial")
	}
	unknownSerial, _ := out.issue(t, big.NewInt(0).Lsh(big.NewInt(1), 100), cert.RawSubject)
	certs := []struct {
		name string
		cert *smx509.Certificate
	}{
		{"another CA's certificate with our serial and issuer name", signerCert},
		{"a serial our CA never issued", unknownSerial},
		{"another CA's root", out.root},
	}
	for _, c := range certs {
		t.Run(c.name, func(t *testing.T) {
			if st := e.certStatus(t, c.cert); st.Known {
				t.Fatalf("known: %+v", st)
			}
		})
	}
	// Our own: the root and the seal maker are ours too.
	for _, c := range []*smx509.Certificate{e.ca.Root(), e.ca.Maker(), cert} {
		if st := e.certStatus(t, c); !st.Known || !st.Revoked.IsZero() {
			t.Fatalf("our certificate %s: %+v", c.Subject, st)
		}
	}
	_, err = e.reg.CertStatus(ctx, nil)
	wantKind(t, "CertStatus(nil)", err, errs.InvalidInput)
}

// countingState wraps a State: it counts point reads, refuses scans, and fails its reads with
// fail when set; it answers reads under prefix bad (when set) with badValue, and hides the
// status entries when noEntries is set, as in a store written before they were kept.
type countingState struct {
	State
	gets      atomic.Int64
	fail      error
	bad       string
	badValue  []byte
	noEntries bool
}

func (s *countingState) Get(ctx context.Context, key string) ([]byte, error) {
	s.gets.Add(1)
	switch {
	case s.fail != nil:
		return nil, s.fail
	case s.bad != "" && strings.HasPrefix(key, s.bad):
		return bytes.Clone(s.badValue), nil
	case s.noEntries && strings.HasPrefix(key, Prefix+"status/"):
		return nil, errs.NotFound
	}
	return s.State.Get(ctx, key)
}

func (s *countingState) Scan(context.Context, string, func(string, []byte) error) error {
	return errors.New("scan refused")
}

// over is a registry over e's parts with State st.
func (e *env) over(t testing.TB, st State) *Registry {
	t.Helper()
	r, err := New(Config{State: st, Keys: e.keys, CA: e.ca, Guard: e.guard, Pictures: e.pics,
		Division: "460100", IDKey: []byte("0123456789abcdef"), Clock: e.clock.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSealStatusPointReads: a seal of ours is one read by code (its status entry); a code
// not ours is two reads that find nothing (the entry, then the record); no scan.
func TestSealStatusPointReads(t *testing.T) {
	e := newEnv(t, true)
	s := e.made(t, Personal, "")
	cs := &countingState{State: NewState(e.db, e.log)}
	r := e.over(t, cs)
	for _, c := range []struct {
		code  string
		known bool
		reads int64
	}{{s.Code, true, 1}, {"46010099999999", false, 2}} {
		before := cs.gets.Load()
		st, err := r.SealStatus(context.Background(), c.code, s.ESL)
		if err != nil {
			t.Fatal(err)
		}
		if st.Known != c.known {
			t.Fatalf("%s: known %v, want %v", c.code, st.Known, c.known)
		}
		if n := cs.gets.Load() - before; n != c.reads {
			t.Fatalf("%s: %d reads, want %d", c.code, n, c.reads)
		}
	}
}

// TestSealStatusRemembered: a seal's status is read once and then remembered, and a change
// of status through the registry is answered on the very next call.
func TestSealStatusRemembered(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, true)
	s := e.made(t, Personal, "")
	cs := &countingState{State: NewState(e.db, e.log)}
	r := e.over(t, cs)
	for i := range 3 {
		before := cs.gets.Load()
		st, err := r.SealStatus(ctx, s.Code, s.ESL)
		if err != nil || !st.Known || !st.Revoked.IsZero() {
			t.Fatalf("call %d: %+v %v", i, st, err)
		}
		want := int64(0) // remembered
		if i == 0 {
			want = 1
		}
		if n := cs.gets.Load() - before; n != want {
			t.Fatalf("call %d: %d reads, want %d", i, n, want)
		}
	}
	// Another seal's bytes under the code are not answered from what is remembered.
	if st, err := r.SealStatus(ctx, s.Code, append(bytes.Clone(s.ESL), 0)); err != nil || st.Known {
		t.Fatalf("other bytes: %+v %v", st, err)
	}
	e.clock.Add(time.Hour)
	if err := r.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "lost"}); err != nil {
		t.Fatal(err)
	}
	st, err := r.SealStatus(ctx, s.Code, s.ESL)
	if err != nil || st.Revoked.IsZero() {
		t.Fatalf("after the revocation: %+v %v", st, err)
	}
}

// statusByRecord is the status of the seal as its whole record gives it, without its entry.
func (e *env) statusByRecord(t testing.TB, code string, der []byte) verifier.Status {
	t.Helper()
	st, err := e.over(t, &countingState{State: NewState(e.db, e.log), noEntries: true}).SealStatus(context.Background(), code, der)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func sameStatus(a, b verifier.Status) bool {
	if a.Known != b.Known || !a.Revoked.Equal(b.Revoked) || a.Reason != b.Reason || len(a.Suspended) != len(b.Suspended) {
		return false
	}
	for i := range a.Suspended {
		if !a.Suspended[i].From.Equal(b.Suspended[i].From) || !a.Suspended[i].To.Equal(b.Suspended[i].To) {
			return false
		}
	}
	return true
}

// TestStatusEntryFollowsRecord takes seals through every step that writes a seal record and
// after each checks, for every seal, that its status entry says what its record says.
func TestStatusEntryFollowsRecord(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	check := func(step string) {
		t.Helper()
		seals, err := e.reg.Seals(ctx, Query{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range seals {
			got, want := e.sealStatus(t, s.Code, s.ESL), e.statusByRecord(t, s.Code, s.ESL)
			if !got.Known || !sameStatus(got, want) {
				t.Fatalf("after %s, seal %s (%s): entry says %+v, record says %+v", step, s.Code, s.Status, got, want)
			}
		}
	}
	if _, err := e.reg.MakeBusiness(ctx, maker, Business{Unit: Unit{Name: "海南示例科技有限公司", CreditCode: codeCompany},
		Kinds: []Kind{Contract}, ValidTo: start.AddDate(1, 0, 0), PIN: pin}); err != nil {
		t.Fatal(err)
	}
	check("MakeBusiness")
	s, err := e.applyAndMake(t, application(Personal, ""))
	if err != nil {
		t.Fatal(err)
	}
	check("Make")
	steps := []struct {
		name string
		do   func() error
	}{
		{"Issue", func() error { return e.reg.Issue(ctx, maker, s.Code) }},
		{"Suspend", func() error { return e.reg.Suspend(ctx, admin, s.Code, StatusRequest{Reason: "r1"}) }},
		{"Resume", func() error { return e.reg.Resume(ctx, admin, s.Code, StatusRequest{Reason: "r2"}) }},
		{"Change", func() error {
			ns, err := e.reg.Change(ctx, admin, s.Code, Change{Reason: ChangeLostCarrier, PIN: pin})
			s = ns
			return err
		}},
		{"Issue of the new version", func() error { return e.reg.Issue(ctx, maker, s.Code) }},
		{"Revoke", func() error { return e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "r3"}) }},
	}
	for _, st := range steps {
		e.clock.Add(time.Minute)
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		check(st.name)
	}
}

// TestSealRecordWrittenWithEntry: the only write of a seal record in the package is the one
// in sealWrites, which writes its status entry with it.
func TestSealRecordWrittenWithEntry(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, pat := range []string{"jsonWrite(sealKey(", "Key: []byte(sealKey("} {
			c := strings.Count(string(b), pat)
			if c > 0 && f != "status.go" {
				t.Errorf("%s writes a seal record without its status entry (%q): use sealWrites", f, pat)
			}
			n += c
		}
	}
	if n != 1 {
		t.Fatalf("%d seal record writes found, want the one in sealWrites", n)
	}
}

// TestStatusStoreFailure: a store that cannot answer gives an error with a kind, never a
// "not known" that would send the verifier elsewhere silently.
func TestStatusStoreFailure(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	entry, err := e.reg.cfg.State.Get(ctx, statusKey(s.Code))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		state *countingState
		kind  errs.Kind
	}{
		{"store failure", &countingState{fail: errors.New("disk gone")}, errs.Unavailable},
		{"store closed", &countingState{fail: errs.Closed}, errs.Closed},
		{"entry of another version", &countingState{bad: Prefix + "status/", badValue: append([]byte{2}, entry[1:]...)}, errs.Corrupt},
		{"entry cut short", &countingState{bad: Prefix + "status/", badValue: entry[:len(entry)/2]}, errs.Corrupt},
		{"entry with a huge length", &countingState{bad: Prefix + "status/", badValue: []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f, '{', '}'}}, errs.Corrupt},
		{"entry of another seal", &countingState{bad: Prefix + "status/", badValue: []byte("\x01\x00{\"code\":\"46010099999999\"}")}, errs.Corrupt},
		{"history not starting with the making", &countingState{bad: Prefix + "status/", badValue: entryWith(s.ESL, statusRecord{Code: s.Code,
			History: []statusChange{{Status: StatusActive, At: start}}})}, errs.Corrupt},
		{"history with an unknown status", &countingState{bad: Prefix + "status/", badValue: entryWith(s.ESL, statusRecord{Code: s.Code,
			History: []statusChange{{Status: StatusMade, At: start}, {Status: "frozen", At: start.Add(time.Hour)}}})}, errs.Corrupt},
		{"empty history", &countingState{bad: Prefix + "status/", badValue: entryWith(s.ESL, statusRecord{Code: s.Code})}, errs.Corrupt},
		{"record unreadable", &countingState{noEntries: true, bad: Prefix + "seal/", badValue: []byte("{not json")}, errs.Corrupt},
		{"record of another seal", &countingState{noEntries: true, bad: Prefix + "seal/", badValue: []byte(`{"code":"46010099999999"}`)}, errs.Corrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.state.State = NewState(e.db, e.log)
			st, err := e.over(t, c.state).SealStatus(ctx, s.Code, s.ESL)
			wantKind(t, c.name, err, c.kind)
			if st.Known {
				t.Fatalf("known on failure: %+v", st)
			}
		})
	}
	cert := parseCert(t, s.Certificate)
	e.ca.Close()
	st, err := e.reg.CertStatus(ctx, cert)
	wantKind(t, "CertStatus with the CA closed", err, errs.Closed)
	if st.Known {
		t.Fatalf("known on failure: %+v", st)
	}
}

// entryWith is the status entry of a seal with the .esl and the status rec gives.
func entryWith(esl []byte, rec statusRecord) []byte {
	s := &SealRecord{Code: rec.Code, ESL: esl, Next: rec.Next}
	for _, h := range rec.History {
		s.History = append(s.History, StatusChange{Status: h.Status, At: h.At, Reason: h.Reason})
	}
	return sealWrites(s)[1].Value
}

// FuzzStatusEntry feeds arbitrary bytes to the status entry decoder: an error or a record
// whose .esl lies within the bytes, never a panic.
func FuzzStatusEntry(f *testing.F) {
	s := &SealRecord{Code: "46010000000001", ESL: []byte{0x30, 0x03, 1, 2, 3},
		History: []StatusChange{{Status: StatusMade, At: start}, {Status: StatusRevoked, At: start.Add(time.Hour), Reason: "x"}}}
	f.Add(sealWrites(s)[1].Value)
	f.Add([]byte{1})
	f.Add([]byte{1, 0x80})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeStatusEntry(b)
		if err != nil {
			return
		}
		if len(rec.ESL) > len(b) {
			t.Fatalf(".esl of %d bytes from an entry of %d", len(rec.ESL), len(b))
		}
		rec.status() // an error or a status, never a panic
	})
}

// TestStatusConcurrent reads statuses while lifecycle steps run (go test -race): every answer
// is of a committed state, and the certificate is never revoked before the seal's step began.
func TestStatusConcurrent(t *testing.T) {
	e := newEnv(t, true)
	ctx := context.Background()
	s := e.made(t, Personal, "")
	cert := parseCert(t, s.Certificate)
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				st, err := e.reg.SealStatus(ctx, s.Code, s.ESL)
				if err != nil || !st.Known {
					t.Errorf("SealStatus: %+v, %v", st, err)
					return
				}
				cs, err := e.reg.CertStatus(ctx, cert)
				if err != nil || !cs.Known {
					t.Errorf("CertStatus: %+v, %v", cs, err)
					return
				}
			}
		})
	}
	for range 3 {
		e.clock.Add(time.Minute)
		if err := e.reg.Suspend(ctx, admin, s.Code, StatusRequest{Reason: "check"}); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Minute)
		if err := e.reg.Resume(ctx, admin, s.Code, StatusRequest{Reason: "checked"}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Add(time.Minute)
	revoked := e.clock.Now()
	if err := e.reg.Revoke(ctx, admin, s.Code, StatusRequest{Reason: "end"}); err != nil {
		t.Fatal(err)
	}
	close(done)
	wg.Wait()
	st := e.sealStatus(t, s.Code, s.ESL)
	if len(st.Suspended) != 3 || !st.Revoked.Equal(revoked) {
		t.Fatalf("after the steps: %+v", st)
	}
}

// FuzzSealStatus feeds arbitrary codes and bytes: the answer is known exactly for the seal's
// own code and bytes, never an error, never a panic.
func FuzzSealStatus(f *testing.F) {
	e := newEnv(f, true)
	s := e.made(f, Personal, "")
	f.Add(s.Code, s.ESL)
	f.Add(s.Code, s.ESL[:len(s.ESL)/2])
	f.Add("46010099999999", s.ESL)
	f.Add("reg/seal/"+s.Code, []byte{0x30, 0x00})
	f.Add("", []byte(nil))
	f.Fuzz(func(t *testing.T, code string, der []byte) {
		st, err := e.reg.SealStatus(context.Background(), code, der)
		if err != nil {
			t.Fatalf("SealStatus(%q): %v", code, err)
		}
		if want := code == s.Code && bytes.Equal(der, s.ESL); st.Known != want {
			t.Fatalf("SealStatus(%q): known %v, want %v", code, st.Known, want)
		}
	})
}

// The look-ups run on every verification of one of our seals, so they are read together with
// the SM2 verification a verification rests on (RawSM2Verify), in one run:
//
//	go test ./registry -run '^$' -bench 'Status|RawSM2Verify' -benchtime 1s
func BenchmarkSealStatus(b *testing.B) {
	e := newEnv(b, true)
	s := e.made(b, Personal, "")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if st, err := e.reg.SealStatus(ctx, s.Code, s.ESL); err != nil || !st.Known {
			b.Fatal(st, err)
		}
	}
}

// BenchmarkSealStatusUnknown is the look-up of a seal that is not ours.
func BenchmarkSealStatusUnknown(b *testing.B) {
	e := newEnv(b, true)
	s := e.made(b, Personal, "")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if st, err := e.reg.SealStatus(ctx, "46010099999999", s.ESL); err != nil || st.Known {
			b.Fatal(st, err)
		}
	}
}

func BenchmarkCertStatus(b *testing.B) {
	e := newEnv(b, true)
	s := e.made(b, Personal, "")
	cert := parseCert(b, s.Certificate)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if st, err := e.reg.CertStatus(ctx, cert); err != nil || !st.Known {
			b.Fatal(st, err)
		}
	}
}

// BenchmarkRawSM2Verify is the primitive: one gmsm SM2 verification of a digest.
func BenchmarkRawSM2Verify(b *testing.B) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := make([]byte, 32)
	rand.Read(digest)
	sig, err := sm2.SignASN1(rand.Reader, key, digest, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !sm2.VerifyASN1(&key.PublicKey, digest, sig) {
			b.Fatal("does not verify")
		}
	}
}

// SealForSigning reads and parses the record once per commit: the same seal again without a
// read, the stored .esl's bytes, and an unknown code refused as not found.
func TestSealForSigning(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, true)
	s := e.made(t, Personal, "")
	cs := &countingState{State: NewState(e.db, e.log)}
	r := e.over(t, cs)
	first, err := r.SealForSigning(ctx, s.Code)
	if err != nil || !bytes.Equal(first.Raw, s.ESL) {
		t.Fatalf("%v", err)
	}
	before := cs.gets.Load()
	again, err := r.SealForSigning(ctx, s.Code)
	if err != nil || again != first || cs.gets.Load() != before {
		t.Fatalf("not remembered: %v, %d reads", err, cs.gets.Load()-before)
	}
	if _, err := r.SealForSigning(ctx, "460100999999999"); !errors.Is(err, errs.NotFound) {
		t.Fatalf("unknown code: %v", err)
	}
}
