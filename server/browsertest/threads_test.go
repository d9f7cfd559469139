package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftgraph/weft"
)

// Task is the state of the "task" workflow, which the server does not
// have: another process registered it.
type Task struct {
	Name string
	OK   bool
}

// TestBrowserCancelThreadOfAnotherProcess cancels, from the thread page,
// a paused thread of a workflow the server does not have: the page says
// that a worker carries out stops and resumes, the cancel asks first and
// needs no worker, and its reason is recorded with the operator's name.
func TestBrowserCancelThreadOfAnotherProcess(t *testing.T) {
	p := newPage(t, 40*time.Second)
	e := newEnv(t)
	g := weft.NewGraph[Task]("task")
	g.AddNode("check", func(ctx context.Context, s Task) (Task, error) {
		ok, err := weft.Interrupt[bool](ctx, s.Name, weft.Reason("is the task done?"))
		s.OK = ok
		return s, err
	})
	g.AddEdge(weft.Start, "check").AddEdge("check", weft.End)
	wf, err := g.Compile(weft.WithStore(e.store)) // not the server's: only the store is shared
	if err != nil {
		t.Fatal(err)
	}
	if res, err := wf.Run(context.Background(), "t1", Task{Name: "t1"}); err != nil || !res.Paused() {
		t.Fatalf("Run: %+v %v", res, err)
	}

	p.do("log in and open the thread",
		chromedp.Navigate(e.ts.URL+threadPageURL("t1")),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), "olga-token-for-tests"),
		chromedp.Submit(css("#login-form")),
		chromedp.WaitVisible(css("#actions")),
	)
	if note := p.text("#remote-note"); !strings.Contains(note, "a worker that has the workflow carries it out") {
		t.Errorf("remote note %q", note)
	}
	// The cancel asks first; saying no sends nothing.
	p.eval(`window.asked = 0; window.confirm = function () { window.asked++; return false; }; ""`)
	p.do("cancel, decline",
		chromedp.SendKeys(css("#cancel-reason"), "opened twice"),
		chromedp.Click(css("#cancel-form button")),
	)
	var snap snapshot
	e.json("GET", "/v1/threads/t1", "vera-token-for-tests", nil, http.StatusOK, &snap)
	if asked := p.eval(`String(window.asked)`); asked != "1" || snap.Status != weft.StatusInterrupted {
		t.Fatalf("a declined cancel: asked %s times, thread %s", asked, snap.Status)
	}
	p.eval(`window.confirm = function () { return true; }; ""`)
	p.do("cancel, confirm",
		chromedp.Click(css("#cancel-form button")),
		chromedp.WaitVisible(css("#thread-message")),
	)
	if msg, st := p.text("#thread-message"), p.text("#thread-status"); msg != "Cancelled." || st != "cancelled" {
		t.Errorf("after the cancel: %q, status %q", msg, st)
	}
	var audit []auditEntry
	e.json("GET", "/v1/threads/t1/audit", "vera-token-for-tests", nil, http.StatusOK, &audit)
	if len(audit) != 1 || audit[0].Author != "olga" || audit[0].Channel != "ui" {
		t.Errorf("audit %+v", audit)
	}
}
