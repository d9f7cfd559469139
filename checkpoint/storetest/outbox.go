package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
)

// RunOutbox runs the conformance suite of checkpoint.Outbox against the
// stores newStore returns: with outbox true, a new, empty store whose
// outbox is on; with false, one whose outbox is off. Both must implement
// checkpoint.Outbox. Subtests run in parallel, like Run's.
//
//	func TestOutboxConformance(t *testing.T) {
//		storetest.RunOutbox(t, func(t *testing.T, outbox bool) checkpoint.Store {
//			if outbox {
//				return memstore.New(memstore.WithOutbox())
//			}
//			return memstore.New()
//		})
//	}
//
// It checks that events are recorded in the same transaction as what they
// report (a refused commit, answer or reassignment records none), that a
// store with the outbox off records none, that Dedup keys are unique, that
// concurrent claimers never get one event twice, that a failed attempt is
// rescheduled, that delivered and dead events are never claimed again, and
// pruning.
func RunOutbox(t *testing.T, newStore func(t *testing.T, outbox bool) checkpoint.Store) {
	t.Helper()
	for _, c := range outboxTests {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t, !c.off)
			o, ok := s.(checkpoint.Outbox)
			if !ok {
				t.Fatalf("%T does not implement checkpoint.Outbox", s)
			}
			c.run(&outboxEnv{env: &env{t: t, s: s, ctx: t.Context()}, o: o})
		})
	}
}

type outboxEnv struct {
	*env
	o checkpoint.Outbox
}

type outboxTest struct {
	name string
	off  bool // the store's outbox is off
	run  func(e *outboxEnv)
}

var outboxTests = []outboxTest{
	{name: "Enabled", run: func(e *outboxEnv) {
		if !e.o.OutboxEnabled() {
			e.t.Error("OutboxEnabled() = false for a store with the outbox on")
		}
	}},
	{name: "AskedWithCommit", run: testOutboxAsked},
	{name: "AnsweredWithAnswer", run: testOutboxAnswered},
	{name: "EscalatedWithReassign", run: testOutboxEscalated},
	{name: "FailedWithCommit", run: testOutboxFailed},
	{name: "NoneWhenOff", off: true, run: testOutboxOff},
	{name: "Dedup", run: testOutboxDedup},
	{name: "ClaimAndDeliver", run: testOutboxDeliver},
	{name: "Retry", run: testOutboxRetry},
	{name: "LapsedClaim", run: testOutboxLapsed},
	{name: "ConcurrentClaimers", run: testOutboxConcurrent},
	{name: "Prune", run: testOutboxPrune},
	{name: "BadArguments", run: testOutboxBad},
}

// events returns the events of q, failing the test on error.
func (e *outboxEnv) events(q checkpoint.EventQuery) []checkpoint.Event {
	e.t.Helper()
	es, err := e.o.Events(e.ctx, &q)
	noErr(e.t, "Events", err)
	return es
}

// claim claims up to limit events for owner.
func (e *outboxEnv) claim(owner string, limit int, lease time.Duration) []checkpoint.Event {
	e.t.Helper()
	es, err := e.o.ClaimEvents(e.ctx, &checkpoint.EventClaim{Owner: owner, Lease: lease, Limit: limit})
	noErr(e.t, "ClaimEvents", err)
	return es
}

// paused commits thread id paused at its first checkpoint with questions
// qs, and returns its fixture.
func (e *outboxEnv) paused(id string, qs ...checkpoint.InterruptRecord) *fixture {
	f := e.thread(id, "review")
	f.row.Status = checkpoint.StatusInterrupted
	f.commit(checkpoint.Commit{Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceInput}, Interrupts: qs})
	return f
}

func eventTypes(es []checkpoint.Event) []string {
	out := make([]string, len(es))
	for i, ev := range es {
		out[i] = ev.Type + ":" + ev.InterruptID
	}
	return out
}

