package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/eseal/eseal/appliance"
	"github.com/eseal/eseal/internal/testvectors"
	"github.com/eseal/eseal/ofd"
	"github.com/eseal/eseal/registry"
	"github.com/eseal/eseal/sealimg"
	"github.com/eseal/eseal/signer"
	"github.com/eseal/eseal/verifier"
)

// signTestPIN is the PIN of the seal the sign-ofd tests make.
const signTestPIN = "246810"

// testResidentID completes 17 digits with their GB 11643 check character.
func testResidentID(d17 string) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range d17 {
		sum += int(c-'0') * w[i]
	}
	return d17 + string("10X98765432"[sum%11])
}

// signServer is the appliance served in process on a loopback port, with a personal seal
// and the files eseal sign-ofd reads.
type signServer struct {
	url, admin string
	svc        *appliance.Services
	seal       string
	// keyFile, pinFile and personFile hold a signer and verifier key, the seal's PIN and
	// its holder's identity number.
	keyFile, pinFile, personFile string
	pin, personID, key           string
	applicant, reviewer, maker   string
	// conns counts the connections the server accepted.
	conns *countingListener
}

// countingListener counts the connections accepted.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// makeSeal has a seal of kind k applied for, approved, made with the PIN and issued over
// HTTP; physical is the physical seal code of an official seal, whose impression is filed.
func (s *signServer) makeSeal(t *testing.T, k registry.Kind, physical string) string {
	t.Helper()
	app := map[string]any{"kind": k, "unit": map[string]string{"name": "海南示例科技有限公司", "credit_code": "91110000802100433B"},
		"handler":   map[string]string{"name": "王经办", "person_id": testResidentID("46010019900202456")},
		"valid_to":  time.Now().UTC().AddDate(2, 0, 0),
		"materials": []map[string]any{{"name": "business licence", "type": "application/pdf", "data": []byte("%PDF-1.7 licence")}}}
	if physical != "" {
		pics, err := sealimg.New(sealimg.Options{DPI: 96})
		if err != nil {
			t.Fatal(err)
		}
		png, err := pics.PNG(sealimg.Seal{Kind: sealimg.Official, Name: "海南示例科技有限公司", Code: physical})
		if err != nil {
			t.Fatal(err)
		}
		line, err := json.Marshal(map[string]any{"code": physical, "picture": png, "type": "png"})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := registry.NewImpressionStore(s.svc.DB, registry.ImpressionOptions{}).Import(context.Background(), bytes.NewReader(line)); err != nil || res.Added != 1 {
			t.Fatalf("impression %s: %+v %v", physical, res, err)
		}
		app["physical_code"] = physical
	} else {
		app["holder"] = map[string]string{"name": "张三", "person_id": s.personID}
	}
	var id struct{ ID string }
	s.call(t, s.applicant, "/v1/applications", app, &id)
	s.call(t, s.reviewer, "/v1/applications/"+id.ID+"/approve", nil, nil)
	var seal struct{ Code string }
	s.call(t, s.maker, "/v1/applications/"+id.ID+"/make", map[string]string{"pin": s.pin}, &seal)
	s.call(t, s.maker, "/v1/seals/"+seal.Code+"/issue", nil, nil)
	return seal.Code
}

