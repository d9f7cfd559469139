package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/server"
)

// The test workflows' states and answers.

// Review is the state of the "review" workflow: a draft, a decision.
type Review struct {
	Topic    string `json:"topic"`
	Draft    string `json:"draft,omitempty"`
	Decision string `json:"decision,omitempty"`
	Done     bool   `json:"done,omitempty"`
}

// Verdict is an enum-typed answer: one of three actions.
type Verdict struct {
	Action string `json:"action" jsonschema:"enum=approve,enum=edit,enum=reject"`
}

// Expense is the state of the "expense" workflow.
type Expense struct {
	Item     string    `json:"item"`
	Amount   float64   `json:"amount"`
	Approval *Approval `json:"approval,omitempty"`
	Paid     bool      `json:"paid,omitempty"`
}

// Approval is an object answer with every kind of field.
type Approval struct {
	Approve  bool    `json:"approve"`
	Amount   float64 `json:"amount" jsonschema:"description=amount to reimburse"`
	Priority int     `json:"priority" jsonschema:"minimum=1,maximum=5"`
	Category string  `json:"category" jsonschema:"enum=travel,enum=food,enum=other"`
	Urgency  string  `json:"urgency" jsonschema:"enum=low,enum=high"`
	Note     string  `json:"note,omitempty"`
	Details  Details `json:"details"`
}

// Details is a nested object of Approval.
type Details struct {
	Approver string   `json:"approver"`
	Tags     []string `json:"tags,omitempty"`
}

// Memo asks for a sign-off on a document-like payload, then a
// confirmation.
type Memo struct {
	Decision  string `json:"decision,omitempty"`
	Confirmed bool   `json:"confirmed,omitempty"`
}

// SignOff is the answer of the memo: fields, then a decision.
type SignOff struct {
	Comment   string `json:"comment,omitempty"`
	Amount    int    `json:"amount"`
	Confident bool   `json:"confident"`
	Decision  string `json:"decision" jsonschema:"enum=approve,enum=reject"`
}

// compile compiles g with opts or fails the test.
func compile[S any](t *testing.T, g *weft.Graph[S], opts ...weft.CompileOption) weft.Runner {
	t.Helper()
	wf, err := g.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return wf.Runner()
}

// workflows returns the review, expense and memo workflows over opts.
func workflows(t *testing.T, opts ...weft.CompileOption) []weft.Runner {
	t.Helper()
	review := weft.NewGraph[Review]("review")
	review.AddNode("write", func(ctx context.Context, s Review) (Review, error) {
		s.Draft = "A post about " + s.Topic
		return s, nil
	})
	review.AddNode("approve", func(ctx context.Context, s Review) (Review, error) {
		v, err := weft.Interrupt[Verdict](ctx, map[string]string{"draft": s.Draft},
			weft.Reason("approve the draft?"), weft.Assign("editors"))
		if err != nil {
			return s, err
		}
		s.Decision = v.Action
		return s, nil
	})
	review.AddNode("publish", func(ctx context.Context, s Review) (Review, error) {
		s.Done = true
		return s, nil
	})
	review.AddEdge(weft.Start, "write")
	review.AddEdge("write", "approve")
	review.AddEdge("approve", "publish")
	review.AddEdge("publish", weft.End)

	expense := weft.NewGraph[Expense]("expense")
	expense.AddNode("approve", func(ctx context.Context, s Expense) (Expense, error) {
		a, err := weft.Interrupt[Approval](ctx, map[string]any{"item": s.Item, "amount": s.Amount},
			weft.Reason("reimburse this expense?"))
		if err != nil {
			return s, err
		}
		s.Approval = &a
		return s, nil
	})
	expense.AddNode("pay", func(ctx context.Context, s Expense) (Expense, error) {
		s.Paid = s.Approval != nil && s.Approval.Approve
		return s, nil
	})
	expense.AddEdge(weft.Start, "approve")
	expense.AddEdge("approve", "pay")
	expense.AddEdge("pay", weft.End)

	memo := weft.NewGraph[Memo]("memo")
	memo.AddNode("sign", func(ctx context.Context, s Memo) (Memo, error) {
		payload := map[string]any{
			"title": "Q3 plan: R&D <and> sales",
			"body": "The plan for the third quarter, in short: we hire two engineers & one designer, and we move the " +
				"launch to September.\n\nThe budget grows by 12% over Q2; the board asked for a review by the end of the month.",
			"owner":    map[string]any{"name": "Ann", "team": "editors", "ticket": strings.Repeat("X", 90)},
			"risks":    []string{"hiring takes longer", "the launch slips"},
			"amount":   1200,
			"approved": false,
		}
		v, err := weft.Interrupt[SignOff](ctx, payload, weft.Reason("sign off the memo?"),
			weft.Within(time.Hour, SignOff{Decision: "reject", Comment: "no answer in time"}))
		if err != nil {
			return s, err
		}
		s.Decision = v.Decision
		return s, nil
	})
	memo.AddNode("confirm", func(ctx context.Context, s Memo) (Memo, error) {
		ok, err := weft.Interrupt[bool](ctx, "really?", weft.Reason("confirm the decision?"), weft.Escalate(2*time.Hour, "admins"))
		if err != nil {
			return s, err
		}
		s.Confirmed = ok
		return s, nil
	})
	memo.AddEdge(weft.Start, "sign")
	memo.AddEdge("sign", "confirm")
	memo.AddEdge("confirm", weft.End)

	return []weft.Runner{compile(t, review, opts...), compile(t, expense, opts...), compile(t, memo, opts...)}
}

