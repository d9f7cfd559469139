package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotDir is where the browser tests save screenshots: the
// directory in WEFT_SCREENSHOTS, or a temporary one.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("WEFT_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestBrowserPages visits the thread page, the threads page on a phone's
// width and a question with a document payload in Chromium, checks that
// nothing scrolls sideways and that a destructive choice asks first, and
// saves screenshots.
func TestBrowserPages(t *testing.T) {
	p := newPage(t, 60*time.Second)
	dir := screenshotDir(t)
	e := newEnv(t)
	e.start("memo", "memo-thread-with-a-rather-long-identifier-0123456789abcdef", Memo{})
	e.start("review", "r1", Review{Topic: "Go"})
	e.start("expense", "x1", Expense{Item: "taxi", Amount: 30})
	memo := "memo-thread-with-a-rather-long-identifier-0123456789abcdef"
	qMemo := e.pending(memo)

	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// noSideScroll: the page is no wider than the window.
	noSideScroll := func(page string) {
		t.Helper()
		wide, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if wide {
			t.Errorf("%s scrolls sideways: %s", page, p.eval(`document.documentElement.scrollWidth + " > " + window.innerWidth`))
		}
	}

	p.do("log in",
		chromedp.Navigate(e.ts.URL+"/threads"),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), "admin-token-for-tests"),
		chromedp.Submit(css("#login-form")),
		chromedp.WaitVisible(css("#threads")),
	)

	// The thread page, at a desktop's width.
	p.do("thread page",
		chromedp.Click(css(`tr[data-thread="`+memo+`"] a`)),
		chromedp.WaitVisible(css("#graph-nodes")),
	)
	if mark := p.eval(`document.querySelector('[data-node="sign"]').dataset.mark || ""`); mark != "waiting" {
		t.Errorf("node sign marked %q", mark)
	}
	if txt := p.eval(`document.getElementById("mermaid").textContent`); !strings.HasPrefix(txt, "flowchart TD") {
		t.Errorf("mermaid text %q", txt)
	}
	if n := p.eval(`String(document.querySelectorAll("#timeline li.step").length)`); n == "0" {
		t.Error("no steps in the timeline")
	}
	shot("thread")

	// The threads page and the thread page on a phone.
	p.do("narrow", chromedp.EmulateViewport(390, 844))
	p.do("threads page at 390px", chromedp.Navigate(e.ts.URL+"/threads"), chromedp.WaitVisible(css("#threads")))
	noSideScroll("the threads page")
	shot("threads-390")
	p.do("thread page at 390px", chromedp.Navigate(e.ts.URL+threadPageURL(memo)), chromedp.WaitVisible(css("#graph-nodes")))
	noSideScroll("the thread page")
	shot("thread-390")
	p.do("inbox at 390px", chromedp.Navigate(e.ts.URL+"/inbox"), chromedp.WaitVisible(css("#questions")))
	noSideScroll("the inbox")
	shot("inbox-390")

	// The question with a document payload.
	p.do("question page at 390px",
		chromedp.Navigate(e.ts.URL+questionURL(memo, qMemo)),
		chromedp.WaitVisible(css("#payload-doc")),
	)
	noSideScroll("the question page")
	if body := p.eval(`document.getElementById("payload-doc").textContent`); !strings.Contains(body, "R&D <and> sales") || strings.Contains(body, `\u0026`) {
		t.Errorf("payload reads %q", body)
	}
	if v := p.eval(`document.querySelector('input[name="answer.amount"]').value`); v != "1200" {
		t.Errorf("amount starts at %q, want the payload's 1200", v)
	}
	shot("question-390")

	// Reject asks first (its inline confirm runs under the CSP); saying
	// no sends nothing.
	p.eval(`window.asked = 0; window.confirm = function () { window.asked++; return false; }; ""`)
	p.do("press reject, decline",
		chromedp.Click(css(`input[name="answer.confident"][value="false"]`)),
		chromedp.Click(css(`button[name="answer.decision"][value='"reject"']`)),
	)
	if asked := p.eval(`String(window.asked)`); asked != "1" {
		t.Errorf("reject asked %s times", asked)
	}
	if e.pending(memo) != qMemo {
		t.Fatal("a declined reject answered the question")
	}
	// Approve: the page says what happened and links the next question.
	p.do("approve",
		chromedp.Click(css(`button[name="answer.decision"][value='"approve"']`)),
		chromedp.WaitVisible(css("#outcome")),
	)
	if st := p.eval(`document.getElementById("outcome-status").textContent`); st != "interrupted" {
		t.Errorf("outcome status %q", st)
	}
	if n := p.eval(`String(document.querySelectorAll("#next-questions a").length)`); n != "1" {
		t.Errorf("%s next questions", n)
	}
	noSideScroll("the page after the answer")
	shot("answered-390")

	// A refused answer: the error next to its field, what was typed kept
	// (the browser's own checks are off, to reach the server's).
	p.do("refused answer",
		chromedp.Navigate(e.ts.URL+questionURL("x1", e.pending("x1"))),
		chromedp.WaitVisible(css("#answer-form")),
	)
	p.eval(`document.getElementById("answer-form").noValidate = true; ""`)
	p.do("send a priority out of range",
		chromedp.SetValue(css(`input[name="answer.priority"]`), "9"),
		chromedp.SendKeys(css(`textarea[name="answer.note"]`), "keep me"),
		chromedp.Click(css(`input[name="answer.approve"][value="true"]`)),
		chromedp.SetValue(css(`select[name="answer.category"]`), `"food"`),
		chromedp.SetValue(css(`select[name="answer.urgency"]`), `"low"`),
		chromedp.SendKeys(css(`textarea[name="answer.details.approver"]`), "root"),
		chromedp.Click(css("#answer-form button.primary")),
		chromedp.WaitVisible(css(`[data-error-for="answer.priority"]`)),
	)
	if note := p.eval(`document.querySelector('textarea[name="answer.note"]').value`); note != "keep me" {
		t.Errorf("the note after a refusal: %q", note)
	}
	noSideScroll("the refused answer")
	shot("refused-390")

	p.do("a missing page", chromedp.Navigate(e.ts.URL+"/no/such/page"), chromedp.WaitVisible(css("#error-message")))
	shot("notfound-390")
	t.Logf("screenshots in %s", dir)
}
