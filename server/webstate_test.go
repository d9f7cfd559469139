package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
)

// headOf returns the thread's head checkpoint ID and its state.
func (e *env) headOf(thread string) (string, Review) {
	e.t.Helper()
	rn, _ := e.ib.Runner("review")
	snap, err := rn.State(e.t.Context(), thread)
	if err != nil {
		e.t.Fatal(err)
	}
	return snap.Checkpoint, snap.Values.(Review)
}

// TestWebThreadHistory: the thread page lists the checkpoints, newest
// first, with the nodes that wrote them, their times with zone, and what
// changed in the state; a long value is cut, the whole value one click
// away.
func TestWebThreadHistory(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("word ", 60) + "END"
	e.start("review", "r1", Review{Topic: long})
	b := e.browser()
	b.login("vera-token-for-tests")
	_, page := b.get("/threads/r1")
	hist := page[strings.Index(page, `id="history"`):]
	hist = hist[:strings.Index(hist, "</ol>")]
	if n := strings.Count(hist, `class="checkpoint"`); n != 2 {
		t.Fatalf("%d checkpoints listed, want 2 (input, write):\n%s", n, hist)
	}
	for _, want := range []string{
		`<span class="step-n">step 1</span>`, `<code>write</code>`, `title="the state the next run starts from">head`,
		`<span class="step-n">step 0</span>`, `src-input`,
		`data-field="draft"`, `<span class="chg">added</span>`, `data-field="topic"`,
		`<span class="more">show all</span>`, long[:diffValueMax] + "…", "END</pre>", " UTC",
	} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %s", want)
		}
	}
	// The newest first: the write step (draft added) before the input.
	if strings.Index(hist, "step 1") > strings.Index(hist, "step 0") {
		t.Error("history is not newest first")
	}
	// A viewer sees no forms.
	if strings.Contains(page, `id="edit-form"`) || strings.Contains(page, `class="edit-form fork-form"`) || strings.Contains(page, `id="edit-state"`) {
		t.Error("a viewer sees the state forms")
	}
}

func TestStateDiff(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur any
		want      string // field:kind, ...
	}{
		{"input", nil, Review{Topic: "a"}, "topic:added"},
		{"same", Review{Topic: "a"}, Review{Topic: "a"}, ""},
		{"changed and added", Review{Topic: "a"}, Review{Topic: "b", Draft: "d"}, "draft:added topic:changed"},
		{"removed", Review{Topic: "a", Draft: "d"}, Review{Topic: "a"}, "draft:removed"},
		{"null is absent", map[string]any{"x": nil}, map[string]any{}, ""},
		{"not an object", "a", "b", "(state):changed"},
		{"nested change", map[string]any{"o": map[string]int{"a": 1}}, map[string]any{"o": map[string]int{"a": 2}}, "o:changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range stateDiff(tt.prev, tt.cur) {
				got = append(got, c.Field+":"+c.Kind)
			}
			if strings.Join(got, " ") != tt.want {
				t.Fatalf("diff = %v, want %s", got, tt.want)
			}
		})
	}
	if v := valueOf([]byte(`"short"`)); v.Cut || v.Short != "short" {
		t.Errorf("short value: %+v", v)
	}
	if v := valueOf([]byte(`"line one\nline two"`)); !v.Cut || v.Short != "line one…" || v.Full != "line one\nline two" {
		t.Errorf("two lines: %+v", v)
	}
}

