package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
)

// TestEventNotices: a store with its outbox on notifies after each write
// that records events (a question asked, an answer, a reassignment, an
// AddEvent that recorded one), after it committed; one with the outbox
// off, writing the same, sends no event notice; nor does an AddEvent
// that records nothing (a Dedup key seen already).
func TestEventNotices(t *testing.T) {
	// The store with the outbox off is opened first: the other marks the
	// schema as using its outbox, and a store opened after would turn its
	// outbox on.
	off := newStore(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	notices := make(chan checkpoint.Notice, 100)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- off.Listen(lctx, func(n checkpoint.Notice) { notices <- n }) }()
	s := off // until it is opened: fence notifies with s
	defer func() { stop(); <-done }()
	// fence sends a notice of its own until it is heard (LISTEN may not be
	// in effect yet) and returns the other notices heard before it. The
	// writes whose notices it must see have had their batches flushed
	// (Close) before, and PostgreSQL delivers notices in the order their
	// transactions committed.
	seq := 0
	fence := func() []checkpoint.Notice {
		t.Helper()
		seq++
		f := checkpoint.Notice{Kind: "fence", Thread: string(rune('a' + seq))}
		var got []checkpoint.Notice
		for {
			if err := s.Notify(ctx, f); err != nil {
				t.Fatal(err)
			}
			select {
			case n := <-notices:
				for ; n != f; n = next(t, notices) {
					if n.Kind != "fence" {
						got = append(got, n)
					}
				}
				return got
			case <-time.After(100 * time.Millisecond): // LISTEN not in effect yet
			}
		}
	}
	fence()
	events := func(ns []checkpoint.Notice) (n int) {
		for _, x := range ns {
			if x.Kind == checkpoint.NoticeEvent {
				n++
			}
		}
		return n
	}

	ask := func(st *pgstore.Store, id string) {
		t.Helper()
		c := testCommit(id, 0)
		c.Thread.Status = checkpoint.StatusInterrupted
		c.Interrupts = []checkpoint.InterruptRecord{{ID: "q", CheckpointID: c.Thread.Head, Kind: checkpoint.KindDynamic, Assignees: []string{"alice"}}}
		if _, err := st.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// The outbox off: the commit's batch must be out before the fence is
	// sent, so flush it by closing the store (Close sends what waits).
	ask(off, "quiet")
	_ = off.Close()
	if got := fence(); events(got) != 0 {
		t.Fatalf("notices of a commit with the outbox off: %+v", got)
	}
	s, err := pgstore.New(ctx, off.Pool(), pgstore.Options{Schema: off.Schema(), Outbox: true})
	if err != nil {
		t.Fatal(err)
	}

	ask(s, "t")
	want := checkpoint.Notice{Kind: checkpoint.NoticeEvent, Thread: "t", Workflow: "w"}
	if n := next(t, notices); n != want {
		t.Fatalf("notice %+v, want %+v", n, want)
	}
	if _, err := s.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: "t", Answers: []checkpoint.Answer{{InterruptID: "q", Value: []byte(`1`)}}}); err != nil {
		t.Fatal(err)
	}
	// A ready notice and an event notice, in one batch or two.
	got := []checkpoint.Notice{next(t, notices), next(t, notices)}
	if events(got) != 1 || got[0].Kind == got[1].Kind {
		t.Fatalf("notices of an answer: %+v", got)
	}

	e := &checkpoint.Event{Type: checkpoint.EventDeadlineNear, ThreadID: "t", Workflow: "w", Dedup: "once"}
	if ok, err := s.AddEvent(ctx, e); err != nil || !ok {
		t.Fatalf("AddEvent = %v, %v", ok, err)
	}
	if n := next(t, notices); n != want {
		t.Fatalf("notice of AddEvent %+v, want %+v", n, want)
	}
	if ok, err := s.AddEvent(ctx, e); err != nil || ok {
		t.Fatalf("AddEvent again = %v, %v", ok, err)
	}
	_ = s.Close() // flush: the store's batches keep working after Close
	if got := fence(); events(got) != 0 {
		t.Fatalf("notices of an AddEvent that recorded nothing: %+v", got)
	}
}
