package appliance

import (
	"strings"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/valyala/fasthttp"
)

// FuzzOFDSignQuery reads arbitrary queries as POST /v1/ofd/sign does: a request, or an
// INVALID_INPUT refusal of bounded length that never repeats a value given as a PIN or an
// identity number.
func FuzzOFDSignQuery(f *testing.F) {
	for _, seed := range []string{
		"seal=46010000000001&page=1&x=150&y=200",
		"seal=46010000000001&keyword=%E7%9B%96%E7%AB%A0%E5%A4%84&page=2",
		"seal=46010000000001&riding=1-3&protect_signatures=true&force=1",
		"seal=x&approval=U00000001&scope=contracts&version=4",
		"seal=x&pin=SECRET-PIN&page=1", "seal=x&person_id=SECRET-ID", "seal=x&riding=3", "seal=x&x=NaN&y=1e400",
		"page=-1", "&&=&", "seal=x&page=99999999999999999999",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, q string) {
		ctx := &fasthttp.RequestCtx{}
		ctx.Request.SetRequestURI("/v1/ofd/sign?" + q)
		c := &Call{ctx: ctx}
		r, err := readOFDSignRequest(c)
		if err != nil {
			if errs.KindOf(err) != errs.InvalidInput {
				t.Fatalf("%q: %v has kind %s", q, err, errs.KindOf(err).Code())
			}
			if len(err.Error()) > 400 {
				t.Fatalf("%q: a refusal of %d bytes", q, len(err.Error()))
			}
			args := ctx.QueryArgs()
			for _, k := range []string{"pin", "person_id"} {
				if v := string(args.Peek(k)); len(v) > 3 && strings.Contains(err.Error(), v) {
					t.Fatalf("%q: the refusal repeats the %s", q, k)
				}
			}
			return
		}
		if r.auth.Seal == "" || r.placement.Page < 0 || r.placement.RidingFrom < 0 || r.placement.RidingTo < 0 || r.auth.PIN != "" {
			t.Fatalf("%q: read as %+v", q, r.placement)
		}
	})
}