func testOutboxAsked(e *outboxEnv) {
	q1, q2 := fullQuestion("a", "q1"), fullQuestion("a", "q2")
	q2.Assignees, q2.Deadline = nil, time.Time{}
	f := e.paused("a", q1, q2)
	es := e.events(checkpoint.EventQuery{})
	if got, want := eventTypes(es), []string{"question.asked:q1", "question.asked:q2"}; !slices.Equal(got, want) {
		e.t.Fatalf("events after a commit of two questions = %v, want %v", got, want)
	}
	ev := es[0]
	d := differ{e.t, "question.asked"}
	eq(d, "ThreadID", ev.ThreadID, "a")
	eq(d, "Workflow", ev.Workflow, "review")
	eq(d, "Node", ev.Node, q1.Node)
	eq(d, "Key", ev.Key, q1.Key)
	eq(d, "Reason", ev.Reason, q1.Reason)
	d.strs("Assignees", ev.Assignees, q1.Assignees)
	d.time("Deadline", ev.Deadline, q1.Deadline)
	eq(d, "Status", ev.Status, checkpoint.EventPending)
	eq(d, "Attempts", ev.Attempts, 0)
	if ev.ID == "" || ev.ID == es[1].ID {
		e.t.Errorf("event IDs %q and %q: want two different, non-empty IDs", ev.ID, es[1].ID)
	}
	if len(es[1].Assignees) != 0 || !es[1].Deadline.IsZero() {
		e.t.Errorf("event of a question without assignees nor deadline: %v, %v", es[1].Assignees, es[1].Deadline)
	}

	// A question that exists already is not asked again; a commit refused
	// for its version records nothing.
	f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{q1}})
	bad := f.conflicting(f.row.Version - 1)
	bad.Interrupts = []checkpoint.InterruptRecord{question("a", "q9", "", 1)}
	bad.Thread.Status = checkpoint.StatusFailed
	_, err := e.s.Commit(e.ctx, &bad)
	wantErr(e.t, "Commit(stale)", err, checkpoint.ErrConflict)
	if got := e.events(checkpoint.EventQuery{}); len(got) != 2 {
		e.t.Errorf("events after a repeated question and a refused commit = %v, want the 2 of before", eventTypes(got))
	}
	// An answered question committed as such is not asked.
	done := question("a", "q3", "", 2)
	done.Status = checkpoint.InterruptAnswered
	f.commit(checkpoint.Commit{Interrupts: []checkpoint.InterruptRecord{done}})
	if got := e.events(checkpoint.EventQuery{Type: checkpoint.EventQuestionAsked}); len(got) != 2 {
		e.t.Errorf("events after committing an answered question = %v, want the 2 of before", eventTypes(got))
	}
}

func testOutboxAnswered(e *outboxEnv) {
	e.paused("a", fullQuestion("a", "q1"), fullQuestion("a", "q2"))
	noErr(e.t, "Answer", e.answer([]checkpoint.Answer{{ThreadID: "a", InterruptID: "q1", Value: json.RawMessage(`true`),
		Author: "ann", Channel: checkpoint.ChannelUI, At: at(5)}}))
	got := e.events(checkpoint.EventQuery{Type: checkpoint.EventQuestionAnswered})
	if len(got) != 1 || got[0].InterruptID != "q1" || got[0].Author != "ann" || got[0].Channel != checkpoint.ChannelUI || got[0].ThreadID != "a" {
		e.t.Fatalf("question.answered events = %+v, want one for q1 by ann through ui", got)
	}
	// A refused answer (all or none: q2 is fine, q1 is answered already)
	// records nothing.
	err := e.answer([]checkpoint.Answer{
		{ThreadID: "a", InterruptID: "q2", Value: json.RawMessage(`true`), At: at(6)},
		{ThreadID: "a", InterruptID: "q1", Value: json.RawMessage(`true`), At: at(6)},
	})
	wantErr(e.t, "Answer(answered)", err, checkpoint.ErrAlreadyAnswered)
	if got := e.events(checkpoint.EventQuery{Type: checkpoint.EventQuestionAnswered}); len(got) != 1 {
		e.t.Errorf("question.answered events after a refused answer = %v, want 1", eventTypes(got))
	}
}

