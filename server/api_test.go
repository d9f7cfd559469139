package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

func TestListWorkflows(t *testing.T) {
	e := newEnv(t)
	var wfs []workflowJSON
	e.json("GET", "/v1/workflows", "vera-token-for-tests", nil, http.StatusOK, &wfs)
	var names []string
	for _, w := range wfs {
		names = append(names, w.Name)
		if len(w.InputSchema) == 0 || w.InputSchema[0] != '{' {
			t.Errorf("workflow %s: input schema %s", w.Name, w.InputSchema)
		}
	}
	if got := strings.Join(names, ","); got != "expense,memo,pair,review,slow" {
		t.Errorf("workflows %s", got)
	}
}

func TestStartAnswerComplete(t *testing.T) {
	e := newEnv(t)
	res := e.start("review", "r1", Review{Topic: "Go"})
	if res.Status != weft.StatusInterrupted || len(res.Interrupts) != 1 {
		t.Fatalf("start: %+v", res)
	}
	q := res.Interrupts[0]
	if q.Node != "approve" || q.Reason != "approve the draft?" || len(q.Assignees) != 1 || q.Assignees[0] != "editors" {
		t.Errorf("question %+v", q)
	}
	if !strings.Contains(string(q.Schema), `"enum"`) {
		t.Errorf("schema %s", q.Schema)
	}

	var page pageJSON
	e.json("GET", "/v1/inbox", "vera-token-for-tests", nil, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID != q.ID || page.Items[0].Workflow != "review" || page.Items[0].Status != checkpoint.InterruptPending {
		t.Fatalf("inbox %+v", page)
	}
	var det detailJSON
	e.json("GET", "/v1/threads/r1/interrupts/"+q.ID, "vera-token-for-tests", nil, http.StatusOK, &det)
	if det.ID != q.ID || det.State == nil || det.State.Status != weft.StatusInterrupted {
		t.Fatalf("detail %+v", det)
	}

	var done resultJSON
	e.json("POST", "/v1/threads/r1/answers", "ann-token-for-tests",
		map[string]any{"answers": map[string]any{q.ID: Verdict{Action: "approve"}}}, http.StatusOK, &done)
	if done.Status != weft.StatusCompleted {
		t.Fatalf("answer: %+v", done)
	}
	state := done.State.(map[string]any)
	if state["decision"] != "approve" || state["done"] != true {
		t.Errorf("state %v", state)
	}

	var snap snapshotJSON
	e.json("GET", "/v1/threads/r1", "vera-token-for-tests", nil, http.StatusOK, &snap)
	if snap.Status != weft.StatusCompleted || snap.Workflow != "review" {
		t.Errorf("state %+v", snap)
	}
	var hist []snapshotJSON
	e.json("GET", "/v1/threads/r1/history", "vera-token-for-tests", nil, http.StatusOK, &hist)
	if len(hist) < 3 || hist[0].Checkpoint != snap.Checkpoint {
		t.Errorf("history: %d checkpoints, first %+v", len(hist), hist)
	}
	e.json("GET", "/v1/threads/r1/history?limit=1", "vera-token-for-tests", nil, http.StatusOK, &hist)
	if len(hist) != 1 {
		t.Errorf("history?limit=1: %d", len(hist))
	}
	var past snapshotJSON
	e.json("GET", "/v1/threads/r1?checkpoint="+hist[0].Parent, "vera-token-for-tests", nil, http.StatusOK, &past)
	if past.Checkpoint != hist[0].Parent {
		t.Errorf("state at %s: %+v", hist[0].Parent, past)
	}
	var steps []stepJSON
	e.json("GET", "/v1/threads/r1/steps", "vera-token-for-tests", nil, http.StatusOK, &steps)
	var nodes []string
	for _, s := range steps {
		nodes = append(nodes, s.Node+":"+string(s.Status))
	}
	if got := strings.Join(nodes, " "); got != "write:completed approve:interrupted approve:completed publish:completed" {
		t.Errorf("steps %s", got)
	}
	var audit []entryJSON
	e.json("GET", "/v1/threads/r1/audit", "vera-token-for-tests", nil, http.StatusOK, &audit)
	if len(audit) != 1 || audit[0].Author != "ann" || audit[0].Channel != checkpoint.ChannelAPI ||
		audit[0].Status != checkpoint.InterruptAnswered || string(audit[0].Answer) != `{"action":"approve"}` {
		t.Errorf("audit %+v", audit)
	}
	e.json("GET", "/v1/inbox", "vera-token-for-tests", nil, http.StatusOK, &page)
	if len(page.Items) != 0 {
		t.Errorf("inbox after the answer: %+v", page.Items)
	}
}

func TestStartGeneratesThreadID(t *testing.T) {
	e := newEnv(t)
	var res resultJSON
	e.json("POST", "/v1/workflows/review/threads", "olga-token-for-tests", `{"input": {"topic": "x"}}`, http.StatusOK, &res)
	if !strings.HasPrefix(res.Thread, "t-") || res.Status != weft.StatusInterrupted {
		t.Errorf("result %+v", res)
	}
	e.json("POST", "/v1/workflows/pair/threads", "olga-token-for-tests", "", http.StatusOK, &res)
	if res.Status != weft.StatusInterrupted || len(res.Interrupts) != 2 {
		t.Errorf("empty body: %+v", res)
	}
}

func TestStartErrors(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	e.apiErr("POST", "/v1/workflows/review/threads", "admin-token-for-tests", map[string]any{"thread": "r1"}, http.StatusConflict, CodeThreadPaused)
	e.apiErr("POST", "/v1/workflows/nope/threads", "admin-token-for-tests", map[string]any{"thread": "x"}, http.StatusNotFound, CodeUnknownWorkflow)
	e.apiErr("POST", "/v1/workflows/review/threads", "admin-token-for-tests", `{"thread": "r2", "input": {"nope": 1}}`, http.StatusBadRequest, CodeInvalidInput)
	e.apiErr("POST", "/v1/workflows/review/threads", "admin-token-for-tests", `{"thread": `, http.StatusBadRequest, CodeBadRequest)
	e.apiErr("POST", "/v1/workflows/review/threads", "admin-token-for-tests", `{"thread": "a", "extra": 1}`, http.StatusBadRequest, CodeBadRequest)
	e.apiErr("POST", "/v1/workflows/review/threads", "admin-token-for-tests", `{"thread": "a"} {}`, http.StatusBadRequest, CodeBadRequest)
	e.apiErr("POST", "/v1/workflows/review/threads", "admin-token-for-tests", `{"thread": "a\u0000b"}`, http.StatusBadRequest, CodeBadRequest)
	e.apiErr("POST", "/v1/workflows/review/threads", "admin-token-for-tests",
		map[string]any{"thread": strings.Repeat("x", 300)}, http.StatusBadRequest, CodeBadRequest)
}

func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t, WithMaxBody(100))
	big := fmt.Sprintf(`{"thread": "r1", "input": {"topic": %q}}`, strings.Repeat("x", 200))
	e.apiErr("POST", "/v1/workflows/review/threads", "admin-token-for-tests", big, http.StatusRequestEntityTooLarge, CodeTooLarge)
	newEnv(t).start("review", "r1", Review{Topic: "Go"}) // the default limit takes it
	e3 := newEnv(t, WithMaxBody(64))
	e3.start("review", "r1", Review{Topic: "Go"})
	q := e3.pending("r1")
	e3.apiErr("POST", "/v1/threads/r1/answers", "ann-token-for-tests",
		map[string]any{"answers": map[string]any{q: map[string]string{"action": strings.Repeat("a", 100)}}},
		http.StatusRequestEntityTooLarge, CodeTooLarge)
}

