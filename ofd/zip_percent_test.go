package ofd

import (
	"errors"
	"testing"
)

// Names that differ only by percent-encoding: a reader that decodes the paths it is given,
// as URI-based ones do, takes one for the other.
func TestZIPPercentEncodedNames(t *testing.T) {
	for _, name := range []string{"Doc_0/Pages/Page%5F0/Content.xml", "Doc_0/Pages/Page_0%2FContent.xml", "Doc_0/Pages/Page_0/Content%2exml"} {
		t.Run(name, func(t *testing.T) {
			es := vectorEntries(t, "esl-demo/test.ofd")
			es = append(es, rawEntry{name: name, data: []byte("<!-- the attacker's page -->")})
			_, err := Open(craftZip(es), Limits{})
			if err == nil || !errors.Is(err, ErrFormat) {
				t.Fatalf("opened with %v", err)
			}
			mustContain(t, "error", err.Error(), name, "percent-encoding")
		})
	}
	// A percent sign alone is a name like any other.
	es := vectorEntries(t, "esl-demo/test.ofd")
	es = append(es, rawEntry{name: "Doc_0/Res/100%.png", data: []byte("a")}, rawEntry{name: "Doc_0/Res/a%20b.png", data: []byte("b")})
	if _, err := Open(craftZip(es), Limits{}); err != nil {
		t.Fatal(err)
	}
}
