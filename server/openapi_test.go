package server

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes checks that openapi.json documents every /v1
// route of the mux and nothing else, and that every route outside /v1 is
// a known web route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	e := newEnv(t)
	served := map[string]bool{}
	web := []string{}
	for _, rt := range e.srv.routes {
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok || !strings.HasPrefix(path, "/v1/") {
			web = append(web, rt.pattern)
			continue
		}
		if path == "/v1/" {
			continue // the JSON 404 for unknown API paths
		}
		served[method+" "+path] = true
		if !documented[method+" "+path] {
			t.Errorf("route %s is not in openapi.json", rt.pattern)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("openapi.json documents %s, which the server does not serve", op)
		}
	}
	slices.Sort(web)
	want := []string{"/", "/v1/", "GET /assets/", "GET /inbox", "GET /inbox/events", "GET /inbox/rows",
		"GET /inbox/{thread}/{interrupt}", "GET /login", "GET /threads", "GET /threads/{id}", "GET /{$}",
		"POST /inbox/{thread}/{interrupt}", "POST /login", "POST /logout",
		"POST /threads/{id}/cancel", "POST /threads/{id}/fork", "POST /threads/{id}/resume", "POST /threads/{id}/state", "POST /threads/{id}/stop"}
	if !slices.Equal(web, want) {
		t.Errorf("routes outside the documented API:\n got %v\nwant %v", web, want)
	}
}

// TestOpenAPIRefs checks that every $ref of the document resolves.
func TestOpenAPIRefs(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				var node any = doc
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := node.(map[string]any)
					node = m[part]
				}
				if node == nil {
					t.Errorf("unresolved $ref %s", ref)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	res, body := e.do("GET", "/v1/openapi.json", "vera-token-for-tests", nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	file, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != string(file) {
		t.Error("served document differs from server/openapi.json")
	}
}

// TestOpenAPIErrorCodes checks that the Error schema lists every code the
// server reports, and no other.
func TestOpenAPIErrorCodes(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Code struct {
							Enum []string `json:"enum"`
						} `json:"code"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(doc.Components.Schemas.Error.Properties.Code.Enum))
	want := errorCodes(t)
	if !slices.Equal(got, want) {
		t.Errorf("openapi.json error codes:\n got %v\nwant %v", got, want)
	}
}

// errorCodes returns the values of the Code constants of errors.go.
func errorCodes(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Code") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					codes = append(codes, v)
				}
			}
		}
	}
	if len(codes) == 0 {
		t.Fatal("no Code constants in errors.go")
	}
	slices.Sort(codes)
	return codes
}

// TestOpenAPIRequestBodies checks that the request schemas document every
// field the server reads, and nothing else, and that the routes that may
// hand a run on document their 202 and the wait parameter.
func TestOpenAPIRequestBodies(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{"StartRequest": startRequest{}, "AnswersRequest": answersRequest{}, "CancelRequest": cancelRequest{}} {
		var fields []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			fields = append(fields, tag)
		}
		slices.Sort(fields)
		documented := slices.Sorted(maps.Keys(doc.Components.Schemas[name].Properties))
		if !slices.Equal(fields, documented) {
			t.Errorf("%s: fields %v, documented %v", name, fields, documented)
		}
	}
	for _, path := range []string{"/v1/workflows/{name}/threads", "/v1/threads/{id}/answers"} {
		type param struct {
			Name string `json:"name"`
			In   string `json:"in"`
		}
		var op struct {
			Responses  map[string]json.RawMessage `json:"responses"`
			Parameters []param                    `json:"parameters"`
		}
		if err := json.Unmarshal(doc.Paths[path]["post"], &op); err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		if _, ok := op.Responses["202"]; !ok {
			t.Errorf("POST %s: no 202 response", path)
		}
		if !slices.ContainsFunc(op.Parameters, func(p param) bool { return p.Name == "wait" && p.In == "query" }) {
			t.Errorf("POST %s: no wait query parameter", path)
		}
	}
}