func testOutboxEscalated(e *outboxEnv) {
	q := fullQuestion("a", "q")
	e.paused("a", q)
	stale := checkpoint.Reassign{ThreadID: "a", InterruptID: "q", ExpectedDeadline: q.Deadline.Add(-time.Minute), Assignees: []string{"late"}}
	wantErr(e.t, "Reassign(stale)", e.s.Reassign(e.ctx, &stale), checkpoint.ErrConflict)
	if got := e.events(checkpoint.EventQuery{Type: checkpoint.EventQuestionEscalated}); len(got) != 0 {
		e.t.Fatalf("question.escalated events after a refused Reassign = %v, want none", eventTypes(got))
	}
	r := checkpoint.Reassign{ThreadID: "a", InterruptID: "q", ExpectedDeadline: q.Deadline, Assignees: []string{"boss"}, Deadline: at(200)}
	noErr(e.t, "Reassign", e.s.Reassign(e.ctx, &r))
	got := e.events(checkpoint.EventQuery{Type: checkpoint.EventQuestionEscalated})
	if len(got) != 1 {
		e.t.Fatalf("question.escalated events = %v, want 1", eventTypes(got))
	}
	d := differ{e.t, "question.escalated"}
	d.strs("Assignees", got[0].Assignees, []string{"boss"})
	d.time("Deadline", got[0].Deadline, at(200))
	eq(d, "Node", got[0].Node, q.Node)
}

func testOutboxFailed(e *outboxEnv) {
	f := e.thread("a", "review")
	f.commit(checkpoint.Commit{Checkpoint: &checkpoint.Checkpoint{Source: checkpoint.SourceInput}})
	if got := e.events(checkpoint.EventQuery{}); len(got) != 0 {
		e.t.Fatalf("events after a running commit = %v, want none", eventTypes(got))
	}
	f.row.Status, f.row.Error = checkpoint.StatusFailed, "node charge: card declined"
	f.commit(checkpoint.Commit{})
	got := e.events(checkpoint.EventQuery{Type: checkpoint.EventThreadFailed})
	if len(got) != 1 || got[0].Error != "node charge: card declined" || got[0].Workflow != "review" || got[0].InterruptID != "" {
		e.t.Fatalf("thread.failed events = %+v, want one with the thread's error", got)
	}
}

func testOutboxOff(e *outboxEnv) {
	if e.o.OutboxEnabled() {
		e.t.Error("OutboxEnabled() = true for a store with the outbox off")
	}
	q := fullQuestion("a", "q1")
	f := e.paused("a", q, fullQuestion("a", "q2"))
	noErr(e.t, "Answer", e.answer([]checkpoint.Answer{{ThreadID: "a", InterruptID: "q1", Value: json.RawMessage(`true`), At: at(5)}}))
	noErr(e.t, "Reassign", e.s.Reassign(e.ctx, &checkpoint.Reassign{ThreadID: "a", InterruptID: "q2", ExpectedDeadline: q.Deadline}))
	f.row = *e.getThread("a")
	f.row.Status, f.row.Error = checkpoint.StatusFailed, "boom"
	f.commit(checkpoint.Commit{})
	if got := e.events(checkpoint.EventQuery{}); len(got) != 0 {
		e.t.Errorf("events of a store with the outbox off = %v, want none", eventTypes(got))
	}
	if got := e.claim("s1", 10, time.Minute); len(got) != 0 {
		e.t.Errorf("ClaimEvents of a store with the outbox off = %v, want none", eventTypes(got))
	}
}

