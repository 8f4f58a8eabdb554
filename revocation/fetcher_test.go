package revocation

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/store"
	"github.com/eseal/eseal/verifier"
)

var quiet = slog.New(slog.DiscardHandler)

// A Fetcher is what the verifier asks for its CRLs.
var _ verifier.CRLSource = (*Fetcher)(nil)

// A CRL is fetched once, answered from memory until its nextUpdate, and fetched again after.
func TestFetchKeepRefetch(t *testing.T) {
	ca := newCA(t, "eseal test root")
	first := ca.crl(t, 1, t0, t0.Add(time.Hour))
	srv := newServer(t, serve(first))
	clk := newClock(t0.Add(time.Minute))
	var news atomic.Int64
	f := newFetcher(t, nil, Config{Now: clk.nowFunc(), Logger: quiet, OnNew: func(issuer *smx509.Certificate) {
		if !issuer.Equal(ca.cert) {
			t.Errorf("OnNew called for %s", issuer.Subject)
		}
		news.Add(1)
	}})
	ctx := context.Background()
	for i := range 3 {
		l, err := f.CRL(ctx, ca.cert, []string{srv.url()})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !bytes.Equal(l.Raw, first) {
			t.Fatalf("call %d: not the CRL served", i)
		}
		clk.add(10 * time.Minute)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("%d requests for three calls before nextUpdate, want 1", n)
	}
	if h := f.Held(ca.cert); h == nil || !bytes.Equal(h.Raw, first) {
		t.Fatal("Held does not give the CRL fetched")
	}

	second := ca.crl(t, 2, t0.Add(50*time.Minute), t0.Add(2*time.Hour))
	srv.set(serve(second))
	clk.set(t0.Add(time.Hour + time.Second))
	l, err := f.CRL(ctx, ca.cert, []string{srv.url()})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(l.Raw, second) || srv.requests.Load() != 2 {
		t.Fatalf("after nextUpdate: CRL number %v after %d requests, want number 2 after 2", l.Number, srv.requests.Load())
	}
	if n := news.Load(); n != 2 {
		t.Fatalf("OnNew called %d times for two CRLs, want 2", n)
	}
}