// TestWebEditState walks POST /threads/{id}/state through its refusals
// and its success.
func TestWebEditState(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	op := e.browser()
	csrf := op.login("olga-token-for-tests")
	viewer := e.browser()
	vcsrf := viewer.login("vera-token-for-tests")
	head, _ := e.headOf("r1")
	const edited = `{"topic": "Go", "draft": "A better draft", "decision": "", "comment": "", "done": false}`

	tests := []struct {
		name   string
		b      *browser
		path   string
		form   url.Values
		status int
		want   string // in the page
	}{
		{"viewer", viewer, "/threads/r1/state", url.Values{"csrf": {vcsrf}, "state": {edited}}, http.StatusForbidden, ""},
		{"no CSRF", op, "/threads/r1/state", url.Values{"state": {edited}}, http.StatusForbidden, ""},
		{"wrong CSRF", op, "/threads/r1/state", url.Values{"csrf": {"nope"}, "state": {edited}}, http.StatusForbidden, ""},
		{"unknown thread", op, "/threads/nope/state", url.Values{"csrf": {csrf}, "state": {edited}}, http.StatusNotFound, ""},
		{"not JSON", op, "/threads/r1/state", url.Values{"csrf": {csrf}, "state": {`{"draft": `}, "checkpoint": {head}}, http.StatusBadRequest, "must be a JSON object"},
		{"not an object", op, "/threads/r1/state", url.Values{"csrf": {csrf}, "state": {`["draft"]`}}, http.StatusBadRequest, "must be a JSON object"},
		{"two objects", op, "/threads/r1/state", url.Values{"csrf": {csrf}, "state": {`{} {}`}}, http.StatusBadRequest, "text after it"},
		{"unknown field", op, "/threads/r1/state", url.Values{"csrf": {csrf}, "state": {`{"drafty": "x"}`}}, http.StatusBadRequest, "no field"},
		{"wrong type", op, "/threads/r1/state", url.Values{"csrf": {csrf}, "state": {`{"done": "yes"}`}}, http.StatusBadRequest, "invalid input"},
		{"stale page", op, "/threads/r1/state", url.Values{"csrf": {csrf}, "state": {edited}, "checkpoint": {"000000000001"}}, http.StatusConflict, "changed since the page was loaded"},
		{"long note", op, "/threads/r1/state", url.Values{"csrf": {csrf}, "state": {edited}, "note": {strings.Repeat("n", maxReason+1)}}, http.StatusBadRequest, "note is longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, page := tt.b.post(tt.path, tt.form)
			if res.StatusCode != tt.status || !strings.Contains(page, tt.want) {
				t.Fatalf("status %d, want %d with %q:\n%s", res.StatusCode, tt.status, tt.want, page)
			}
			if tt.status == http.StatusBadRequest || tt.status == http.StatusConflict {
				// The page says why, and keeps what was sent in the open form.
				if !strings.Contains(page, `id="thread-error"`) || !strings.Contains(page, `<details open id="edit-details">`) {
					t.Errorf("refused edit's page lacks the error or the open form")
				}
				if s := tt.form.Get("state"); len(s) < 100 && !strings.Contains(page, escaped(s)) {
					t.Errorf("the form lost what was sent: %s", s)
				}
			}
			if now, st := e.headOf("r1"); now != head || st.Draft != "A post about Go" {
				t.Fatalf("a refused edit changed the thread: head %s → %s, %+v", head, now, st)
			}
		})
	}

	// The state sent back unchanged writes nothing.
	_, page := op.get("/threads/r1")
	if !strings.Contains(page, `id="edit-text"`) || !strings.Contains(page, `&#34;draft&#34;: &#34;A post about Go&#34;`) {
		t.Fatalf("the edit form is not filled with the state:\n%s", page)
	}
	res, _ := op.post("/threads/r1/state", url.Values{"csrf": {csrf}, "state": {`{"topic":"Go","draft":"A post about Go"}`}, "checkpoint": {head}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/threads/r1?done=unchanged" {
		t.Fatalf("unchanged edit: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	if now, _ := e.headOf("r1"); now != head {
		t.Fatal("an unchanged edit wrote a checkpoint")
	}

	// An operator's edit: a new checkpoint by them, the questions
	// withdrawn, the thread stopped; the page says so and shows the diff.
	res, _ = op.post("/threads/r1/state", url.Values{"csrf": {csrf}, "state": {edited}, "checkpoint": {head}, "note": {"tighter"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/threads/r1?done=edited" {
		t.Fatalf("edit: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	now, st := e.headOf("r1")
	if now == head || st.Draft != "A better draft" || st.Topic != "Go" {
		t.Fatalf("after the edit: head %s, %+v", now, st)
	}
	rn, _ := e.ib.Runner("review")
	snap, err := rn.State(t.Context(), "r1")
	if err != nil || snap.Author != "olga" || snap.Channel != checkpoint.ChannelUI || snap.Note != "tighter" || snap.Status != weft.StatusStopped {
		t.Fatalf("edited checkpoint: %+v, %v", snap, err)
	}
	var api snapshotJSON
	e.json("GET", "/v1/threads/r1", "vera-token-for-tests", nil, http.StatusOK, &api)
	if api.Author != "olga" || api.Channel != "ui" || api.Note != "tighter" || api.Source != "update" {
		t.Errorf("the API's snapshot: author %q channel %q note %q source %q", api.Author, api.Channel, api.Note, api.Source)
	}
	_, page = op.get(res.Header.Get("Location"))
	hist := page[strings.Index(page, `id="history"`):]
	first := hist[:strings.Index(hist, "</li>")]
	for _, want := range []string{`id="thread-message">State saved as checkpoint ` + now, `id="thread-status">stopped<`} {
		if !strings.Contains(page, want) {
			t.Errorf("page after the edit lacks %s", want)
		}
	}
	for _, want := range []string{"src-update", "by <strong>olga</strong>", "via ui", "tighter", `data-field="draft"`, "A post about Go", "A better draft", `<span class="chg">changed</span>`} {
		if !strings.Contains(first, want) {
			t.Errorf("the edit's checkpoint lacks %s:\n%s", want, first)
		}
	}
	if strings.Contains(first, `data-field="topic"`) {
		t.Error("the diff lists a field that did not change")
	}
	// Resume carries the edited thread on: it asks again.
	res, _ = op.post("/threads/r1/resume", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume after the edit: %d", res.StatusCode)
	}
	if _, st := e.headOf("r1"); st.Draft != "A better draft" {
		t.Fatalf("after the resume: %+v", st)
	}
}

// escaped escapes s as html/template does in a textarea.
func escaped(s string) string {
	return strings.NewReplacer(`"`, "&#34;", "<", "&lt;", ">", "&gt;", "&", "&amp;", "'", "&#39;").Replace(s)
}

// TestWebFork walks POST /threads/{id}/fork.
func TestWebFork(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	op := e.browser()
	csrf := op.login("olga-token-for-tests")
	viewer := e.browser()
	vcsrf := viewer.login("vera-token-for-tests")
	var input string // the input checkpoint
	for s, err := range mustRunner(t, e).History(t.Context(), "r1") {
		if err != nil {
			t.Fatal(err)
		}
		input = s.Checkpoint
	}
	head, _ := e.headOf("r1")

	tests := []struct {
		name   string
		b      *browser
		path   string
		form   url.Values
		status int
		want   string
	}{
		{"viewer", viewer, "/threads/r1/fork", url.Values{"csrf": {vcsrf}, "checkpoint": {input}}, http.StatusForbidden, ""},
		{"no CSRF", op, "/threads/r1/fork", url.Values{"checkpoint": {input}}, http.StatusForbidden, ""},
		{"unknown thread", op, "/threads/nope/fork", url.Values{"csrf": {csrf}, "checkpoint": {input}}, http.StatusNotFound, ""},
		{"no checkpoint", op, "/threads/r1/fork", url.Values{"csrf": {csrf}}, http.StatusBadRequest, "which checkpoint"},
		{"unknown checkpoint", op, "/threads/r1/fork", url.Values{"csrf": {csrf}, "checkpoint": {"000000000999"}}, http.StatusNotFound, "no checkpoint"},
		{"bad JSON", op, "/threads/r1/fork", url.Values{"csrf": {csrf}, "checkpoint": {input}, "state": {`{"topic":`}}, http.StatusBadRequest, "must be a JSON object"},
		{"unknown field", op, "/threads/r1/fork", url.Values{"csrf": {csrf}, "checkpoint": {input}, "state": {`{"nope":1}`}}, http.StatusBadRequest, "no field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, page := tt.b.post(tt.path, tt.form)
			if res.StatusCode != tt.status || !strings.Contains(page, tt.want) {
				t.Fatalf("status %d, want %d with %q:\n%s", res.StatusCode, tt.status, tt.want, page)
			}
			if tt.status == http.StatusBadRequest && tt.form.Get("checkpoint") != "" && !strings.Contains(page, `<details class="fork" open>`) {
				t.Error("the refused fork's form is not open again")
			}
			if now, _ := e.headOf("r1"); now != head {
				t.Fatalf("a refused fork moved the head %s → %s", head, now)
			}
		})
	}

	// The page offers a fork from every checkpoint but the head.
	_, page := op.get("/threads/r1")
	if n := strings.Count(page, `class="edit-form fork-form"`); n != 1 || !strings.Contains(page, `name="checkpoint" value="`+input+`"`) {
		t.Fatalf("%d fork forms", n)
	}
	res, _ := op.post("/threads/r1/fork", url.Values{"csrf": {csrf}, "checkpoint": {input}, "state": {`{"topic":"Rust"}`}, "note": {"other topic"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/threads/r1?done=forked" {
		t.Fatalf("fork: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	now, st := e.headOf("r1")
	if now == head || st.Topic != "Rust" || st.Draft != "" {
		t.Fatalf("after the fork: %s %+v", now, st)
	}
	_, page = op.get(res.Header.Get("Location"))
	hist := page[strings.Index(page, `id="history"`):]
	first := hist[:strings.Index(hist, "</li>")]
	if !strings.Contains(page, `id="thread-message">Forked from checkpoint `+input+`: the thread now stands at checkpoint `+now) {
		t.Errorf("page after the fork lacks its message")
	}
	for _, want := range []string{"src-fork", "by <strong>olga</strong>", "other topic", `data-field="topic"`, "Rust"} {
		if !strings.Contains(first, want) {
			t.Errorf("the fork's checkpoint lacks %s:\n%s", want, first)
		}
	}
	// Resume runs write again from the forked input.
	if res, _ := op.post("/threads/r1/resume", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume: %d", res.StatusCode)
	}
	if _, st := e.headOf("r1"); st.Draft != "A post about Rust" {
		t.Fatalf("after the resume: %+v", st)
	}
}

func mustRunner(t *testing.T, e *env) weft.Runner {
	rn, ok := e.ib.Runner("review")
	if !ok {
		t.Fatal("no review runner")
	}
	return rn
}

// plainRunner is a Runner that cannot edit states: it hides the
// StateEditor of the runner it wraps.
type plainRunner struct{ weft.Runner }

// TestWebEditCannot: a workflow the server does not have, or whose runner
// is not a StateEditor: the page says why it offers no edit, and the
// routes refuse with 422, changing nothing.
func TestWebEditCannot(t *testing.T) {
	store := memstore.New()
	e := newEnvStore(t, store)
	e.start("review", "r1", Review{Topic: "Go"})
	head, _ := e.headOf("r1")
	var input string
	for s, err := range mustRunner(t, e).History(t.Context(), "r1") {
		if err != nil {
			t.Fatal(err)
		}
		input = s.Checkpoint
	}

	bare := newBareEnv(t, store)
	rn, _ := e.ib.Runner("review")
	plain := inbox.New(store, []weft.Runner{plainRunner{rn}})
	srv, err := New(plain, WithTokens(testTokens))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	wrapped := &env{t: t, store: store, ib: plain, srv: srv, ts: ts}

	for name, tt := range map[string]struct {
		e    *env
		want string
	}{
		"remote":            {bare, "does not have workflow"},
		"not a StateEditor": {wrapped, "does not implement weft.StateEditor"},
	} {
		t.Run(name, func(t *testing.T) {
			b := tt.e.browser()
			csrf := b.login("olga-token-for-tests")
			_, page := b.get("/threads/r1")
			if !strings.Contains(page, `id="edit-note-why"`) || !strings.Contains(page, tt.want) || strings.Contains(page, `id="edit-form"`) {
				t.Errorf("thread page does not say why it cannot edit:\n%s", page)
			}
			if !strings.Contains(page, `data-checkpoint="`+head+`"`) {
				t.Error("the history does not list the checkpoints")
			}
			for _, path := range []string{"/threads/r1/state", "/threads/r1/fork"} {
				res, page := b.post(path, url.Values{"csrf": {csrf}, "state": {`{"topic":"x"}`}, "checkpoint": {input}})
				if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, tt.want) {
					t.Errorf("%s: %d", path, res.StatusCode)
				}
			}
			if now, _ := e.headOf("r1"); now != head {
				t.Fatal("a refused edit moved the head")
			}
		})
	}
}

// TestWebAuditActions: the audit trail lists what people did by hand: an
// edit, a resume (with who resumed), a cancel of a thread that waited for
// no answer (which withdraws no question, and is audited all the same).
func TestWebAuditActions(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")
	e.hooks.failNext.Store(true)
	e.json("POST", "/v1/threads/r1/answers", "admin-token-for-tests",
		map[string]any{"answers": map[string]any{q: Verdict{Action: "approve"}}}, http.StatusOK, nil)
	e.hooks.failNext.Store(false)
	op := e.browser()
	csrf := op.login("olga-token-for-tests")
	if res, _ := op.post("/threads/r1/resume", url.Values{"csrf": {csrf}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("resume: %d", res.StatusCode)
	}
	_, page := op.get("/threads/r1")
	actions := page[strings.Index(page, `id="audit-actions"`):]
	actions = actions[:strings.Index(actions, "</ol>")]
	if !strings.Contains(actions, "<strong>olga</strong> resumed the thread") || !strings.Contains(actions, "via ui") {
		t.Errorf("the audit trail does not say who resumed:\n%s", actions)
	}
	if !strings.Contains(page, "resumed by <strong>olga</strong>") {
		t.Error("the history does not say who resumed")
	}

	// A stopped thread (edited: its question withdrawn by weft) cancelled
	// from the page: no question records it, its checkpoint does.
	e.start("review", "r2", Review{Topic: "Rust"})
	head, _ := e.headOf("r2")
	if res, _ := op.post("/threads/r2/state", url.Values{"csrf": {csrf}, "state": {`{"draft":"short"}`}, "checkpoint": {head}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", res.StatusCode)
	}
	if res, _ := op.post("/threads/r2/cancel", url.Values{"csrf": {csrf}, "reason": {"duplicate of r1"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: %d", res.StatusCode)
	}
	for _, en := range mustAudit(t, e, "r2") {
		if en.Author == "olga" {
			t.Fatalf("a question records the cancel: %+v", en)
		}
	}
	_, page = op.get("/threads/r2")
	actions = page[strings.Index(page, `id="audit-actions"`):]
	actions = actions[:strings.Index(actions, "</ol>")]
	for _, want := range []string{"<strong>olga</strong> edited the state", "<strong>olga</strong> cancelled the thread", "duplicate of r1"} {
		if !strings.Contains(actions, want) {
			t.Errorf("the audit trail lacks %q:\n%s", want, actions)
		}
	}
	if strings.Index(actions, "edited") > strings.Index(actions, "cancelled") {
		t.Error("the actions are not oldest first")
	}
	hist := page[strings.Index(page, `id="history"`):]
	if first := hist[:strings.Index(hist, "</li>")]; !strings.Contains(first, "src-cancel") || !strings.Contains(first, "by <strong>olga</strong>") {
		t.Errorf("the history's head is not the cancel:\n%s", first)
	}
}

func mustAudit(t *testing.T, e *env, thread string) []inbox.Entry {
	t.Helper()
	entries, err := e.ib.Audit(t.Context(), thread)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}
