package browsertest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftgraph/weft"
)

// TestBrowserInbox drives the web inbox in a real headless Chromium: log
// in, follow live updates, answer an enum question and an object question
// through the generated forms, and see that a principal without the role
// gets no form.
func TestBrowserInbox(t *testing.T) {
	p := newPage(t, 40*time.Second)
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	e.start("expense", "x1", Expense{Item: "taxi", Amount: 30})
	qReview, qExpense := e.pending("r1"), e.pending("x1")

	// Log in: the inbox sends to the login page and back.
	p.do("log in",
		chromedp.Navigate(e.ts.URL+"/inbox"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), "ann-token-for-tests"),
		chromedp.Submit(css("#login-form")),
		chromedp.WaitVisible(css("#questions")),
	)
	if n, at := p.text("#count"), p.eval("location.pathname"); n != "2" || at != "/inbox" {
		t.Fatalf("after login: %s questions at %s", n, at)
	}

	// Live: a new question appears and an answered one disappears, without
	// a reload (a marker set on the page survives).
	p.eval(`window.weftMarker = "kept"`)
	p.do("wait for the live stream", chromedp.WaitVisible(css("#live")))
	e.start("review", "r2", Review{Topic: "Live"})
	p.do("new question appears", chromedp.WaitVisible(css(`tr[data-thread="r2"]`)))
	q2 := e.pending("r2")
	e.json("POST", "/v1/threads/r2/answers", "admin-token-for-tests",
		map[string]any{"answers": map[string]any{q2: Verdict{Action: "reject"}}}, http.StatusOK, nil)
	p.do("answered question disappears", chromedp.WaitNotPresent(css(`tr[data-thread="r2"]`)))
	if marker, n := p.eval(`window.weftMarker`), p.text("#count"); marker != "kept" || n != "2" {
		t.Errorf("after the live update: marker %q, %s questions", marker, n)
	}

	// The enum question: its values are buttons.
	p.do("answer the enum question",
		chromedp.Click(css(`tr[data-thread="r1"] a`)),
		chromedp.WaitVisible(css("#answer-form")),
		chromedp.Click(css(`button[name="answer.action"][value='"approve"']`)),
		chromedp.WaitVisible(css("#answered")),
	)
	var snap snapshot
	e.json("GET", "/v1/threads/r1", "vera-token-for-tests", nil, http.StatusOK, &snap)
	if st := snap.Values; snap.Status != weft.StatusCompleted || st["decision"] != "approve" || st["done"] != true {
		t.Errorf("r1 after the answer: %s %v", snap.Status, st)
	}
	var audit []auditEntry
	e.json("GET", "/v1/threads/r1/audit", "vera-token-for-tests", nil, http.StatusOK, &audit)
	if audit[0].InterruptID != qReview || audit[0].Author != "ann" || audit[0].Channel != "ui" {
		t.Errorf("audit %+v", audit)
	}

	// The object question: a fieldset of every kind of input.
	p.do("answer the object question",
		chromedp.Navigate(e.ts.URL+questionURL("x1", qExpense)),
		chromedp.WaitVisible(css("#answer-form")),
		chromedp.Click(css(`input[name="answer.approve"][value="true"]`)),
		chromedp.SetValue(css(`input[name="answer.amount"]`), "27.5"),
		chromedp.SetValue(css(`input[name="answer.priority"]`), "2"),
		chromedp.SetValue(css(`select[name="answer.category"]`), `"travel"`),
		chromedp.SetValue(css(`select[name="answer.urgency"]`), `"high"`),
		chromedp.SendKeys(css(`textarea[name="answer.note"]`), "airport run"),
		chromedp.SendKeys(css(`textarea[name="answer.details.approver"]`), "ann"),
		chromedp.SendKeys(css(`textarea[name="answer.details.tags"]`), `["cab"]`),
		chromedp.Click(css("#answer-form button.primary")),
		chromedp.WaitVisible(css("#answered")),
	)
	e.json("GET", "/v1/threads/x1", "vera-token-for-tests", nil, http.StatusOK, &snap)
	st := snap.Values
	ap, _ := st["approval"].(map[string]any)
	if snap.Status != weft.StatusCompleted || st["paid"] != true || ap["amount"] != 27.5 || ap["priority"] != 2.0 ||
		ap["category"] != "travel" || ap["urgency"] != "high" || ap["note"] != "airport run" {
		t.Errorf("x1 after the answer: %s %v", snap.Status, st)
	}

	// Another principal, without the role the question is assigned to:
	// the question shows, the form does not.
	e.start("review", "r3", Review{Topic: "Roles"})
	q3 := e.pending("r3")
	p.do("log out and in as bob",
		chromedp.Navigate(e.ts.URL+"/inbox"),
		chromedp.Click(css(`form[action="/logout"] button`)),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), "bob-token-for-tests"),
		chromedp.Submit(css("#login-form")),
		chromedp.WaitVisible(css(`tr[data-thread="r3"]`)),
		chromedp.Navigate(e.ts.URL+questionURL("r3", q3)),
		chromedp.WaitVisible(css("#no-form")),
	)
	if forms, reason := p.eval(`String(document.querySelectorAll("#answer-form").length)`), p.text("#no-form"); forms != "0" || !strings.Contains(reason, "assigned to editors") {
		t.Errorf("bob sees %s forms and %q", forms, reason)
	}
}
