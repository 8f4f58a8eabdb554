package appliance

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestOpenAPIListsEveryRoute reads /openapi.json and finds every route of the server in
// it, with its roles, its path parameters and the schemas of its JSON bodies.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	ts, _ := startServer(t, serverOpts{})
	a := ts.do("GET", "/openapi.json", "", nil)
	if a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
				Required   []string       `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(a.body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	n := 0
	for _, rt := range ts.srv.routes {
		raw, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s %s is not in the document", rt.Method, rt.Path)
			continue
		}
		n++
		var op struct {
			Roles       []string `json:"x-roles"`
			Parameters  []struct{ Name, In string }
			RequestBody *struct {
				Content map[string]json.RawMessage `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]json.RawMessage `json:"content"`
			} `json:"responses"`
			Security []map[string]any `json:"security"`
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatal(err)
		}
		if len(op.Roles) != len(rt.Roles) {
			t.Errorf("%s %s: roles %v, want %v", rt.Method, rt.Path, op.Roles, rt.Roles)
		}
		if (rt.Request != nil || rt.RawRequest != "") != (op.RequestBody != nil) {
			t.Errorf("%s %s: request body described: %v", rt.Method, rt.Path, op.RequestBody != nil)
		}
		if rt.RawRequest != "" && op.RequestBody != nil && op.RequestBody.Content[rt.RawRequest] == nil {
			t.Errorf("%s %s: the raw request body (%s) is not described", rt.Method, rt.Path, rt.RawRequest)
		}
		if rt.RawResponse != "" && op.Responses["200"].Content[rt.RawResponse] == nil {
			t.Errorf("%s %s: the raw answer (%s) is not described", rt.Method, rt.Path, rt.RawResponse)
		}
		for _, p := range rt.Params {
			found := false
			for _, q := range op.Parameters {
				found = found || q.Name == p.Name && q.In == p.In
			}
			if !found {
				t.Errorf("%s %s: parameter %s in %s is not described", rt.Method, rt.Path, p.Name, p.In)
			}
		}
		if strings.Contains(rt.Path, "{") && len(op.Parameters) == 0 {
			t.Errorf("%s %s: no path parameter described", rt.Method, rt.Path)
		}
		if rt.Anonymous == AlwaysAnonymous && len(op.Security) != 0 {
			t.Errorf("%s %s: security %v on an anonymous route", rt.Method, rt.Path, op.Security)
		}
	}
	// The OFD routes describe their raw bodies, query and headers.
	var sign struct {
		Parameters  []struct{ Name, In string }
		RequestBody struct {
			Content map[string]json.RawMessage `json:"content"`
		} `json:"requestBody"`
	}
	if err := json.Unmarshal(doc.Paths["/v1/ofd/sign"]["post"], &sign); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, p := range sign.Parameters {
		have[p.In+":"+p.Name] = true
	}
	for _, want := range []string{"query:seal", "query:keyword", "header:" + HeaderPIN, "header:" + HeaderPersonID} {
		if !have[want] {
			t.Errorf("POST /v1/ofd/sign does not describe %s: %v", want, have)
		}
	}
	if sign.RequestBody.Content["application/ofd"] == nil {
		t.Errorf("POST /v1/ofd/sign does not describe its OFD body")
	}
	ops := 0
	for _, item := range doc.Paths {
		ops += len(item)
	}
	if ops != n || n != len(ts.srv.routes) {
		t.Fatalf("%d operations in the document, %d routes", ops, len(ts.srv.routes))
	}
	echo := doc.Components.Schemas["appliance.echoResp"]
	for _, f := range []string{"name", "count", "caller", "anonymous", "param", "roles"} {
		if _, ok := echo.Properties[f]; !ok {
			t.Errorf("schema echoResp lacks %s: %v", f, echo.Properties)
		}
	}
	if strings.Join(echo.Required, ",") != "anonymous,caller,count,name" {
		t.Errorf("echoResp required %v", echo.Required)
	}
	if e := doc.Components.Schemas["Error"]; e.Properties["code"] == nil || e.Properties["message"] == nil {
		t.Errorf("no Error schema: %+v", e)
	}
}

// TestSchemaReflection checks the reflection of the types the routes use.
func TestSchemaReflection(t *testing.T) {
	type inner struct {
		A string `json:"a"`
	}
	type Embedded struct {
		E int `json:"e"`
	}
	type sample struct {
		Embedded
		DER     []byte            `json:"der"`
		Items   []inner           `json:"items"`
		Labels  map[string]string `json:"labels,omitempty"`
		Skip    string            `json:"-"`
		Ptr     *inner            `json:"ptr"`
		private int
		Self    *sample `json:"self,omitempty"`
	}
	_ = sample{private: 1} // an unexported field: the schema must leave it out
	g := &schemaGen{defs: obj{}, seen: map[reflect.Type]string{}}
	ref := g.schema(reflect.TypeOf(sample{}))
	if ref["$ref"] != "#/components/schemas/appliance.sample" {
		t.Fatalf("ref %v", ref)
	}
	b, _ := json.Marshal(g.defs["appliance.sample"])
	got := string(b)
	for _, want := range []string{
		`"e":{"type":"integer"}`,
		`"der":{"format":"byte","type":"string"}`,
		`"items":{"items":{"$ref":"#/components/schemas/appliance.inner"},"type":"array"}`,
		`"labels":{"additionalProperties":{"type":"string"},"type":"object"}`,
		`"self":{"$ref":"#/components/schemas/appliance.sample"}`,
		`"required":["der","e","items"]`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("schema %s lacks %s", got, want)
		}
	}
	for _, not := range []string{"Skip", "private", `"-"`} {
		if strings.Contains(got, not) {
			t.Errorf("schema %s shows %s", got, not)
		}
	}
}
