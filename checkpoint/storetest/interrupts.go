package storetest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

var interruptsTests = []test{
	{"CountPending", testCountPending},
	{"Empty", func(e *env) {
		page, err := e.s.Interrupts(e.ctx, &checkpoint.InterruptQuery{})
		noErr(e.t, "Interrupts", err)
		if len(page.Interrupts) != 0 || page.Next != "" {
			e.t.Errorf("Interrupts of an empty store = %d, Next %q; want none, \"\"", len(page.Interrupts), page.Next)
		}
	}},
	{"RoundTrip", testInterruptsRoundTrip},
	{"Filters", testInterruptsFilters},
	{"Order", testInterruptsOrder},
	{"Pages", testInterruptsPages},
	{"PagesWhileAnswering", testInterruptsPagesWhileAnswering},
	{"DefaultLimit", testInterruptsDefaultLimit},
	{"BadCursor", testInterruptsBadCursor},
}

// fullQuestion returns an interrupt with every field set.
func fullQuestion(thread, id string) checkpoint.InterruptRecord {
	return checkpoint.InterruptRecord{
		ID: id, ThreadID: thread, Workflow: "review", CheckpointID: checkpoint.FormatID(1),
		Namespace: "outer:3", Node: "outer/inner/review", Task: "tools#2", Kind: checkpoint.KindBefore,
		Key: "approve", Index: 2, Reason: "please check",
		Value:      json.RawMessage(`{"draft": "héllo", "n": [1, 2.5, null]}`),
		Schema:     json.RawMessage(`{"type":"boolean"}`),
		Assignees:  []string{"ann", "role:legal"},
		Deadline:   at(60).Add(987 * time.Microsecond),
		Fallback:   json.RawMessage(`false`),
		FallbackAt: at(90).Add(3 * time.Microsecond),
		EscalateTo: []string{"boss"},
		Status:     checkpoint.InterruptPending,
		CreatedAt:  at(1).Add(11 * time.Microsecond),
	}
}

// testInterruptsRoundTrip: every field of an interrupt comes back as
// committed; JSON is kept as given, byte for byte.
func testInterruptsRoundTrip(e *env) {
	f := e.thread("t1", "review")
	q := fullQuestion("t1", "q1")
	bare := checkpoint.InterruptRecord{ID: "q2", ThreadID: "t1", Status: checkpoint.InterruptPending, CreatedAt: at(2)}
	null := checkpoint.InterruptRecord{ID: "q3", ThreadID: "t1", Status: checkpoint.InterruptPending, CreatedAt: at(3),
		Value: json.RawMessage(`null`), Fallback: json.RawMessage(`null`)}
	f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{q, bare, null}})
	checkInterrupt(e.t, "q1", e.interrupt("t1", "q1"), &q)
	checkInterrupt(e.t, "q2 (no optional field)", e.interrupt("t1", "q2"), &bare)
	checkInterrupt(e.t, "q3 (null JSON)", e.interrupt("t1", "q3"), &null)
}

