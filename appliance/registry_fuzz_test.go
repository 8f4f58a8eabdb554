package appliance

import (
	"encoding/json"
	"testing"

	"github.com/eseal/eseal/registry"
)

// FuzzRegistryBodies feeds request bodies to the registry routes that read one.
func FuzzRegistryBodies(f *testing.F) {
	e := newRegEnv(f)
	s := e.made(f, registry.Personal, "")
	app, err := json.Marshal(regApplication(registry.Personal, ""))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(app), `{"reason": "x", "crl_reason": "superseded"}`, `{"pin": ""}`,
		`{"digests": ["AAAA"], "purpose": "p"}`, `{"ttl_seconds": 1e99}`, `{"kind": "personal", "materials": [{"data": "!"}]}`, "{}", ""} {
		f.Add([]byte(seed))
	}
	super := registry.Actor{Name: "fuzz-1", Roles: []registry.Role{registry.RoleApplicant, registry.RoleMaker}}
	f.Fuzz(func(t *testing.T, body []byte) {
		regFuzzBodies(t, e, super, body, [][2]string{{"POST", "/v1/applications"}, {"POST", "/v1/business-seals"}})
		regFuzzBodies(t, e, super, body, [][2]string{{"POST", "/v1/seals/{code}/use-requests"}}, "code", s.Code)
		regFuzzBodies(t, e, regReviewer, body, [][2]string{{"POST", "/v1/use-requests/{id}/approve"}, {"POST", "/v1/applications/{id}/reject"}}, "id", "U00000001")
	})
}