// A CRL fetched is kept in the store: a Fetcher opened again on it makes no request.
func TestPersisted(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "eseal test root")
	der := ca.crl(t, 7, t0, t0.Add(24*time.Hour))
	srv := newServer(t, serve(der))
	clk := newClock(t0.Add(time.Hour))
	db := openStore(t, dir)
	f, err := New(db, Config{Now: clk.nowFunc(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.CRL(context.Background(), ca.cert, []string{srv.url()}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openStore(t, dir)
	defer db.Close()
	f = newFetcher(t, db, Config{Now: clk.nowFunc(), Logger: quiet})
	if h := f.Held(ca.cert); h == nil || !bytes.Equal(h.Raw, der) {
		t.Fatal("the CRL kept is not held after reopening")
	}
	l, err := f.CRL(context.Background(), ca.cert, []string{srv.url()})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(l.Raw, der) {
		t.Fatal("reopened: not the CRL kept")
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("%d requests in all, want the 1 before reopening", n)
	}
}

// A record in the store that does not read or verify is skipped; the rest load.
func TestBadRecordsSkipped(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	defer db.Close()
	ca, other := newCA(t, "eseal test root"), newCA(t, "other root")
	good := ca.crl(t, 1, t0, t0.Add(time.Hour))
	f := newFetcher(t, db, Config{Now: newClock(t0).nowFunc(), Logger: quiet})
	if err := f.Put(ctx, ca.cert, good); err != nil {
		t.Fatal(err)
	}
	space := store.MustSpace(db, SpaceName)
	ok := issuerKey(other.cert)
	// other's key, but a CRL of ca: does not verify.
	if err := space.Set(ctx, ok[:], encodeRecord(other.cert.Raw, good)); err != nil {
		t.Fatal(err)
	}
	if err := space.Set(ctx, []byte("short key"), []byte{1, 0}); err != nil {
		t.Fatal(err)
	}
	g := newFetcher(t, db, Config{Now: newClock(t0).nowFunc(), Logger: quiet})
	if g.Held(ca.cert) == nil {
		t.Fatal("the good record is not held")
	}
	if g.Held(other.cert) != nil {
		t.Fatal("a record that does not verify is held")
	}
}

func TestRecordCoding(t *testing.T) {
	for _, tc := range []struct{ issuer, crl string }{{"", ""}, {"i", ""}, {"issuer", "crl bytes"}, {strings.Repeat("x", 300), "y"}} {
		i, c, err := decodeRecord(encodeRecord([]byte(tc.issuer), []byte(tc.crl)))
		if err != nil || string(i) != tc.issuer || string(c) != tc.crl {
			t.Errorf("%q, %q: got %q, %q, %v", tc.issuer, tc.crl, i, c, err)
		}
	}
	for _, bad := range [][]byte{nil, {2, 0}, {1}, {1, 5, 'a'}, {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, _, err := decodeRecord(bad); err == nil {
			t.Errorf("%x: decoded", bad)
		}
	}
}

// Every way a fetch can fail gives its kind and keeps nothing; when an older CRL is held,
// that one is returned instead.
func TestFetchFailures(t *testing.T) {
	ca := newCA(t, "eseal test root")
	impostor := newCA(t, "eseal test root") // same name, another key
	stranger := newCA(t, "another root")
	const limit = 4096
	fresh := func(c *testCA) []byte { return c.crl(t, 10, t0, t0.Add(time.Hour)) }
	down := newServer(t, serve(nil))
	down.Close()
	garbage := bytes.Repeat([]byte("not a CRL "), 20)
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }

	for _, tc := range []struct {
		name     string
		handler  http.HandlerFunc // nil: the closed server
		url      string           // instead of the server's
		kind     errs.Kind
		contains string
		slow     bool // the fetch is to time out: a short Timeout
	}{
		{name: "server down", kind: errs.Unavailable, contains: "cannot fetch"},
		{name: "slow past the timeout", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, kind: errs.Unavailable, contains: "no complete answer within", slow: true},
		{name: "body slow past the timeout", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte{0x30})
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, kind: errs.Unavailable, contains: "no complete answer within", slow: true},
		{name: "HTTP 500", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "broken", http.StatusInternalServerError)
		}, kind: errs.Unavailable, contains: "HTTP 500"},
		{name: "HTTP 404", handler: http.NotFound, kind: errs.Unavailable, contains: "HTTP 404"},
		{name: "bad signature", handler: serve(fresh(impostor)), kind: errs.Untrusted, contains: "signature"},
		{name: "wrong issuer", handler: serve(fresh(stranger)), kind: errs.Untrusted, contains: "another root"},
		{name: "announced larger than the limit", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(limit+1))
			_, _ = w.Write(bytes.Repeat([]byte{0x30}, limit+1))
		}, kind: errs.LimitExceeded, contains: "announced"},
		{name: "endless body", handler: func(w http.ResponseWriter, r *http.Request) {
			chunk := bytes.Repeat([]byte{0x30}, 1024)
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}, kind: errs.LimitExceeded, contains: "longer than the limit"},
		{name: "garbage", handler: serve(garbage), kind: errs.Malformed, contains: "not a DER or PEM CRL"},
		{name: "PEM of another type", handler: serve(pemOf("CERTIFICATE", ca.cert.Raw)), kind: errs.Malformed, contains: `"CERTIFICATE"`},
		{name: "data after the CRL", handler: serve(append(fresh(ca), 0)), kind: errs.Malformed, contains: "after the CRL"},
		{name: "empty", handler: serve(nil), kind: errs.Malformed, contains: "empty"},
		{name: "delta CRL", handler: serve(ca.crl(t, 11, t0, t0.Add(time.Hour), deltaExt(t))), kind: errs.Unsupported, contains: "delta"},
		{name: "ldap", url: "ldap://ldap.example/cn=root?certificateRevocationList", kind: errs.Unavailable, contains: "LDAP"},
		{name: "file", url: "file:///etc/passwd", kind: errs.Unavailable, contains: `"file" is not allowed`},
		{name: "https not allowed", url: "https://ca.example/root.crl", kind: errs.Unavailable, contains: `"https" is not allowed`},
		{name: "redirect to https", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://ca.example/root.crl", http.StatusFound)
		}, kind: errs.Unavailable, contains: "not allowed"},
		{name: "endless redirects", handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/again", http.StatusFound)
		}, kind: errs.Unavailable, contains: "redirects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := down.url()
			var srv *server
			if tc.handler != nil {
				srv = newServer(t, tc.handler)
				url = srv.url()
			}
			if tc.url != "" {
				url = tc.url
			}
			for _, withHeld := range []bool{false, true} {
				db := openStore(t, t.TempDir())
				defer db.Close()
				clk := newClock(t0.Add(time.Minute))
				var news atomic.Int64
				timeout := 10 * time.Second
				if tc.slow {
					timeout = 300 * time.Millisecond
				}
				f := newFetcher(t, db, Config{Now: clk.nowFunc(), Logger: quiet, Timeout: timeout, MaxBytes: limit,
					OnNew: func(*smx509.Certificate) { news.Add(1) }})
				var old []byte
				if withHeld {
					old = ca.crl(t, 1, t0.Add(-48*time.Hour), t0.Add(-24*time.Hour))
					if err := f.Put(context.Background(), ca.cert, old); err != nil {
						t.Fatal(err)
					}
				}
				start := time.Now()
				l, err := f.CRL(context.Background(), ca.cert, []string{url})
				if d := time.Since(start); d > 5*time.Second {
					t.Fatalf("took %s", d)
				}
				if withHeld {
					if err != nil || l == nil || !bytes.Equal(l.Raw, old) {
						t.Fatalf("with an older CRL held: %v, %v; want the held CRL", l, err)
					}
					if h := f.Held(ca.cert); !bytes.Equal(h.Raw, old) {
						t.Fatal("the held CRL was replaced")
					}
					if news.Load() != 1 {
						t.Fatalf("OnNew called %d times, want 1 (the Put)", news.Load())
					}
					continue
				}
				wantKind(t, err, tc.kind)
				if l != nil {
					t.Fatal("a CRL returned with the error")
				}
				if !strings.Contains(err.Error(), tc.contains) || !strings.Contains(err.Error(), "eseal test root") {
					t.Fatalf("error %q does not name the issuer and say %q", err, tc.contains)
				}
				if tc.url != "" && !strings.Contains(err.Error(), tc.url) || tc.url == "" && !strings.Contains(err.Error(), url) {
					t.Fatalf("error %q does not name the URL", err)
				}
				if f.Held(ca.cert) != nil || news.Load() != 0 {
					t.Fatal("something was kept")
				}
				kept := 0
				if err := db.Scan(context.Background(), nil, func(k, v []byte) error { kept++; return nil }); err != nil {
					t.Fatal(err)
				}
				if kept != 0 {
					t.Fatalf("%d records in the store", kept)
				}
			}
			if tc.url != "" && srv != nil && srv.requests.Load() != 0 {
				t.Fatal("a request was made to a URL that is not allowed")
			}
		})
	}
}

