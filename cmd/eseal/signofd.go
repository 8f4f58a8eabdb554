package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eseal/eseal/ofd"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

const signOFDSynopsis = "eseal sign-ofd --target URL --key-file F --seal CODE --pin-file F [--approval ID]\n" +
	"         [--person-id-file F] [--scope S] [--page N --x MM --y MM | --keyword TEXT [--page N] | --riding FROM-TO]\n" +
	"         [--protect-signatures] [--force] [--concurrency N] [--timeout D] --out DIR FILE|DIR..."

// Limits of eseal sign-ofd.
const (
	// defaultSignConcurrency is --concurrency's default: the documents in flight at once.
	defaultSignConcurrency = 4
	// maxSignConcurrency bounds --concurrency.
	maxSignConcurrency = 256
	// maxOFDInput bounds an input file; the server's default body limit is the same.
	maxOFDInput = 64 << 20
	// maxSecretFile bounds a key, PIN or identity number file.
	maxSecretFile = 4096
	// maxBusyRetries is how many times a document refused as BUSY (503) is sent again.
	maxBusyRetries = 5
	// failuresFile is the summary of the failures, written into --out.
	failuresFile = "failures.json"
)

// signOFDConfig is what eseal sign-ofd was asked to do.
type signOFDConfig struct {
	target      *url.URL
	key         string
	pin         string
	personID    string
	query       url.Values // seal, approval, scope and the placement
	concurrency int
	timeout     time.Duration
	out         string
}

// signJob is one document to sign: its input and its output path.
type signJob struct {
	in, out string
}

