package inbox_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
)

// listEnv starts seven pending questions, one minute apart (the three tool
// calls of m1 at once):
//
//	a1 approval/review   editors   t0
//	a2 approval/review   design    t0+1m
//	a3 approval/legal    lawyers   t0+2m
//	r1 refine/review     editors   t0+3m
//	m1 tools/call ×3     ops       t0+4m
//
// and sets the clock to t0+10m.
func listEnv(t *testing.T) *env {
	e := newEnv(t, nil)
	e.start("approval", "a1", Doc{Title: "one", Team: "editors"})
	e.clock.Advance(time.Minute)
	e.start("approval", "a2", Doc{Title: "two", Team: "design"})
	e.clock.Advance(time.Minute)
	e.start("approval", "a3", Doc{Title: "three", Legal: true})
	e.clock.Advance(time.Minute)
	e.start("refine", "r1", Draft{Topic: "go"})
	e.clock.Advance(time.Minute)
	e.start("tools", "m1", Turn{Calls: []string{"mail", "deploy", "search"}})
	e.clock.Set(10 * time.Minute)
	return e
}

func threadsOf(items []inbox.Item) string {
	var s []string
	for _, it := range items {
		s = append(s, it.Thread)
	}
	return strings.Join(s, " ")
}

func TestListFilters(t *testing.T) {
	e := listEnv(t)
	tests := []struct {
		name string
		q    inbox.Query
		want string
	}{
		{"all, oldest first", inbox.Query{}, "a1 a2 a3 r1 m1 m1 m1"},
		{"workflow", inbox.Query{Workflow: "approval"}, "a1 a2 a3"},
		{"node across workflows", inbox.Query{Node: "review"}, "a1 a2 r1"},
		{"node and workflow", inbox.Query{Workflow: "approval", Node: "legal"}, "a3"},
		{"thread", inbox.Query{Thread: "m1"}, "m1 m1 m1"},
		{"one assignee", inbox.Query{Assignees: []string{"editors"}}, "a1 r1"},
		{"any of several assignees", inbox.Query{Assignees: []string{"design", "lawyers"}}, "a2 a3"},
		{"assignee nobody has", inbox.Query{Assignees: []string{"interns"}}, ""},
		{"older than", inbox.Query{OlderThan: 7 * time.Minute}, "a1 a2 a3"},
		{"older than and assignee", inbox.Query{OlderThan: 7 * time.Minute, Assignees: []string{"editors"}}, "a1"},
		{"older than everything", inbox.Query{OlderThan: time.Hour}, ""},
		{"unknown workflow", inbox.Query{Workflow: "nope"}, ""},
		{"limit", inbox.Query{Limit: 2}, "a1 a2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := e.ib.List(context.Background(), tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := threadsOf(page.Items); got != tt.want {
				t.Errorf("threads %q, want %q", got, tt.want)
			}
			for _, it := range page.Items {
				if it.Status != checkpoint.InterruptPending {
					t.Errorf("%s: status %s", it.ID, it.Status)
				}
			}
		})
	}
}

func TestListItem(t *testing.T) {
	e := listEnv(t)
	it := e.question("a1")
	if it.Workflow != "approval" || it.Node != "review" || it.Task != "review" || it.Kind != weft.KindDynamic ||
		it.Reason != "review the doc" || !slices.Equal(it.Assignees, []string{"editors"}) {
		t.Errorf("item %+v", it)
	}
	if !it.Created.Equal(t0) || !it.Deadline.Equal(t0.Add(time.Hour)) {
		t.Errorf("created %v deadline %v", it.Created, it.Deadline)
	}
	if !it.HasFallback || string(it.Fallback) != `{"action":"approve"}` {
		t.Errorf("fallback %v %s", it.HasFallback, it.Fallback)
	}
	if string(it.Value) != `{"title":"one"}` || !strings.Contains(string(it.Schema), `"approve"`) {
		t.Errorf("value %s schema %s", it.Value, it.Schema)
	}
	if !it.MayAnswer("bob", "editors") || it.MayAnswer("bob", "design") {
		t.Error("MayAnswer by assignees")
	}
	legal := e.question("a3")
	if !slices.Equal(legal.EscalateTo, []string{"general-counsel"}) || legal.HasFallback {
		t.Errorf("legal item %+v", legal)
	}
	if (&inbox.Item{}).MayAnswer() != true {
		t.Error("a question assigned to nobody may be answered by anyone")
	}
}

