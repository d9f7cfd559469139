package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

func TestWebAnswerEnum(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")

	b := e.browser()
	if res, _ := b.get("/"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/inbox" {
		t.Errorf("/: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ := b.get("/inbox/r1/" + q)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=%2Finbox%2Fr1%2F") {
		t.Fatalf("logged out: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	csrf := b.login("ann-token-for-tests")

	res, page := b.get("/inbox")
	for _, want := range []string{"review", "approve", "approve the draft?", "editors", `href="/inbox/r1/` + q + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("inbox page lacks %q", want)
		}
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	_, rows := b.get("/inbox/rows")
	if !strings.Contains(rows, `data-id="`+q+`"`) || strings.Contains(rows, "<html") {
		t.Errorf("rows fragment:\n%s", rows)
	}

	_, page = b.get("/inbox/r1/" + q)
	for _, want := range []string{`id="answer-form"`, `name="answer.action" value="&#34;approve&#34;"`, `&#34;draft&#34;: &#34;A post about Go&#34;`} {
		if !strings.Contains(page, want) {
			t.Errorf("question page lacks %s:\n%s", want, page)
		}
	}

	res, body := b.post("/inbox/r1/"+q, url.Values{"csrf": {csrf}, "answer.action": {`"edit"`}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("answer: %d %s", res.StatusCode, body)
	}
	_, page = b.get(res.Header.Get("Location"))
	if !strings.Contains(page, `id="answered"`) || !strings.Contains(page, "<strong>ann</strong> via ui") {
		t.Errorf("page after the answer:\n%s", page)
	}
	var audit []entryJSON
	e.json("GET", "/v1/threads/r1/audit", "vera-token-for-tests", nil, http.StatusOK, &audit)
	if audit[0].Author != "ann" || audit[0].Channel != checkpoint.ChannelUI || string(audit[0].Answer) != `{"action":"edit"}` {
		t.Errorf("audit %+v", audit)
	}
	var snap snapshotJSON
	e.json("GET", "/v1/threads/r1", "vera-token-for-tests", nil, http.StatusOK, &snap)
	if snap.Status != weft.StatusCompleted {
		t.Errorf("thread %s", snap.Status)
	}

	// Again: already answered.
	res, page = b.post("/inbox/r1/"+q, url.Values{"csrf": {csrf}, "answer.action": {`"edit"`}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "answered") {
		t.Errorf("second answer: %d", res.StatusCode)
	}
}

func TestWebAnswerObjectAndInvalid(t *testing.T) {
	e := newEnv(t)
	e.start("expense", "x1", Expense{Item: "taxi", Amount: 30})
	q := e.pending("x1")
	b := e.browser()
	csrf := b.login("bob-token-for-tests")
	_, page := b.get("/inbox/x1/" + q)
	for _, want := range []string{`type="radio" name="answer.approve" value="true" required`, `type="radio" name="answer.approve" value="false"`, `<select name="answer.category">`,
		`type="number" name="answer.priority" step="1" min="1" max="5" required`, `<textarea name="answer.note"`,
		`<legend>Details`, `>Answer</button>`} {
		if !strings.Contains(page, want) {
			t.Errorf("question page lacks %s", want)
		}
	}
	// Out of range: refused with the reason, still pending.
	form := url.Values{"csrf": {csrf}, "answer.approve": {"true"}, "answer.amount": {"30"}, "answer.priority": {"9"},
		"answer.category": {`"travel"`}, "answer.urgency": {`"low"`}, "answer.details.approver": {"bob"}}
	res, page := b.post("/inbox/x1/"+q, form)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="form-error"`) || !strings.Contains(page, "maximum") {
		t.Errorf("invalid answer: %d\n%s", res.StatusCode, page)
	}
	if e.pending("x1") != q {
		t.Fatal("not pending after an invalid answer")
	}
	form.Set("answer.priority", "4")
	res, _ = b.post("/inbox/x1/"+q, form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("answer: %d", res.StatusCode)
	}
	var snap snapshotJSON
	e.json("GET", "/v1/threads/x1", "vera-token-for-tests", nil, http.StatusOK, &snap)
	st := snap.Values.(map[string]any)
	if snap.Status != weft.StatusCompleted || st["paid"] != true || st["approval"].(map[string]any)["priority"] != 4.0 {
		t.Errorf("state %v", st)
	}
}

func TestWebNoFormWithoutRole(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")
	for token, reason := range map[string]string{
		"bob-token-for-tests":  "assigned to editors",
		"vera-token-for-tests": "may only read",
	} {
		b := e.browser()
		csrf := b.login(token)
		_, page := b.get("/inbox/r1/" + q)
		if strings.Contains(page, `id="answer-form"`) || !strings.Contains(page, reason) {
			t.Errorf("%s sees:\n%s", token, page)
		}
		if !strings.Contains(page, "approve the draft?") {
			t.Errorf("%s does not see the question", token)
		}
		res, _ := b.post("/inbox/r1/"+q, url.Values{"csrf": {csrf}, "answer.action": {`"approve"`}})
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s answers: %d", token, res.StatusCode)
		}
	}
	if e.pending("r1") != q {
		t.Fatal("answered by someone who may not")
	}
}

func TestWebErrors(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login("ann-token-for-tests")
	res, page := b.get("/inbox/nope/nope")
	if res.StatusCode != http.StatusNotFound || !strings.Contains(page, `id="error-message"`) {
		t.Errorf("unknown question: %d", res.StatusCode)
	}
	res, _ = b.get("/inbox?older_than=soon")
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("bad filter: %d", res.StatusCode)
	}
	res, _ = b.get("/assets/app.js")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("asset: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestWebPaging(t *testing.T) {
	e := newEnv(t)
	for _, th := range []string{"a", "b", "c"} {
		e.start("review", th, Review{Topic: th})
	}
	b := e.browser()
	b.login("ann-token-for-tests")
	_, page := b.get("/inbox?limit=2")
	if n := strings.Count(page, `<tr class="row"`); n != 2 || !strings.Contains(page, `id="next-page"`) {
		t.Fatalf("first page: %d rows", n)
	}
	i := strings.Index(page, `id="next-page"`)
	href := page[strings.LastIndex(page[:i], `href="`)+6:]
	href = strings.ReplaceAll(href[:strings.Index(href, `"`)], "&amp;", "&")
	_, page = b.get(href)
	if n := strings.Count(page, `<tr class="row"`); n != 1 || strings.Contains(page, `id="next-page"`) {
		t.Errorf("second page (%s): %d rows", href, n)
	}
}

func TestWebQuestionDocument(t *testing.T) {
	e := newEnv(t)
	e.start("memo", "m1", Memo{})
	q := e.pending("m1")
	b := e.browser()
	csrf := b.login("ann-token-for-tests")
	_, page := b.get("/inbox/m1/" + q)
	for _, want := range []string{
		`id="payload-doc"`, `<dt title="title">Title</dt><dd><span class="v-string">Q3 plan: R&amp;D &lt;and&gt; sales</span>`,
		`<p>The plan for the third quarter`, `</p><p>The budget grows`, `<dt title="owner">Owner</dt><dd><dl>`,
		`<li><span class="v-string">hiring takes longer</span></li>`, `<details><summary>Raw JSON</summary>`,
		`id="deadline-words">If nobody answers by `, `, the answer {comment: &#34;no answer in time&#34;, amount: 0, confident: no, decision: &#34;reject&#34;} is given.`,
		`name="answer.amount" step="1" required value="1200"`, // prefilled from the payload
		`class="danger" data-confirm="reject: are you sure?" onclick="return confirm(this.dataset.confirm)"`,
		`type="radio" name="answer.confident" value="true" required`, `href="/threads/m1"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("question page lacks %s", want)
		}
	}
	if strings.Contains(page, `\u0026`) || strings.Contains(page, `\u003c`) {
		t.Error("the page shows JSON escapes")
	}
	// The decision comes after every other field.
	if d, c := strings.Index(page, `class="field decision"`), strings.Index(page, `name="answer.comment"`); d < c || c < 0 {
		t.Errorf("decision at %d, comment at %d", d, c)
	}
	// Missing a boolean: refused next to its field, what was typed kept.
	res, page := b.post("/inbox/m1/"+q, url.Values{"csrf": {csrf}, "answer.comment": {"typed & kept"}, "answer.amount": {"5"}, "answer.decision": {`"approve"`}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, `data-error-for="answer.confident">choose Yes or No`) ||
		!strings.Contains(page, `>typed &amp; kept</textarea>`) || !strings.Contains(page, `value="5"`) {
		t.Errorf("invalid answer: %d\n%s", res.StatusCode, page)
	}
	res, _ = b.post("/inbox/m1/"+q, url.Values{"csrf": {csrf}, "answer.comment": {"ok"}, "answer.amount": {"5"},
		"answer.confident": {"true"}, "answer.decision": {`"approve"`}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("answer: %d", res.StatusCode)
	}
	next := e.pending("m1")
	_, page = b.get(res.Header.Get("Location"))
	for _, want := range []string{`id="outcome"`, `id="outcome-status">interrupted<`, `href="/inbox/m1/` + next + `"`, "confirm the decision?"} {
		if !strings.Contains(page, want) {
			t.Errorf("page after the answer lacks %s", want)
		}
	}
	_, page = b.get("/inbox/m1/" + next)
	if !strings.Contains(page, `id="deadline-words">If nobody answers by `) || !strings.Contains(page, "it goes to admins.") {
		t.Errorf("escalation in words missing:\n%s", page)
	}
}
