package appliance

import (
	"bytes"
	"unicode/utf8"
)

// flatField is one member of a flat JSON object whose values are all strings.
type flatField struct {
	name string
	dst  *string
}

// decodeFlat decodes the request body into fields when it is a flat JSON object of plain
// string members (no escapes, no other types), the shape of nearly every verification
// request, in one pass without reflection: the body of /v1/verify is mostly a base64
// signature of some kilobytes, which encoding/json scans two or three times. Anything else
// (an escape, a number, a nested value, an unknown or differently cased name, invalid UTF-8,
// a syntax error) goes to c.Decode(v) instead, so what is accepted, and every error, is
// exactly encoding/json's; v must be the struct whose members fields point into.
func decodeFlat(c *Call, v any, fields ...flatField) error {
	if parseFlat(c.ctx.PostBody(), fields) {
		return nil
	}
	for _, f := range fields {
		*f.dst = ""
	}
	return c.Decode(v)
}

// parseFlat fills fields from b and reports whether b was a flat object of plain strings
// with only those names, each at most once; false leaves the fields in any state.
func parseFlat(b []byte, fields []flatField) bool {
	end, ok := parseFlatAt(b, skipSpace(b, 0), fields)
	return ok && skipSpace(b, end) == len(b)
}

// parseFlatAt reads a flat object of plain strings at b[i] into fields and returns the
// index after it.
func parseFlatAt(b []byte, i int, fields []flatField) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	var seen uint64
	for {
		name, j, ok := plainString(b, i)
		if !ok {
			return 0, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		val, j, ok := plainString(b, skipSpace(b, i+1))
		if !ok {
			return 0, false
		}
		k := -1
		for n, f := range fields {
			if f.name == string(name) {
				k = n
				break
			}
		}
		if k < 0 || k >= 64 || seen&(1<<k) != 0 {
			return 0, false
		}
		seen |= 1 << k
		*fields[k].dst = string(val)
		i = skipSpace(b, j)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// parseVerifyBatch reads the body of /v1/verify/batch when it is {"items": [flat objects of
// plain strings], "trust_set": "..."} (either member optional, each once), the shape
// clients send; false means encoding/json is to decide.
func parseVerifyBatch(b []byte, req *VerifyBatchRequest) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	var items, set bool
	for {
		name, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		switch string(name) {
		case "trust_set":
			val, j, ok := plainString(b, i)
			if !ok || set {
				return false
			}
			set, req.TrustSet, i = true, string(val), j
		case "items":
			if items || i >= len(b) || b[i] != '[' {
				return false
			}
			items = true
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == ']' {
				req.Items = []VerifyBatchItem{}
				i++
				break
			}
			// A signature takes some hundreds of bytes at least: size the list once.
			req.Items = make([]VerifyBatchItem, 0, min(bytes.Count(b[i:], []byte(`"signature"`)), 1<<16))
			for {
				var it VerifyBatchItem
				j, ok := parseFlatAt(b, i, []flatField{{"signature", &it.Signature}, {"data", &it.Data}})
				if !ok {
					return false
				}
				req.Items = append(req.Items, it)
				i = skipSpace(b, j)
				if i >= len(b) {
					return false
				}
				if b[i] == ']' {
					i++
					break
				}
				if b[i] != ',' {
					return false
				}
				i = skipSpace(b, i+1)
			}
		default:
			return false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

// plainString reads a JSON string at b[i] that holds no escape, no control character and
// only valid UTF-8, returning its content and the index after its closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	end := bytes.IndexByte(b[i+1:], '"')
	if end < 0 {
		return nil, 0, false
	}
	s := b[i+1 : i+1+end]
	ascii := true
	for _, ch := range s {
		if ch < 0x20 || ch == '\\' {
			return nil, 0, false
		}
		ascii = ascii && ch < utf8.RuneSelf
	}
	if !ascii && !utf8.Valid(s) {
		return nil, 0, false
	}
	return s, i + 2 + end, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