// startSignServer opens the embedded default on a fresh data directory, bootstraps it,
// serves it on a loopback port, and has a personal seal made and issued over HTTP.
func startSignServer(t *testing.T) *signServer {
	t.Helper()
	ctx := context.Background()
	cfg := appliance.DefaultConfig()
	cfg.Data.Dir = filepath.Join(t.TempDir(), "data")
	cfg.Registry.PINIterations = signer.MinPINIterations
	cfg.Revocation.Fetch = false
	svc, err := appliance.OpenWith(ctx, cfg, appliance.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path, err := appliance.Bootstrap(ctx, svc, cfg.Data.Dir)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := appliance.NewServer(svc, cfg.Server)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &signServer{}
	s.conns = &countingListener{Listener: ln}
	go srv.Serve(s.conns)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		svc.Close()
	})
	s.url, s.admin, s.svc = "http://"+ln.Addr().String(), strings.TrimSpace(string(admin)), svc
	s.pin, s.personID = signTestPIN, testResidentID("11010519491231002")

	key := func(name string, roles ...registry.Role) string {
		var k appliance.KeyAnswer
		s.call(t, s.admin, "/v1/keys", appliance.KeyRequest{Name: name, Roles: roles}, &k)
		return k.Key
	}
	s.applicant = key("window-clerk", registry.RoleApplicant, registry.RoleSigner)
	s.reviewer = key("reviewer-li", registry.RoleReviewer)
	s.maker = key("maker-chen", registry.RoleMaker)
	s.key = key("licence-system", registry.RoleSigner, appliance.RoleVerifier)
	s.seal = s.makeSeal(t, registry.Personal, "")

	dir := t.TempDir()
	for _, f := range []struct {
		to    *string
		name  string
		value string
	}{{&s.keyFile, "api.key", s.key}, {&s.pinFile, "seal.pin", s.pin}, {&s.personFile, "person.id", s.personID}} {
		*f.to = filepath.Join(dir, f.name)
		if err := os.WriteFile(*f.to, []byte(f.value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// call posts body as JSON with key and decodes a 2xx answer into out.
func (s *signServer) call(t *testing.T, key, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest("POST", s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
	}
}

// args are the arguments of eseal sign-ofd for the server's seal, signing at a page position.
func (s *signServer) args(extra ...string) []string {
	return append([]string{"sign-ofd", "--target", s.url, "--key-file", s.keyFile, "--seal", s.seal,
		"--pin-file", s.pinFile, "--person-id-file", s.personFile, "--page", "1", "--x", "150", "--y", "200",
		"--concurrency", "4"}, extra...)
}

// licences writes n copies of a small vector OFD into a new folder.
func licences(t *testing.T, n int) string {
	t.Helper()
	doc := testvectors.Read(t, "ofdrw/ofdrw-sign/src/test/resources/helloworld.ofd")
	dir := t.TempDir()
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("licence-%03d.ofd", i)), doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// summary reads the counts of sign-ofd's summary line.
func summary(t *testing.T, stdout string) (done, skipped, failed int) {
	t.Helper()
	m := regexp.MustCompile(`done (\d+), skipped (\d+), failed (\d+) in \S+: [0-9.]+ documents/s \([0-9.]+ signed/s\)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no summary in %q", stdout)
	}
	fmt.Sscan(m[1], &done)
	fmt.Sscan(m[2], &skipped)
	fmt.Sscan(m[3], &failed)
	return
}

// readFailures reads DIR/failures.json.
func readFailures(t *testing.T, dir string) []signFailure {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, failuresFile))
	if err != nil {
		t.Fatal(err)
	}
	var f []signFailure
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// checkSigned verifies the signed document at path with the server's verifier.
func (s *signServer) checkSigned(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.svc.Verifier.VerifyOFD(b, ofd.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indication != verifier.TotalPassed || len(rep.Signatures) != 1 || rep.Signatures[0].Seal == nil || rep.Signatures[0].Seal.ID != s.seal {
		t.Fatalf("%s: %s with %d signatures", path, rep.Indication, len(rep.Signatures))
	}
}

// TestSignOFDFolderAndResume signs a folder of 50 documents through the appliance into a
// folder inside it, over one keep-alive connection per worker and without a progress bar
// off a terminal (every output verifies, failures.json is empty), then runs again on the
// same folder: every document is skipped, no output is rewritten, and the outputs are not
// taken for documents to sign. Neither PIN nor identity number nor API
// key is printed.
func TestSignOFDFolderAndResume(t *testing.T) {
	s := startSignServer(t)
	in := licences(t, 50)
	out := filepath.Join(in, "signed") // inside the folder signed: not searched for documents
	conns := s.conns.n.Load()
	code, stdout, stderr := runCLI(s.args("--out", out, in)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	// Four workers over keep-alive connections: a connection each, not one a document.
	if n := s.conns.n.Load() - conns; n > 4 {
		t.Fatalf("%d connections for 50 documents on 4 workers", n)
	}
	if stderr != "" {
		t.Fatalf("something on stderr, which is not a terminal: %q", stderr)
	}
	if done, skipped, failed := summary(t, stdout); done != 50 || skipped != 0 || failed != 0 {
		t.Fatalf("first run: %s", stdout)
	}
	if f := readFailures(t, out); len(f) != 0 {
		t.Fatalf("failures: %+v", f)
	}
	before := map[string]time.Time{}
	for i := range 50 {
		p := filepath.Join(out, fmt.Sprintf("licence-%03d.ofd", i))
		s.checkSigned(t, p)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		before[p] = st.ModTime()
	}

	code, stdout, stderr = runCLI(s.args("--out", out, in)...)
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if done, skipped, failed := summary(t, stdout); done != 0 || skipped != 50 || failed != 0 {
		t.Fatalf("second run: %s", stdout)
	}
	for p, m := range before {
		if st, err := os.Stat(p); err != nil || !st.ModTime().Equal(m) {
			t.Fatalf("%s was rewritten on the second run", p)
		}
	}
	for _, secret := range []string{s.pin, s.personID, s.key} {
		if strings.Contains(stdout+stderr, secret) {
			t.Fatalf("a secret is in the output: %.3s…", secret)
		}
	}
}

// TestSignOFDFailuresListed: a broken input is listed in failures.json with the server's code
// while the others are signed, and the exit status is 1; an output that exists but does not
// verify is signed again. A run that cannot verify its outputs (a key without the verifier
// role) fails them and keeps them.
func TestSignOFDFailuresListed(t *testing.T) {
	s := startSignServer(t)
	in := licences(t, 5)
	broken := filepath.Join(in, "broken.ofd")
	if err := os.WriteFile(broken, []byte("PK\x03\x04 not a whole ZIP"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "signed")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(out, "licence-002.ofd")
	if err := os.WriteFile(stale, []byte("a half-written output"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(s.args("--out", out, in)...)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailed, stdout, stderr)
	}
	if done, skipped, failed := summary(t, stdout); done != 5 || skipped != 0 || failed != 1 {
		t.Fatalf("summary: %s", stdout)
	}
	f := readFailures(t, out)
	if len(f) != 1 || f[0].File != broken || f[0].Code != "MALFORMED" || f[0].Message == "" {
		t.Fatalf("failures.json: %+v", f)
	}
	if !strings.Contains(stderr, broken) {
		t.Fatalf("stderr does not name the broken file: %s", stderr)
	}
	for i := range 5 {
		s.checkSigned(t, filepath.Join(out, fmt.Sprintf("licence-%03d.ofd", i)))
	}
	if _, err := os.Stat(filepath.Join(out, "broken.ofd")); err == nil {
		t.Fatal("an output was written for the broken input")
	}

	// A key that may sign but not verify cannot check what exists: those documents fail,
	// and their outputs stay as they are.
	var k appliance.KeyAnswer
	s.call(t, s.admin, "/v1/keys", appliance.KeyRequest{Name: "sign-only", Roles: []registry.Role{registry.RoleSigner}}, &k)
	if err := os.WriteFile(s.keyFile, []byte(k.Key), 0o600); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(stale)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(s.args("--out", out, filepath.Join(in, "licence-002.ofd"))...)
	if code != exitFailed {
		t.Fatalf("a sign-only key: exit %d: %s", code, stdout)
	}
	if f := readFailures(t, out); len(f) != 1 || f[0].Code != "WRONG_ROLE" {
		t.Fatalf("failures.json: %+v", f)
	}
	if got, _ := os.ReadFile(stale); !bytes.Equal(got, want) {
		t.Fatal("an output that could not be verified was overwritten")
	}
}

// TestSignOFDUsage: a missing or bad flag is a usage error (exit 2) naming it, and a
// secret file's content is never printed.
func TestSignOFDUsage(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "pin")
	if err := os.WriteFile(secret, []byte("135790\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pin := filepath.Join(dir, "pin1")
	if err := os.WriteFile(pin, []byte("135790\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte("esk_secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(dir, "a.ofd")
	if err := os.WriteFile(doc, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"sign-ofd", "--target", "http://127.0.0.1:1", "--key-file", key, "--seal", "46010000000001", "--out", filepath.Join(dir, "out")}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{"sign-ofd", "--key-file", key, "--seal", "x", "--pin-file", pin, "--out", filepath.Join(dir, "out"), doc}, "--target is required"},
		{"no PIN", append(base, doc), "--pin-file is required"},
		{"no document", append(base, "--pin-file", pin), "no document"},
		{"bad target", append([]string{"sign-ofd", "--target", "ftp://x", "--key-file", key, "--seal", "x", "--pin-file", pin, "--out", filepath.Join(dir, "out")}, doc), "not an http or https URL"},
		{"bad concurrency", append(base, "--pin-file", pin, "--concurrency", "0", doc), "--concurrency 0"},
		{"missing input", append(base, "--pin-file", pin, filepath.Join(dir, "none.ofd")), "none.ofd"},
		{"a PIN file of two lines", append(base, "--pin-file", secret, doc), "must hold one line"},
		{"two inputs to one output", append(base, "--pin-file", pin, doc, doc), "would both be written"},
		{"an input its own output", []string{"sign-ofd", "--target", "http://127.0.0.1:1", "--key-file", key, "--seal", "x", "--pin-file", pin, "--out", dir, doc}, "would be overwritten"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(c.args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q, want %d and %q", code, stderr, exitUsage, c.want)
			}
			if strings.Contains(stdout+stderr, "135790") || strings.Contains(stdout+stderr, "esk_secret") {
				t.Fatal("a secret was printed")
			}
		})
	}
	code, stdout, _ := runCLI("sign-ofd", "--help")
	if code != exitOK || !strings.Contains(stdout, signOFDSynopsis) {
		t.Fatalf("--help: %d %s", code, stdout)
	}
}

// TestSignOFDUnderApproval signs three documents with an official seal under one use
// approval of their three digests, one request each: each uses its own digest of the
// approval. A document not approved fails with the server's code, before (DIGEST_NOT_APPROVED)
// and after (APPROVAL_USED) the approval is used up.
func TestSignOFDUnderApproval(t *testing.T) {
	s := startSignServer(t)
	official := s.makeSeal(t, registry.Contract, "460100300001")
	in := licences(t, 3)
	var digests [][]byte
	for i := range 3 {
		b := withComment(t, filepath.Join(in, fmt.Sprintf("licence-%03d.ofd", i)), fmt.Sprintf("licence %d", i)) // three digests
		d := sm3.Sum(b)
		digests = append(digests, d[:])
	}
	other := filepath.Join(t.TempDir(), "other.ofd")
	if err := os.Rename(filepath.Join(licences(t, 1), "licence-000.ofd"), other); err != nil {
		t.Fatal(err)
	}
	var use struct{ ID string }
	s.call(t, s.applicant, "/v1/seals/"+official+"/use-requests", map[string]any{"digests": digests, "purpose": "licences"}, &use)
	s.call(t, s.reviewer, "/v1/use-requests/"+use.ID+"/approve", map[string]int{"ttl_seconds": 600}, nil)
	keyFile := filepath.Join(t.TempDir(), "oa.key")
	if err := os.WriteFile(keyFile, []byte(s.applicant), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "signed")
	sign := func(want int, inputs ...string) (done, skipped, failed int) {
		t.Helper()
		args := append([]string{"sign-ofd", "--target", s.url, "--key-file", keyFile, "--seal", official, "--approval", use.ID,
			"--pin-file", s.pinFile, "--keyword", "OFD", "--concurrency", "2", "--out", out}, inputs...)
		code, stdout, stderr := runCLI(args...)
		if code != want {
			t.Fatalf("exit %d, want %d\n%s\n%s", code, want, stdout, stderr)
		}
		return summary(t, stdout)
	}
	notApproved := func(code string) {
		t.Helper()
		if done, _, failed := sign(exitFailed, other); done != 0 || failed != 1 {
			t.Fatalf("a document not approved: %d done, %d failed", done, failed)
		}
		if f := readFailures(t, out); len(f) != 1 || f[0].Code != code || f[0].File != other {
			t.Fatalf("failures.json: %+v, want %s", f, code)
		}
	}
	notApproved("DIGEST_NOT_APPROVED")
	if done, skipped, failed := sign(exitOK, in); done != 3 || skipped != 0 || failed != 0 {
		t.Fatalf("under the approval: %d done, %d skipped, %d failed", done, skipped, failed)
	}
	for i := range 3 {
		b, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("licence-%03d.ofd", i)))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := s.svc.Verifier.VerifyOFD(b, ofd.Limits{})
		if err != nil || rep.Indication != verifier.TotalPassed || rep.Signatures[0].Seal.ID != official {
			t.Fatalf("licence %d: %v %+v", i, err, rep)
		}
	}
	notApproved("APPROVAL_USED")
}

// withComment rewrites the OFD file at path with a ZIP comment (the same package in other
// bytes) and returns its new bytes.
func withComment(t *testing.T, path, comment string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range r.File {
		if err := w.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SetComment(comment); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