// Distribution points are tried in order until one gives a fresh CRL; the error of a fetch
// where all fail names each and takes the gravest kind.
func TestSeveralPoints(t *testing.T) {
	ca, impostor := newCA(t, "eseal test root"), newCA(t, "eseal test root")
	der := ca.crl(t, 3, t0, t0.Add(time.Hour))
	down := newServer(t, serve(nil))
	down.Close()
	good := newServer(t, serve(pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})))
	bad := newServer(t, serve(impostor.crl(t, 3, t0, t0.Add(time.Hour))))
	f := newFetcher(t, nil, Config{Now: newClock(t0).nowFunc(), Logger: quiet})
	l, err := f.CRL(context.Background(), ca.cert, []string{"ldap://x/", down.url(), good.url(), bad.url()})
	if err != nil || !bytes.Equal(l.Raw, der) {
		t.Fatalf("%v, %v; want the PEM CRL of the third point", l, err)
	}
	if bad.requests.Load() != 0 {
		t.Fatal("a point after the one that gave a fresh CRL was asked")
	}

	g := newFetcher(t, nil, Config{Now: newClock(t0).nowFunc(), Logger: quiet})
	_, err = g.CRL(context.Background(), ca.cert, []string{down.url(), bad.url(), "ldap://x/"})
	wantKind(t, err, errs.Untrusted)
	for _, s := range []string{down.url(), bad.url(), "ldap://x/"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %s", err, s)
		}
	}
	_, err = g.CRL(context.Background(), ca.cert, nil)
	wantKind(t, err, errs.Unavailable)
}

