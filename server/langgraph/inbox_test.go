package langgraph_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/server"
	"github.com/weftgraph/weft/server/langgraph"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestInboxSeesAPIQuestions checks that questions asked through the
// LangGraph API are weft's like any others: the inbox lists them with
// their assignees, its audit shows who answered through the API, and
// deadlines answer them with their fallback, which the API then shows.
func TestInboxSeesAPIQuestions(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	clock := &fakeClock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	g := weft.NewGraph[Doc]("triage")
	g.AddNode("review", func(ctx context.Context, s Doc) (Doc, error) {
		d, err := weft.Interrupt[string](ctx, map[string]any{"title": "Review", "body": s.Topic},
			weft.Assign("editors"), weft.Within(time.Hour, "timeout"))
		if err != nil {
			return s, err
		}
		s.Decision = d
		return s, nil
	})
	g.AddEdge(weft.Start, "review")
	g.AddEdge("review", weft.End)
	wf, err := g.Compile(weft.WithStore(store), weft.WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(langgraph.New([]weft.Runner{langgraph.Runner(wf)}, store, langgraph.WithTokens(map[string]server.Principal{
		"ed": {Name: "ed", Roles: []string{server.RoleReviewer, "editors"}},
		"op": {Name: "op", Roles: []string{server.RoleOperator}},
		"wr": {Name: "wr", Roles: []string{server.RoleReviewer, "writers"}},
	})))
	defer srv.Close()
	ib := inbox.New(store, []weft.Runner{wf.Runner()}, inbox.WithClock(clock.now))

	as := func(token, method, path string, body any, want int, out any) {
		t.Helper()
		callAs(t, srv, token, method, path, body, want, out)
	}
	for _, id := range []string{"ib-1", "ib-2"} {
		as("op", "POST", "/threads", map[string]any{"thread_id": id}, 200, nil)
		as("op", "POST", "/threads/"+id+"/runs/wait", map[string]any{"assistant_id": "triage", "input": map[string]any{"topic": id}}, 200, nil)
	}
	page, err := ib.List(ctx, inbox.Query{Assignees: []string{"editors"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 {
		t.Fatalf("inbox = %+v", page.Items)
	}
	// The assignees hold: a writer may not answer, an editor may.
	as("wr", "POST", "/threads/ib-1/runs/wait", map[string]any{"assistant_id": "triage", "command": map[string]any{"resume": "ok"}}, 403, nil)
	var done Doc
	as("ed", "POST", "/threads/ib-1/runs/wait", map[string]any{"assistant_id": "triage", "command": map[string]any{"resume": "ok"}}, 200, &done)
	if done.Decision != "ok" {
		t.Fatalf("done = %+v", done)
	}
	audit, err := ib.Audit(ctx, "ib-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Author != "ed" || audit[0].Channel != checkpoint.ChannelAPI || string(audit[0].Answer) != `"ok"` {
		t.Fatalf("audit = %+v", audit)
	}
	// The other question's deadline passes: the inbox answers it with its
	// fallback, and the API shows the thread done.
	clock.advance(2 * time.Hour)
	if n, err := ib.FireDue(ctx); err != nil || n != 1 {
		t.Fatalf("FireDue = %d, %v", n, err)
	}
	var th struct {
		Status string `json:"status"`
		Values Doc    `json:"values"`
	}
	as("ed", "GET", "/threads/ib-2", nil, 200, &th)
	if th.Status != "idle" || th.Values.Decision != "timeout" {
		t.Fatalf("thread after the deadline = %+v", th)
	}
}
