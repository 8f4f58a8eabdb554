package ofdrender

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/eseal/eseal/errs"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// node is an XML element read by local name: namespaces and prefixes are
// ignored, as OFD producers use several.
type node struct {
	name  string
	attrs []xml.Attr
	kids  []*node
	text  []byte
}

// attr returns the value of the attribute with the local name n, "" when absent.
func (e *node) attr(n string) string {
	for _, a := range e.attrs {
		if a.Name.Local == n && a.Name.Space != "xmlns" {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

// child returns the first child element with the local name n, nil when absent.
func (e *node) child(n string) *node {
	for _, k := range e.kids {
		if k.name == n {
			return k
		}
	}
	return nil
}

// all returns the child elements with the local name n.
func (e *node) all(n string) []*node {
	var out []*node
	for _, k := range e.kids {
		if k.name == n {
			out = append(out, k)
		}
	}
	return out
}

// childText returns the trimmed text of the first child named n.
func (e *node) childText(n string) string {
	if k := e.child(n); k != nil {
		return strings.TrimSpace(string(k.text))
	}
	return ""
}

// parseXML reads b into a tree, refusing nesting deeper than maxDepth and more
// than maxNodes elements, and a root element other than root.
func parseXML(b []byte, file, root string, maxDepth, maxNodes int) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))))
	d.Strict = true
	d.CharsetReader = charsetReader
	var stack []*node
	var top *node
	count := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, newErr(errs.Malformed, file, "the XML is malformed", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if top != nil && len(stack) == 0 {
				return nil, newErr(errs.Malformed, file, "the XML has more than one root element", nil)
			}
			count++
			if count > maxNodes {
				return nil, newErr(errs.LimitExceeded, file, fmt.Sprintf("the XML has more than %d elements (the limit)", maxNodes), nil)
			}
			if len(stack) >= maxDepth {
				return nil, newErr(errs.LimitExceeded, file, fmt.Sprintf("the XML nests elements deeper than the limit of %d", maxDepth), nil)
			}
			n := &node{name: t.Name.Local, attrs: t.Attr}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else {
				top = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.text = append(p.text, t...)
			}
		}
	}
	if top == nil {
		return nil, newErr(errs.Malformed, file, "the XML is empty", nil)
	}
	if top.name != root {
		return nil, newErr(errs.Malformed, file, fmt.Sprintf("the root element is <%s>, expected <%s>", top.name, root), nil)
	}
	return top, nil
}

// charsetReader reads the encodings OFD producers declare: UTF-8 and the
// Chinese GB family (read as GB18030, their superset).
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "latin1", "latin-1":
		return charmap.ISO8859_1.NewDecoder().Reader(in), nil
	case "gbk", "gb2312", "gb18030", "cp936", "x-gbk", "euc-cn":
		return simplifiedchinese.GB18030.NewDecoder().Reader(in), nil
	}
	return nil, errors.New("the XML declares the character encoding " + fmt.Sprintf("%q", label) + ", which is not supported")
}