// The principals of the tests, by token.
var tokens = map[string]server.Principal{
	"admin-token-for-tests": {Name: "root", Roles: []string{server.RoleAdmin}},
	"ann-token-for-tests":   {Name: "ann", Roles: []string{server.RoleReviewer, "editors"}},
	"bob-token-for-tests":   {Name: "bob", Roles: []string{server.RoleReviewer, "sales"}},
	"vera-token-for-tests":  {Name: "vera", Roles: []string{server.RoleViewer, "editors"}},
	"olga-token-for-tests":  {Name: "olga", Roles: []string{server.RoleOperator}},
}

// env is a weft server over memstore with the test workflows, built as a
// user's program would build it.
type env struct {
	t     *testing.T
	ts    *httptest.Server
	store checkpoint.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store := memstore.New()
	feed := server.NewFeed()
	ib := inbox.New(store, workflows(t, weft.WithStore(store)), inbox.WithRunOptions(weft.WithObserver(feed)))
	srv, err := server.New(ib, server.WithFeed(feed), server.WithTokens(tokens))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(srv.CloseStreams) // first: Close waits for open streams
	return &env{t: t, ts: ts, store: store}
}

// json sends a JSON request as token, checks the status and decodes the
// body into out.
func (e *env) json(method, path, token string, body any, status int, out any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// start starts a thread of workflow as the admin; it runs until it asks.
func (e *env) start(workflow, thread string, input any) {
	e.t.Helper()
	e.json("POST", "/v1/workflows/"+workflow+"/threads", "admin-token-for-tests",
		map[string]any{"thread": thread, "input": input}, http.StatusOK, nil)
}

// pending returns the ID of the one question pending on thread.
func (e *env) pending(thread string) string {
	e.t.Helper()
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	e.json("GET", "/v1/inbox?thread="+url.QueryEscape(thread), "admin-token-for-tests", nil, http.StatusOK, &page)
	if len(page.Items) != 1 {
		e.t.Fatalf("thread %s: %d pending questions, want 1", thread, len(page.Items))
	}
	return page.Items[0].ID
}

// snapshot is the part of GET /v1/threads/{id} the tests read.
type snapshot struct {
	Status weft.Status    `json:"status"`
	Values map[string]any `json:"values"`
}

// auditEntry is the part of an entry of GET /v1/threads/{id}/audit the
// tests read.
type auditEntry struct {
	InterruptID string `json:"interrupt_id"`
	Author      string `json:"author"`
	Channel     string `json:"channel"`
}

// questionURL is the web page of question id of thread.
func questionURL(thread, id string) string {
	return "/inbox/" + url.PathEscape(thread) + "/" + url.PathEscape(id)
}

// threadPageURL is the web page of thread.
func threadPageURL(thread string) string { return "/threads/" + url.PathEscape(thread) }

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

// page is a headless Chromium tab of one test, with helpers that fail the
// test with the page's HTML when a step does not happen.
type page struct {
	t   *testing.T
	ctx context.Context
}

// newPage starts a headless Chromium for one test, bounded by timeout.
func newPage(t *testing.T, timeout time.Duration) *page {
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
	return &page{t: t, ctx: ctx}
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// do runs the actions of step.
func (p *page) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		html, _ := chromedp.Run(p.ctx, chromedp.OuterHTML(css("body")))
		p.t.Fatalf("%s: %v\npage:\n%s", step, err, html)
	}
}

// text is the text of the element sel, trimmed.
func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(css(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates a JavaScript expression whose value is a string.
func (p *page) eval(expr string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return s
}
