package server

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
)

// routeRequest turns a route's pattern into a method and a concrete path.
func routeRequest(pattern, thread, question string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "GET", pattern
	}
	path = strings.NewReplacer("{name}", "review", "{id}", thread, "{thread}", thread,
		"{interrupt}", question, "{$}", "").Replace(path)
	switch {
	case path == "/v1/":
		path = "/v1/nothing"
	case path == "/assets/":
		path = "/assets/app.css"
	}
	return method, path
}

// wrongRole is a principal that lacks the permission.
func wrongRole(perm permission) string {
	switch perm {
	case permRead:
		return "nobody-token-for-tests" // no built-in role
	case permAnswer:
		return "vera-token-for-tests" // viewer
	case permOperate:
		return "ann-token-for-tests" // reviewer
	}
	return ""
}

var publicRoutes = map[string]bool{
	"/v1/": true, "GET /{$}": true, "GET /login": true, "POST /login": true, "GET /assets/": true,
	"POST /logout": true, // needs no permission, checks CSRF itself (TestLogout)
	"/":            true, // the HTML 404 of unknown pages
}

// TestEveryRouteAuth walks every route of the mux with no credentials, a
// wrong one and a wrong role.
func TestEveryRouteAuth(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")

	nobody := e.browser()
	nobodyCSRF := nobody.session("nobody-token-for-tests") // no login: it is refused
	viewer := e.browser()
	viewer.login("vera-token-for-tests")

	for _, rt := range e.srv.routes {
		method, path := routeRequest(rt.pattern, "r1", q)
		t.Run(rt.pattern, func(t *testing.T) {
			if rt.perm == permPublic {
				if !publicRoutes[rt.pattern] {
					t.Fatalf("route %s is public; add it to publicRoutes if it should be", rt.pattern)
				}
				return
			}
			if !rt.web {
				// No token, a malformed header, a wrong token: 401 with a challenge.
				for _, auth := range []string{"", "Basic YTpi", "Bearer wrong-token", "Bearer "} {
					req := httptest.NewRequest(method, path, strings.NewReader("{}"))
					if auth != "" {
						req.Header.Set("Authorization", auth)
					}
					rec := httptest.NewRecorder()
					e.srv.ServeHTTP(rec, req)
					if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("auth %q: %d, WWW-Authenticate %q", auth, rec.Code, rec.Header().Get("WWW-Authenticate"))
					}
					var ej errorJSON
					if json.Unmarshal(rec.Body.Bytes(), &ej) != nil || ej.Code != CodeUnauthorized {
						t.Errorf("auth %q: body %s", auth, rec.Body)
					}
				}
				// A session cookie is no API credential.
				req := httptest.NewRequest(method, path, nil)
				for _, c := range viewer.c.Jar.Cookies(mustURL(t, e.ts.URL)) {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				e.srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusUnauthorized {
					t.Errorf("cookie only: %d", rec.Code)
				}
				// Wrong role.
				res, body := e.do(method, path, wrongRole(rt.perm), "{}")
				var ej errorJSON
				_ = json.Unmarshal(body, &ej)
				if res.StatusCode != http.StatusForbidden || ej.Code != CodeForbidden {
					t.Errorf("wrong role: %d %s", res.StatusCode, body)
				}
				return
			}

			// Web routes: no session, a forged one, a bearer token alone.
			for _, cookie := range []string{"", "forged.value", "eyJrIjoiMDAifQ.c2ln"} {
				req := httptest.NewRequest(method, path, strings.NewReader("csrf=x"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Bearer admin-token-for-tests")
				if cookie != "" {
					req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
				}
				rec := httptest.NewRecorder()
				e.srv.ServeHTTP(rec, req)
				switch {
				case rt.page && method == "GET":
					if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login?next=") {
						t.Errorf("cookie %q: %d to %q, want a redirect to the login page", cookie, rec.Code, rec.Header().Get("Location"))
					}
				default:
					if rec.Code != http.StatusUnauthorized {
						t.Errorf("cookie %q: %d, want 401", cookie, rec.Code)
					}
				}
			}
			// Wrong role: a principal without any built-in role.
			if rt.perm >= permRead {
				var res *http.Response
				var body string
				if method == "POST" {
					res, body = nobody.post(path, url.Values{"csrf": {nobodyCSRF}})
				} else {
					res, body = nobody.get(path)
				}
				if res.StatusCode != http.StatusForbidden {
					t.Errorf("wrong role: %d %s", res.StatusCode, body)
				}
			}
			// POSTs need the CSRF token of the session.
			if method == "POST" {
				for _, tok := range []string{"", "forged", nobodyCSRF} {
					res, body := viewer.post(path, url.Values{"csrf": {tok}})
					if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
						t.Errorf("csrf %q: %d", tok, res.StatusCode)
					}
				}
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestRolesGrantWhatTheySay(t *testing.T) {
	cases := []struct {
		p                      Principal
		read, answer, operate  bool
		assigned, assignedToMe bool
	}{
		{Principal{Name: "a", Roles: []string{RoleAdmin}}, true, true, true, true, true},
		{Principal{Name: "o", Roles: []string{RoleOperator}}, true, true, true, false, false},
		{Principal{Name: "r", Roles: []string{RoleReviewer}}, true, true, false, false, false},
		{Principal{Name: "r", Roles: []string{RoleReviewer, "editors"}}, true, true, false, true, true},
		{Principal{Name: "editors", Roles: []string{RoleReviewer}}, true, true, false, true, true},
		{Principal{Name: "v", Roles: []string{RoleViewer, "editors"}}, true, false, false, false, false},
		{Principal{Name: "n", Roles: []string{"editors"}}, false, false, false, false, false},
	}
	for _, c := range cases {
		if c.p.can(permRead) != c.read || c.p.can(permAnswer) != c.answer || c.p.can(permOperate) != c.operate {
			t.Errorf("%+v: read %v answer %v operate %v", c.p, c.p.can(permRead), c.p.can(permAnswer), c.p.can(permOperate))
		}
		if got := c.p.mayAnswer([]string{"editors"}); got != c.assigned {
			t.Errorf("%+v: may answer a question assigned to editors: %v", c.p, got)
		}
		if got := c.p.mayAnswer(nil); got != c.answer {
			t.Errorf("%+v: may answer an unassigned question: %v", c.p, got)
		}
	}
}

func TestLoadTokens(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokens, err := LoadTokens(write("ok.json", `{"tok-1": {"name": "ann", "roles": ["reviewer", "editors"]}}`))
	if err != nil || tokens["tok-1"].Name != "ann" || !tokens["tok-1"].Has("editors") {
		t.Fatalf("LoadTokens: %v %+v", err, tokens)
	}
	for name, data := range map[string]string{
		"unknown.json":  `{"tok": {"name": "a", "role": "x"}}`,
		"noname.json":   `{"tok": {"roles": ["admin"]}}`,
		"empty.json":    `{"": {"name": "a"}}`,
		"trailing.json": `{"tok": {"name": "a"}} x`,
		"bad.json":      `[`,
	} {
		if _, err := LoadTokens(write(name, data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LoadTokens(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	ib := inbox.New(memstore.New(), nil)
	if _, err := New(nil, WithTokens(testTokens)); err == nil {
		t.Error("nil inbox: no error")
	}
	if _, err := New(ib); err == nil {
		t.Error("no tokens: no error")
	}
	if _, err := New(ib, WithTokens(map[string]Principal{"t": {}})); err == nil {
		t.Error("principal without a name: no error")
	}
	if _, err := New(ib, WithTokens(testTokens), WithSessionKey([]byte("short"))); err == nil {
		t.Error("short session key: no error")
	}
}

func TestSessionCookie(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	_, page := b.get("/login")
	res, _ := b.post("/login", url.Values{"csrf": {csrfOf(t, page)}, "token": {"ann-token-for-tests"}, "next": {"//evil.example/x"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/inbox" {
		t.Errorf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure || sc.MaxAge <= 0 {
		t.Fatalf("session cookie %+v", sc)
	}
	if strings.Contains(sc.Value, "ann-token-for-tests") {
		t.Error("the cookie holds the token")
	}

	// Over TLS the cookie is Secure.
	req := httptest.NewRequest("POST", "/login", nil)
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	if err := e.srv.setSession(rec, req, "ann-token-for-tests"); err != nil {
		t.Fatal(err)
	}
	if c := rec.Result().Cookies()[0]; !c.Secure {
		t.Errorf("cookie over TLS: %+v", c)
	}

	// A bad token, a login form without its cookie.
	b2 := e.browser()
	_, page = b2.get("/login")
	res, body := b2.post("/login", url.Values{"csrf": {csrfOf(t, page)}, "token": {"nope"}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Unknown token") {
		t.Errorf("bad token: %d", res.StatusCode)
	}
	b3 := e.browser()
	res, _ = b3.post("/login", url.Values{"csrf": {csrfOf(t, page)}, "token": {"ann-token-for-tests"}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("login without the form's cookie: %d", res.StatusCode)
	}

	// Logged in: /login sends on to the inbox; logout ends the session.
	_, page = b.get("/inbox")
	csrf := csrfOf(t, page)
	if res, _ := b.get("/login"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("login page when logged in: %d", res.StatusCode)
	}
	if res, _ := b.post("/logout", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", res.StatusCode)
	}
	if res, _ := b.get("/inbox"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("inbox after logout: %d", res.StatusCode)
	}
}

func TestSessionEndsWithTokenOrTime(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	e := newEnv(t, WithSessionKey(key), WithSessionTTL(time.Hour))
	b := e.browser()
	b.login("ann-token-for-tests")
	cookies := b.c.Jar.Cookies(mustURL(t, e.ts.URL))

	check := func(srv *Server, want int) {
		t.Helper()
		req := httptest.NewRequest("GET", "/inbox", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("status %d, want %d", rec.Code, want)
		}
	}
	check(e.srv, http.StatusOK)
	// Another server with the same key accepts it...
	same, err := New(e.ib, WithTokens(testTokens), WithSessionKey(key))
	if err != nil {
		t.Fatal(err)
	}
	check(same, http.StatusOK)
	// ... unless the token is gone, the key differs, or the session expired.
	fewer := map[string]Principal{"admin-token-for-tests": testTokens["admin-token-for-tests"]}
	gone, _ := New(e.ib, WithTokens(fewer), WithSessionKey(key))
	check(gone, http.StatusSeeOther)
	other, _ := New(e.ib, WithTokens(testTokens))
	check(other, http.StatusSeeOther)
	late, _ := New(e.ib, WithTokens(testTokens), WithSessionKey(key))
	late.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	check(late, http.StatusSeeOther)
}

func TestPrincipalFrom(t *testing.T) {
	e := newEnv(t)
	var got Principal
	h := e.srv.wrap(route{pattern: "GET /x", perm: permRead, h: func(w http.ResponseWriter, r *http.Request, _ Principal) error {
		got, _ = PrincipalFrom(r.Context())
		return nil
	}})
	req := httptest.NewRequest("GET", "/x", nil)
	req.Header.Set("Authorization", "bearer ann-token-for-tests")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got.Name != "ann" {
		t.Errorf("PrincipalFrom: %+v", got)
	}
}
