package pgstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
)

// askIn commits a new thread id paused on question q (assigned to alice,
// due at deadline) on st.
func askIn(t *testing.T, st checkpoint.Store, id string, deadline time.Time) {
	t.Helper()
	c := testCommit(id, 0)
	c.Thread.Status = checkpoint.StatusInterrupted
	c.Interrupts = []checkpoint.InterruptRecord{{ID: "q", CheckpointID: c.Thread.Head, Kind: checkpoint.KindDynamic,
		Assignees: []string{"alice"}, Deadline: deadline}}
	if _, err := st.Commit(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// eventsOf lists "type thread" of every event of st.
func eventsOf(t *testing.T, st checkpoint.Outbox) []string {
	t.Helper()
	es, err := st.Events(t.Context(), &checkpoint.EventQuery{})
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, e := range es {
		out = append(out, e.Type+" "+e.ThreadID)
	}
	return out
}

// TestOutboxMark: a process that opened its store with the outbox off
// before another opened one with the outbox on (the mark) records the
// events of every write it makes after the mark — a question asked, an
// answer, an escalation, a failure — and none of those before; a store
// opened afterwards without the outbox has it on; a schema whose outbox
// holds events but has no mark (used before the mark existed) is marked
// again by the next store that opens.
func TestOutboxMark(t *testing.T) {
	ctx := t.Context()
	early := newStore(t)
	if early.OutboxEnabled() {
		t.Fatal("outbox on, on a fresh schema without Options.Outbox")
	}
	deadline := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	askIn(t, early, "before", deadline)
	if err := early.Reassign(ctx, &checkpoint.Reassign{ThreadID: "before", InterruptID: "q", ExpectedDeadline: deadline,
		Assignees: []string{"bob"}, Deadline: deadline}); err != nil {
		t.Fatalf("Reassign before the mark: %v", err)
	}
	if got := eventsOf(t, early); len(got) != 0 {
		t.Fatalf("events before the mark: %v", got)
	}

	on, err := pgstore.New(ctx, early.Pool(), pgstore.Options{Schema: early.Schema(), Outbox: true})
	if err != nil {
		t.Fatal(err)
	}
	if early.OutboxEnabled() {
		t.Error("OutboxEnabled of a store opened before the mark: it cannot know, it should say false")
	}

	askIn(t, early, "after", deadline)
	if _, err := early.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "after", Answers: []checkpoint.Answer{{InterruptID: "q", Value: []byte(`1`), Author: "alice"}}}); err != nil {
		t.Fatal(err)
	}
	if err := early.Reassign(ctx, &checkpoint.Reassign{ThreadID: "before", InterruptID: "q", ExpectedDeadline: deadline,
		Assignees: []string{"carol"}, Deadline: deadline.Add(time.Hour)}); err != nil {
		t.Fatalf("Reassign after the mark: %v", err)
	}
	c := testCommit("failing", 0)
	c.Thread.Status, c.Thread.Error = checkpoint.StatusFailed, "card declined"
	if _, err := early.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	want := []string{"question.asked after", "question.answered after", "question.escalated before", "thread.failed failing"}
	if got := eventsOf(t, on); !slices.Equal(got, want) {
		t.Fatalf("events of the early store's writes after the mark:\n%v\nwant\n%v", got, want)
	}

	// The early store has learned from its writes that the schema is
	// marked: it says its outbox is on and wakes the senders.
	if !early.OutboxEnabled() {
		t.Error("OutboxEnabled of the early store after its writes recorded events: false")
	}
	notices := make(chan checkpoint.Notice, 100)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- on.Listen(lctx, func(n checkpoint.Notice) { notices <- n }) }()
	defer func() { stop(); <-done }()
	probe := checkpoint.Notice{Kind: "probe"}
	for heard := false; !heard; {
		if err := on.Notify(ctx, probe); err != nil {
			t.Fatal(err)
		}
		select {
		case n := <-notices:
			heard = n == probe
		case <-time.After(100 * time.Millisecond):
		}
	}
	askIn(t, early, "later", deadline)
	// Other notices (the probe again, the ready notice of the answer
	// above, sent in a later batch) may come first: wait for the event
	// notice; next fails the test if it never comes.
	for n := next(t, notices); n.Kind != checkpoint.NoticeEvent; n = next(t, notices) {
	}

	late, err := pgstore.New(ctx, early.Pool(), pgstore.Options{Schema: early.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	if !late.OutboxEnabled() {
		t.Fatal("a store opened without the outbox on a marked schema has it off")
	}

	// Unmarked by hand, with events: the next store turns the outbox on
	// and marks the schema again.
	unmark := func() {
		t.Helper()
		if _, err := early.Pool().Exec(ctx, `DELETE FROM `+pgx.Identifier{early.Schema(), "leases"}.Sanitize()+` WHERE name = $1`, checkpoint.OutboxMark); err != nil {
			t.Fatal(err)
		}
	}
	unmark()
	again, err := pgstore.New(ctx, early.Pool(), pgstore.Options{Schema: early.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	if !again.OutboxEnabled() {
		t.Fatal("a store opened on a schema whose outbox holds events has it off")
	}
	var marked bool
	if err := early.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+pgx.Identifier{early.Schema(), "leases"}.Sanitize()+` WHERE name = $1)`, checkpoint.OutboxMark).Scan(&marked); err != nil || !marked {
		t.Fatalf("marked again = %v, %v", marked, err)
	}
}