// inbox commits a set of interrupts over three threads and two workflows
// for the query tests; it returns them as stored, ordered by CreatedAt, ID
// and thread.
func (e *env) inbox() []checkpoint.InterruptRecord {
	e.t.Helper()
	type q struct {
		thread, id, node string
		min              int
		assignees        []string
		deadline         int // minutes; 0: none
	}
	qs := []q{
		{"a", "a1", "review", 1, []string{"ann"}, 30},
		{"a", "a2", "approve", 2, []string{"bob", "ann"}, 0},
		{"a", "a3", "review", 3, nil, 20},
		{"b", "b1", "review", 2, []string{"role:legal"}, 10},
		{"b", "b2", "outer/review", 4, []string{"bob"}, 40},
		{"c", "c1", "review", 5, []string{"carl"}, 20},
		{"c", "c2", "approve", 6, nil, 0},
	}
	workflow := map[string]string{"a": "w1", "b": "w1", "c": "w2"}
	fs := map[string]*fixture{}
	var cps = map[string]string{}
	for i, th := range []string{"a", "b", "c"} {
		f := e.thread(th, workflow[th])
		for range i + 1 { // a different head on each thread
			f.commit(checkpoint.Commit{})
		}
		cps[th] = f.cp("", "", 0, map[string]int64{"x": 0}, full("x", "1"))
		fs[th] = f
	}
	var out []checkpoint.InterruptRecord
	for _, x := range qs {
		r := checkpoint.InterruptRecord{
			ID: x.id, ThreadID: x.thread, Workflow: workflow[x.thread], CheckpointID: cps[x.thread],
			Node: x.node, Task: x.node, Kind: checkpoint.KindDynamic, Value: json.RawMessage(`"` + x.id + `"`),
			Assignees: x.assignees, Status: checkpoint.InterruptPending, CreatedAt: at(x.min),
		}
		if x.deadline != 0 {
			r.Deadline = at(x.deadline)
		}
		f := fs[x.thread]
		f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{r}})
		out = append(out, r)
	}
	// b1 answered, c2 cancelled; a newer checkpoint on c for c2.
	noErr(e.t, "Answer(b/b1)", e.answer([]checkpoint.Answer{{ThreadID: "b", InterruptID: "b1", Value: json.RawMessage(`1`), Author: "lee", Channel: checkpoint.ChannelAPI, At: at(7)}}))
	fs["c"].commit(checkpoint.Commit{Cancel: &checkpoint.Cancellation{}})
	for i := range out {
		switch out[i].ID {
		case "b1":
			out[i].Status, out[i].Answer, out[i].Author, out[i].Channel, out[i].AnsweredAt = checkpoint.InterruptAnswered, json.RawMessage(`1`), "lee", checkpoint.ChannelAPI, at(7)
		case "c1", "c2":
			out[i].Status = checkpoint.InterruptCancelled
		}
	}
	sortInterrupts(out)
	return out
}

// sortInterrupts sorts as Interrupts does: CreatedAt, ID, ThreadID.
func sortInterrupts(rs []checkpoint.InterruptRecord) {
	slices.SortFunc(rs, func(a, b checkpoint.InterruptRecord) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID), strings.Compare(a.ThreadID, b.ThreadID))
	})
}

// testInterruptsFilters: each filter alone and some together.
func testInterruptsFilters(e *env) {
	all := e.inbox()
	for _, tc := range []struct {
		name string
		q    checkpoint.InterruptQuery
		want []string
	}{
		{"None", checkpoint.InterruptQuery{}, []string{"a1", "a2", "b1", "a3", "b2", "c1", "c2"}},
		{"ID", checkpoint.InterruptQuery{ID: "b2"}, []string{"b2"}},
		{"UnknownID", checkpoint.InterruptQuery{ID: "zz"}, nil},
		{"ThreadID", checkpoint.InterruptQuery{ThreadID: "a"}, []string{"a1", "a2", "a3"}},
		{"UnknownThreadID", checkpoint.InterruptQuery{ThreadID: "zz"}, nil},
		{"ThreadIDAndID", checkpoint.InterruptQuery{ThreadID: "b", ID: "a1"}, nil},
		{"CheckpointID", checkpoint.InterruptQuery{CheckpointID: checkpoint.FormatID(3)}, []string{"b1", "b2"}},
		{"Workflow", checkpoint.InterruptQuery{Workflow: "w1"}, []string{"a1", "a2", "b1", "a3", "b2"}},
		{"Node", checkpoint.InterruptQuery{Node: "review"}, []string{"a1", "b1", "a3", "c1"}},
		{"NodeIsExact", checkpoint.InterruptQuery{Node: "outer/review"}, []string{"b2"}},
		{"StatusPending", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending}, []string{"a1", "a2", "a3", "b2"}},
		{"StatusAnswered", checkpoint.InterruptQuery{Status: checkpoint.InterruptAnswered}, []string{"b1"}},
		{"StatusCancelled", checkpoint.InterruptQuery{Status: checkpoint.InterruptCancelled}, []string{"c1", "c2"}},
		{"Assignee", checkpoint.InterruptQuery{Assignees: []string{"ann"}}, []string{"a1", "a2"}},
		{"AssigneesAnyOf", checkpoint.InterruptQuery{Assignees: []string{"role:legal", "bob", "nobody"}}, []string{"a2", "b1", "b2"}},
		{"AssigneeUnknown", checkpoint.InterruptQuery{Assignees: []string{"nobody"}}, nil},
		{"CreatedBefore", checkpoint.InterruptQuery{CreatedBefore: at(3)}, []string{"a1", "a2", "b1"}},
		{"CreatedBeforeIsStrict", checkpoint.InterruptQuery{CreatedBefore: at(2)}, []string{"a1"}},
		{"DueBefore", checkpoint.InterruptQuery{DueBefore: at(20)}, []string{"b1", "a3", "c1"}},
		{"DueBeforeAll", checkpoint.InterruptQuery{DueBefore: at(1000)}, []string{"a1", "b1", "a3", "b2", "c1"}},
		{"DueBeforeNone", checkpoint.InterruptQuery{DueBefore: at(9)}, nil},
		{"PendingOfWorkflowForBob", checkpoint.InterruptQuery{Workflow: "w1", Status: checkpoint.InterruptPending, Assignees: []string{"bob"}}, []string{"a2", "b2"}},
		{"PendingDue", checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, DueBefore: at(30)}, []string{"a1", "a3"}},
		{"NodeAndCreatedBefore", checkpoint.InterruptQuery{Node: "review", CreatedBefore: at(5)}, []string{"a1", "b1", "a3"}},
	} {
		e.run(tc.name, func(e *env) {
			got := e.interrupts(tc.q)
			if !slices.Equal(ids(got), tc.want) {
				e.t.Fatalf("Interrupts(%+v) = %q, want %q", tc.q, ids(got), tc.want)
			}
			for i := range got {
				j := slices.IndexFunc(all, func(r checkpoint.InterruptRecord) bool {
					return r.ID == got[i].ID && r.ThreadID == got[i].ThreadID
				})
				checkInterrupt(e.t, "Interrupts: "+got[i].ID, &got[i], &all[j])
			}
			// The same query one at a time pages the same way.
			q := tc.q
			q.Limit = 1
			if one := e.interrupts(q); !slices.Equal(ids(one), tc.want) {
				e.t.Errorf("Interrupts(%+v) one per page = %q, want %q", q, ids(one), tc.want)
			}
		})
	}
}