// signFailure is one line of failures.json.
type signFailure struct {
	File    string `json:"file"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// signOutcome is how one document ended.
type signOutcome int

const (
	outcomeSigned signOutcome = iota
	outcomeSkipped
	outcomeFailed
)

func cmdSignOFD(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sign-ofd", flag.ContinueOnError)
	target := fs.String("target", "", "the appliance's base URL, e.g. http://127.0.0.1:8080")
	keyFile := fs.String("key-file", "", "file holding the API key (role signer; verifier too, for resuming), its owner's only (mode 600)")
	seal := fs.String("seal", "", "the code of the seal to sign with")
	pinFile := fs.String("pin-file", "", "file holding the seal's PIN, its owner's only (mode 600)")
	approval := fs.String("approval", "", "the use approval of an official seal, granted for the documents' SM3 digests")
	personFile := fs.String("person-id-file", "", "file holding the holder's identity number (personal and position seals), its owner's only")
	scope := fs.String("scope", "", "the delegated scope a position seal is used in")
	page := fs.String("page", "", "page number (from 1) for the stamp, or the page to search the keyword on")
	x := fs.String("x", "", "the stamp's centre, millimetres from the page's left edge")
	y := fs.String("y", "", "the stamp's centre, millimetres from the page's top edge")
	keyword := fs.String("keyword", "", "centre the stamp on the first occurrence of this text")
	riding := fs.String("riding", "", "a cross-page seal over pages FROM-TO")
	protect := fs.Bool("protect-signatures", false, "protect Signatures.xml too: the documents then refuse later signatures")
	force := fs.Bool("force", false, "sign documents whose existing signatures do not pass")
	concurrency := fs.Int("concurrency", defaultSignConcurrency, "documents signed at once (and idle connections kept)")
	timeout := fs.Duration("timeout", 2*time.Minute, "time allowed for one request")
	out := fs.String("out", "", "folder the signed documents are written to (created if needed)")
	paths, code, ok := parseCommand(fs, signOFDSynopsis, args, stdout, stderr)
	if !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "eseal sign-ofd: %s\nusage: %s\n", fmt.Sprintf(format, a...), signOFDSynopsis)
		return exitUsage
	}
	switch {
	case *target == "":
		return usageErr("--target is required")
	case *keyFile == "":
		return usageErr("--key-file is required")
	case *seal == "":
		return usageErr("--seal is required")
	case *pinFile == "":
		// Every seal signs only with its protection PIN; an official seal also needs a
		// use approval granted for the documents (--approval).
		return usageErr("--pin-file is required (and, for an official seal, --approval)")
	case *out == "":
		return usageErr("--out is required")
	case len(paths) == 0:
		return usageErr("no document or folder to sign")
	case *concurrency < 1 || *concurrency > maxSignConcurrency:
		return usageErr("--concurrency %d: 1 to %d", *concurrency, maxSignConcurrency)
	case *timeout <= 0:
		return usageErr("--timeout must be positive")
	}
	u, err := url.Parse(strings.TrimRight(*target, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageErr("--target %q is not an http or https URL", *target)
	}
	cfg := &signOFDConfig{target: u, concurrency: *concurrency, timeout: *timeout, out: *out,
		query: url.Values{"seal": {*seal}}}
	for name, v := range map[string]string{"approval": *approval, "scope": *scope, "page": *page, "x": *x, "y": *y,
		"keyword": *keyword, "riding": *riding} {
		if v != "" {
			cfg.query.Set(name, v)
		}
	}
	if *protect {
		cfg.query.Set("protect_signatures", "true")
	}
	if *force {
		cfg.query.Set("force", "true")
	}
	for _, s := range []struct {
		file, what string
		to         *string
	}{{*keyFile, "--key-file", &cfg.key}, {*pinFile, "--pin-file", &cfg.pin}, {*personFile, "--person-id-file", &cfg.personID}} {
		if s.file == "" {
			continue
		}
		v, err := readSecret(s.file)
		if err != nil {
			return usageErr("%s: %v", s.what, err)
		}
		*s.to = v
	}
	jobs, err := signJobs(paths, cfg.out)
	if err != nil {
		return usageErr("%v", err)
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		fmt.Fprintf(stderr, "eseal sign-ofd: %v\n", err)
		return exitUsage
	}
	return signAll(cfg, jobs, stdout, stderr)
}

// readSecret reads a small file holding one secret, without its line ending. Its content is
// never shown. A file others may read or write is refused (openSecret): a secret kept so is
// no longer its holder's alone.
func readSecret(name string) (string, error) {
	f, err := openSecret(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than %d bytes", name, maxSecretFile)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return "", fmt.Errorf("%s must hold one line", name)
	}
	return s, nil
}

// openSecret opens the secret file name after ownerOnly's checks; a pipe or device is
// refused before it is opened (opening a pipe waits for a writer).
func openSecret(name string) (*os.File, error) {
	if fi, err := os.Stat(name); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	if err := ownerOnly(f, name); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ownerOnly refuses the open secret file f (named name) unless it is a regular file that
// neither the group nor others may read or write.
func ownerOnly(f *os.File, name string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", name)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return fmt.Errorf("%s may be read or written by others (mode %04o): make it its owner's only (chmod 600)", name, perm)
	}
	return nil
}

// signJobs lists the documents to sign: each FILE argument, written to DIR/its name, and
// each .ofd file under a DIR argument, written to DIR/its path under that folder (the output
// folder itself is not searched). A FILE that is not a regular file (a pipe, a device) or
// is over the input limit, two documents written to one output, and an output that is its
// input, are refused.
func signJobs(paths []string, out string) ([]signJob, error) {
	var jobs []signJob
	seen := map[string]string{}
	outAbs, err := filepath.Abs(out)
	if err != nil {
		return nil, err
	}
	add := func(in, rel string) error {
		o := filepath.Join(out, rel)
		if prev, dup := seen[o]; dup {
			return fmt.Errorf("%s and %s would both be written to %s", prev, in, o)
		}
		if a, err := filepath.Abs(in); err != nil || a == filepath.Join(outAbs, rel) {
			return fmt.Errorf("%s would be overwritten by its signed copy: choose another --out", in)
		}
		seen[o] = in
		jobs = append(jobs, signJob{in: in, out: o})
		return nil
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			// A pipe or device would be read without end (or up to the size limit).
			if err := regular(p, st); err != nil {
				return nil, err
			}
			if err := add(p, filepath.Base(p)); err != nil {
				return nil, err
			}
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if a, err := filepath.Abs(path); err == nil && a == outAbs {
					return filepath.SkipDir
				}
			}
			if d.Type().IsRegular() && strings.EqualFold(filepath.Ext(path), ".ofd") {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		for _, f := range found {
			rel, err := filepath.Rel(p, f)
			if err != nil {
				return nil, err
			}
			if err := add(f, rel); err != nil {
				return nil, err
			}
		}
	}
	return jobs, nil
}

// signAll signs the jobs on cfg.concurrency workers over one keep-alive client, shows a
// progress bar when stderr is a terminal, prints the summary and writes failures.json. It
// returns 1 when any document failed.
func signAll(cfg *signOFDConfig, jobs []signJob, stdout, stderr io.Writer) int {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.concurrency,
		MaxIdleConnsPerHost: cfg.concurrency,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	defer tr.CloseIdleConnections()
	c := &ofdClient{cfg: cfg, http: &http.Client{Transport: tr, Timeout: cfg.timeout}}

	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions(len(jobs), progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("signing"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("docs"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
	}
	var signed, skipped atomic.Int64
	var mu sync.Mutex
	var failures []signFailure
	work := make(chan signJob)
	var wg sync.WaitGroup
	start := time.Now()
	for range min(cfg.concurrency, len(jobs)) {
		wg.Go(func() {
			for j := range work {
				switch outcome, f := c.signOne(j); outcome {
				case outcomeSigned:
					signed.Add(1)
				case outcomeSkipped:
					skipped.Add(1)
				default:
					mu.Lock()
					failures = append(failures, f)
					mu.Unlock()
				}
				if bar != nil {
					bar.Add(1)
				}
			}
		})
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	if bar != nil {
		bar.Finish()
	}

	sort.Slice(failures, func(i, j int) bool { return failures[i].File < failures[j].File })
	if failures == nil {
		failures = []signFailure{}
	}
	status := exitOK
	if err := writeFailures(filepath.Join(cfg.out, failuresFile), failures); err != nil {
		fmt.Fprintf(stderr, "eseal sign-ofd: %v\n", err)
		status = exitFailed
	}
	for _, f := range failures {
		fmt.Fprintf(stderr, "%s: %s: %s\n", f.File, f.Code, f.Message)
	}
	secs := max(elapsed.Seconds(), 1e-9)
	fmt.Fprintf(stdout, "done %d, skipped %d, failed %d in %s: %.1f documents/s (%.1f signed/s)\n",
		signed.Load(), skipped.Load(), len(failures), elapsed.Round(time.Millisecond),
		float64(len(jobs))/secs, float64(signed.Load())/secs)
	if len(failures) > 0 {
		status = exitFailed
	}
	return status
}

// writeFailures writes the failures as a JSON list, replacing the file atomically.
func writeFailures(name string, failures []signFailure) error {
	b, err := json.MarshalIndent(failures, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(name, append(b, '\n'))
}

// writeAtomic writes b to name through a temporary file in the same folder, so that name
// is either absent, or complete.
func writeAtomic(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// ofdClient signs documents through the appliance.
type ofdClient struct {
	cfg  *signOFDConfig
	http *http.Client
}

// apiRefusal is the appliance's {"code", "message"}.
type apiRefusal struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (r *apiRefusal) Error() string { return r.Code + ": " + r.Message }

// signOne signs one document, or skips it when its output exists and verifies.
func (c *ofdClient) signOne(j signJob) (signOutcome, signFailure) {
	fail := func(code, format string, a ...any) (signOutcome, signFailure) {
		return outcomeFailed, signFailure{File: j.in, Code: code, Message: fmt.Sprintf(format, a...)}
	}
	failErr := func(err error) (signOutcome, signFailure) {
		var r *apiRefusal
		if errors.As(err, &r) {
			return fail(r.Code, "%s", r.Message)
		}
		return fail("NETWORK", "%v", err)
	}
	doc, err := readBounded(j.in, maxOFDInput)
	if err != nil {
		return fail("IO", "%v", err)
	}
	if existing, err := readBounded(j.out, maxOFDInput*2); err == nil {
		passed, err := c.verifies(existing)
		if err != nil {
			return fail(codeOf(err), "the output %s exists and could not be verified (it is kept): %v", j.out, msgOf(err))
		}
		if passed {
			// A signed document is skipped only when it is this input signed: an output
			// left from another input (or put there) verifies as well.
			if err := signedFrom(doc, existing); err != nil {
				return fail("OUTPUT_MISMATCH", "the output %s exists and verifies, but is not %s signed (it is kept): %v", j.out, j.in, err)
			}
			return outcomeSkipped, signFailure{}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fail("IO", "the output %s: %v", j.out, err)
	}
	signed, err := c.sign(doc)
	if err != nil {
		return failErr(err)
	}
	// What is written is the input signed, whatever answered at --target.
	if err := signedFrom(doc, signed); err != nil {
		return fail("BAD_ANSWER", "the appliance answered a package that is not %s signed (not written): %v", j.in, err)
	}
	if err := writeAtomic(j.out, signed); err != nil {
		return fail("IO", "%v", err)
	}
	return outcomeSigned, signFailure{}
}

// signedFrom tells whether signed is the OFD document in signed by the appliance: every file
// of in is in signed with the same bytes, but OFD.xml and the lists of signatures
// (Signatures.xml), which signing rewrites; and every file signed adds is a list of
// signatures or a signature's Signature.xml, SignedValue.dat or Seal.esl.
func signedFrom(in, signed []byte) error {
	a, err := ofd.Open(in, ofd.Limits{})
	if err != nil {
		return fmt.Errorf("the input: %w", err)
	}
	b, err := ofd.Open(signed, ofd.Limits{})
	if err != nil {
		return fmt.Errorf("the output: %w", err)
	}
	for _, n := range a.Files() {
		if n == "OFD.xml" || path.Base(n) == "Signatures.xml" {
			continue
		}
		if !b.Has(n) {
			return fmt.Errorf("it lacks the input's %s", n)
		}
		x, err := a.ReadFile(n)
		if err != nil {
			return fmt.Errorf("the input's %s: %w", n, err)
		}
		y, err := b.ReadFile(n)
		if err != nil {
			return fmt.Errorf("its %s: %w", n, err)
		}
		if !bytes.Equal(x, y) {
			return fmt.Errorf("its %s differs from the input's", n)
		}
	}
	for _, n := range b.Files() {
		if a.Has(n) {
			continue
		}
		switch path.Base(n) {
		case "Signatures.xml", "Signature.xml", "SignedValue.dat", "Seal.esl":
		default:
			return fmt.Errorf("it has %s, which the input has not", n)
		}
	}
	return nil
}

func codeOf(err error) string {
	var r *apiRefusal
	if errors.As(err, &r) {
		return r.Code
	}
	return "NETWORK"
}

func msgOf(err error) string {
	var r *apiRefusal
	if errors.As(err, &r) {
		return r.Message
	}
	return err.Error()
}

// readBounded reads a file of at most limit bytes.
func readBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return b, nil
}

// sign posts doc to /v1/ofd/sign and returns the signed document.
func (c *ofdClient) sign(doc []byte) ([]byte, error) {
	return c.post("/v1/ofd/sign?"+c.cfg.query.Encode(), doc, func(h http.Header) {
		if c.cfg.pin != "" {
			h.Set("Eseal-Pin", c.cfg.pin)
		}
		if c.cfg.personID != "" {
			h.Set("Eseal-Person-Id", c.cfg.personID)
		}
	}, "application/ofd")
}

// verifies posts doc to /v1/ofd/verify and tells whether it is TOTAL_PASSED.
func (c *ofdClient) verifies(doc []byte) (bool, error) {
	b, err := c.post("/v1/ofd/verify", doc, nil, "application/json")
	if err != nil {
		return false, err
	}
	var rep struct {
		Indication string `json:"indication"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return false, fmt.Errorf("the verification report is not JSON: %w", err)
	}
	return rep.Indication == "TOTAL_PASSED", nil
}

// post sends body as application/ofd to path with the API key (and headers set by extra),
// and returns the body of a 200 answer of the content type want; another answer is an
// *apiRefusal. A BUSY answer (503) is sent again after its Retry-After, a few times.
func (c *ofdClient) post(path string, body []byte, extra func(http.Header), want string) ([]byte, error) {
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.timeout)
		b, retry, err := c.postOnce(ctx, path, body, extra, want)
		cancel()
		if retry <= 0 || try >= maxBusyRetries {
			return b, err
		}
		time.Sleep(retry)
	}
}

func (c *ofdClient) postOnce(ctx context.Context, path string, body []byte, extra func(http.Header), want string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.target.String()+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.key)
	req.Header.Set("Content-Type", "application/ofd")
	if extra != nil {
		extra(req.Header)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, scrub(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxOFDInput*2))
	if err != nil {
		return nil, 0, fmt.Errorf("reading the answer: %w", err)
	}
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(ct, want) {
		return b, 0, nil
	}
	r := &apiRefusal{}
	if json.Unmarshal(b, r) != nil || r.Code == "" {
		r = &apiRefusal{Code: fmt.Sprintf("HTTP_%d", resp.StatusCode), Message: fmt.Sprintf("an answer of %d bytes of %q", len(b), ct)}
	}
	var retry time.Duration
	if resp.StatusCode == http.StatusServiceUnavailable {
		retry = time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			retry = min(time.Duration(s)*time.Second, 10*time.Second)
		}
	}
	return nil, retry, r
}

// scrub is a transport error without the request's URL (its query names no secret, but the
// error reads better without it).
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), ue.Err)
	}
	return err
}