// During the backoff after a failed fetch, concurrent and repeated questions make no
// further request; after it, the next question asks again.
func TestFailureBackoff(t *testing.T) {
	ca := newCA(t, "eseal test root")
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	clk := newClock(t0)
	f := newFetcher(t, nil, Config{Now: clk.nowFunc(), Logger: quiet, FailureBackoff: time.Minute})
	const n = 64
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := f.CRL(context.Background(), ca.cert, []string{srv.url()})
			errc <- err
		})
	}
	time.Sleep(100 * time.Millisecond) // let them gather on the one fetch
	close(release)
	wg.Wait()
	close(errc)
	for err := range errc {
		wantKind(t, err, errs.Unavailable)
	}
	for range 100 {
		clk.add(500 * time.Millisecond)
		_, err := f.CRL(context.Background(), ca.cert, []string{srv.url()})
		wantKind(t, err, errs.Unavailable)
		if !strings.Contains(err.Error(), "HTTP 503") {
			t.Fatalf("remembered error %q does not say what happened", err)
		}
	}
	if got := srv.requests.Load(); got != 1 {
		t.Fatalf("%d requests during the backoff, want 1", got)
	}
	// Other distribution points for the same issuer are not held back.
	other := newServer(t, serve(ca.crl(t, 1, t0, t0.Add(time.Hour))))
	if _, err := f.CRL(context.Background(), ca.cert, []string{other.url()}); err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Hour) // past the backoff and the nextUpdate
	l, err := f.CRL(context.Background(), ca.cert, []string{srv.url()})
	if err != nil || l == nil {
		t.Fatalf("after the backoff, with a stale CRL held: %v, %v", l, err)
	}
	if got := srv.requests.Load(); got != 2 {
		t.Fatalf("%d requests after the backoff, want 2", got)
	}
}

// A server that keeps serving a stale CRL is not asked again at every question either.
func TestStaleServedBackoff(t *testing.T) {
	ca := newCA(t, "eseal test root")
	srv := newServer(t, serve(ca.crl(t, 1, t0, t0.Add(time.Hour))))
	clk := newClock(t0.Add(2 * time.Hour))
	f := newFetcher(t, nil, Config{Now: clk.nowFunc(), Logger: quiet})
	for range 10 {
		l, err := f.CRL(context.Background(), ca.cert, []string{srv.url()})
		if err != nil || l.Number.Int64() != 1 {
			t.Fatalf("%v, %v; want the stale CRL", l, err)
		}
	}
	if got := srv.requests.Load(); got != 1 {
		t.Fatalf("%d requests, want 1", got)
	}
}

// An older CRL than the one held is never taken, fetched or put; OnNew is called once for
// each newer CRL only.
func TestNoRollback(t *testing.T) {
	ctx := context.Background()
	ca := newCA(t, "eseal test root")
	held := ca.crl(t, 5, t0, t0.Add(time.Hour))
	older := ca.crl(t, 4, t0.Add(-time.Hour), t0.Add(3*time.Hour))
	sameTimeLower := ca.crl(t, 4, t0, t0.Add(3*time.Hour))
	srv := newServer(t, serve(older))
	clk := newClock(t0.Add(2 * time.Hour)) // held is stale, older would still be fresh
	var news atomic.Int64
	f := newFetcher(t, nil, Config{Now: clk.nowFunc(), Logger: quiet, OnNew: func(*smx509.Certificate) { news.Add(1) }})
	if err := f.Put(ctx, ca.cert, held); err != nil {
		t.Fatal(err)
	}
	if err := f.Put(ctx, ca.cert, held); err != nil {
		t.Fatalf("putting the held CRL again: %v", err)
	}
	l, err := f.CRL(ctx, ca.cert, []string{srv.url()})
	if err != nil || !bytes.Equal(l.Raw, held) || srv.requests.Load() != 1 {
		t.Fatalf("%v, %v after %d requests; want the held CRL after 1", l, err, srv.requests.Load())
	}
	wantKind(t, f.Put(ctx, ca.cert, older), errs.Conflict)
	wantKind(t, f.Put(ctx, ca.cert, sameTimeLower), errs.Conflict)
	if !bytes.Equal(f.Held(ca.cert).Raw, held) {
		t.Fatal("rolled back")
	}
	if n := news.Load(); n != 1 {
		t.Fatalf("OnNew called %d times, want 1", n)
	}
	newer := ca.crl(t, 6, t0, t0.Add(3*time.Hour))
	if err := f.Put(ctx, ca.cert, newer); err != nil {
		t.Fatal(err)
	}
	if n := news.Load(); n != 2 {
		t.Fatalf("OnNew called %d times after a newer CRL, want 2", n)
	}
	if l, err := f.CRL(ctx, ca.cert, []string{srv.url()}); err != nil || !bytes.Equal(l.Raw, newer) {
		t.Fatalf("%v, %v; want the newer CRL put", l, err)
	}
}