// testInterruptsOrder: by CreatedAt, then ID, then ThreadID, whatever the
// order of the commits.
func testInterruptsOrder(e *env) {
	var want []checkpoint.InterruptRecord
	for i, th := range []string{"t3", "t1", "t2"} {
		f := e.thread(th, "w")
		var rs []checkpoint.InterruptRecord
		for j, id := range []string{"b", "a", "B", "c10", "c9"} {
			r := question(th, id, "", (i+j)%3)
			r.CreatedAt = r.CreatedAt.Add(time.Duration(j%2) * time.Microsecond)
			rs = append(rs, r)
		}
		f.commit(checkpoint.Commit{Interrupts: rs})
		want = append(want, rs...)
	}
	sortInterrupts(want)
	got := e.interrupts(checkpoint.InterruptQuery{})
	render := func(rs []checkpoint.InterruptRecord) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = fmtTime(r.CreatedAt) + " " + r.ID + " " + r.ThreadID
		}
		return out
	}
	if g, w := render(got), render(want); !slices.Equal(g, w) {
		e.t.Errorf("Interrupts order:\ngot\n\t%s\nwant\n\t%s", strings.Join(g, "\n\t"), strings.Join(w, "\n\t"))
	}
}

// manyInterrupts commits n pending interrupts over threads threads, with
// many sharing a CreatedAt and IDs shared across threads, and returns them
// in query order.
func (e *env) manyInterrupts(n, threads int) []checkpoint.InterruptRecord {
	e.t.Helper()
	var all []checkpoint.InterruptRecord
	per := (n + threads - 1) / threads
	for t := range threads {
		th := fmt.Sprintf("t%d", t)
		f := e.thread(th, "w")
		var rs []checkpoint.InterruptRecord
		for i := range per {
			if len(all)+len(rs) == n {
				break
			}
			r := question(th, fmt.Sprintf("q%03d", (i*37)%per), "", i%5)
			r.Assignees = []string{fmt.Sprintf("u%d", i%3)}
			rs = append(rs, r)
		}
		f.commit(checkpoint.Commit{Interrupts: rs})
		all = append(all, rs...)
	}
	sortInterrupts(all)
	return all
}