func TestListPagination(t *testing.T) {
	e := listEnv(t)
	for _, limit := range []int{1, 2, 3, 7, 8} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var all []inbox.Item
			q := inbox.Query{Limit: limit}
			pages := 0
			for {
				page, err := e.ib.List(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page.Items) > limit {
					t.Fatalf("page of %d items, limit %d", len(page.Items), limit)
				}
				all = append(all, page.Items...)
				if page.Next == "" {
					break
				}
				if pages > 10 {
					t.Fatal("pagination does not end")
				}
				q.After = page.Next
			}
			if got := threadsOf(all); got != "a1 a2 a3 r1 m1 m1 m1" {
				t.Errorf("threads %q", got)
			}
			ids := map[string]bool{}
			for _, it := range all {
				if ids[it.ID] {
					t.Errorf("question %s listed twice", it.ID)
				}
				ids[it.ID] = true
			}
			if want := (7 + limit - 1) / limit; pages != want && pages != want+1 {
				t.Errorf("%d pages, want %d", pages, want)
			}
		})
	}
	t.Run("pages follow answers", func(t *testing.T) {
		page, err := e.ib.List(context.Background(), inbox.Query{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		// Answering an item of the first page does not shift the next.
		if _, err := e.ib.Answer(context.Background(), "a1", page.Items[0].ID, raw(`{"action":"approve"}`), inbox.Author{Name: "ann"}); err != nil {
			t.Fatal(err)
		}
		next, err := e.ib.List(context.Background(), inbox.Query{Limit: 2, After: page.Next})
		if err != nil {
			t.Fatal(err)
		}
		if got := threadsOf(next.Items); got != "a3 r1" {
			t.Errorf("second page %q", got)
		}
		all, err := e.ib.List(context.Background(), inbox.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if got := threadsOf(all.Items); got != "a2 a3 r1 m1 m1 m1" {
			t.Errorf("after answering a1: %q", got)
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		if _, err := e.ib.List(context.Background(), inbox.Query{After: "!!"}); !errors.Is(err, inbox.ErrInvalidCursor) {
			t.Errorf("a malformed cursor: %v", err)
		}
	})
}

func TestGet(t *testing.T) {
	e := listEnv(t)
	ctx := context.Background()
	q := e.question("a2")
	d, err := e.ib.Get(ctx, "a2", q.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != q.ID || d.Status != checkpoint.InterruptPending || d.Workflow != "approval" {
		t.Errorf("item %+v", d.Item)
	}
	if d.State == nil || d.State.Status != weft.StatusInterrupted || d.State.Workflow != "approval" || len(d.State.Interrupts) != 1 {
		t.Fatalf("state %+v", d.State)
	}
	if doc, ok := d.State.Values.(Doc); !ok || doc.Title != "two" || doc.Team != "design" {
		t.Errorf("values %#v", d.State.Values)
	}
	if !slices.Equal(d.State.Next, []string{"review"}) {
		t.Errorf("next %v", d.State.Next)
	}

	if _, err := e.ib.Answer(ctx, "a2", q.ID, raw(`{"action":"reject"}`), inbox.Author{Name: "dee", Channel: checkpoint.ChannelUI}); err != nil {
		t.Fatal(err)
	}
	d, err = e.ib.Get(ctx, "a2", q.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != checkpoint.InterruptAnswered || d.Author != "dee" || d.Channel != checkpoint.ChannelUI ||
		string(d.Answer) != `{"action":"reject"}` || !d.AnsweredAt.Equal(e.clock.Now()) {
		t.Errorf("answered item %+v", d.Item)
	}
	if d.State.Status != weft.StatusCompleted || d.State.Values.(Doc).Status != "reject" {
		t.Errorf("state after answer %+v", d.State)
	}

	for _, tc := range []struct{ thread, id string }{{"nope", q.ID}, {"a2", "nope"}, {"a1", q.ID}, {"", ""}} {
		if _, err := e.ib.Get(ctx, tc.thread, tc.id); !errors.Is(err, inbox.ErrNotFound) || !errors.Is(err, checkpoint.ErrNotFound) {
			t.Errorf("Get(%q, %q): %v, want ErrNotFound", tc.thread, tc.id, err)
		}
	}
}

func TestGetUnregisteredWorkflow(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.start("refine", "r1", Draft{Topic: "go"})
	for _, text := range []string{"shorter", "more examples"} {
		q := e.question("r1")
		res, err := e.ib.Answer(ctx, "r1", q.ID, raw(fmt.Sprintf(`{"action":"edit","text":%q}`, text)), inbox.Author{Name: "ed"})
		if err != nil || !res.Paused() {
			t.Fatalf("answer: %v %+v", err, res)
		}
	}
	// An inbox that does not have the workflow reads the state from the
	// store, without its Go type.
	bare := inbox.New(e.store, nil)
	q := e.question("r1")
	d, err := bare.Get(ctx, "r1", q.ID)
	if err != nil {
		t.Fatal(err)
	}
	s := d.State
	if s.Workflow != "refine" || s.Status != weft.StatusInterrupted || len(s.Interrupts) != 1 || s.Interrupts[0].ID != q.ID ||
		!slices.Equal(s.Next, []string{"review"}) || s.Checkpoint == "" || s.Step == 0 {
		t.Errorf("state %+v", s)
	}
	fields, ok := s.Values.(map[string]json.RawMessage)
	if !ok {
		t.Fatalf("values %#v", s.Values)
	}
	if string(fields["Feedback"]) != `["shorter","more examples"]` || string(fields["Topic"]) != `"go"` ||
		string(fields["Text"]) != `"go (draft 3)"` {
		t.Errorf("fields %s %s %s", fields["Feedback"], fields["Topic"], fields["Text"])
	}
	if got := bare.Workflows(); len(got) != 0 {
		t.Errorf("workflows %v", got)
	}
}

func TestAnswer(t *testing.T) {
	ctx := context.Background()
	type check func(t *testing.T, e *env, q inbox.Item, res *weft.Result[any])
	pending := func(t *testing.T, e *env, q inbox.Item, res *weft.Result[any]) {
		t.Helper()
		if got := e.status(q.Thread); got != weft.StatusInterrupted {
			t.Errorf("thread status %s, want interrupted", got)
		}
		d, err := e.ib.Get(ctx, q.Thread, q.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != checkpoint.InterruptPending || d.Answer != nil {
			t.Errorf("question is %s (%s), want pending", d.Status, d.Answer)
		}
	}
	tests := []struct {
		name    string
		thread  string // "" is the question's thread
		id      string // "" is the question's ID
		value   string
		before  func(t *testing.T, e *env, q inbox.Item)
		inbox   func(e *env) *inbox.Inbox
		wantErr error
		check   check
	}{
		{
			name: "valid", value: `{"action":"edit","text":"tighter"}`,
			check: func(t *testing.T, e *env, q inbox.Item, res *weft.Result[any]) {
				if res.Status != weft.StatusCompleted || res.State.(Doc).Status != "edit" {
					t.Errorf("result %+v", res)
				}
				d, err := e.ib.Get(ctx, q.Thread, q.ID)
				if err != nil {
					t.Fatal(err)
				}
				if d.Status != checkpoint.InterruptAnswered || d.Author != "ann" || d.Channel != checkpoint.ChannelCLI {
					t.Errorf("recorded %+v", d.Item)
				}
			},
		},
		{
			name: "null is refused by a struct schema", value: `null`, wantErr: inbox.ErrInvalidAnswer, check: pending,
		},
		{
			name: "not in the enum", value: `{"action":"maybe"}`, wantErr: inbox.ErrInvalidAnswer, check: pending,
		},
		{
			name: "unknown field", value: `{"action":"approve","extra":1}`, wantErr: inbox.ErrInvalidAnswer, check: pending,
		},
		{
			name: "not JSON", value: `{"action":`, wantErr: inbox.ErrInvalidAnswer, check: pending,
		},
		{
			name: "twice", value: `{"action":"reject"}`, wantErr: inbox.ErrAlreadyAnswered,
			before: func(t *testing.T, e *env, q inbox.Item) {
				if _, err := e.ib.Answer(ctx, q.Thread, q.ID, raw(`{"action":"approve"}`), inbox.Author{Name: "first"}); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, e *env, q inbox.Item, res *weft.Result[any]) {
				d, err := e.ib.Get(ctx, q.Thread, q.ID)
				if err != nil {
					t.Fatal(err)
				}
				if d.Author != "first" || string(d.Answer) != `{"action":"approve"}` {
					t.Errorf("the first answer does not stand: %+v", d.Item)
				}
			},
		},
		{
			name: "unknown question", id: "0123456789abcdef01234567", value: `{"action":"approve"}`,
			wantErr: inbox.ErrUnknownInterrupt, check: pending,
		},
		{
			name: "unknown thread", thread: "nope", value: `{"action":"approve"}`, wantErr: inbox.ErrNotFound,
		},
		{
			name: "unknown workflow", value: `{"action":"approve"}`, wantErr: inbox.ErrUnknownWorkflow,
			inbox: func(e *env) *inbox.Inbox { return inbox.New(e.store, nil) },
			check: pending,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.start("approval", "a1", Doc{Title: "one", Team: "editors"})
			q := e.question("a1")
			if tt.before != nil {
				tt.before(t, e, q)
			}
			ib := e.ib
			if tt.inbox != nil {
				ib = tt.inbox(e)
			}
			thread, id := cmp.Or(tt.thread, q.Thread), cmp.Or(tt.id, q.ID)
			res, err := ib.Answer(ctx, thread, id, raw(tt.value), inbox.Author{Name: "ann", Channel: checkpoint.ChannelCLI})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, e, q, res)
			}
		})
	}
}

func TestAnswerDefaultsToAPIChannel(t *testing.T) {
	e := newEnv(t, nil)
	e.start("approval", "a1", Doc{Title: "one"})
	q := e.question("a1")
	if _, err := e.ib.Answer(context.Background(), "a1", q.ID, raw(`{"action":"approve"}`), inbox.Author{Name: "svc"}); err != nil {
		t.Fatal(err)
	}
	d, _ := e.ib.Get(context.Background(), "a1", q.ID)
	if d.Channel != checkpoint.ChannelAPI {
		t.Errorf("channel %q", d.Channel)
	}
}

func TestAnswerMany(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.start("tools", "m1", Turn{Calls: []string{"mail", "deploy", "search"}})
	page, err := e.ib.List(ctx, inbox.Query{Thread: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]string{}
	for _, it := range page.Items {
		byKey[it.Key] = it.ID
	}
	by := inbox.Author{Name: "ops-oncall", Channel: checkpoint.ChannelUI}

	// One invalid answer: none is recorded.
	_, err = e.ib.AnswerMany(ctx, "m1", map[string]json.RawMessage{
		byKey["mail"]: raw(`{"approve":true}`), byKey["deploy"]: raw(`{"approve":"yes"}`),
	}, by)
	if !errors.Is(err, inbox.ErrInvalidAnswer) {
		t.Fatalf("err %v", err)
	}
	if page, _ := e.ib.List(ctx, inbox.Query{Thread: "m1"}); len(page.Items) != 3 {
		t.Fatalf("%d pending after a refused batch, want 3", len(page.Items))
	}

	res, err := e.ib.AnswerMany(ctx, "m1", map[string]json.RawMessage{
		byKey["mail"]: raw(`{"approve":true}`), byKey["deploy"]: raw(`{"approve":false}`),
	}, by)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Paused() || len(res.Interrupts) != 1 || res.Interrupts[0].Key != "search" {
		t.Fatalf("result %+v", res)
	}
	res, err = e.ib.Answer(ctx, "m1", byKey["search"], raw(`{"approve":true}`), inbox.Author{Name: "sam"})
	if err != nil {
		t.Fatal(err)
	}
	results := slices.Sorted(slices.Values(res.State.(Turn).Results))
	if res.Status != weft.StatusCompleted || strings.Join(results, " ") != "deploy:false mail:true search:true" {
		t.Errorf("result %+v", res)
	}
	if _, err := e.ib.AnswerMany(ctx, "m1", nil, by); !errors.Is(err, inbox.ErrInvalidAnswer) {
		t.Errorf("empty AnswerMany: %v", err)
	}
}

func TestRecord(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.start("approval", "a1", Doc{Title: "one"})
	q := e.question("a1")
	bare := inbox.New(e.store, nil, inbox.WithClock(e.clock.Now))
	if err := bare.Record(ctx, "a1", q.ID, raw(`{"action":"nope"}`), inbox.Author{Name: "cli"}); !errors.Is(err, inbox.ErrInvalidAnswer) {
		t.Fatalf("invalid: %v", err)
	}
	if err := bare.Record(ctx, "a1", "nope", raw(`{"action":"approve"}`), inbox.Author{}); !errors.Is(err, inbox.ErrNotFound) {
		t.Fatalf("unknown question: %v", err)
	}
	if err := bare.Record(ctx, "a1", q.ID, raw(`{ "action": "approve" }`), inbox.Author{Name: "cli", Channel: checkpoint.ChannelCLI}); err != nil {
		t.Fatal(err)
	}
	if err := bare.Record(ctx, "a1", q.ID, raw(`{"action":"approve"}`), inbox.Author{}); !errors.Is(err, inbox.ErrAlreadyAnswered) {
		t.Fatalf("twice: %v", err)
	}
	// The thread is ready, answered, until its program resumes it.
	if got := e.status("a1"); got != weft.StatusReady {
		t.Errorf("status %s", got)
	}
	r, _ := e.ib.Runner("approval")
	res, err := r.Resume(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != weft.StatusCompleted || res.State.(Doc).Status != "approve" {
		t.Errorf("result %+v", res)
	}
	a, err := e.ib.Audit(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 1 || a[0].Author != "cli" || a[0].Channel != checkpoint.ChannelCLI || string(a[0].Answer) != `{"action":"approve"}` {
		t.Errorf("audit %+v", a)
	}
}

func TestAudit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.start("refine", "r1", Draft{Topic: "go"})
	answers := []struct {
		value string
		by    inbox.Author
	}{
		{`{"action":"edit","text":"shorter"}`, inbox.Author{Name: "alice", Channel: checkpoint.ChannelUI}},
		{`{"action":"edit","text":"examples"}`, inbox.Author{Name: "bob", Channel: checkpoint.ChannelCLI}},
		{`{"action":"approve"}`, inbox.Author{Name: "carol", Channel: checkpoint.ChannelAPI}},
	}
	for i, a := range answers {
		e.clock.Advance(time.Minute)
		q := e.question("r1")
		if _, err := e.ib.Answer(ctx, "r1", q.ID, raw(a.value), a.by); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	entries, err := e.ib.Audit(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("%d entries, want 3", len(entries))
	}
	for i, en := range entries {
		a := answers[i]
		if en.Status != checkpoint.InterruptAnswered || en.Author != a.by.Name || en.Channel != a.by.Channel || string(en.Answer) != a.value {
			t.Errorf("entry %d: %+v", i, en)
		}
		if en.Node != "review" || en.Kind != weft.KindDynamic || !slices.Equal(en.Assignees, []string{"editors"}) {
			t.Errorf("entry %d: %+v", i, en)
		}
		if wantAsked := t0.Add(time.Duration(i) * time.Minute); !en.Asked.Equal(wantAsked) {
			t.Errorf("entry %d asked %v, want %v", i, en.Asked, wantAsked)
		}
		if wantAt := t0.Add(time.Duration(i+1) * time.Minute); !en.AnsweredAt.Equal(wantAt) {
			t.Errorf("entry %d answered %v, want %v", i, en.AnsweredAt, wantAt)
		}
		if want := fmt.Sprintf(`{"text":"go (draft %d)"}`, i+1); string(en.Value) != want {
			t.Errorf("entry %d value %s, want %s", i, en.Value, want)
		}
	}
	if _, err := e.ib.Audit(ctx, "nope"); !errors.Is(err, inbox.ErrNotFound) {
		t.Errorf("audit of a missing thread: %v", err)
	}
}

func TestAuditBranchesAndDeadline(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.start("tools", "m1", Turn{Calls: []string{"mail", "deploy"}})
	e.start("approval", "a1", Doc{Title: "one", Team: "editors"})
	page, _ := e.ib.List(ctx, inbox.Query{Thread: "m1"})
	for i, it := range page.Items {
		by := []inbox.Author{{Name: "uma", Channel: checkpoint.ChannelUI}, {Name: "carl", Channel: checkpoint.ChannelCLI}}[i]
		if _, err := e.ib.Answer(ctx, "m1", it.ID, raw(`{"approve":true}`), by); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := e.ib.Audit(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, en := range entries {
		got[en.Task] = en.Author + "/" + en.Channel
	}
	if len(entries) != 2 || got["call#0"] == got["call#1"] || got["call#0"] == "" || got["call#1"] == "" {
		t.Errorf("audit %v", got)
	}
	e.clock.Advance(2 * time.Hour)
	if n, err := e.ib.FireDue(ctx); n != 1 || err != nil {
		t.Fatalf("FireDue: %d %v", n, err)
	}
	entries, err = e.ib.Audit(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Author != inbox.DeadlineAuthor || entries[0].Channel != checkpoint.ChannelDeadline ||
		string(entries[0].Answer) != `{"action":"approve"}` {
		t.Errorf("audit %+v", entries)
	}
}

func TestRegistry(t *testing.T) {
	store := memstore.New()
	c := newClock()
	rs := workflows(t, store, c.Now)
	ib := inbox.New(store, rs[:2])
	if got := strings.Join(ib.Workflows(), " "); got != "approval refine" {
		t.Errorf("workflows %q", got)
	}
	ib.Register(rs[2])
	if _, ok := ib.Runner("tools"); !ok {
		t.Error("registered runner not found")
	}
	if _, ok := ib.Runner("nope"); ok {
		t.Error("found a runner never registered")
	}
	if ib.Store() != checkpoint.Store(store) {
		t.Error("Store")
	}
}