// pending returns the ID of the thread's only pending question.
func (e *env) pending(thread string) string {
	e.t.Helper()
	var page pageJSON
	e.json("GET", "/v1/inbox?thread="+thread, "admin-token-for-tests", nil, http.StatusOK, &page)
	if len(page.Items) != 1 {
		e.t.Fatalf("thread %s: %d pending questions, want 1", thread, len(page.Items))
	}
	return page.Items[0].ID
}

func TestAnswerErrors(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")
	answer := func(v any) map[string]any { return map[string]any{"answers": map[string]any{q: v}} }

	// Invalid: 400 with the schema's reason; the question stays pending.
	ej := e.apiErr("POST", "/v1/threads/r1/answers", "ann-token-for-tests", answer(map[string]string{"action": "maybe"}), http.StatusBadRequest, CodeInvalidAnswer)
	if !strings.Contains(ej.Error, "enum") && !strings.Contains(ej.Error, "maybe") {
		t.Errorf("invalid answer error does not say why: %s", ej.Error)
	}
	e.apiErr("POST", "/v1/threads/r1/answers", "ann-token-for-tests", answer("approve"), http.StatusBadRequest, CodeInvalidAnswer)
	if e.pending("r1") != q {
		t.Fatal("question no longer pending after invalid answers")
	}
	e.apiErr("POST", "/v1/threads/r1/answers", "ann-token-for-tests", `{"answers": {}}`, http.StatusBadRequest, CodeBadRequest)
	e.apiErr("POST", "/v1/threads/r1/answers", "ann-token-for-tests", `{"answers": [1]}`, http.StatusBadRequest, CodeBadRequest)
	e.apiErr("POST", "/v1/threads/r1/answers", "ann-token-for-tests", `not json`, http.StatusBadRequest, CodeBadRequest)

	// Unknown thread, unknown question, not an assignee.
	e.apiErr("POST", "/v1/threads/nope/answers", "ann-token-for-tests", answer(Verdict{Action: "approve"}), http.StatusNotFound, CodeNotFound)
	e.apiErr("POST", "/v1/threads/r1/answers", "ann-token-for-tests",
		map[string]any{"answers": map[string]any{"nope": 1}}, http.StatusNotFound, CodeUnknownQuestion)
	e.apiErr("GET", "/v1/threads/r1/interrupts/nope", "ann-token-for-tests", nil, http.StatusNotFound, CodeNotFound)
	ej = e.apiErr("POST", "/v1/threads/r1/answers", "bob-token-for-tests", answer(Verdict{Action: "approve"}), http.StatusForbidden, CodeNotAssignee)
	if !strings.Contains(ej.Error, "editors") {
		t.Errorf("not-assignee error: %s", ej.Error)
	}

	// Answered: a second answer conflicts, and the first stands.
	e.json("POST", "/v1/threads/r1/answers", "ann-token-for-tests", answer(Verdict{Action: "reject"}), http.StatusOK, nil)
	e.apiErr("POST", "/v1/threads/r1/answers", "ann-token-for-tests", answer(Verdict{Action: "approve"}), http.StatusConflict, CodeAlreadyAnswered)
	var snap snapshotJSON
	e.json("GET", "/v1/threads/r1", "ann-token-for-tests", nil, http.StatusOK, &snap)
	if snap.Values.(map[string]any)["decision"] != "reject" {
		t.Errorf("state %v", snap.Values)
	}
}

func TestAdminAnswersAnyQuestion(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")
	e.json("POST", "/v1/threads/r1/answers", "admin-token-for-tests",
		map[string]any{"answers": map[string]any{q: Verdict{Action: "approve"}}}, http.StatusOK, nil)
	var audit []entryJSON
	e.json("GET", "/v1/threads/r1/audit", "admin-token-for-tests", nil, http.StatusOK, &audit)
	if audit[0].Author != "root" {
		t.Errorf("audit %+v", audit)
	}
}

func TestConcurrentAnswersOneWins(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, _ := e.do("POST", "/v1/threads/r1/answers", "ann-token-for-tests",
				map[string]any{"answers": map[string]any{q: Verdict{Action: "approve"}}})
			codes[i] = res.StatusCode
		}()
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK, http.StatusAccepted: // 202: recorded, and the thread runs in another request
			ok++
		case http.StatusConflict:
		default:
			t.Errorf("status %d", c)
		}
	}
	if ok != 1 {
		t.Errorf("%d answers succeeded (%v), want 1", ok, codes)
	}
	var audit []entryJSON
	e.json("GET", "/v1/threads/r1/audit", "ann-token-for-tests", nil, http.StatusOK, &audit)
	if len(audit) != 1 || audit[0].Status != checkpoint.InterruptAnswered {
		t.Errorf("audit %+v", audit)
	}
}

