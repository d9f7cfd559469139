package demo_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/internal/demo"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t       *testing.T
	store   checkpoint.Store
	clock   *clock
	runners []weft.Runner
	ib      *inbox.Inbox
}

func newEnv(t *testing.T) *env {
	store := memstore.New()
	c := &clock{t: time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)}
	runners, err := demo.Workflows(store, weft.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, store: store, clock: c, runners: runners, ib: inbox.New(store, runners, inbox.WithClock(c.Now))}
}

func (e *env) pending(thread string) []inbox.Item {
	e.t.Helper()
	page, err := e.ib.List(context.Background(), inbox.Query{Thread: thread})
	if err != nil {
		e.t.Fatal(err)
	}
	return page.Items
}

func (e *env) answer(thread, id, value string) *weft.Result[any] {
	e.t.Helper()
	res, err := e.ib.Answer(context.Background(), thread, id, json.RawMessage(value), inbox.Author{Name: "tester"})
	if err != nil {
		e.t.Fatalf("answer %s %s: %v", thread, value, err)
	}
	return res
}

func TestWorkflows(t *testing.T) {
	e := newEnv(t)
	var names []string
	for _, r := range e.runners {
		names = append(names, r.Name())
	}
	if got := strings.Join(names, " "); got != "demo-approval demo-refine demo-refund demo-agent demo-long" {
		t.Errorf("workflows %s", got)
	}
	if _, err := demo.Workflows(nil); err == nil {
		t.Error("Workflows without a store")
	}
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	started, err := demo.Seed(ctx, e.runners)
	if err != nil {
		t.Fatal(err)
	}
	want := "post-1 post-2 essay-1 refund-small-1 refund-large-1 agent-1"
	if got := strings.Join(started, " "); got != want {
		t.Errorf("started %s, want %s", got, want)
	}
	page, err := e.ib.List(ctx, inbox.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 8 { // the agent asks three questions
		t.Errorf("%d questions in the inbox, want 8", len(page.Items))
	}
	// Seeding again starts nothing while the seeded threads wait...
	if again, err := demo.Seed(ctx, e.runners); err != nil || len(again) != 0 {
		t.Errorf("second seed: %v %v", again, err)
	}
	// ... and replaces those that were answered.
	e.answer("post-1", e.pending("post-1")[0].ID, `{"action":"approve"}`)
	again, err := demo.Seed(ctx, e.runners)
	if err != nil || strings.Join(again, " ") != "post-3" {
		t.Errorf("third seed: %v %v", again, err)
	}
}

func TestApproval(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r, _ := e.ib.Runner(demo.Approval)
	for _, tc := range []struct {
		thread, answer, status, body string
		url                          bool
	}{
		{"a1", `{"action":"approve"}`, "approved", "", true},
		{"a2", `{"action":"edit","text":"Shorter."}`, "edited", "Shorter.", true},
		{"a3", `{"action":"reject","text":"off topic"}`, "rejected", "", false},
	} {
		if _, err := r.Run(ctx, tc.thread, json.RawMessage(`{"Title":"Hello World"}`)); err != nil {
			t.Fatal(err)
		}
		q := e.pending(tc.thread)
		if len(q) != 1 || !slices.Equal(q[0].Assignees, []string{"editors"}) {
			t.Fatalf("questions %+v", q)
		}
		if _, err := e.ib.Answer(ctx, tc.thread, q[0].ID, json.RawMessage(`{"action":"publish"}`), inbox.Author{}); err == nil {
			t.Error("an action outside the enum was accepted")
		}
		res := e.answer(tc.thread, q[0].ID, tc.answer)
		p := res.State.(demo.Post)
		if res.Status != weft.StatusCompleted || p.Status != tc.status || (p.URL != "") != tc.url ||
			(tc.body != "" && p.Body != tc.body) {
			t.Errorf("%s: %+v", tc.thread, p)
		}
		if tc.url && p.URL != "https://blog.example.com/hello-world" {
			t.Errorf("url %s", p.URL)
		}
	}
}

func TestRefine(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r, _ := e.ib.Runner(demo.Refine)
	if _, err := r.Run(ctx, "e1", json.RawMessage(`{"Topic":"testing"}`)); err != nil {
		t.Fatal(err)
	}
	e.answer("e1", e.pending("e1")[0].ID, `{"action":"edit","text":"add examples"}`)
	e.answer("e1", e.pending("e1")[0].ID, `{"action":"edit","text":"shorter"}`)
	res := e.answer("e1", e.pending("e1")[0].ID, `{"action":"approve"}`)
	es := res.State.(demo.Essay)
	if res.Status != weft.StatusCompleted || es.Version != 3 || es.Status != "approved" ||
		!strings.Contains(es.Draft, "add examples; shorter") {
		t.Errorf("essay %+v", es)
	}
}

func TestRefundDeadlines(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r, _ := e.ib.Runner(demo.Refund)
	if _, err := r.Run(ctx, "small", json.RawMessage(`{"Customer":"ada","Amount":20}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx, "large", json.RawMessage(`{"Customer":"bob","Amount":500}`)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(demo.RefundWithin)
	if n, err := e.ib.FireDue(ctx); n != 1 || err != nil {
		t.Fatalf("FireDue at 15m: %d %v", n, err)
	}
	s, _ := r.State(ctx, "small")
	if rr := s.Values.(demo.RefundRequest); s.Status != weft.StatusCompleted || !rr.Approved || rr.Paid == "" {
		t.Errorf("small refund %+v", s)
	}
	e.clock.Advance(demo.RefundEscalateAfter)
	if n, err := e.ib.FireDue(ctx); n != 1 || err != nil {
		t.Fatalf("FireDue at 1h15m: %d %v", n, err)
	}
	q := e.pending("large")
	if len(q) != 1 || !slices.Equal(q[0].Assignees, []string{"finance-leads"}) {
		t.Fatalf("large refund %+v", q)
	}
	res := e.answer("large", q[0].ID, `{"approve":false,"note":"contact the carrier"}`)
	if rr := res.State.(demo.RefundRequest); res.Status != weft.StatusCompleted || rr.Approved || rr.Paid != "" {
		t.Errorf("large refund %+v", rr)
	}
}

func TestAgent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r, _ := e.ib.Runner(demo.Agent)
	if _, err := r.Run(ctx, "g1", json.RawMessage(`{"Goal":"ship"}`)); err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, it := range e.pending("g1") {
		roles[it.Task] = strings.Join(it.Assignees, ",")
	}
	if roles["call#0"] != "analysts" || roles["call#1"] != "dba" || roles["call#2"] != "ops" {
		t.Errorf("roles %v", roles)
	}
	answers := map[string]json.RawMessage{}
	for _, it := range e.pending("g1") {
		v := `{"approve":true}`
		if it.Task == "call#2" {
			v = `{"approve":false,"note":"not on a Friday"}`
		}
		answers[it.ID] = json.RawMessage(v)
	}
	res, err := e.ib.AnswerMany(ctx, "g1", answers, inbox.Author{Name: "lead"})
	if err != nil {
		t.Fatal(err)
	}
	task := res.State.(demo.Task)
	if res.Status != weft.StatusCompleted || len(task.Results) != 3 || !strings.Contains(task.Summary, "deploy: refused (not on a Friday)") {
		t.Errorf("task %+v", task)
	}
}

// TestStop checks that stopping a demo thread that waits for an answer
// withdraws its question and ends it, as weft does for any workflow.
func TestStop(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r, _ := e.ib.Runner(demo.Approval)
	if _, err := r.Run(ctx, "a1", json.RawMessage(`{"Title":"x"}`)); err != nil {
		t.Fatal(err)
	}
	old := e.pending("a1")[0]
	if _, err := e.ib.Stop(ctx, "a1", inbox.Author{Name: "tester"}); err != nil {
		t.Fatal(err)
	}
	if len(e.pending("a1")) != 0 {
		t.Error("questions still pending")
	}
	if row, _ := e.store.Thread(ctx, "a1"); row.Status != weft.StatusCancelled {
		t.Errorf("status %s", row.Status)
	}
	if q, err := e.ib.Question(ctx, "a1", old.ID); err != nil || q.Status != checkpoint.InterruptCancelled || q.Author != "tester" {
		t.Errorf("the withdrawn question: %v %+v", err, q)
	}
	if _, err := r.Resume(ctx, "a1"); !errors.Is(err, weft.ErrThreadCancelled) {
		t.Fatalf("resume: %v", err)
	}
}

// longRun runs a demo-long thread in the background and returns the
// progress it emits and the run's outcome.
func longRun(ctx context.Context, r weft.Runner, thread, input string) (<-chan demo.LongProgress, <-chan *weft.Result[any], <-chan error) {
	progress := make(chan demo.LongProgress, 1000)
	results := make(chan *weft.Result[any], 1)
	errs := make(chan error, 1)
	obs := weft.ObserverFunc(func(_ context.Context, ev weft.Event) {
		if p, ok := ev.Data.(demo.LongProgress); ok && ev.Type == weft.EventCustom {
			select {
			case progress <- p:
			default:
			}
		}
	})
	go func() {
		res, err := r.Run(ctx, thread, json.RawMessage(input), weft.WithObserver(obs))
		results <- res
		errs <- err
	}()
	return progress, results, errs
}

func TestLong(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	r, ok := e.ib.Runner(demo.Long)
	if !ok {
		t.Fatal("no demo-long")
	}

	// Short work runs to the end.
	res, err := r.Run(ctx, "quick", json.RawMessage(`{"Seconds":0.05}`))
	if err != nil {
		t.Fatal(err)
	}
	if j := res.State.(demo.LongJob); res.Status != weft.StatusCompleted || !j.Done || j.Started == "" || j.Finished == "" {
		t.Fatalf("quick: %s %+v", res.Status, j)
	}

	// Stopped in the middle, it keeps its first effect's result and
	// carries on with it when resumed.
	progress, results, errs := longRun(ctx, r, "stopped", `{"Seconds":0.6}`)
	first := <-progress
	if err := r.Stop(ctx, "stopped"); err != nil {
		t.Fatal(err)
	}
	if res, err := <-results, <-errs; err != nil || res.Status != weft.StatusStopped {
		t.Fatalf("stopped run: %v %+v", err, res)
	}
	if row, _ := e.store.Thread(ctx, "stopped"); row.Status != weft.StatusStopped {
		t.Fatalf("status %s", row.Status)
	}
	res, err = r.Resume(ctx, "stopped")
	if err != nil {
		t.Fatal(err)
	}
	if j := res.State.(demo.LongJob); res.Status != weft.StatusCompleted || !j.Done || j.Started != first.Started || j.Finished == "" {
		t.Errorf("resumed: %s %+v; first run started %q", res.Status, j, first.Started)
	}

	// Handed back (a worker shutting down), it is ready for any worker.
	hctx, handBack := context.WithCancelCause(ctx)
	defer handBack(nil)
	progress, results, errs = longRun(hctx, r, "handed", `{"Seconds":1}`)
	first = <-progress
	handBack(weft.ErrHandedBack)
	res, err = <-results, <-errs
	if row, _ := e.store.Thread(ctx, "handed"); row.Status != weft.StatusReady {
		t.Fatalf("after the hand-back: %s (run: %v %+v)", row.Status, err, res)
	}
	// The next run (a worker's, or a Resume) starts where it was, with
	// the journaled effect.
	res, err = r.Resume(ctx, "handed")
	if err != nil {
		t.Fatal(err)
	}
	if j := res.State.(demo.LongJob); res.Status != weft.StatusCompleted || j.Started != first.Started {
		t.Errorf("resumed after the hand-back: %s %+v; first run started %q", res.Status, j, first.Started)
	}
}