// Put applies the checks of a fetch.
func TestPutChecks(t *testing.T) {
	ctx := context.Background()
	ca, impostor := newCA(t, "eseal test root"), newCA(t, "eseal test root")
	f := newFetcher(t, nil, Config{Now: newClock(t0).nowFunc(), Logger: quiet, MaxBytes: 2048})
	wantKind(t, f.Put(ctx, ca.cert, []byte("garbage")), errs.Malformed)
	wantKind(t, f.Put(ctx, ca.cert, impostor.crl(t, 1, t0, t0.Add(time.Hour))), errs.Untrusted)
	wantKind(t, f.Put(ctx, ca.cert, ca.crl(t, 1, t0, t0.Add(time.Hour), deltaExt(t))), errs.Unsupported)
	wantKind(t, f.Put(ctx, ca.cert, make([]byte, 2049)), errs.LimitExceeded)
	wantKind(t, f.Put(ctx, nil, nil), errs.InvalidInput)
	if f.Held(ca.cert) != nil {
		t.Fatal("something was kept")
	}
	p := pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: ca.crl(t, 1, t0, t0.Add(time.Hour))})
	if err := f.Put(ctx, ca.cert, p); err != nil {
		t.Fatal(err)
	}
	if f.Held(ca.cert) == nil {
		t.Fatal("the PEM CRL put is not held")
	}
}

// A caller whose context ends stops waiting; the fetch goes on for the others. Close stops
// a fetch under way and everything after.
func TestCancelAndClose(t *testing.T) {
	before := runtime.NumGoroutine()
	ca := newCA(t, "eseal test root")
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	f, err := New(nil, Config{Now: newClock(t0).nowFunc(), Logger: quiet, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = f.CRL(ctx, ca.cert, []string{srv.url()})
	wantKind(t, err, errs.Unavailable)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v does not carry the context's error", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := f.CRL(context.Background(), ca.cert, []string{srv.url()})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %s", d)
	}
	select {
	case err := <-done:
		wantKind(t, err, errs.Closed)
	case <-time.After(2 * time.Second):
		t.Fatal("a caller still waits after Close")
	}
	_, err = f.CRL(context.Background(), ca.cert, []string{srv.url()})
	wantKind(t, err, errs.Closed)
	wantKind(t, f.Put(context.Background(), ca.cert, ca.crl(t, 1, t0, t0.Add(time.Hour))), errs.Closed)
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	srv.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Close, %d before", n, before)
	}
}

