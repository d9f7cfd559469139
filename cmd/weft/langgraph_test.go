package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/server"
)

func TestCheckLangGraph(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"/lg", true},
		{"/lg/", true},
		{"/api/langgraph", true},
		{"lg", false},
		{"/", false},
		{"/v1", false},
		{"/threads", false},
		{"/inbox/x", false},
		{"/lg/{id}", false},
	} {
		if err := checkLangGraph(tc.prefix); (err == nil) != tc.ok {
			t.Errorf("checkLangGraph(%q) = %v, want ok %v", tc.prefix, err, tc.ok)
		}
	}
}

// TestMountLangGraph checks that the LangGraph API answers under its prefix
// with serve's tokens, and that everything else still goes to weft's
// server.
func TestMountLangGraph(t *testing.T) {
	tokens := map[string]server.Principal{"tok-0123456789abcdef": {Name: "ann", Roles: []string{server.RoleViewer}}}
	weftSrv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	sv := &served{lg: langGraph("/lg", memstore.New(), nil, tokens), lgPrefix: "/lg/"}
	srv := httptest.NewServer(sv.mount(weftSrv))
	defer srv.Close()
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{"/lg/ok", "", http.StatusOK},
		{"/lg/info", "", http.StatusUnauthorized},
		{"/lg/info", "wrong", http.StatusUnauthorized},
		{"/lg/info", "tok-0123456789abcdef", http.StatusOK},
		{"/v1/threads", "", http.StatusTeapot},
		{"/lgx", "", http.StatusTeapot},
	} {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("X-Api-Key", tc.token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, resp.StatusCode, tc.want)
		}
	}
	if (&served{}).mount(weftSrv) == nil {
		t.Error("mount without --langgraph")
	}
}