func testOutboxDedup(e *outboxEnv) {
	ev := checkpoint.Event{Type: checkpoint.EventDeadlineNear, ThreadID: "a", Workflow: "w", InterruptID: "q", Dedup: "deadline.near/a/q/1"}
	for i, want := range []bool{true, false} {
		ok, err := e.o.AddEvent(e.ctx, &ev)
		noErr(e.t, "AddEvent", err)
		if ok != want {
			e.t.Errorf("AddEvent #%d = %v, want %v", i+1, ok, want)
		}
	}
	other := ev
	other.Dedup = ""
	for range 2 {
		ok, err := e.o.AddEvent(e.ctx, &other)
		noErr(e.t, "AddEvent(no dedup)", err)
		if !ok {
			e.t.Error("AddEvent without a Dedup key = false, want true")
		}
	}
	got := e.events(checkpoint.EventQuery{})
	if len(got) != 3 {
		e.t.Fatalf("events = %d, want 3", len(got))
	}
	eq(differ{e.t, "added event"}, "Dedup", got[0].Dedup, ev.Dedup)
	// Delivered, the key stays taken.
	claimed := e.claim("s1", 10, time.Minute)
	for _, c := range claimed {
		noErr(e.t, "DeliveredEvent", e.o.DeliveredEvent(e.ctx, &checkpoint.EventDone{ID: c.ID, At: at(1)}))
	}
	if ok, err := e.o.AddEvent(e.ctx, &ev); err != nil || ok {
		e.t.Errorf("AddEvent of a delivered key = %v, %v; want false", ok, err)
	}
}

func testOutboxDeliver(e *outboxEnv) {
	e.paused("a", fullQuestion("a", "q1"), fullQuestion("a", "q2"))
	first := e.claim("s1", 1, time.Hour)
	if len(first) != 1 || first[0].InterruptID != "q1" {
		e.t.Fatalf("ClaimEvents(limit 1) = %v, want the event of q1 (the oldest)", eventTypes(first))
	}
	second := e.claim("s2", 10, time.Hour)
	if len(second) != 1 || second[0].InterruptID != "q2" {
		e.t.Fatalf("ClaimEvents by a second sender = %v, want only q2's (q1's is claimed)", eventTypes(second))
	}
	if got := e.claim("s3", 10, time.Hour); len(got) != 0 {
		e.t.Fatalf("ClaimEvents with everything claimed = %v, want none", eventTypes(got))
	}
	noErr(e.t, "DeliveredEvent", e.o.DeliveredEvent(e.ctx, &checkpoint.EventDone{ID: first[0].ID, At: at(3)}))
	noErr(e.t, "DeliveredEvent(again)", e.o.DeliveredEvent(e.ctx, &checkpoint.EventDone{ID: first[0].ID, At: at(4)}))
	wantErr(e.t, "DeliveredEvent(missing)", e.o.DeliveredEvent(e.ctx, &checkpoint.EventDone{ID: "nope", At: at(4)}), checkpoint.ErrNotFound)
	// A delivered event is not retried by a late sender.
	wantErr(e.t, "RetryEvent(delivered)", e.o.RetryEvent(e.ctx, &checkpoint.EventRetry{ID: first[0].ID, Owner: "s1", At: at(0)}), checkpoint.ErrConflict)
	got := e.events(checkpoint.EventQuery{Status: checkpoint.EventDelivered})
	if len(got) != 1 || got[0].ID != first[0].ID {
		e.t.Fatalf("delivered events = %v, want q1's", eventTypes(got))
	}
	d := differ{e.t, "delivered event"}
	d.time("DeliveredAt", got[0].DeliveredAt, at(3))
	if got := e.events(checkpoint.EventQuery{Status: checkpoint.EventPending}); len(got) != 1 || got[0].InterruptID != "q2" {
		e.t.Errorf("pending events = %v, want q2's", eventTypes(got))
	}
}

