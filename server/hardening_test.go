package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// offSite reports whether a browser that follows loc from base lands on
// another origin. Browsers drop tabs and newlines and read backslashes as
// slashes, so do that first.
func offSite(t *testing.T, base, loc string) bool {
	t.Helper()
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.Parse(loc)
	if err != nil {
		return true
	}
	return u.Scheme != b.Scheme || u.Host != b.Host
}

var openRedirects = []string{
	"//evil.example/",
	"///evil.example/",
	`/\evil.example/`,
	`\\evil.example/`,
	`/\/evil.example/`,
	"/\t/evil.example/",
	"/\n/evil.example/",
	"/\r\n/evil.example/",
	"/%09/evil.example/",
	"/%0a/evil.example/",
	"/%2F%2Fevil.example/",
	"/%2f/evil.example/",
	"%2F%2Fevil.example/",
	"/%5C/evil.example/",
	"/%5c%5cevil.example/",
	"/./\t/evil.example",
	"/inbox/../\t/evil.example",
	"https://evil.example/",
	"http:evil.example",
	"//user@evil.example",
	"https:/evil.example",
	"javascript:alert(1)",
	"JaVaScRiPt:alert(1)",
	" javascript:alert(1)",
	"evil.example",
	"inbox",
	"/\x00/evil.example",
	"/\xff/evil.example",
	"",
}

func TestSafeNext(t *testing.T) {
	for _, next := range openRedirects {
		if got := safeNext(next); got != defaultNext {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, defaultNext)
		}
	}
	for next, want := range map[string]string{
		"/inbox":                   "/inbox",
		"/inbox?workflow=review":   "/inbox?workflow=review",
		"/inbox/t-1/q-2":           "/inbox/t-1/q-2",
		"/inbox/team%20a%2F42/q":   "/inbox/team%20a%2F42/q",
		"/inbox/a/../t-1/q":        "/inbox/t-1/q",
		"/inbox/":                  "/inbox/",
		"/..//evil.example":        "/evil.example",
		"/.//evil.example":         "/evil.example",
		"/\u2028/x":                "/%E2%80%A8/x",
		"/inbox?next=//evil.examp": "/inbox?next=//evil.examp",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

// TestLoginNeverRedirectsOffSite follows next through the login form and
// through /login when already logged in.
func TestLoginNeverRedirectsOffSite(t *testing.T) {
	e := newEnv(t)
	for _, next := range openRedirects {
		b := e.browser()
		_, page := b.get("/login?next=" + url.QueryEscape(next))
		res, body := b.post("/login", url.Values{"csrf": {csrfOf(t, page)}, "token": {"ann-token"}, "next": {next}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login with next %q: %d %s", next, res.StatusCode, body)
		}
		if loc := res.Header.Get("Location"); loc != defaultNext || offSite(t, e.ts.URL, loc) {
			t.Errorf("login with next %q: to %q", next, loc)
		}
		// Logged in, /login?next= redirects at once.
		res, _ = b.get("/login?next=" + url.QueryEscape(next))
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != defaultNext || offSite(t, e.ts.URL, loc) {
			t.Errorf("GET /login?next=%q: %d to %q", next, res.StatusCode, loc)
		}
		// The raw query, as an attacker writes it into a link.
		if strings.ContainsFunc(next, func(r rune) bool { return r < ' ' }) {
			continue // not sendable raw
		}
		res, _ = b.get("/login?next=" + next)
		if loc := res.Header.Get("Location"); offSite(t, e.ts.URL, loc) {
			t.Errorf("GET /login?next=%s (raw): to %q", next, loc)
		}
	}
	// The raw form from the brief.
	b := e.browser()
	b.login("ann-token")
	res, _ := b.get("/login?next=/%09/evil.example/")
	if loc := res.Header.Get("Location"); loc != defaultNext {
		t.Errorf("/login?next=/%%09/evil.example/: to %q", loc)
	}
}

func TestStartRefusesBadThreadIDs(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{".", "..", "a/b", "/", "a/", "/a", "../x", "a\x00b", "a\tb", "a\nb", "a\x7fb", strings.Repeat("x", maxThreadID+1)} {
		ej := e.apiErr("POST", "/v1/workflows/review/threads", "admin-token",
			map[string]any{"thread": id, "input": Review{Topic: "x"}}, http.StatusBadRequest, CodeBadRequest)
		if !strings.Contains(ej.Error, "thread ID") {
			t.Errorf("thread %q: message %q does not say what is wrong", id, ej.Error)
		}
		if _, err := e.store.Thread(t.Context(), id); err == nil {
			t.Errorf("thread %q was created", id)
		}
	}
	// Dots and other punctuation inside an ID are fine.
	for _, id := range []string{"...", ".a", "a..b", "team a:42?x", "é"} {
		e.start("review", id, Review{Topic: "x"})
	}
}

// TestStartUnderAnotherWorkflow: a thread of one workflow cannot be
// started (or given a new turn) under another, and nothing changes.
func TestStartUnderAnotherWorkflow(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	e.start("review", "s1", Review{Topic: "Go"}) // completed: Run would start a new turn
	e.json("POST", "/v1/threads/s1/answers", "admin-token",
		map[string]any{"answers": map[string]any{e.pending("s1"): Verdict{Action: "approve"}}}, http.StatusOK, nil)
	for _, c := range []struct{ workflow, thread string }{
		{"expense", "r1"}, {"pair", "r1"}, {"expense", "s1"}, {"slow", "s1"},
	} {
		before, _ := e.store.Thread(t.Context(), c.thread)
		steps, _ := e.store.Steps(t.Context(), c.thread, 0)
		ej := e.apiErr("POST", "/v1/workflows/"+c.workflow+"/threads", "admin-token",
			map[string]any{"thread": c.thread}, http.StatusConflict, CodeWrongWorkflow)
		if !strings.Contains(ej.Error, before.Workflow) {
			t.Errorf("%s under %s: message %q does not name the thread's workflow", c.thread, c.workflow, ej.Error)
		}
		after, _ := e.store.Thread(t.Context(), c.thread)
		steps2, _ := e.store.Steps(t.Context(), c.thread, 0)
		if after.Workflow != before.Workflow || after.Head != before.Head || after.Status != before.Status || len(steps2) != len(steps) {
			t.Errorf("%s under %s: thread changed: %+v, was %+v", c.thread, c.workflow, after, before)
		}
	}
}
