package appliance

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"testing"
)

// strictDecode is what Call.Decode does with a body.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more than one JSON value")
	}
	return nil
}

func flatVerify(b []byte) (VerifyRequest, bool) {
	var r VerifyRequest
	ok := parseFlat(b, []flatField{{"signature", &r.Signature}, {"data", &r.Data}, {"trust_set", &r.TrustSet}})
	return r, ok
}

func TestParseFlat(t *testing.T) {
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"signature":"MIIB","data":"aGk=","trust_set":"hainan"}`, true},
		{` { "signature" : "MIIB" } `, true},
		{`{}`, true},
		{`{"signature":"MIIB",}`, false},
		{`{"signature":"MI\u0049B"}`, false},            // an escape: encoding/json decides
		{`{"Signature":"MIIB"}`, false},                 // another case: encoding/json decides
		{`{"signature":"MIIB","signature":"x"}`, false}, // twice
		{`{"signature":"MIIB","other":"x"}`, false},
		{`{"signature":null}`, false},
		{`{"signature":"MIIB"} {}`, false},
		{`{"signature":"MIIB"`, false},
		{"{\"signature\":\"\xff\"}", false},
		{"{\"signature\":\"a\tb\"}", false},
	} {
		r, ok := flatVerify([]byte(c.body))
		if ok != c.ok {
			t.Errorf("%s: parsed %v, want %v", c.body, ok, c.ok)
			continue
		}
		if ok {
			var want VerifyRequest
			if err := strictDecode([]byte(c.body), &want); err != nil || want != r {
				t.Errorf("%s: %+v, encoding/json %+v (%v)", c.body, r, want, err)
			}
		}
	}
}

// What the flat parser accepts, encoding/json accepts with the same values.
func FuzzParseFlat(f *testing.F) {
	for _, s := range []string{`{"signature":"MIIB","data":"aGk="}`, `{}`, ` {"trust_set":"a b"} `, `{"signature":"\u00e9"}`, `{"data":"中文"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := flatVerify(b)
		if !ok {
			return
		}
		var want VerifyRequest
		if err := strictDecode(b, &want); err != nil {
			t.Fatalf("parsed %+v, but encoding/json refuses: %v", r, err)
		}
		if want != r {
			t.Fatalf("parsed %+v, encoding/json %+v", r, want)
		}
	})
}

func TestParseVerifyBatch(t *testing.T) {
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"items":[{"signature":"MIIB","data":"aGk="},{"signature":"MIIC"}],"trust_set":"hainan"}`, true},
		{` { "trust_set" : "a" , "items" : [ ] } `, true},
		{`{"items":[]}`, true},
		{`{}`, true},
		{`{"items":[{"signature":"MIIB"},]}`, false},
		{`{"items":[{"signature":"MIIB","other":"x"}]}`, false},
		{`{"items":null}`, false},
		{`{"items":[{"signature":"MIIB"}],"items":[]}`, false},
		{`{"items":[{"signature":"M\/IB"}]}`, false},
		{`{"items":[{"signature":"MIIB"}]`, false},
		{`{"items":[{"signature":"MIIB"}]} x`, false},
	} {
		var r VerifyBatchRequest
		ok := parseVerifyBatch([]byte(c.body), &r)
		if ok != c.ok {
			t.Errorf("%s: parsed %v, want %v", c.body, ok, c.ok)
			continue
		}
		if ok {
			var want VerifyBatchRequest
			if err := strictDecode([]byte(c.body), &want); err != nil || !reflect.DeepEqual(want, r) {
				t.Errorf("%s: %+v, encoding/json %+v (%v)", c.body, r, want, err)
			}
		}
	}
}

// What the batch parser accepts, encoding/json accepts with the same values.
func FuzzParseVerifyBatch(f *testing.F) {
	for _, s := range []string{`{"items":[{"signature":"MIIB","data":"aGk="}],"trust_set":"x"}`, `{"items":[]}`, `{}`, `{"items":[{},{"data":"中"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r VerifyBatchRequest
		if !parseVerifyBatch(b, &r) {
			return
		}
		var want VerifyBatchRequest
		if err := strictDecode(b, &want); err != nil {
			t.Fatalf("parsed %+v, but encoding/json refuses: %v", r, err)
		}
		if !reflect.DeepEqual(want, r) {
			t.Fatalf("parsed %+v, encoding/json %+v", r, want)
		}
	})
}

// JSON whitespace is space, tab, CR and LF only: a Unicode space after the object (U+0085,
// which bytes.TrimSpace would drop) is encoding/json's to refuse.
func TestParseFlatUnicodeSpace(t *testing.T) {
	for _, b := range []string{"{}\u0085", "{\"signature\":\"MIIB\"}\u00a0", "{\"items\":[]}\u2028"} {
		if _, ok := flatVerify([]byte(b)); ok {
			t.Errorf("%q read by the flat parser", b)
		}
		var r VerifyBatchRequest
		if parseVerifyBatch([]byte(b), &r) {
			t.Errorf("%q read by the batch parser", b)
		}
	}
}