func testOutboxRetry(e *outboxEnv) {
	e.paused("a", fullQuestion("a", "q1"))
	ev := e.claim("s1", 1, time.Hour)[0]
	wantErr(e.t, "RetryEvent(other owner)", e.o.RetryEvent(e.ctx, &checkpoint.EventRetry{ID: ev.ID, Owner: "s2", At: time.Now()}), checkpoint.ErrConflict)
	wantErr(e.t, "RetryEvent(missing)", e.o.RetryEvent(e.ctx, &checkpoint.EventRetry{ID: "nope", Owner: "s1"}), checkpoint.ErrNotFound)
	later := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	noErr(e.t, "RetryEvent", e.o.RetryEvent(e.ctx, &checkpoint.EventRetry{ID: ev.ID, Owner: "s1", At: later, Error: "500 Internal Server Error", Done: []string{"hook-1"}}))
	if got := e.claim("s1", 10, time.Hour); len(got) != 0 {
		e.t.Fatalf("ClaimEvents before the next attempt is due = %v, want none", eventTypes(got))
	}
	got := e.events(checkpoint.EventQuery{})[0]
	d := differ{e.t, "retried event"}
	eq(d, "Attempts", got.Attempts, 1)
	eq(d, "LastError", got.LastError, "500 Internal Server Error")
	eq(d, "Status", got.Status, checkpoint.EventPending)
	d.strs("Done", got.Done, []string{"hook-1"})
	d.time("NextAttempt", got.NextAttempt, later)

	// Due again: claimed, by anyone.
	e.paused("b", fullQuestion("b", "q1"))
	evB := e.claim("s1", 1, time.Hour)[0]
	noErr(e.t, "RetryEvent(due now)", e.o.RetryEvent(e.ctx, &checkpoint.EventRetry{ID: evB.ID, Owner: "s1", At: time.Now().Add(-time.Minute), Error: "timeout"}))
	again := e.claim("s2", 10, time.Hour)
	if len(again) != 1 || again[0].ID != evB.ID || again[0].Attempts != 1 {
		e.t.Fatalf("ClaimEvents once the retry is due = %+v, want b's event with 1 attempt", again)
	}
	// Given up: dead, never claimed again.
	noErr(e.t, "RetryEvent(give up)", e.o.RetryEvent(e.ctx, &checkpoint.EventRetry{ID: evB.ID, Owner: "s2", At: time.Now().Add(-time.Minute), Error: "gone", GiveUp: true}))
	if got := e.claim("s3", 10, 0); len(got) != 0 {
		e.t.Fatalf("ClaimEvents after giving up = %v, want none", eventTypes(got))
	}
	dead := e.events(checkpoint.EventQuery{Status: checkpoint.EventDead})
	if len(dead) != 1 || dead[0].ID != evB.ID || dead[0].Attempts != 2 || dead[0].LastError != "gone" {
		e.t.Errorf("dead events = %+v, want b's with 2 attempts", dead)
	}
}

func testOutboxLapsed(e *outboxEnv) {
	e.paused("a", fullQuestion("a", "q1"))
	// A claim of no lease lapses at once: its sender is presumed dead.
	first := e.claim("s1", 1, 0)
	if len(first) != 1 {
		e.t.Fatalf("ClaimEvents = %v, want 1", eventTypes(first))
	}
	var again []checkpoint.Event
	deadline := time.Now().Add(10 * time.Second)
	for len(again) == 0 && time.Now().Before(deadline) {
		again = e.claim("s2", 1, time.Hour)
	}
	if len(again) != 1 || again[0].ID != first[0].ID {
		e.t.Fatalf("ClaimEvents after the first claim lapsed = %v, want the same event", eventTypes(again))
	}
	// The first sender's late failure report is refused: s2 holds it.
	wantErr(e.t, "RetryEvent(lapsed claim)", e.o.RetryEvent(e.ctx, &checkpoint.EventRetry{ID: first[0].ID, Owner: "s1", At: time.Now()}), checkpoint.ErrConflict)
}