func keys(rs []checkpoint.InterruptRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ThreadID + "/" + r.ID
	}
	return out
}

// testInterruptsPages: a cursor walks every match once, in order, Limit at
// a time, over many pages; Next is "" on the last page only.
func testInterruptsPages(e *env) {
	all := e.manyInterrupts(200, 4)
	var u1 []checkpoint.InterruptRecord
	for _, r := range all {
		if r.Assignees[0] == "u1" {
			u1 = append(u1, r)
		}
	}
	for _, tc := range []struct {
		name  string
		q     checkpoint.InterruptQuery
		limit int
		want  []checkpoint.InterruptRecord
	}{
		{"Limit3", checkpoint.InterruptQuery{}, 3, all},
		{"Limit7", checkpoint.InterruptQuery{}, 7, all},
		{"Limit50", checkpoint.InterruptQuery{}, 50, all},
		{"LimitEqualsTotal", checkpoint.InterruptQuery{}, 200, all},
		{"LimitAboveTotal", checkpoint.InterruptQuery{}, 201, all},
		{"Filtered", checkpoint.InterruptQuery{Assignees: []string{"u1"}, Status: checkpoint.InterruptPending}, 9, u1},
	} {
		e.run(tc.name, func(e *env) {
			q := tc.q
			q.Limit = tc.limit
			var got []checkpoint.InterruptRecord
			for {
				page, err := e.s.Interrupts(e.ctx, &q)
				noErr(e.t, fmt.Sprintf("Interrupts(%+v)", q), err)
				if len(page.Interrupts) > tc.limit {
					e.t.Fatalf("Interrupts(%+v): %d on one page", q, len(page.Interrupts))
				}
				got = append(got, page.Interrupts...)
				if page.Next == "" {
					break
				}
				if len(page.Interrupts) < tc.limit {
					e.t.Fatalf("Interrupts(%+v): a page of %d before the last", q, len(page.Interrupts))
				}
				if len(got) > len(tc.want) {
					e.t.Fatalf("Interrupts(%+v): more records than match", q)
				}
				q.After = page.Next
			}
			if g, w := keys(got), keys(tc.want); !slices.Equal(g, w) {
				e.t.Errorf("Interrupts pages of %d: got %d records, want %d; first difference at %d", tc.limit, len(g), len(w), firstDiff(g, w))
			}
		})
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// testInterruptsPagesWhileAnswering: a cursor is a position: answering
// interrupts of pages already read (so they leave the query) makes the
// following pages neither skip nor repeat any.
func testInterruptsPagesWhileAnswering(e *env) {
	all := e.manyInterrupts(60, 3)
	q := checkpoint.InterruptQuery{Status: checkpoint.InterruptPending, Limit: 8}
	var got []checkpoint.InterruptRecord
	for {
		page, err := e.s.Interrupts(e.ctx, &q)
		noErr(e.t, "Interrupts", err)
		got = append(got, page.Interrupts...)
		for _, r := range page.Interrupts[:len(page.Interrupts)/2] {
			noErr(e.t, "Answer", e.answer([]checkpoint.Answer{{ThreadID: r.ThreadID, InterruptID: r.ID, Value: json.RawMessage(`1`), At: at(100)}}))
		}
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	if g, w := keys(got), keys(all); !slices.Equal(g, w) {
		e.t.Errorf("pages while answering: got %d records, want %d; first difference at %d", len(g), len(w), firstDiff(g, w))
	}
}

// testInterruptsDefaultLimit: Limit 0 means 100.
func testInterruptsDefaultLimit(e *env) {
	all := e.manyInterrupts(101, 1)
	page, err := e.s.Interrupts(e.ctx, &checkpoint.InterruptQuery{})
	noErr(e.t, "Interrupts(Limit 0)", err)
	if len(page.Interrupts) != 100 || page.Next == "" {
		e.t.Fatalf("Interrupts(Limit 0) = %d, Next %q; want 100 and a cursor", len(page.Interrupts), page.Next)
	}
	page, err = e.s.Interrupts(e.ctx, &checkpoint.InterruptQuery{After: page.Next})
	noErr(e.t, "Interrupts(second page)", err)
	if g, w := keys(page.Interrupts), keys(all[100:]); !slices.Equal(g, w) || page.Next != "" {
		e.t.Errorf("Interrupts(second page) = %q, Next %q; want %q, \"\"", g, page.Next, w)
	}
}

// testInterruptsBadCursor: a cursor the store did not make is an error
// wrapping checkpoint.ErrBadCursor.
func testInterruptsBadCursor(e *env) {
	e.manyInterrupts(3, 1)
	for _, c := range []string{"not a cursor!", "%%%", "\x00\xff", "{}"} {
		if page, err := e.s.Interrupts(e.ctx, &checkpoint.InterruptQuery{After: c}); !errors.Is(err, checkpoint.ErrBadCursor) {
			n := 0
			if page != nil {
				n = len(page.Interrupts)
			}
			e.t.Errorf("Interrupts(After %q) = %d records, %v; want an error wrapping ErrBadCursor", c, n, err)
		}
	}
}

var answerTests = []test{
	{"Records", testAnswerRecords},
	{"NullIsAnAnswer", testAnswerNull},
	{"NotFound", func(e *env) { testAnswerRefused(e, "missing", checkpoint.ErrNotFound) }},
	{"NotFoundThread", func(e *env) { testAnswerRefused(e, "thread", checkpoint.ErrNotFound) }},
	{"AlreadyAnswered", func(e *env) { testAnswerRefused(e, "answered", checkpoint.ErrAlreadyAnswered) }},
	{"Cancelled", func(e *env) { testAnswerRefused(e, "cancelled", checkpoint.ErrAlreadyAnswered) }},
	{"DuplicateInOneCall", func(e *env) { testAnswerRefused(e, "twice", checkpoint.ErrAlreadyAnswered) }},
	{"NotAtThePause", func(e *env) { testAnswerRefused(e, "moved", checkpoint.ErrAlreadyAnswered) }},
}

// testAnswerRecords: answers of one call are recorded with their author,
// channel and time; the rest of the record stays.
func testAnswerRecords(e *env) {
	fa, fb := e.thread("a", "review"), e.thread("b", "review")
	qa, qb, qc := fullQuestion("a", "q1"), fullQuestion("b", "q1"), fullQuestion("a", "q2")
	fa.row.Head, fb.row.Head = qa.CheckpointID, qb.CheckpointID
	fa.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{qa, qc}})
	fb.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{qb}})
	t1 := at(10).Add(5 * time.Microsecond)
	noErr(e.t, "Answer(a)", e.answer([]checkpoint.Answer{
		{ThreadID: "a", InterruptID: "q1", Value: json.RawMessage(`{"ok": true}`), Author: "ann", Channel: checkpoint.ChannelUI, At: t1},
	}))
	noErr(e.t, "Answer(b)", e.answer([]checkpoint.Answer{
		{ThreadID: "b", InterruptID: "q1", Value: json.RawMessage(`false`), Author: "resolver:auto", Channel: checkpoint.ChannelResolver, At: at(11)},
	}))
	qa.Status, qa.Answer, qa.Author, qa.Channel, qa.AnsweredAt = checkpoint.InterruptAnswered, json.RawMessage(`{"ok": true}`), "ann", checkpoint.ChannelUI, t1
	qb.Status, qb.Answer, qb.Author, qb.Channel, qb.AnsweredAt = checkpoint.InterruptAnswered, json.RawMessage(`false`), "resolver:auto", checkpoint.ChannelResolver, at(11)
	checkInterrupt(e.t, "a/q1", e.interrupt("a", "q1"), &qa)
	checkInterrupt(e.t, "b/q1", e.interrupt("b", "q1"), &qb)
	checkInterrupt(e.t, "a/q2 (not answered)", e.interrupt("a", "q2"), &qc)
	// Answering a running thread does not touch it: its run sees the
	// answers when it next reads its questions.
	if th := e.getThread("a"); th.Version != 1 || th.Status != checkpoint.StatusRunning {
		e.t.Errorf("running thread after Answer: version %d, %s; want 1, running", th.Version, th.Status)
	}
}

