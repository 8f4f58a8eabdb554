package errs

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite CODES.md from the table in errs.go")

const catalogueFile = "CODES.md"

// kindSpecs parses errs.go, with its comments, and returns the specs of its constants of
// type Kind.
func kindSpecs(t *testing.T) []*ast.ValueSpec {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "errs.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var specs []*ast.ValueSpec
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "Kind" {
				specs = append(specs, vs)
			}
		}
	}
	return specs
}

// kindDocs reads the doc comment of each Kind constant in errs.go, keyed by
// the constant's name, with the leading "Name: " removed and lines joined.
func kindDocs(t *testing.T) map[string]string {
	t.Helper()
	docs := map[string]string{}
	for _, vs := range kindSpecs(t) {
		name := vs.Names[0].Name
		text := strings.Join(strings.Fields(vs.Doc.Text()), " ")
		docs[name] = strings.TrimPrefix(text, name+": ")
	}
	return docs
}

// kindNames maps each Kind to the name of its constant, by evaluating the
// constant's value in errs.go.
func kindNames(t *testing.T) map[Kind]string {
	t.Helper()
	names := map[Kind]string{}
	for _, vs := range kindSpecs(t) {
		if len(vs.Values) != 1 {
			continue
		}
		lit, ok := vs.Values[0].(*ast.BasicLit)
		if !ok {
			t.Fatalf("kind %s: value is not a number literal; kinds take explicit numbers", vs.Names[0].Name)
		}
		var n uint16
		if _, err := fmt.Sscan(lit.Value, &n); err != nil {
			t.Fatalf("kind %s: %v", vs.Names[0].Name, err)
		}
		if prev, dup := names[Kind(n)]; dup {
			t.Fatalf("kinds %s and %s share number %d", prev, vs.Names[0].Name, n)
		}
		names[Kind(n)] = vs.Names[0].Name
	}
	return names
}

func catalogue(t *testing.T) []byte {
	docs, names := kindDocs(t), kindNames(t)
	var b bytes.Buffer
	b.WriteString(`# Error codes

<!-- Generated from errs/errs.go by ` + "`go test ./errs -update`" + `; do not edit by hand. -->

Every error eseal returns has at most one kind (` + "`errs.KindOf(err)`" + `). The code of a kind
is stable: it never changes meaning and is never reused. An error without a kind has the
code ` + "`INTERNAL`" + `. Packages name these kinds under their own names (for example
` + "`signer.ErrLocked`" + ` is ` + "`KEY_LOCKED`" + `, ` + "`ofd.ErrFormat`" + ` is ` + "`MALFORMED`" + `); their detail types add the operation,
key label, field or file concerned.

## Classes

The class says who has to act, and so which response a front end gives.

| Class | Who acts | Usual HTTP status |
|---|---|---|
| internal | eseal's operator: configuration, stored state or a bug | 500 |
| invalid | the caller: the request or the data it carries is wrong | 400 or 422 |
| not found | the caller: what the request names does not exist | 404 |
| conflict | the caller: the request clashes with the current state | 409 |
| denied | the caller: a credential is missing, wrong or locked | 403 |
| unavailable | nobody: a dependency is down, busy or closed; retry later | 503 |
| unsupported | nobody: this build or token cannot do it | 501 (422 for a feature of submitted data) |

## Codes

| No. | Code | Class | Message | Meaning |
|---:|---|---|---|---|
`)
	fmt.Fprintf(&b, "| 0 | `%s` | %s | %s | No kind: an error that carries none. |\n", Kind(0).Code(), Kind(0).Class(), Kind(0).Error())
	for _, k := range Kinds() {
		doc := docs[names[k]]
		if doc != "" {
			doc = strings.ToUpper(doc[:1]) + doc[1:]
		}
		fmt.Fprintf(&b, "| %d | `%s` | %s | %s | %s |\n", uint16(k), k.Code(), k.Class(), k.Error(), doc)
	}
	return b.Bytes()
}

// TestCatalogue checks that CODES.md is the table in errs.go, written out.
func TestCatalogue(t *testing.T) {
	want := catalogue(t)
	if *update {
		if err := os.WriteFile(catalogueFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(catalogueFile)
	if err != nil {
		t.Fatalf("%v; write it with: go test ./errs -update", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("errs/%s differs from the table in errs.go at line %d:\n file: %s\ntable: %s\nregenerate it with: go test ./errs -update", catalogueFile, i+1, g, w)
			}
		}
	}
}

var codeRE = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// TestTable checks every kind: a constant with a doc comment, a number of its
// own in a run without gaps, a unique well-formed code and a one-line message.
func TestTable(t *testing.T) {
	docs, names := kindDocs(t), kindNames(t)
	if len(names) != len(Kinds()) {
		t.Fatalf("%d Kind constants in errs.go, %d kinds in the table", len(names), len(Kinds()))
	}
	codes := map[string]Kind{}
	msgs := map[string]Kind{}
	for i, k := range append([]Kind{0}, Kinds()...) {
		if int(k) != i {
			t.Fatalf("Kinds()[%d] = %d: numbers must run 1, 2, 3, ...", i, k)
		}
		name := names[k]
		if k != 0 && (name == "" || docs[name] == "") {
			t.Errorf("kind %d (%s): no constant with a doc comment in errs.go", k, k.Code())
		}
		if !codeRE.MatchString(k.Code()) {
			t.Errorf("kind %s: code %q is not UPPER_SNAKE_CASE", name, k.Code())
		}
		if prev, dup := codes[k.Code()]; dup {
			t.Errorf("kinds %d and %d share the code %s", prev, k, k.Code())
		}
		codes[k.Code()] = k
		m := k.Error()
		if m == "" || strings.ContainsAny(m, "\n|") || strings.HasSuffix(m, ".") {
			t.Errorf("kind %s: message %q must be one line without '|' or a final full stop", name, m)
		}
		if prev, dup := msgs[m]; dup {
			t.Errorf("kinds %d and %d share the message %q", prev, k, m)
		}
		msgs[m] = k
		if strings.HasPrefix(k.Class().String(), "class ") {
			t.Errorf("kind %s: class %d has no name", name, k.Class())
		}
	}
	// A number past the table still has a code, so nothing maps to "".
	if k := Kind(len(Kinds()) + 1); k.Code() == "" || k.Error() == "" || k.Class() != ClassInternal {
		t.Errorf("unknown kind %d: code %q, message %q, class %v", k, k.Code(), k.Error(), k.Class())
	}
}
