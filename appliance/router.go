package appliance

import (
	"fmt"
	"slices"
	"strings"
)

// router finds the route of a method and path. The paths are compiled once into a tree of
// segments: a static segment is looked up in a map, a {name} segment matches any non-empty
// segment. A static segment is tried before a {name} one at the same place, and the search
// goes back to the {name} branch when the static one leads to no route for the path.
type router struct {
	root node
}

type node struct {
	static map[string]*node
	param  *node
	name   string            // the {name} of param's segment
	routes map[string]*Route // by method, for a path that ends here
}

// newRouter compiles rs. Two routes with the same method and path, a path that does not
// start with "/", an empty segment or two names at one place are errors.
func newRouter(rs []Route) (*router, error) {
	r := &router{}
	for i := range rs {
		rt := &rs[i]
		if rt.Method == "" || rt.Handle == nil {
			return nil, fmt.Errorf("appliance: route %s %s: no method or handler", rt.Method, rt.Path)
		}
		segs, err := splitPath(rt.Path)
		if err != nil {
			return nil, fmt.Errorf("appliance: route %s %s: %w", rt.Method, rt.Path, err)
		}
		n := &r.root
		seen := map[string]bool{}
		for _, s := range segs {
			if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' {
				name := s[1 : len(s)-1]
				if seen[name] {
					return nil, fmt.Errorf("appliance: route %s %s: {%s} appears twice", rt.Method, rt.Path, name)
				}
				seen[name] = true
				if n.param == nil {
					n.param = &node{}
					n.name = name
				} else if n.name != name {
					return nil, fmt.Errorf("appliance: route %s %s: {%s} where another route has {%s}", rt.Method, rt.Path, name, n.name)
				}
				n = n.param
				continue
			}
			if strings.ContainsAny(s, "{}") {
				return nil, fmt.Errorf("appliance: route %s %s: segment %q mixes text and a {name}", rt.Method, rt.Path, s)
			}
			if n.static == nil {
				n.static = map[string]*node{}
			}
			c := n.static[s]
			if c == nil {
				c = &node{}
				n.static[s] = c
			}
			n = c
		}
		if n.routes == nil {
			n.routes = map[string]*Route{}
		}
		if _, dup := n.routes[rt.Method]; dup {
			return nil, fmt.Errorf("appliance: route %s %s is declared twice", rt.Method, rt.Path)
		}
		n.routes[rt.Method] = rt
	}
	return r, nil
}

func splitPath(p string) ([]string, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("path %q does not start with /", p)
	}
	if p == "/" {
		return nil, nil
	}
	segs := strings.Split(p[1:], "/")
	if slices.Contains(segs, "") {
		return nil, fmt.Errorf("path %q has an empty segment", p)
	}
	return segs, nil
}

// match is the outcome of a look-up.
type match struct {
	route  *Route
	params map[string]string
	// allow lists the methods the path takes, when it takes some but not the one asked.
	allow []string
}

// lookup finds the route of method and path. With no route for the path, it returns the
// zero match; with routes for the path but none for the method, match.allow lists theirs.
func (r *router) lookup(method, path string) match {
	if path == "" || path[0] != '/' {
		return match{}
	}
	var segs []string
	if path != "/" {
		segs = strings.Split(path[1:], "/")
	}
	var allow []string
	var found *Route
	var vals []string
	var walk func(n *node, i int) bool
	walk = func(n *node, i int) bool {
		if i == len(segs) {
			if rt, ok := n.routes[method]; ok {
				found = rt
				return true
			}
			for m := range n.routes {
				if !slices.Contains(allow, m) {
					allow = append(allow, m)
				}
			}
			return false
		}
		s := segs[i]
		if s == "" {
			return false
		}
		if c := n.static[s]; c != nil && walk(c, i+1) {
			return true
		}
		if n.param != nil {
			vals = append(vals, s)
			if walk(n.param, i+1) {
				return true
			}
			vals = vals[:len(vals)-1]
		}
		return false
	}
	if !walk(&r.root, 0) {
		slices.Sort(allow)
		return match{allow: allow}
	}
	m := match{route: found}
	if len(vals) > 0 {
		m.params = make(map[string]string, len(vals))
		// The names, in order, are the {name} segments of the route's path.
		segs, _ := splitPath(found.Path)
		j := 0
		for _, s := range segs {
			if len(s) > 2 && s[0] == '{' {
				m.params[s[1:len(s)-1]] = vals[j]
				j++
			}
		}
	}
	return m
}