// testAnswerNull: "null" is a valid answer, kept as given.
func testAnswerNull(e *env) {
	f := e.thread("a", "w")
	f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{question("a", "q", "", 1)}})
	noErr(e.t, "Answer(null)", e.answer([]checkpoint.Answer{{ThreadID: "a", InterruptID: "q", Value: json.RawMessage(`null`), Channel: checkpoint.ChannelDeadline, At: at(2)}}))
	r := e.interrupt("a", "q")
	if r.Status != checkpoint.InterruptAnswered || string(r.Answer) != "null" || r.Channel != checkpoint.ChannelDeadline {
		e.t.Errorf("after a null answer: status %s, answer %s, channel %q; want answered, null, deadline", r.Status, show(r.Answer), r.Channel)
	}
}

// testAnswerRefused: a call with one bad answer among good ones records
// none of them, and changes nothing.
func testAnswerRefused(e *env, bad string, target error) {
	fa, fb := e.thread("a", "w"), e.thread("b", "w")
	fa.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{
		question("a", "ok1", "", 1), question("a", "ok3", "", 1), question("a", "done", "", 1),
		question("a", "dup", "", 1), question("a", "gone", "", 1), question("a", "old", "an older checkpoint", 1),
	}})
	fb.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{question("b", "ok2", "", 1)}})
	noErr(e.t, "Answer(a/done)", e.answer([]checkpoint.Answer{{ThreadID: "a", InterruptID: "done", Value: json.RawMessage(`"first"`), Author: "first", At: at(2)}}))
	fa.commit(checkpoint.Commit{Cancel: &checkpoint.Cancellation{IDs: []string{"gone"}, Author: "ops", Channel: checkpoint.ChannelAPI, At: at(3), Note: "moot"}})
	before := e.snapshot("a") + e.snapshot("b")

	ans := func(thread, id string) checkpoint.Answer {
		return checkpoint.Answer{ThreadID: thread, InterruptID: id, Value: json.RawMessage(`"second"`), Author: "second", Channel: checkpoint.ChannelAPI, At: at(5)}
	}
	good := []checkpoint.Answer{ans("a", "ok1"), ans("a", "ok3"), ans("a", "dup")}
	var batch []checkpoint.Answer
	switch bad {
	case "missing":
		batch = []checkpoint.Answer{good[0], ans("a", "nope"), good[1]}
	case "thread":
		batch = []checkpoint.Answer{ans("nope", "ok1")}
	case "answered":
		batch = []checkpoint.Answer{good[0], good[1], ans("a", "done")}
	case "cancelled":
		batch = []checkpoint.Answer{good[0], ans("a", "gone"), good[1]}
	case "moved":
		batch = []checkpoint.Answer{good[0], ans("a", "old"), good[1]}
	case "twice":
		batch = []checkpoint.Answer{good[2], good[0], good[2]}
	}
	for _, order := range []string{"AsGiven", "BadFirst"} {
		e.run(order, func(e *env) {
			err := e.answer(batch)
			wantErr(e.t, fmt.Sprintf("Answer(%s)", bad), err, target)
			if after := e.snapshot("a") + e.snapshot("b"); after != before {
				e.t.Errorf("a refused Answer changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
		slices.Reverse(batch)
	}
	// The good answers alone still go through.
	noErr(e.t, "Answer(the good answers)", e.answer(good))
}

var reassignTests = []test{
	{"Changes", testReassign},
	{"NotFound", func(e *env) {
		f := e.thread("a", "w")
		f.commit(checkpoint.Commit{})
		for _, r := range []checkpoint.Reassign{{ThreadID: "a", InterruptID: "nope"}, {ThreadID: "nope", InterruptID: "q"}} {
			err := e.s.Reassign(e.ctx, &r)
			wantErr(e.t, fmt.Sprintf("Reassign(%s/%s)", r.ThreadID, r.InterruptID), err, checkpoint.ErrNotFound)
		}
	}},
	{"NotPending", testReassignNotPending},
}

// testReassign: assignees, deadline, fallback and escalation are replaced
// (cleared when empty); the rest of the record stays, and queries see the
// new values.
func testReassign(e *env) {
	f := e.thread("a", "review")
	q := fullQuestion("a", "q")
	f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{q}})
	// A reassignment that expects another deadline (a second escalator
	// that read the question before the first one moved it) changes
	// nothing.
	stale := checkpoint.Reassign{ThreadID: "a", InterruptID: "q", ExpectedDeadline: q.Deadline.Add(-time.Minute), Assignees: []string{"late"}}
	wantErr(e.t, "Reassign(stale deadline)", e.s.Reassign(e.ctx, &stale), checkpoint.ErrConflict)
	checkInterrupt(e.t, "after a stale Reassign", e.interrupt("a", "q"), &q)
	r := checkpoint.Reassign{ThreadID: "a", InterruptID: "q", ExpectedDeadline: q.Deadline, Assignees: []string{"boss", "role:ops"},
		Deadline: at(120).Add(3 * time.Microsecond), Fallback: json.RawMessage(`{"auto": true}`),
		FallbackAt: at(180).Add(5 * time.Microsecond), EscalateTo: []string{"ceo"}}
	noErr(e.t, "Reassign", e.s.Reassign(e.ctx, &r))
	q.Assignees, q.Deadline, q.Fallback, q.FallbackAt, q.EscalateTo = r.Assignees, r.Deadline, r.Fallback, r.FallbackAt, r.EscalateTo
	checkInterrupt(e.t, "after Reassign", e.interrupt("a", "q"), &q)
	for _, tc := range []struct {
		q    checkpoint.InterruptQuery
		want int
	}{
		{checkpoint.InterruptQuery{Assignees: []string{"ann"}}, 0},
		{checkpoint.InterruptQuery{Assignees: []string{"role:legal"}}, 0},
		{checkpoint.InterruptQuery{Assignees: []string{"boss"}}, 1},
		{checkpoint.InterruptQuery{Assignees: []string{"role:ops"}, Status: checkpoint.InterruptPending}, 1},
		{checkpoint.InterruptQuery{DueBefore: at(100)}, 0},
		{checkpoint.InterruptQuery{DueBefore: at(121)}, 1},
	} {
		if got := len(e.interrupts(tc.q)); got != tc.want {
			e.t.Errorf("Interrupts(%+v) after Reassign = %d, want %d", tc.q, got, tc.want)
		}
	}

	// Empty values clear.
	noErr(e.t, "Reassign(empty)", e.s.Reassign(e.ctx, &checkpoint.Reassign{ThreadID: "a", InterruptID: "q", ExpectedDeadline: q.Deadline}))
	q.Assignees, q.Deadline, q.Fallback, q.FallbackAt, q.EscalateTo = nil, time.Time{}, nil, time.Time{}, nil
	checkInterrupt(e.t, "after Reassign(empty)", e.interrupt("a", "q"), &q)
	if got := len(e.interrupts(checkpoint.InterruptQuery{Assignees: []string{"boss"}})); got != 0 {
		e.t.Errorf("Interrupts(Assignees boss) after clearing = %d, want 0", got)
	}
	if got := len(e.interrupts(checkpoint.InterruptQuery{DueBefore: at(1000)})); got != 0 {
		e.t.Errorf("Interrupts(DueBefore) after clearing the deadline = %d, want 0", got)
	}
}

// testReassignNotPending: an answered or cancelled interrupt cannot be
// reassigned, and stays as it was.
func testReassignNotPending(e *env) {
	f := e.thread("a", "w")
	f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{question("a", "answered", "", 1), question("a", "cancelled", "", 1)}})
	noErr(e.t, "Answer", e.answer([]checkpoint.Answer{{ThreadID: "a", InterruptID: "answered", Value: json.RawMessage(`1`), At: at(2)}}))
	f.commit(checkpoint.Commit{Cancel: &checkpoint.Cancellation{}})
	before := e.snapshot("a")
	for _, id := range []string{"answered", "cancelled"} {
		err := e.s.Reassign(e.ctx, &checkpoint.Reassign{ThreadID: "a", InterruptID: id, Assignees: []string{"x"}, Deadline: at(9)})
		wantErr(e.t, "Reassign("+id+")", err, checkpoint.ErrAlreadyAnswered)
	}
	e.unchanged("a refused Reassign", before, "a")
}
