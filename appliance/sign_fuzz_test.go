package appliance

import (
	"encoding/json"
	"testing"

	"github.com/eseal/eseal/errs"
	"github.com/eseal/eseal/registry"
)

// regFuzzBodies serves body on each route of routes for the actor: every answer is JSON or
// a refusal with a kind, never a panic or an unclassified failure.
func regFuzzBodies(t *testing.T, e *regEnv, a registry.Actor, body []byte, routes [][2]string, params ...string) {
	for _, r := range routes {
		ans := e.do(t, a, r[0], r[1], "", body, params...)
		if ans.err != nil {
			if errs.KindOf(ans.err) == 0 {
				t.Fatalf("%s %s: an unclassified failure for %q: %v", r[0], r[1], body, ans.err)
			}
			continue
		}
		if !json.Valid(ans.body) {
			t.Fatalf("%s %s: answer %q is not JSON", r[0], r[1], ans.body)
		}
	}
}

// FuzzSignBodies feeds request bodies to the signing routes.
func FuzzSignBodies(f *testing.F) {
	e := newRegEnv(f)
	s := e.made(f, registry.Personal, "")
	for _, seed := range []string{
		`{"seal": "` + s.Code + `", "digest": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "pin": "1", "person_id": "` + regIDHolder + `"}`,
		`{"seal": "` + s.Code + `", "data": "aGVsbG8=", "pin": "246810", "person_id": "` + regIDHolder + `", "version": 4}`,
		`{"seal": "` + s.Code + `", "items": [{"digest": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}, {"digest": "!!"}], "pin": "246810", "person_id": "` + regIDHolder + `"}`,
		`{"seal": 7}`, `{"items": null}`, `[]`, `{"property_info": "\u0000"}`, "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		regFuzzBodies(t, e, regHolder, body, [][2]string{{"POST", "/v1/sign"}, {"POST", "/v1/sign/batch"}})
	})
}
