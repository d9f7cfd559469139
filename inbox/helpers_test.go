package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t0+d.
func (c *clock) Set(d time.Duration) {
	c.mu.Lock()
	c.t = t0.Add(d)
	c.mu.Unlock()
}

// Doc is the state of the approval workflow.
type Doc struct {
	Title  string
	Team   string
	Legal  bool
	Status string
	By     string
}

// Decision is a reviewer's answer.
type Decision struct {
	Action string `json:"action" jsonschema:"enum=approve,enum=edit,enum=reject"`
	Text   string `json:"text,omitempty"`
}

// Draft is the state of the refine workflow.
type Draft struct {
	Topic    string
	Text     string
	Feedback []string
	Status   string
}

// Turn is the state of the tools workflow.
type Turn struct {
	Calls   []string
	Results []string
}

// Approval is the answer to one tool call.
type Approval struct {
	Approve bool `json:"approve"`
}

// Quiet is the state of the lonely workflow.
type Quiet struct {
	Answer string
}

// workflows compiles the test workflows on store with the clock:
//
//   - approval: triage routes to review (assigned to the doc's team, falls
//     back to approve after an hour) or legal (assigned to lawyers,
//     escalated to general-counsel after two hours);
//   - refine: write and review in a loop until approved (no deadline);
//   - tools: a Map of tool calls, each asking ops for approval;
//   - lonely: a question escalated after a minute to nobody, with no
//     fallback, which deadlines leave alone.
func workflows(t testing.TB, store checkpoint.Store, now func() time.Time) []weft.Runner {
	t.Helper()
	opts := []weft.CompileOption{weft.WithStore(store), weft.WithClock(now)}

	ag := weft.NewGraph[Doc]("approval")
	ag.AddNode("triage", func(ctx context.Context, d Doc) (Doc, error) { return d, nil })
	ag.AddNode("review", func(ctx context.Context, d Doc) (Doc, error) {
		dec, err := weft.Interrupt[Decision](ctx, map[string]any{"title": d.Title},
			weft.Assign(d.Team), weft.Reason("review the doc"), weft.Within(time.Hour, Decision{Action: "approve"}))
		if err != nil {
			return d, err
		}
		d.Status = dec.Action
		return d, nil
	})
	ag.AddNode("legal", func(ctx context.Context, d Doc) (Doc, error) {
		dec, err := weft.Interrupt[Decision](ctx, map[string]any{"title": d.Title},
			weft.Assign("lawyers"), weft.Escalate(2*time.Hour, "general-counsel"))
		if err != nil {
			return d, err
		}
		d.Status = "legal:" + dec.Action
		return d, nil
	})
	ag.AddEdge(weft.Start, "triage")
	ag.AddConditionalEdges("triage", func(d Doc) string {
		if d.Legal {
			return "legal"
		}
		return "review"
	}, "review", "legal")
	ag.AddEdge("review", weft.End)
	ag.AddEdge("legal", weft.End)
	approval, err := ag.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}

	rg := weft.NewGraph[Draft]("refine")
	rg.AddNode("write", func(ctx context.Context, d Draft) (Draft, error) {
		d.Text = fmt.Sprintf("%s (draft %d)", d.Topic, len(d.Feedback)+1)
		return d, nil
	})
	rg.AddNode("review", func(ctx context.Context, d Draft) (Draft, error) {
		dec, err := weft.Interrupt[Decision](ctx, map[string]any{"text": d.Text}, weft.Assign("editors"))
		if err != nil {
			return d, err
		}
		d.Status = dec.Action
		if dec.Action == "edit" {
			d.Feedback = append(d.Feedback, dec.Text)
		}
		return d, nil
	})
	rg.AddEdge(weft.Start, "write").AddEdge("write", "review")
	rg.AddConditionalEdges("review", func(d Draft) string {
		if d.Status == "edit" {
			return "write"
		}
		return weft.End
	}, "write", weft.End)
	refine, err := rg.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}

	tg := weft.NewGraph[Turn]("tools")
	tg.AddMap("call", weft.Map(func(s Turn) []string { return s.Calls },
		func(ctx context.Context, s Turn, call string) (Turn, error) {
			a, err := weft.Interrupt[Approval](ctx, map[string]any{"call": call}, weft.Assign("ops"), weft.Key(call))
			if err != nil {
				return s, err
			}
			s.Results = append(s.Results, fmt.Sprintf("%s:%v", call, a.Approve))
			return s, nil
		}))
	tg.AddEdge(weft.Start, "call").AddEdge("call", weft.End)
	tg.Reduce("Results", weft.Append())
	tools, err := tg.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}

	lg := weft.NewGraph[Quiet]("lonely")
	lg.AddNode("ask", func(ctx context.Context, q Quiet) (Quiet, error) {
		s, err := weft.Interrupt[string](ctx, "anyone?", weft.Escalate(time.Minute))
		q.Answer = s
		return q, err
	})
	lg.AddEdge(weft.Start, "ask").AddEdge("ask", weft.End)
	lonely, err := lg.Compile(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return []weft.Runner{approval.Runner(), refine.Runner(), tools.Runner(), lonely.Runner()}
}

// env is an inbox over a store with the test workflows.
type env struct {
	t     testing.TB
	store checkpoint.Store
	clock *clock
	ib    *inbox.Inbox
}

func newEnv(t testing.TB, store checkpoint.Store, opts ...inbox.Option) *env {
	if store == nil {
		store = memstore.New()
	}
	c := newClock()
	ib := inbox.New(store, workflows(t, store, c.Now), append([]inbox.Option{inbox.WithClock(c.Now)}, opts...)...)
	return &env{t: t, store: store, clock: c, ib: ib}
}

// start runs a new thread and expects it to pause.
func (e *env) start(workflow, thread string, input any) *weft.Result[any] {
	e.t.Helper()
	r, ok := e.ib.Runner(workflow)
	if !ok {
		e.t.Fatalf("no workflow %q", workflow)
	}
	in, err := json.Marshal(input)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := r.Run(context.Background(), thread, in)
	if err != nil {
		e.t.Fatalf("run %s: %v", thread, err)
	}
	if !res.Paused() {
		e.t.Fatalf("run %s: status %s, want interrupted", thread, res.Status)
	}
	return res
}

// question returns the only pending question of thread.
func (e *env) question(thread string) inbox.Item {
	e.t.Helper()
	page, err := e.ib.List(context.Background(), inbox.Query{Thread: thread})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(page.Items) != 1 {
		e.t.Fatalf("thread %s has %d pending questions, want 1", thread, len(page.Items))
	}
	return page.Items[0]
}

// status returns the thread's status in the store.
func (e *env) status(thread string) weft.Status {
	e.t.Helper()
	row, err := e.store.Thread(context.Background(), thread)
	if err != nil {
		e.t.Fatal(err)
	}
	return row.Status
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }
