package trust

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emmansun/gmsm/smx509"
)

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"default", true}, {"gd-province", true}, {"dept.finance_2", true}, {strings.Repeat("z", 64), true},
		{"", false}, {strings.Repeat("z", 65), false}, {"Gd", false}, {"a b", false}, {"a/b", false}, {"广东", false}, {"a\x00", false},
	} {
		if got := ValidName(tc.name); got != tc.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestMessagesStayReadable(t *testing.T) {
	// A long name of many-byte characters is cut on a character boundary.
	long := strings.Repeat("广", 100)
	c := clip(long, 160)
	if !utf8.ValidString(c) || len(c) > 163 || !strings.HasSuffix(c, "...") {
		t.Fatalf("clip gives %q (%d bytes)", c, len(c))
	}
	if clip("short", 160) != "short" {
		t.Fatal("clip changed a short string")
	}
	// Control characters in a subject do not reach the message.
	if got := nameOf("CN=a\nb\x1b[31m"); got != "CN=a?b?[31m" {
		t.Fatalf("nameOf = %q", got)
	}
	// An invalid set name of any length is quoted and cut.
	err := checkName("op", strings.Repeat("\n", 500))
	if err == nil || len(err.Error()) > 500 || strings.Contains(err.Error(), "\n") {
		t.Fatalf("checkName of 500 newlines: %q", err)
	}
	// A certificate without a subject is named by its serial.
	tmpl := smx509.Certificate{IsCA: true, BasicConstraintsValid: true, KeyUsage: smx509.KeyUsageCertSign}
	anon := issue(t, &tmpl, sm2Key(t), newRoot(t, "Anon Issuer"))
	e := newEnv(t)
	_, err = e.sets(t, Options{}).Put(ctx, "anon", TrustSetInput{Roots: ders(anon)})
	wantKind(t, err, ErrInvalidInput, "roots[0] (no subject, serial "+anon.cert.SerialNumber.String()+")")
}