func testOutboxConcurrent(e *outboxEnv) {
	const n = 40
	for i := range n {
		_, err := e.o.AddEvent(e.ctx, &checkpoint.Event{Type: checkpoint.EventQuestionAsked, ThreadID: fmt.Sprintf("t%02d", i), InterruptID: "q"})
		noErr(e.t, "AddEvent", err)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		owner := fmt.Sprintf("s%d", w)
		wg.Go(func() {
			for {
				es, err := e.o.ClaimEvents(e.ctx, &checkpoint.EventClaim{Owner: owner, Lease: time.Hour, Limit: 3})
				if err != nil {
					e.t.Errorf("ClaimEvents(%s): %v", owner, err)
					return
				}
				if len(es) == 0 {
					return
				}
				mu.Lock()
				for _, ev := range es {
					if other, dup := seen[ev.ID]; dup {
						e.t.Errorf("event %s claimed by %s and %s", ev.ID, other, owner)
					}
					seen[ev.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		e.t.Errorf("claimed %d distinct events, want %d", len(seen), n)
	}
}

func testOutboxPrune(e *outboxEnv) {
	for i := range 4 {
		_, err := e.o.AddEvent(e.ctx, &checkpoint.Event{Type: checkpoint.EventQuestionAsked, ThreadID: fmt.Sprintf("t%d", i), CreatedAt: at(i)})
		noErr(e.t, "AddEvent", err)
	}
	es := e.claim("s1", 10, time.Hour)
	if len(es) != 4 {
		e.t.Fatalf("claimed %d, want 4", len(es))
	}
	// t0 delivered, t1 dead, t2 pending, t3 delivered (the newest).
	noErr(e.t, "DeliveredEvent", e.o.DeliveredEvent(e.ctx, &checkpoint.EventDone{ID: es[0].ID, At: at(10)}))
	noErr(e.t, "RetryEvent", e.o.RetryEvent(e.ctx, &checkpoint.EventRetry{ID: es[1].ID, Owner: "s1", GiveUp: true}))
	noErr(e.t, "DeliveredEvent", e.o.DeliveredEvent(e.ctx, &checkpoint.EventDone{ID: es[3].ID, At: at(10)}))
	n, err := e.o.PruneEvents(e.ctx, &checkpoint.EventPrune{Before: at(1)})
	noErr(e.t, "PruneEvents(before t1)", err)
	if n != 1 {
		e.t.Errorf("PruneEvents(before minute 1) = %d, want 1 (t0's)", n)
	}
	n, err = e.o.PruneEvents(e.ctx, &checkpoint.EventPrune{Before: at(100)})
	noErr(e.t, "PruneEvents", err)
	if n != 1 {
		e.t.Errorf("PruneEvents(all) = %d, want 1 (t1's; t2's is pending, t3's the newest)", n)
	}
	var left []string
	for _, ev := range e.events(checkpoint.EventQuery{}) {
		left = append(left, ev.ThreadID)
	}
	if !slices.Equal(left, []string{"t2", "t3"}) {
		e.t.Errorf("events after pruning = %v, want [t2 t3]", left)
	}
}

func testOutboxBad(e *outboxEnv) {
	for _, ev := range []*checkpoint.Event{nil, {ThreadID: "a"}, {Type: checkpoint.EventQuestionAsked}} {
		if ok, err := e.o.AddEvent(e.ctx, ev); err == nil || ok {
			e.t.Errorf("AddEvent(%+v) = %v, %v; want an error", ev, ok, err)
		}
	}
	if _, err := e.o.ClaimEvents(e.ctx, &checkpoint.EventClaim{}); err == nil {
		e.t.Error("ClaimEvents without an owner: want an error")
	}
	if got := e.events(checkpoint.EventQuery{}); len(got) != 0 {
		e.t.Errorf("events after refused calls = %v, want none", eventTypes(got))
	}
}
