package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
)

// Test workflows.

// Review is the state of the "review" workflow: a draft, a decision.
type Review struct {
	Topic    string `json:"topic"`
	Draft    string `json:"draft,omitempty"`
	Decision string `json:"decision,omitempty"`
	Comment  string `json:"comment,omitempty"`
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

// Pair asks two questions at once, from parallel branches.
type Pair struct {
	A string `json:"a,omitempty"`
	B string `json:"b,omitempty"`
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

// Slow has a node that blocks until it is stopped, the first time.
type Slow struct {
	Runs int `json:"runs"`
}

// testHooks lets tests watch the workflows.
type testHooks struct {
	published chan time.Time // when "publish" started, if someone listens
	slowStart chan string
	blocked   atomic.Bool
	failNext  atomic.Bool
}

func newWorkflows(t testing.TB, store checkpoint.Store, h *testHooks, opts ...weft.CompileOption) []weft.Runner {
	t.Helper()
	opts = append([]weft.CompileOption{weft.WithStore(store)}, opts...)

	g := weft.NewGraph[Review]("review")
	g.AddNode("write", func(ctx context.Context, s Review) (Review, error) {
		s.Draft = "A post about " + s.Topic
		return s, nil
	})
	g.AddNode("approve", func(ctx context.Context, s Review) (Review, error) {
		v, err := weft.Interrupt[Verdict](ctx, map[string]string{"draft": s.Draft},
			weft.Reason("approve the draft?"), weft.Assign("editors"))
		if err != nil {
			return s, err
		}
		s.Decision = v.Action
		return s, nil
	})
	g.AddNode("publish", func(ctx context.Context, s Review) (Review, error) {
		if h != nil {
			select {
			case h.published <- time.Now():
			default:
			}
		}
		if h != nil && h.failNext.Load() {
			return s, errors.New("publishing failed")
		}
		s.Done = true
		return s, nil
	})
	g.AddEdge(weft.Start, "write")
	g.AddEdge("write", "approve")
	g.AddEdge("approve", "publish")
	g.AddEdge("publish", weft.End)
	review, err := g.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}

	ge := weft.NewGraph[Expense]("expense")
	ge.AddNode("approve", func(ctx context.Context, s Expense) (Expense, error) {
		a, err := weft.Interrupt[Approval](ctx, map[string]any{"item": s.Item, "amount": s.Amount},
			weft.Reason("reimburse this expense?"))
		if err != nil {
			return s, err
		}
		s.Approval = &a
		return s, nil
	})
	ge.AddNode("pay", func(ctx context.Context, s Expense) (Expense, error) {
		s.Paid = s.Approval != nil && s.Approval.Approve
		return s, nil
	})
	ge.AddEdge(weft.Start, "approve")
	ge.AddEdge("approve", "pay")
	ge.AddEdge("pay", weft.End)
	expense, err := ge.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}

	gp := weft.NewGraph[Pair]("pair")
	gp.AddNode("a", func(ctx context.Context, s Pair) (Pair, error) {
		v, err := weft.Interrupt[string](ctx, "first?")
		if err != nil {
			return s, err
		}
		s.A = v
		return s, nil
	})
	gp.AddNode("b", func(ctx context.Context, s Pair) (Pair, error) {
		v, err := weft.Interrupt[string](ctx, "second?")
		if err != nil {
			return s, err
		}
		s.B = v
		return s, nil
	})
	gp.AddEdge(weft.Start, "a")
	gp.AddEdge(weft.Start, "b")
	gp.AddEdge("a", weft.End)
	gp.AddEdge("b", weft.End)
	pair, err := gp.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}

	gs := weft.NewGraph[Slow]("slow")
	gs.AddNode("work", func(ctx context.Context, s Slow) (Slow, error) {
		s.Runs++
		if h != nil && h.blocked.CompareAndSwap(false, true) {
			h.slowStart <- "work"
			<-ctx.Done()
			return s, ctx.Err()
		}
		return s, nil
	})
	gs.AddEdge(weft.Start, "work")
	gs.AddEdge("work", weft.End)
	slow, err := gs.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}
	gm := weft.NewGraph[Memo]("memo")
	gm.AddNode("sign", func(ctx context.Context, s Memo) (Memo, error) {
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
	gm.AddNode("confirm", func(ctx context.Context, s Memo) (Memo, error) {
		ok, err := weft.Interrupt[bool](ctx, "really?", weft.Reason("confirm the decision?"), weft.Escalate(2*time.Hour, "admins"))
		if err != nil {
			return s, err
		}
		s.Confirmed = ok
		return s, nil
	})
	gm.AddEdge(weft.Start, "sign")
	gm.AddEdge("sign", "confirm")
	gm.AddEdge("confirm", weft.End)
	memo, err := gm.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return []weft.Runner{review.Runner(), expense.Runner(), pair.Runner(), slow.Runner(), memo.Runner()}
}

// The principals of the tests, by token.
var testTokens = map[string]Principal{
	"admin-token-for-tests":  {Name: "root", Roles: []string{RoleAdmin}},
	"ann-token-for-tests":    {Name: "ann", Roles: []string{RoleReviewer, "editors"}},
	"bob-token-for-tests":    {Name: "bob", Roles: []string{RoleReviewer, "sales"}},
	"olga-token-for-tests":   {Name: "olga", Roles: []string{RoleOperator}},
	"vera-token-for-tests":   {Name: "vera", Roles: []string{RoleViewer, "editors"}},
	"nobody-token-for-tests": {Name: "nobody", Roles: []string{"editors"}},
}

// env is a server over memstore with the test workflows.
type env struct {
	t     testing.TB
	store checkpoint.Store
	feed  *Feed
	ib    *inbox.Inbox
	srv   *Server
	ts    *httptest.Server
	hooks *testHooks
}

func newEnv(t testing.TB, opts ...Option) *env {
	t.Helper()
	return newEnvStore(t, memstore.New(), opts...)
}

func newEnvStore(t testing.TB, store checkpoint.Store, opts ...Option) *env {
	t.Helper()
	hooks := &testHooks{slowStart: make(chan string, 1), published: make(chan time.Time, 1)}
	feed := NewFeed()
	runners := newWorkflows(t, store, hooks)
	ib := inbox.New(store, runners, inbox.WithRunOptions(weft.WithObserver(feed)))
	srv, err := New(ib, append([]Option{WithFeed(feed), WithTokens(testTokens)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(srv.CloseStreams) // first: Close waits for open streams
	return &env{t: t, store: store, feed: feed, ib: ib, srv: srv, ts: ts, hooks: hooks}
}

// do sends a JSON request and returns the response and its body.
func (e *env) do(method, path, token string, body any) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
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
	return res, data
}

// json sends a request, checks the status and decodes the body into out.
func (e *env) json(method, path, token string, body any, status int, out any) {
	e.t.Helper()
	res, data := e.do(method, path, token, body)
	if res.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

// start starts a thread of workflow as the admin.
func (e *env) start(workflow, thread string, input any) resultJSON {
	e.t.Helper()
	var res resultJSON
	e.json("POST", "/v1/workflows/"+workflow+"/threads", "admin-token-for-tests",
		map[string]any{"thread": thread, "input": input}, http.StatusOK, &res)
	return res
}

// apiErr decodes an error response and checks its status and code.
func (e *env) apiErr(method, path, token string, body any, status int, code string) errorJSON {
	e.t.Helper()
	res, data := e.do(method, path, token, body)
	var ej errorJSON
	if err := json.Unmarshal(data, &ej); err != nil {
		e.t.Fatalf("%s %s: status %d, body not JSON: %s", method, path, res.StatusCode, data)
	}
	if res.StatusCode != status || ej.Code != code {
		e.t.Fatalf("%s %s: %d %q, want %d %q: %s", method, path, res.StatusCode, ej.Code, status, code, ej.Error)
	}
	return ej
}

// browser is an HTTP client with cookies, for the web inbox.
type browser struct {
	e *env
	c *http.Client
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.ts.Client()
	cc := *c
	cc.Jar = jar
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{e: e, c: &cc}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.e.t.Helper()
	res, err := b.c.Get(b.e.ts.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, string(data)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	res, err := b.c.PostForm(b.e.ts.URL+path, form)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, string(data)
}

func csrfOf(t testing.TB, html string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", html)
	}
	return m[1]
}

// login logs the browser in with token and returns the CSRF token of its
// session.
func (b *browser) login(token string) string {
	b.e.t.Helper()
	_, page := b.get("/login")
	res, body := b.post("/login", url.Values{"csrf": {csrfOf(b.e.t, page)}, "token": {token}, "next": {"/inbox"}})
	if res.StatusCode != http.StatusSeeOther {
		b.e.t.Fatalf("login: status %d: %s", res.StatusCode, body)
	}
	res, page = b.get("/inbox")
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusForbidden {
		b.e.t.Fatalf("inbox after login: status %d", res.StatusCode)
	}
	return csrfOf(b.e.t, page)
}

// session gives the browser a session of token without the login form
// (which refuses principals without a built-in role) and returns its CSRF
// token.
func (b *browser) session(token string) string {
	b.e.t.Helper()
	rec := httptest.NewRecorder()
	if err := b.e.srv.setSession(rec, httptest.NewRequest("POST", "/login", nil), token); err != nil {
		b.e.t.Fatal(err)
	}
	u, err := url.Parse(b.e.ts.URL)
	if err != nil {
		b.e.t.Fatal(err)
	}
	b.c.Jar.SetCookies(u, rec.Result().Cookies())
	_, page := b.get("/inbox")
	return csrfOf(b.e.t, page)
}
