package ofd

import (
	"errors"
	"testing"

	"github.com/eseal/eseal/errs"
)

func TestAddSignaturesRef(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		doc  int
		want string
	}{
		{"prefixed", `<ofd:OFD xmlns:ofd="u"><ofd:DocBody><ofd:DocRoot>a</ofd:DocRoot></ofd:DocBody></ofd:OFD>`, 0,
			`<ofd:OFD xmlns:ofd="u"><ofd:DocBody><ofd:DocRoot>a</ofd:DocRoot><ofd:Signatures>/S.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>`},
		{"default namespace, second body, BOM", "\xef\xbb\xbf<OFD xmlns=\"u\">\n <DocBody><DocRoot>a</DocRoot></DocBody>\n <DocBody><DocRoot>b</DocRoot>\n </DocBody>\n</OFD>", 1,
			"\xef\xbb\xbf<OFD xmlns=\"u\">\n <DocBody><DocRoot>a</DocRoot></DocBody>\n <DocBody><DocRoot>b</DocRoot>\n <Signatures>/S.xml</Signatures></DocBody>\n</OFD>"},
		{"nested DocBody ignored", `<o:OFD xmlns:o="u"><o:X><o:DocBody/></o:X><o:DocBody><o:DocRoot>a</o:DocRoot></o:DocBody></o:OFD>`, 0,
			`<o:OFD xmlns:o="u"><o:X><o:DocBody/></o:X><o:DocBody><o:DocRoot>a</o:DocRoot><o:Signatures>/S.xml</o:Signatures></o:DocBody></o:OFD>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := addSignaturesRef([]byte(tc.in), tc.doc, "/S.xml")
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v\nwant %q", got, err, tc.want)
			}
		})
	}
	if _, err := addSignaturesRef([]byte(`<OFD><DocBody/></OFD>`), 1, "/S.xml"); !errors.Is(err, ErrFormat) {
		t.Fatalf("a missing DocBody: %v", err)
	}
	if _, err := addSignaturesRef([]byte(`<OFD><DocBody>`), 0, "/S.xml"); !errors.Is(err, errs.Unsupported) && !errors.Is(err, ErrFormat) {
		t.Fatalf("truncated XML: %v", err)
	}
}

func TestAddSignatureEntry(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"MaxSignId counts on", `<ofd:Signatures xmlns:ofd="u"><ofd:MaxSignId>7</ofd:MaxSignId><ofd:Signature ID="3" BaseLoc="a"/></ofd:Signatures>`,
			`<ofd:Signatures xmlns:ofd="u"><ofd:MaxSignId>8</ofd:MaxSignId><ofd:Signature ID="3" BaseLoc="a"/><ofd:Signature ID="8" Type="Seal" BaseLoc="/x&amp;y"/></ofd:Signatures>`},
		{"an ID above MaxSignId", `<Signatures><MaxSignId> 2 </MaxSignId><Signature ID="11"/></Signatures>`,
			`<Signatures><MaxSignId>12</MaxSignId><Signature ID="11"/><Signature ID="12" Type="Seal" BaseLoc="/x&amp;y"/></Signatures>`},
		{"no MaxSignId, non-numeric IDs", `<s:Signatures xmlns:s="u"><s:Signature ID="s001"/></s:Signatures>`,
			`<s:Signatures xmlns:s="u"><s:Signature ID="s001"/><s:Signature ID="1" Type="Seal" BaseLoc="/x&amp;y"/></s:Signatures>`},
		{"empty list", `<?xml version="1.0"?><ofd:Signatures xmlns:ofd="u"/>`,
			`<?xml version="1.0"?><ofd:Signatures xmlns:ofd="u"><ofd:Signature ID="1" Type="Seal" BaseLoc="/x&amp;y"/></ofd:Signatures>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := addSignatureEntry([]byte(tc.in), "Signatures.xml", "/x&y")
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v\nwant %q", got, err, tc.want)
			}
		})
	}
	_, err := addSignatureEntry([]byte(`<Signatures><MaxSignId>99999999999</MaxSignId></Signatures>`), "Signatures.xml", "/x")
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("a huge MaxSignId: %v", err)
	}
}