func TestAnswerMany(t *testing.T) {
	e := newEnv(t)
	res := e.start("pair", "p1", nil)
	if len(res.Interrupts) != 2 {
		t.Fatalf("start: %+v", res)
	}
	answers := map[string]any{}
	for i, q := range res.Interrupts {
		answers[q.ID] = fmt.Sprintf("v%d-%s", i, q.Node)
	}
	var done resultJSON
	e.json("POST", "/v1/threads/p1/answers", "bob-token-for-tests", map[string]any{"answers": answers}, http.StatusOK, &done)
	st := done.State.(map[string]any)
	if done.Status != weft.StatusCompleted || st["a"] == nil || st["b"] == nil {
		t.Errorf("result %+v", done)
	}

	// One at a time: the first leaves the thread paused on the second.
	res = e.start("pair", "p2", nil)
	e.json("POST", "/v1/threads/p2/answers", "bob-token-for-tests",
		map[string]any{"answers": map[string]any{res.Interrupts[0].ID: "x"}}, http.StatusOK, &done)
	if done.Status != weft.StatusInterrupted || len(done.Interrupts) != 1 || done.Interrupts[0].ID != res.Interrupts[1].ID {
		t.Errorf("after one answer: %+v", done)
	}
	// All or none: an invalid one refuses both.
	res = e.start("pair", "p3", nil)
	e.apiErr("POST", "/v1/threads/p3/answers", "bob-token-for-tests",
		map[string]any{"answers": map[string]any{res.Interrupts[0].ID: "x", res.Interrupts[1].ID: 7}}, http.StatusBadRequest, CodeInvalidAnswer)
	var page pageJSON
	e.json("GET", "/v1/inbox?thread=p3", "bob-token-for-tests", nil, http.StatusOK, &page)
	if len(page.Items) != 2 {
		t.Errorf("after a refused pair: %d pending", len(page.Items))
	}
}

func TestStopAndResume(t *testing.T) {
	e := newEnv(t)
	done := make(chan resultJSON, 1)
	go func() {
		var res resultJSON
		e.json("POST", "/v1/workflows/slow/threads", "olga-token-for-tests", map[string]any{"thread": "s1"}, http.StatusOK, &res)
		done <- res
	}()
	select {
	case <-e.hooks.slowStart:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow node did not start")
	}
	e.apiErr("POST", "/v1/threads/s1/stop", "ann-token-for-tests", nil, http.StatusForbidden, CodeForbidden)
	var stop map[string]string
	e.json("POST", "/v1/threads/s1/stop", "olga-token-for-tests", nil, http.StatusAccepted, &stop)
	if stop["status"] != "stopping" {
		t.Errorf("stop %v", stop)
	}
	res := <-done
	if res.Status != weft.StatusStopped {
		t.Fatalf("stopped run: %+v", res)
	}
	e.apiErr("POST", "/v1/threads/s1/stop", "olga-token-for-tests", nil, http.StatusConflict, CodeNotRunning)
	e.json("POST", "/v1/threads/s1/resume", "olga-token-for-tests", nil, http.StatusOK, &res)
	if res.Status != weft.StatusCompleted {
		t.Errorf("resumed: %+v", res)
	}
	e.apiErr("POST", "/v1/threads/s1/resume", "olga-token-for-tests", `{}`, http.StatusConflict, CodeThreadCompleted)
	e.apiErr("POST", "/v1/threads/s1/resume", "olga-token-for-tests", `{"x": 1}`, http.StatusBadRequest, CodeBadRequest)
	e.apiErr("POST", "/v1/threads/nope/resume", "olga-token-for-tests", nil, http.StatusNotFound, CodeNotFound)
	e.apiErr("POST", "/v1/threads/nope/stop", "olga-token-for-tests", nil, http.StatusNotFound, CodeNotFound)

	// A paused thread that is stopped is cancelled; resuming it is refused
	// as such.
	e.start("review", "c1", Review{Topic: "Go"})
	e.json("POST", "/v1/threads/c1/stop", "olga-token-for-tests", nil, http.StatusAccepted, nil)
	e.apiErr("POST", "/v1/threads/c1/resume", "olga-token-for-tests", nil, http.StatusConflict, CodeThreadCancelled)
}

func TestFailedRunAfterAnswer(t *testing.T) {
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	q := e.pending("r1")
	e.hooks.failNext.Store(true)
	var res resultJSON
	e.json("POST", "/v1/threads/r1/answers", "ann-token-for-tests",
		map[string]any{"answers": map[string]any{q: Verdict{Action: "approve"}}}, http.StatusOK, &res)
	if res.Status != weft.StatusFailed || !strings.Contains(res.Error, "publishing failed") {
		t.Fatalf("result %+v", res)
	}
	if res.State.(map[string]any)["decision"] != "approve" {
		t.Errorf("state %v", res.State)
	}
	e.apiErr("POST", "/v1/threads/r1/answers", "ann-token-for-tests",
		map[string]any{"answers": map[string]any{q: Verdict{Action: "approve"}}}, http.StatusConflict, CodeAlreadyAnswered)
	e.hooks.failNext.Store(false)
	e.json("POST", "/v1/threads/r1/resume", "olga-token-for-tests", nil, http.StatusOK, &res)
	if res.Status != weft.StatusCompleted {
		t.Errorf("resumed: %+v", res)
	}
}

