package revocation

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/eseal/eseal/errs"
)

// A distribution point that redirects to a URL carrying a password, one that cannot be
// reached and one of a scheme not allowed: the error names neither password.
func TestRedirectAttackPasswordHidden(t *testing.T) {
	ca := newCA(t, "Redirect CA")
	for _, to := range []string{
		"http://user:s3cret-pass@127.0.0.1:1/root.crl",
		"file://user:s3cret-pass@localhost/etc/passwd",
		"ftp://user:s3cret-pass@ca.example/root.crl",
	} {
		t.Run(to[:strings.Index(to, ":")], func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", to)
				w.WriteHeader(http.StatusFound)
			})
			f := newFetcher(t, nil, Config{Now: newClock(t0).nowFunc(), Logger: quiet})
			_, err := f.CRL(context.Background(), ca.cert, []string{srv.url()})
			wantKind(t, err, errs.Unavailable)
			if strings.Contains(err.Error(), "s3cret-pass") {
				t.Fatalf("the error shows the password: %q", err)
			}
		})
	}
}
