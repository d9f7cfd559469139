package browsertest

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserThreadHistory walks the thread page's history and state
// forms in Chromium, as an operator: the checkpoints with their diffs (a
// long value cut, whole one click away, never wider than the page), an
// edit of the state refused for bad JSON (what was typed kept), then
// saved, and a fork from the first checkpoint; at a desktop's width and
// at 390 px, with screenshots.
func TestBrowserThreadHistory(t *testing.T) {
	p := newPage(t, 90*time.Second)
	dir := screenshotDir(t)
	e := newEnv(t)
	long := "https://example.com/" + strings.Repeat("a-very-long-path-segment-", 12) + "end"
	e.start("review", "r1", Review{Topic: long})

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
	noSideScroll := func(page string) {
		t.Helper()
		if wide := p.eval(`String(document.documentElement.scrollWidth > window.innerWidth)`); wide != "false" {
			t.Errorf("%s scrolls sideways: %s", page, p.eval(`document.documentElement.scrollWidth + " > " + window.innerWidth`))
		}
	}
	count := func(sel string) string {
		t.Helper()
		return p.eval(`String(document.querySelectorAll(` + "`" + sel + "`" + `).length)`)
	}

	p.do("log in and open the thread",
		chromedp.Navigate(e.ts.URL+threadPageURL("r1")),
		chromedp.WaitVisible(css("#token")),
		chromedp.SendKeys(css("#token"), "olga-token-for-tests"),
		chromedp.Submit(css("#login-form")),
		chromedp.WaitVisible(css("#history")),
	)
	if n := count("#history li.checkpoint"); n != "2" {
		t.Fatalf("%s checkpoints listed, want 2", n)
	}
	if n := count(`#history li.checkpoint:first-child tr[data-field="draft"].chg-added`); n != "1" {
		t.Errorf("the write step's diff does not add the draft (%s rows)", n)
	}
	// The long topic is cut; one click shows it whole.
	if full := p.eval(`document.querySelector('#history tr[data-field="topic"] pre').textContent`); full != long {
		t.Errorf("the whole topic reads %q", full)
	}
	p.do("show the whole topic",
		chromedp.Click(css(`#history li.checkpoint:last-child tr[data-field="topic"] summary`)),
		chromedp.WaitVisible(css(`#history li.checkpoint:last-child tr[data-field="topic"] pre`)),
	)
	noSideScroll("the thread page with a long value open")
	shot("history")

	// Bad JSON: refused, the page says why, the text is kept.
	p.do("open the edit form",
		chromedp.Click(css("#edit-details summary")),
		chromedp.WaitVisible(css("#edit-text")),
	)
	if v := p.eval(`document.getElementById("edit-text").value`); !strings.Contains(v, `"draft": "A post about `) {
		t.Fatalf("the edit form starts with %q", v)
	}
	p.do("send bad JSON",
		chromedp.SetValue(css("#edit-text"), `{"draft": `),
		chromedp.Click(css("#edit-submit")),
		chromedp.WaitVisible(css("#thread-error")),
	)
	if msg := p.text("#thread-error"); !strings.Contains(msg, "must be a JSON object") {
		t.Errorf("bad JSON: %q", msg)
	}
	if v := p.eval(`document.getElementById("edit-text").value`); v != `{"draft": ` {
		t.Errorf("the form after a refusal holds %q", v)
	}
	if n := count("#history li.checkpoint"); n != "2" {
		t.Errorf("a refused edit wrote a checkpoint: %s listed", n)
	}
	shot("edit-refused")

	// A good edit: saved, by olga, with its diff.
	p.do("edit the draft",
		chromedp.SetValue(css("#edit-text"), `{"draft": "A shorter draft"}`),
		chromedp.SendKeys(css("#edit-note"), "too long"),
		chromedp.Click(css("#edit-submit")),
		chromedp.WaitVisible(css("#thread-message")),
	)
	if msg, st := p.text("#thread-message"), p.text("#thread-status"); !strings.HasPrefix(msg, "State saved as checkpoint") || st != "stopped" {
		t.Errorf("after the edit: %q, status %q", msg, st)
	}
	head := p.text("#history li.checkpoint:first-child")
	for _, want := range []string{"update", "by olga", "via ui", "too long", "draft", "changed", "A shorter draft"} {
		if !strings.Contains(head, want) {
			t.Errorf("the edit's checkpoint lacks %q: %s", want, head)
		}
	}
	if acts := p.text("#audit-actions"); !strings.Contains(acts, "olga edited the state") {
		t.Errorf("audit actions: %s", acts)
	}
	shot("edited")

	// Fork from the first checkpoint, with a new topic.
	// (The message of the edit goes: the one to wait for is the fork's.)
	p.eval(`window.confirm = function () { return true; }; document.getElementById("thread-message").remove(); ""`)
	p.do("fork from the input",
		chromedp.Click(css("#history li.checkpoint:last-child details.fork summary")),
		chromedp.WaitVisible(css("#history li.checkpoint:last-child .fork-form textarea")),
		chromedp.SetValue(css("#history li.checkpoint:last-child .fork-form textarea"), `{"topic": "Rust"}`),
		chromedp.Click(css("#history li.checkpoint:last-child .fork-form button")),
		chromedp.WaitVisible(css("#thread-message")),
	)
	if msg := p.text("#thread-message"); !strings.HasPrefix(msg, "Forked from checkpoint") {
		t.Errorf("after the fork: %q", msg)
	}
	if head := p.text("#history li.checkpoint:first-child"); !strings.Contains(head, "fork") || !strings.Contains(head, "by olga") || !strings.Contains(head, "Rust") {
		t.Errorf("the fork's checkpoint: %s", head)
	}
	var snap snapshot
	e.json("GET", "/v1/threads/r1", "vera-token-for-tests", nil, http.StatusOK, &snap)
	if snap.Values["topic"] != "Rust" || snap.Values["draft"] != nil {
		t.Errorf("the forked state: %v", snap.Values)
	}
	noSideScroll("the thread page after the fork")
	shot("forked")

	// On a phone: the history and the forms fit.
	p.do("narrow", chromedp.EmulateViewport(390, 844))
	p.do("thread page at 390px",
		chromedp.Navigate(e.ts.URL+threadPageURL("r1")),
		chromedp.WaitVisible(css("#history")),
		chromedp.Click(css(`#history li.checkpoint:last-child tr[data-field="topic"] summary`)),
		chromedp.Click(css("#edit-details summary")),
		chromedp.Click(css("#history li.checkpoint:nth-child(2) details.fork summary")),
	)
	noSideScroll("the thread page at 390px")
	shot("history-390")
	// The history alone, and the edit form alone, to look at closely.
	for name, sel := range map[string]string{"history-390-list": "#history", "edit-390-form": "#edit-state"} {
		png, err := chromedp.Run(p.ctx, chromedp.Screenshot(css(sel)))
		if err != nil {
			t.Fatalf("screenshot of %s: %v", sel, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshots in %s", dir)
}