func TestInboxQuery(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		e.start("review", fmt.Sprintf("r%d", i), Review{Topic: "Go"})
	}
	e.start("expense", "x1", Expense{Item: "taxi", Amount: 30})
	e.start("pair", "p1", nil)
	count := func(query string) int {
		t.Helper()
		var page pageJSON
		e.json("GET", "/v1/inbox"+query, "vera-token-for-tests", nil, http.StatusOK, &page)
		return len(page.Items)
	}
	for query, want := range map[string]int{
		"":                                  8,
		"?workflow=review":                  5,
		"?workflow=pair&node=a":             1,
		"?node=approve":                     6,
		"?assignee=editors":                 5,
		"?assignee=nobody":                  0,
		"?assignee=nobody&assignee=editors": 5,
		"?thread=p1":                        2,
		"?older_than=1h":                    0,
		"?older_than=0s":                    8,
	} {
		if got := count(query); got != want {
			t.Errorf("inbox%s: %d questions, want %d", query, got, want)
		}
	}
	// Pages.
	var seen []string
	after := ""
	for range 10 {
		var page pageJSON
		e.json("GET", "/v1/inbox?limit=4&after="+after, "vera-token-for-tests", nil, http.StatusOK, &page)
		for _, it := range page.Items {
			seen = append(seen, it.ID)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(seen) != 8 {
		t.Errorf("paged through %d questions, want 8", len(seen))
	}
	for _, bad := range []string{"?limit=0", "?limit=x", "?limit=100000", "?older_than=soon", "?older_than=-1h", "?after=%21%21"} {
		e.apiErr("GET", "/v1/inbox"+bad, "vera-token-for-tests", nil, http.StatusBadRequest, CodeBadRequest)
	}
}

func TestNotFound(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/v1/threads/nope", "/v1/threads/nope/history", "/v1/threads/nope/steps", "/v1/threads/nope/audit", "/v1/threads/nope/events"} {
		e.apiErr("GET", path, "vera-token-for-tests", nil, http.StatusNotFound, CodeNotFound)
	}
	e.apiErr("GET", "/v1/nothing", "vera-token-for-tests", nil, http.StatusNotFound, CodeNotFound)
	e.start("review", "r1", Review{Topic: "Go"})
	e.apiErr("GET", "/v1/threads/r1?checkpoint=999999", "vera-token-for-tests", nil, http.StatusNotFound, CodeNotFound)
}

func TestErrorsAreJSON(t *testing.T) {
	e := newEnv(t)
	res, data := e.do("GET", "/v1/workflows", "", nil)
	if res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", res.Header.Get("Content-Type"))
	}
	var ej errorJSON
	if err := json.Unmarshal(data, &ej); err != nil || ej.Code != CodeUnauthorized || ej.Error == "" {
		t.Errorf("body %s", data)
	}
}

func TestThreadIDsWithSlashes(t *testing.T) {
	e := newEnv(t)
	// The API refuses to create such IDs (TestStartRefusesBadThreadIDs),
	// but other programs on the same store may have made them.
	const id = "team a/42?x"
	rn, _ := e.ib.Runner("review")
	if _, err := rn.Run(t.Context(), id, json.RawMessage(`{"topic": "Go"}`)); err != nil {
		t.Fatal(err)
	}
	esc := url.PathEscape(id)
	var snap snapshotJSON
	e.json("GET", "/v1/threads/"+esc, "vera-token-for-tests", nil, http.StatusOK, &snap)
	if snap.Thread != id {
		t.Errorf("thread %q", snap.Thread)
	}
	q := snap.Interrupts[0].ID
	b := e.browser()
	csrf := b.login("ann-token-for-tests")
	if _, page := b.get("/inbox"); !strings.Contains(page, `href="`+questionURL(id, q)+`"`) {
		t.Errorf("inbox lacks the link %s", questionURL(id, q))
	}
	res, _ := b.post(questionURL(id, q), url.Values{"csrf": {csrf}, "answer.action": {`"approve"`}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("answer: %d", res.StatusCode)
	}
	e.json("GET", "/v1/threads/"+esc, "vera-token-for-tests", nil, http.StatusOK, &snap)
	if snap.Status != weft.StatusCompleted {
		t.Errorf("status %s", snap.Status)
	}
}
