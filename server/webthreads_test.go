package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftgraph/weft"
)

func TestWebThreadPage(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go & <b>friends</b>"})
	q := e.pending("r1")
	b := e.browser()
	csrf := b.login("olga-token-for-tests")

	res, page := b.get("/threads/r1")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("thread page: %d\n%s", res.StatusCode, page)
	}
	for _, want := range []string{
		`id="thread-status">interrupted<`, `<pre class="mermaid" id="mermaid">flowchart TD`,
		`class n_approve waiting`, `data-node="approve" data-mark="waiting"`, `data-node="write">`, `data-node="publish">`,
		`id="timeline"`, `<code>write</code>`, `href="/inbox/r1/` + q + `"`, "approve the draft?",
		`action="/threads/r1/stop"`, `action="/threads/r1/cancel"`, `name="csrf" value="` + csrf + `"`,
		`onclick="return confirm(this.dataset.confirm)"`, `id="thread-owner"`, `id="thread-lease"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("thread page lacks %s", want)
		}
	}
	if strings.Contains(page, `\u0026`) || strings.Contains(page, `action="/threads/r1/resume"`) {
		t.Errorf("thread page has JSON escapes or a resume of a paused thread")
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, confirmHash) {
		t.Errorf("CSP %q lacks the confirm handler's hash", csp)
	}

	// Cancel needs a reason; refused with the reason on the page, the form kept.
	res, page = b.post("/threads/r1/cancel", url.Values{"csrf": {csrf}, "reason": {"  "}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="thread-error"`) || !strings.Contains(page, "say why") {
		t.Errorf("cancel without a reason: %d", res.StatusCode)
	}
	res, _ = b.post("/threads/r1/cancel", url.Values{"csrf": {"wrong"}, "reason": {"duplicate"}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cancel without CSRF: %d", res.StatusCode)
	}
	res, _ = b.post("/threads/r1/cancel", url.Values{"csrf": {csrf}, "reason": {"duplicate"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/threads/r1?done=cancel" {
		t.Fatalf("cancel: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	_, page = b.get("/threads/r1?done=cancel")
	for _, want := range []string{`id="thread-message">Cancelled.`, `id="thread-status">cancelled<`, "st-cancelled", "by <strong>olga</strong> via ui"} {
		if !strings.Contains(page, want) {
			t.Errorf("page after cancel lacks %s", want)
		}
	}
	var snap snapshotJSON
	e.json("GET", "/v1/threads/r1", "vera-token-for-tests", nil, http.StatusOK, &snap)
	if snap.Status != weft.StatusCancelled {
		t.Errorf("status after cancel %s", snap.Status)
	}
	// Resume of a cancelled thread: refused as through the API, on the page.
	res, page = b.post("/threads/r1/resume", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, `id="thread-error"`) {
		t.Errorf("resume of a cancelled thread: %d", res.StatusCode)
	}

	// Stop of a paused thread cancels it, as the API's stop does.
	e.start("review", "r2", Review{Topic: "Stop"})
	res, _ = b.post("/threads/r2/stop", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("stop: %d", res.StatusCode)
	}
	e.json("GET", "/v1/threads/r2", "vera-token-for-tests", nil, http.StatusOK, &snap)
	if snap.Status != weft.StatusCancelled {
		t.Errorf("status after stop %s", snap.Status)
	}

	// A viewer sees the page without the actions, and may not act.
	v := e.browser()
	vcsrf := v.login("vera-token-for-tests")
	e.start("review", "r3", Review{Topic: "View"})
	_, page = v.get("/threads/r3")
	if strings.Contains(page, `id="actions"`) || !strings.Contains(page, `id="graph-nodes"`) {
		t.Errorf("viewer's thread page:\n%s", page)
	}
	if res, _ := v.post("/threads/r3/stop", url.Values{"csrf": {vcsrf}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("viewer stops: %d", res.StatusCode)
	}

	// HTML errors: an unknown thread, an unknown page, no session.
	for _, path := range []string{"/threads/nope", "/nowhere/at/all"} {
		res, page := v.get(path)
		if res.StatusCode != http.StatusNotFound || !strings.Contains(page, `id="error-message"`) || !strings.Contains(page, `id="who">vera`) ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	anon := e.browser()
	res, page = anon.get("/inbox/rows")
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, `id="sign-in"`) || !strings.Contains(page, `href="/login?next=%2Finbox%2Frows"`) {
		t.Errorf("rows without a session: %d\n%s", res.StatusCode, page)
	}
	res, _ = anon.get("/threads/r3")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
		t.Errorf("thread page without a session: %d", res.StatusCode)
	}
}

func TestWebThreadsPage(t *testing.T) {
	e := newEnv(t)
	for _, th := range []string{"a", "b", "c"} {
		e.start("review", th, Review{Topic: th})
	}
	e.start("expense", "x", Expense{Item: "taxi", Amount: 3})
	e.json("POST", "/v1/threads/a/answers", "admin-token-for-tests",
		map[string]any{"answers": map[string]any{e.pending("a"): Verdict{Action: "approve"}}}, http.StatusOK, nil)
	b := e.browser()
	b.login("vera-token-for-tests")

	_, inboxPage := b.get("/inbox")
	if !strings.Contains(inboxPage, `href="/threads" id="nav-threads"`) {
		t.Error("the inbox header does not link the threads page")
	}
	_, page := b.get("/threads")
	if n := strings.Count(page, `<tr class="row"`); n != 4 || !strings.Contains(page, `href="/threads/a"`) {
		t.Errorf("all threads: %d rows", n)
	}
	_, page = b.get("/threads?status=completed")
	if n := strings.Count(page, `<tr class="row"`); n != 1 || !strings.Contains(page, `data-thread="a"`) ||
		!strings.Contains(page, `<option value="completed" selected>`) {
		t.Errorf("completed threads: %d rows", n)
	}
	_, page = b.get("/threads?status=interrupted&workflow=expense")
	if n := strings.Count(page, `<tr class="row"`); n != 1 || !strings.Contains(page, `data-thread="x"`) {
		t.Errorf("interrupted expense threads: %d rows", n)
	}
	if res, page := b.get("/threads?status=bogus"); res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "interrupted") {
		t.Errorf("bad status: %d", res.StatusCode)
	}

	// Paging with the store's cursor: every thread once.
	seen := map[string]int{}
	next := "/threads?limit=3"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		_, page := b.get(next)
		for _, part := range strings.Split(page, `<tr class="row" data-thread="`)[1:] {
			seen[part[:strings.Index(part, `"`)]]++
		}
		next = ""
		if i := strings.Index(page, `id="next-page"`); i >= 0 {
			href := page[strings.LastIndex(page[:i], `href="`)+6:]
			next = strings.ReplaceAll(href[:strings.Index(href, `"`)], "&amp;", "&")
		}
	}
	if len(seen) != 4 || seen["a"] != 1 || seen["x"] != 1 {
		t.Errorf("paged threads %v", seen)
	}
}

// TestWebThreadFailedResume: a thread that failed in a node shows the
// failure, the failed node marked, and carries on with the page's resume.
func TestWebThreadFailedResume(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")
	e.hooks.failNext.Store(true)
	var res resultJSON
	e.json("POST", "/v1/threads/r1/answers", "admin-token-for-tests",
		map[string]any{"answers": map[string]any{q: Verdict{Action: "approve"}}}, http.StatusOK, &res)
	if res.Status != weft.StatusFailed {
		t.Fatalf("status %s", res.Status)
	}
	b := e.browser()
	csrf := b.login("olga-token-for-tests")
	_, page := b.get("/threads/r1")
	for _, want := range []string{`id="thread-status">failed<`, `id="thread-failure">`, "publishing failed",
		`data-node="publish" data-mark="failed"`, `action="/threads/r1/resume"`, `action="/threads/r1/cancel"`} {
		if !strings.Contains(page, want) {
			t.Errorf("failed thread's page lacks %s", want)
		}
	}
	e.hooks.failNext.Store(false)
	r, body := b.post("/threads/r1/resume", url.Values{"csrf": {csrf}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume: %d %s", r.StatusCode, body)
	}
	_, page = b.get(r.Header.Get("Location"))
	if !strings.Contains(page, `id="thread-status">completed<`) || !strings.Contains(page, `id="thread-message">Resumed.`) ||
		strings.Contains(page, `id="actions"`) {
		t.Errorf("page after resume:\n%s", page)
	}
}
