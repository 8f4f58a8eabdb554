package appliance

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/eseal/eseal/errs"
)

// openAPI is the OpenAPI 3.0 document of the server's routes, made once.
func (s *Server) openAPI() ([]byte, error) {
	s.apiOnce.Do(func() {
		s.apiDoc, s.apiErr = json.Marshal(buildOpenAPI(s.routes))
	})
	if s.apiErr != nil {
		return nil, fmt.Errorf("appliance: OpenAPI document: %w", s.apiErr)
	}
	return s.apiDoc, nil
}

type obj = map[string]any

// buildOpenAPI describes rs: each route's operation with its roles (x-roles and the
// description), whether it needs a key, its path parameters, and the schemas of its JSON
// request and answer reflected from Route.Request and Route.Response.
func buildOpenAPI(rs []Route) obj {
	g := &schemaGen{defs: obj{}, seen: map[reflect.Type]string{}}
	paths := obj{}
	for _, rt := range rs {
		item, _ := paths[rt.Path].(obj)
		if item == nil {
			item = obj{}
			paths[rt.Path] = item
		}
		op := obj{
			"operationId": operationID(rt),
			"summary":     rt.Summary,
		}
		roles := make([]string, len(rt.Roles))
		for i, r := range rt.Roles {
			roles[i] = string(r)
		}
		op["x-roles"] = roles
		desc := "Any API key."
		if len(roles) > 0 {
			desc = "API key roles: " + strings.Join(roles, ", ") + "."
		}
		switch rt.Anonymous {
		case AlwaysAnonymous:
			op["security"] = []any{}
			desc = "No key needed."
		case AnonymousIfOpen:
			op["security"] = []any{obj{"bearer": []any{}}, obj{}}
			desc += " Anonymous callers too when the server opens verification to them."
		default:
			op["security"] = []any{obj{"bearer": []any{}}}
		}
		if rt.Idempotent {
			desc += " Takes an Idempotency-Key header: a retry gets the first answer."
		}
		op["description"] = desc
		var params []any
		segs, _ := splitPath(rt.Path)
		for _, sgm := range segs {
			if len(sgm) > 2 && sgm[0] == '{' {
				params = append(params, obj{"name": sgm[1 : len(sgm)-1], "in": "path", "required": true, "schema": obj{"type": "string"}})
			}
		}
		if rt.Idempotent {
			params = append(params, obj{"name": headerIdempotencyKey, "in": "header", "required": false, "schema": obj{"type": "string", "maxLength": idemMaxKey}})
		}
		for _, p := range rt.Params {
			params = append(params, obj{"name": p.Name, "in": p.In, "required": false, "description": p.Description, "schema": obj{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		binary := obj{"type": "string", "format": "binary"}
		switch {
		case rt.Request != nil:
			op["requestBody"] = obj{"required": true, "content": obj{"application/json": obj{"schema": g.schema(reflect.TypeOf(rt.Request))}}}
		case rt.RawRequest != "":
			op["requestBody"] = obj{"required": true, "content": obj{rt.RawRequest: obj{"schema": binary}}}
		}
		ok := obj{"description": "Success."}
		switch {
		case rt.Response != nil:
			ok["content"] = obj{"application/json": obj{"schema": g.schema(reflect.TypeOf(rt.Response))}}
		case rt.RawResponse != "":
			ok["content"] = obj{rt.RawResponse: obj{"schema": binary}}
		}
		op["responses"] = obj{
			"200":     ok,
			"default": obj{"$ref": "#/components/responses/Error"},
		}
		item[strings.ToLower(rt.Method)] = op
	}
	g.defs["Error"] = g.structSchema(reflect.TypeOf(ErrorBody{}))
	codes := []string{}
	for _, k := range append([]errs.Kind{0}, errs.Kinds()...) {
		codes = append(codes, k.Code())
	}
	g.defs["Error"].(obj)["properties"].(obj)["code"].(obj)["enum"] = codes
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":       "eseal",
			"version":     "1",
			"description": "Electronic seals (GB/T 38540): registry, signing, verification, PKI, trust sets and audit.",
		},
		"paths": paths,
		"components": obj{
			"schemas": g.defs,
			"securitySchemes": obj{
				"bearer": obj{"type": "http", "scheme": "bearer", "description": "An API key, esk_..."},
			},
			"responses": obj{
				"Error": obj{
					"description": "A refusal: the status and the stable code of its kind.",
					"content":     obj{"application/json": obj{"schema": obj{"$ref": "#/components/schemas/Error"}}},
				},
			},
		},
	}
}

func operationID(rt Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	up := true
	for _, r := range rt.Path {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			if up && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	return b.String()
}

// schemaGen reflects Go types into JSON schemas (the OpenAPI 3.0 dialect), naming each
// struct type once in defs.
type schemaGen struct {
	defs obj
	seen map[reflect.Type]string
}

var (
	timeType      = reflect.TypeOf(time.Time{})
	durationType  = reflect.TypeOf(time.Duration(0))
	rawType       = reflect.TypeOf(json.RawMessage(nil))
	marshalerType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()
	textType      = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

func (g *schemaGen) schema(t reflect.Type) obj {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return obj{"type": "string", "format": "date-time"}
	case t == durationType:
		return obj{"type": "integer", "description": "nanoseconds"}
	case t == rawType:
		return obj{}
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType):
		return obj{"description": "JSON of " + t.String() + " (its own encoding)"}
	case t.Implements(textType) || reflect.PointerTo(t).Implements(textType):
		return obj{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return obj{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return obj{"type": "string", "format": "byte"}
		}
		return obj{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		return g.structRef(t)
	default:
		return obj{}
	}
}

func (g *schemaGen) structRef(t reflect.Type) obj {
	if name, ok := g.seen[t]; ok {
		return obj{"$ref": "#/components/schemas/" + name}
	}
	name := t.Name()
	if name == "" {
		return g.structSchema(t) // an anonymous struct is described in place
	}
	if pkg := t.PkgPath(); pkg != "" {
		name = pkg[strings.LastIndex(pkg, "/")+1:] + "." + name
	}
	base := name
	for i := 2; g.defs[name] != nil; i++ {
		name = fmt.Sprintf("%s%d", base, i)
	}
	g.seen[t] = name
	g.defs[name] = obj{} // a placeholder while a recursive type is described
	g.defs[name] = g.structSchema(t)
	return obj{"$ref": "#/components/schemas/" + name}
}

func (g *schemaGen) structSchema(t reflect.Type) obj {
	props := obj{}
	var required []string
	g.fields(t, props, &required)
	s := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	return s
}

// fields adds t's JSON fields to props, following encoding/json's rules for tags and
// embedded structs.
func (g *schemaGen) fields(t reflect.Type, props obj, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.schema(f.Type)
		if strings.Contains(","+opts+",", ",string,") {
			s = obj{"type": "string"}
		}
		props[name] = s
		if !strings.Contains(","+opts+",", ",omitempty,") && !strings.Contains(","+opts+",", ",omitzero,") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}
