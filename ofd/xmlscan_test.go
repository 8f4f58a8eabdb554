package ofd

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
)

// scanTokens returns the scanner's tokens of b, written as compareTokens writes
// encoding/xml's, or errFallback.
func scanTokens(b []byte) ([]string, error) {
	s, err := newScanner(b)
	if err != nil {
		return nil, err
	}
	var out []string
	var spaces []string
	for {
		k, err := s.next()
		if err != nil {
			return nil, err
		}
		switch k {
		case scanStart:
			sp := s.space(s.prefix, s.local, true)
			spaces = append(spaces, sp)
			t := fmt.Sprintf("start {%s}%s", sp, s.local)
			for i := range s.attrs {
				a := &s.attrs[i]
				t += fmt.Sprintf(" {%s}%s=%q", s.space(a.prefix, a.local, false), a.local, s.value(a))
			}
			out = append(out, t)
		case scanEnd:
			out = append(out, fmt.Sprintf("end {%s}%s", spaces[len(spaces)-1], s.local))
			spaces = spaces[:len(spaces)-1]
		case scanText:
			out = append(out, fmt.Sprintf("text %q", s.textString()))
		case scanEOF:
			return out, nil
		}
	}
}

// decoderTokens returns encoding/xml's tokens of b (newDecoder, Token), leaving out
// comments, processing instructions and character data outside the root element, or
// its error.
func decoderTokens(b []byte) ([]string, error) {
	d := newDecoder(b)
	var out []string
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			s := fmt.Sprintf("start {%s}%s", t.Name.Space, t.Name.Local)
			for _, a := range t.Attr {
				s += fmt.Sprintf(" {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value)
			}
			out = append(out, s)
		case xml.EndElement:
			depth--
			out = append(out, fmt.Sprintf("end {%s}%s", t.Name.Space, t.Name.Local))
		case xml.CharData:
			if depth > 0 {
				out = append(out, fmt.Sprintf("text %q", string(t)))
			}
		}
	}
}

// checkScanner fails when the scanner takes b and reads it otherwise than encoding/xml.
// It reports whether the scanner took b.
func checkScanner(t *testing.T, b []byte) bool {
	t.Helper()
	got, err := scanTokens(b)
	if err != nil {
		return false
	}
	want, err := decoderTokens(b)
	if err != nil {
		t.Errorf("the scanner takes %q, encoding/xml refuses it: %v", b, err)
		return true
	}
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("%q:\nscanner:\n%s\nencoding/xml:\n%s", b, g, w)
	}
	return true
}

var scannerSeeds = []string{
	`<a/>`,
	"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\" standalone='no'?>\r\n<!-- c --><ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\" Version=\"1.0\"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>\n",
	`<a xmlns="u" xmlns:p="v" p:x="1" y='2' xml:lang="zh"><p:b xmlns:p="w" p:z="&lt;&amp;&#65;&#x4e2d;"/><xmlns/><c>t&gt;<!-- x -->u&quot;&apos;</c></a>`,
	"<a x=\"a\r\nb\tc\">x\r\ny\rz</a>",
	`<a><b></a></b>`, `<a><p:b></q:b></a>`, `<a x=1/>`, `<a x="<"/>`, `<a>&unknown;</a>`, `<a>&#0;</a>`, `<a>&#xD800;</a>`,
	`<a>]]></a>`, `<a><![CDATA[x]]></a>`, `<!DOCTYPE a><a/>`, `<?xml version="1.1"?><a/>`, `<?xml version="1.0" encoding="GBK"?><a/>`,
	`<a/><b/>`, `<a/>text`, `text<a/>`, `<a>`, ``, `<a:b:c/>`, `<1a/>`, `<a x="1"y="2"/>`, `<a x="1" x="2"/>`, "<a>\x01</a>", "<a>\xff</a>",
	`<a><!-- a--b --></a>`, `<a><!----></a>`, `<a><!-- x ---></a>`, `<?pi x?><a/>`, `<a>&#x10FFFF;&#1114112;</a>`, `<中/>`, `<a 中="1"/>`,
	`<a xmlns:xmlns="u" xmlns:xml="v" xml:x="1" xmlns:y="2"/>`, `<a xmlns:p="u"><p:b/></a>`, `<p:a><p:b/></p:a>`,
}

func TestScannerMatchesDecoder(t *testing.T) {
	taken := 0
	for _, s := range scannerSeeds {
		if checkScanner(t, []byte(s)) {
			taken++
		}
	}
	if taken < 6 {
		t.Errorf("the scanner takes only %d of the seeds", taken)
	}
	for _, s := range []string{`<a/>`, `<a x="1"y="2"/>`, `<a xmlns:p="u"><p:b/></a>`} {
		if _, err := scanTokens([]byte(s)); err != nil {
			t.Errorf("the scanner does not take %q", s)
		}
	}
	for _, s := range []string{`<a><![CDATA[x]]></a>`, `<!DOCTYPE a><a/>`, `<a>&unknown;</a>`, `<a><b></a></b>`, `<a/>text`, `<?xml version="1.0" encoding="GBK"?><a/>`} {
		if _, err := scanTokens([]byte(s)); err != errFallback {
			t.Errorf("the scanner takes %q", s)
		}
	}
	n := 0
	forVectorFiles(t, func(name string, b []byte) {
		if looksLikeXML(b) && checkScanner(t, b) {
			n++
		}
	})
	if n == 0 {
		t.Error("the scanner takes no XML file of the vectors")
	}
}

// FuzzScannerMatchesDecoder: whatever the scanner takes, encoding/xml takes and reads
// the same way.
func FuzzScannerMatchesDecoder(f *testing.F) {
	for _, s := range scannerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.Count(b, []byte("<")) > 1000 {
			return
		}
		checkScanner(t, b)
	})
}