// Many goroutines asking for several issuers at once, while CRLs are put and run out.
func TestConcurrentUse(t *testing.T) {
	cas := []*testCA{newCA(t, "root a"), newCA(t, "root b"), newCA(t, "root c")}
	srvs := make([]*server, len(cas))
	for i, ca := range cas {
		srvs[i] = newServer(t, serve(ca.crl(t, 1, t0, t0.Add(time.Hour))))
	}
	clk := newClock(t0)
	f := newFetcher(t, openStore(t, t.TempDir()), Config{Now: clk.nowFunc(), Logger: quiet})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				k := (g + i) % len(cas)
				if _, err := f.CRL(context.Background(), cas[k].cert, []string{srvs[k].url()}); err != nil {
					t.Error(err)
					return
				}
				_ = f.Held(cas[k].cert)
			}
		})
	}
	wg.Go(func() {
		for i := range 5 {
			_ = f.Put(context.Background(), cas[0].cert, cas[0].crl(t, int64(2+i), t0.Add(time.Duration(i)*time.Minute), t0.Add(time.Hour)))
		}
	})
	wg.Wait()
	// Issuer 0 is asked for at most once: a CRL put may come first.
	for i, s := range srvs {
		if n := s.requests.Load(); n > 1 || n == 0 && i > 0 {
			t.Errorf("issuer %d: %d requests, want 1", i, n)
		}
	}
	if l := f.Held(cas[0].cert); l == nil || l.Number.Int64() != 6 {
		t.Errorf("issuer 0: the newest CRL put is not held")
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Timeout: -time.Second}, {MaxBytes: -1}, {AllowedSchemes: []string{"file"}},
		{AllowedSchemes: []string{"http", "ldap"}}, {AllowedSchemes: []string{}},
	} {
		_, err := New(nil, cfg)
		wantKind(t, err, errs.Config)
	}
	// https allowed: a TLS server whose certificate the client given trusts.
	ca := newCA(t, "eseal test root")
	der := ca.crl(t, 1, t0, t0.Add(time.Hour))
	srv := newServer(t, serve(der))
	tls := httptest.NewTLSServer(serve(der))
	defer tls.Close()
	f := newFetcher(t, nil, Config{Now: newClock(t0).nowFunc(), Logger: quiet, Client: tls.Client(), AllowedSchemes: []string{"HTTPS"}})
	l, err := f.CRL(context.Background(), ca.cert, []string{tls.URL + "/root.crl"})
	if err != nil || !bytes.Equal(l.Raw, der) {
		t.Fatalf("over https: %v, %v", l, err)
	}
	_, err = f.CRL(context.Background(), newCA(t, "x").cert, []string{srv.url()})
	wantKind(t, err, errs.Unavailable)
}

// URLs are named without their password.
func TestURLPasswordHidden(t *testing.T) {
	ca := newCA(t, "eseal test root")
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) })
	u := strings.Replace(srv.url(), "http://", "http://user:s3cret-pass@", 1)
	f := newFetcher(t, nil, Config{Now: newClock(t0).nowFunc(), Logger: quiet})
	_, err := f.CRL(context.Background(), ca.cert, []string{u})
	wantKind(t, err, errs.Unavailable)
	if strings.Contains(err.Error(), "s3cret-pass") || !strings.Contains(err.Error(), "HTTP 403") {
		t.Fatalf("error %q", err)
	}
}

// At most maxURLs distribution points are tried; a URL that does not parse is not named.
func TestManyPoints(t *testing.T) {
	ca := newCA(t, "eseal test root")
	srv := newServer(t, serve(ca.crl(t, 1, t0, t0.Add(time.Hour))))
	urls := []string{"http://user:pa ss@%zz/"}
	for len(urls) < maxURLs {
		urls = append(urls, "ldap://ldap.example/")
	}
	f := newFetcher(t, nil, Config{Now: newClock(t0).nowFunc(), Logger: quiet})
	_, err := f.CRL(context.Background(), ca.cert, append(urls, srv.url(), srv.url()))
	wantKind(t, err, errs.Unavailable)
	if !strings.Contains(err.Error(), "2 further distribution points not tried") || strings.Contains(err.Error(), "pa ss") {
		t.Fatalf("error %q", err)
	}
	if srv.requests.Load() != 0 {
		t.Fatal("a point past the limit was asked")
	}
}

// A negative FailureBackoff remembers no failure.
func TestNoBackoff(t *testing.T) {
	ca := newCA(t, "eseal test root")
	srv := newServer(t, http.NotFound)
	f := newFetcher(t, nil, Config{Now: newClock(t0).nowFunc(), Logger: quiet, FailureBackoff: -1})
	for range 3 {
		_, err := f.CRL(context.Background(), ca.cert, []string{srv.url()})
		wantKind(t, err, errs.Unavailable)
	}
	if n := srv.requests.Load(); n != 3 {
		t.Fatalf("%d requests for 3 calls without backoff", n)
	}
}
