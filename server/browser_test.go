package server

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// chromium returns the path of a Chromium or Chrome binary. Without one
// the browser tests are skipped, except under CI=true, where they fail.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WEFT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const how = "no Chromium found: install it (apt-get install -y chromium) or set WEFT_CHROMIUM to its path"
	if os.Getenv("CI") == "true" {
		t.Fatal(how)
	}
	t.Skip(how)
	return ""
}

// newBrowser starts a headless Chromium for one test, bounded by timeout.
func newBrowser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // tests may run as root, in containers
		chromedp.DisableGPU,
		chromedp.WindowSize(1200, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// TestBrowserInbox drives the web inbox in a real headless Chromium: log
// in, follow live updates, answer an enum question and an object question
// through the generated forms, and see that a principal without the role
// gets no form.
func TestBrowserInbox(t *testing.T) {
	ctx := newBrowser(t, 40*time.Second)
	e := newEnv(t)
	e.start("review", "r1", Review{Topic: "Go"})
	e.start("expense", "x1", Expense{Item: "taxi", Amount: 30})
	qReview, qExpense := e.pending("r1"), e.pending("x1")

	c := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(c("body")))
			t.Fatalf("%s: %v\npage:\n%s", step, err, html)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(c(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	eval := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return s
	}

	// Log in: the inbox sends to the login page and back.
	do("log in",
		chromedp.Navigate(e.ts.URL+"/inbox"),
		chromedp.WaitVisible(c("#token")),
		chromedp.SendKeys(c("#token"), "ann-token-for-tests"),
		chromedp.Submit(c("#login-form")),
		chromedp.WaitVisible(c("#questions")),
	)
	if n, at := text("#count"), eval("location.pathname"); n != "2" || at != "/inbox" {
		t.Fatalf("after login: %s questions at %s", n, at)
	}

	// Live: a new question appears and an answered one disappears, without
	// a reload (a marker set on the page survives).
	eval(`window.weftMarker = "kept"`)
	do("wait for the live stream", chromedp.WaitVisible(c("#live")))
	e.start("review", "r2", Review{Topic: "Live"})
	do("new question appears", chromedp.WaitVisible(c(`tr[data-thread="r2"]`)))
	q2 := e.pending("r2")
	e.json("POST", "/v1/threads/r2/answers", "admin-token-for-tests",
		map[string]any{"answers": map[string]any{q2: Verdict{Action: "reject"}}}, http.StatusOK, nil)
	do("answered question disappears", chromedp.WaitNotPresent(c(`tr[data-thread="r2"]`)))
	if marker, n := eval(`window.weftMarker`), text("#count"); marker != "kept" || n != "2" {
		t.Errorf("after the live update: marker %q, %s questions", marker, n)
	}

	// The enum question: its values are buttons.
	do("answer the enum question",
		chromedp.Click(c(`tr[data-thread="r1"] a`)),
		chromedp.WaitVisible(c("#answer-form")),
		chromedp.Click(c(`button[name="answer.action"][value='"approve"']`)),
		chromedp.WaitVisible(c("#answered")),
	)
	var snap snapshotJSON
	e.json("GET", "/v1/threads/r1", "vera-token-for-tests", nil, http.StatusOK, &snap)
	if st := snap.Values.(map[string]any); snap.Status != weft.StatusCompleted || st["decision"] != "approve" || st["done"] != true {
		t.Errorf("r1 after the answer: %s %v", snap.Status, st)
	}
	var audit []entryJSON
	e.json("GET", "/v1/threads/r1/audit", "vera-token-for-tests", nil, http.StatusOK, &audit)
	if audit[0].InterruptID != qReview || audit[0].Author != "ann" || audit[0].Channel != checkpoint.ChannelUI {
		t.Errorf("audit %+v", audit)
	}

	// The object question: a fieldset of every kind of input.
	do("answer the object question",
		chromedp.Navigate(e.ts.URL+questionURL("x1", qExpense)),
		chromedp.WaitVisible(c("#answer-form")),
		chromedp.Click(c(`input[name="answer.approve"][value="true"]`)),
		chromedp.SetValue(c(`input[name="answer.amount"]`), "27.5"),
		chromedp.SetValue(c(`input[name="answer.priority"]`), "2"),
		chromedp.SetValue(c(`select[name="answer.category"]`), `"travel"`),
		chromedp.SetValue(c(`select[name="answer.urgency"]`), `"high"`),
		chromedp.SendKeys(c(`textarea[name="answer.note"]`), "airport run"),
		chromedp.SendKeys(c(`textarea[name="answer.details.approver"]`), "ann"),
		chromedp.SendKeys(c(`textarea[name="answer.details.tags"]`), `["cab"]`),
		chromedp.Click(c("#answer-form button.primary")),
		chromedp.WaitVisible(c("#answered")),
	)
	e.json("GET", "/v1/threads/x1", "vera-token-for-tests", nil, http.StatusOK, &snap)
	st := snap.Values.(map[string]any)
	ap, _ := st["approval"].(map[string]any)
	if snap.Status != weft.StatusCompleted || st["paid"] != true || ap["amount"] != 27.5 || ap["priority"] != 2.0 ||
		ap["category"] != "travel" || ap["urgency"] != "high" || ap["note"] != "airport run" {
		t.Errorf("x1 after the answer: %s %v", snap.Status, st)
	}

	// Another principal, without the role the question is assigned to:
	// the question shows, the form does not.
	e.start("review", "r3", Review{Topic: "Roles"})
	q3 := e.pending("r3")
	do("log out and in as bob",
		chromedp.Navigate(e.ts.URL+"/inbox"),
		chromedp.Click(c(`form[action="/logout"] button`)),
		chromedp.WaitVisible(c("#token")),
		chromedp.SendKeys(c("#token"), "bob-token-for-tests"),
		chromedp.Submit(c("#login-form")),
		chromedp.WaitVisible(c(`tr[data-thread="r3"]`)),
		chromedp.Navigate(e.ts.URL+questionURL("r3", q3)),
		chromedp.WaitVisible(c("#no-form")),
	)
	if forms, reason := eval(`String(document.querySelectorAll("#answer-form").length)`), text("#no-form"); forms != "0" || !strings.Contains(reason, "assigned to editors") {
		t.Errorf("bob sees %s forms and %q", forms, reason)
	}
}
