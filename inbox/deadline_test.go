package inbox_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/internal/pgtest"
)

func fire(t *testing.T, ib *inbox.Inbox, want int) {
	t.Helper()
	n, err := ib.FireDue(context.Background())
	if err != nil {
		t.Fatalf("FireDue: %v", err)
	}
	if n != want {
		t.Fatalf("FireDue handled %d, want %d", n, want)
	}
}

func TestFireDueFallback(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.start("approval", "a1", Doc{Title: "one", Team: "editors"})
	q := e.question("a1")

	e.clock.Set(59 * time.Minute)
	fire(t, e.ib, 0)
	if e.status("a1") != weft.StatusInterrupted {
		t.Fatal("fired before the deadline")
	}

	e.clock.Set(time.Hour) // due at the deadline itself
	fire(t, e.ib, 1)
	d, err := e.ib.Get(ctx, "a1", q.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != checkpoint.InterruptAnswered || d.Author != inbox.DeadlineAuthor || d.Channel != checkpoint.ChannelDeadline ||
		string(d.Answer) != `{"action":"approve"}` || !d.AnsweredAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("recorded %+v", d.Item)
	}
	// The fallback carried the thread on like any answer.
	if d.State.Status != weft.StatusCompleted || d.State.Values.(Doc).Status != "approve" {
		t.Errorf("state %+v", d.State)
	}
	e.clock.Advance(time.Hour)
	fire(t, e.ib, 0)
}

func TestFireDueEscalation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.start("approval", "a3", Doc{Title: "contract", Legal: true})
	q := e.question("a3")

	e.clock.Set(2*time.Hour - time.Second)
	fire(t, e.ib, 0)
	e.clock.Set(2*time.Hour + time.Second)
	fire(t, e.ib, 1)

	d, err := e.ib.Get(ctx, "a3", q.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != checkpoint.InterruptPending || !slices.Equal(d.Assignees, []string{"general-counsel"}) ||
		!d.Deadline.IsZero() || len(d.EscalateTo) != 0 {
		t.Errorf("escalated item %+v", d.Item)
	}
	if d.State.Status != weft.StatusInterrupted {
		t.Errorf("thread %s", d.State.Status)
	}
	page, err := e.ib.List(ctx, inbox.Query{Assignees: []string{"general-counsel"}})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != q.ID {
		t.Fatalf("general-counsel's inbox: %v %+v", err, page)
	}
	if page, _ := e.ib.List(ctx, inbox.Query{Assignees: []string{"lawyers"}}); len(page.Items) != 0 {
		t.Errorf("lawyers still have it: %+v", page.Items)
	}
	// No deadline any more: it waits for the general counsel.
	e.clock.Advance(100 * time.Hour)
	fire(t, e.ib, 0)
	res, err := e.ib.Answer(ctx, "a3", q.ID, raw(`{"action":"reject"}`), inbox.Author{Name: "gc", Channel: checkpoint.ChannelUI})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != weft.StatusCompleted || res.State.(Doc).Status != "legal:reject" {
		t.Errorf("result %+v", res)
	}
}

func TestFireDueLeavesAlone(t *testing.T) {
	e := newEnv(t, nil)
	e.start("lonely", "l1", Quiet{})
	e.start("refine", "r1", Draft{Topic: "no deadline"})
	// Escalation to nobody has nothing to do: the question has no deadline.
	if q := e.question("l1"); !q.Deadline.IsZero() || q.HasFallback || len(q.EscalateTo) != 0 {
		t.Fatalf("question %+v", q)
	}
	e.clock.Advance(24 * time.Hour)
	fire(t, e.ib, 0)
	if e.status("l1") != weft.StatusInterrupted || e.status("r1") != weft.StatusInterrupted {
		t.Error("a question without fallback or escalation was handled")
	}
}

func TestFireDueUnregisteredWorkflow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.start("approval", "a1", Doc{Title: "one"})
	e.start("approval", "a3", Doc{Title: "contract", Legal: true})
	bare := inbox.New(e.store, nil, inbox.WithClock(e.clock.Now))
	e.clock.Advance(3 * time.Hour)
	// Neither needs the workflow: the escalation changes the question, and
	// the fallback is recorded and makes the thread ready, for whoever
	// runs the workflow to carry on.
	fire(t, bare, 2)
	fire(t, bare, 0)
	if got := e.status("a1"); got != weft.StatusReady {
		t.Errorf("a1 after its fallback: %s, want ready", got)
	}
	if q := e.question("a3"); !slices.Equal(q.Assignees, []string{"general-counsel"}) {
		t.Errorf("a3 after its escalation: assigned to %q", q.Assignees)
	}
	// A process that has the workflow carries a1 on.
	r, _ := e.ib.Runner("approval")
	res, err := r.Resume(ctx, "a1")
	if err != nil || res.Status != weft.StatusCompleted || res.State.(Doc).Status != "approve" {
		t.Fatalf("resume of a1: %v %+v", err, res)
	}
	a, err := e.ib.Audit(ctx, "a1")
	if err != nil || len(a) != 1 || a[0].Author != inbox.DeadlineAuthor || a[0].Channel != checkpoint.ChannelDeadline {
		t.Errorf("audit of a1: %v %+v", err, a)
	}
}

// restart checks that deadlines live in the store: an inbox fires what is
// due, stops ("crashes"), and a new one on the same store, with workflows
// compiled anew, fires what became due since.
func restart(t *testing.T, open func(t *testing.T) checkpoint.Store, reopen func(t *testing.T, old checkpoint.Store) checkpoint.Store) {
	ctx := context.Background()
	store := open(t)
	c := newClock()
	first := inbox.New(store, workflows(t, store, c.Now), inbox.WithClock(c.Now))
	start := func(ib *inbox.Inbox, thread string, in string) {
		r, _ := ib.Runner("approval")
		if _, err := r.Run(ctx, thread, raw(in)); err != nil {
			t.Fatal(err)
		}
	}
	start(first, "early", `{"Title":"early"}`)
	c.Set(2 * time.Hour)
	start(first, "late", `{"Title":"late"}`) // due at t0+3h
	n, err := first.FireDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("first inbox: %d %v", n, err)
	}

	store = reopen(t, store)
	c.Set(4 * time.Hour)
	second := inbox.New(store, workflows(t, store, c.Now), inbox.WithClock(c.Now))
	n, err = second.FireDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("second inbox: %d %v", n, err)
	}
	for _, thread := range []string{"early", "late"} {
		row, err := store.Thread(ctx, thread)
		if err != nil {
			t.Fatal(err)
		}
		if row.Status != weft.StatusCompleted {
			t.Errorf("%s: %s", thread, row.Status)
		}
		a, err := second.Audit(ctx, thread)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != 1 || a[0].Author != inbox.DeadlineAuthor {
			t.Errorf("%s audit %+v", thread, a)
		}
	}
	if n, err := second.FireDue(ctx); n != 0 || err != nil {
		t.Errorf("again: %d %v", n, err)
	}
}

func TestFireDueRestart(t *testing.T) {
	restart(t,
		func(t *testing.T) checkpoint.Store { return memstore.New() },
		func(t *testing.T, old checkpoint.Store) checkpoint.Store { return old })
}

func TestFireDueRestartSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	openFile := func(t *testing.T) checkpoint.Store {
		s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	restart(t, openFile, func(t *testing.T, old checkpoint.Store) checkpoint.Store {
		if err := old.(*sqlitestore.Store).Close(); err != nil {
			t.Fatal(err)
		}
		return openFile(t)
	})
}

// concurrent runs FireDue in two "processes" at once, each with its own
// workflows, inbox and store handle (a and b, on one database), and checks
// that every due question is answered once.
func concurrent(t *testing.T, sa, sb checkpoint.Store) {
	ctx := context.Background()
	c := newClock()
	a := inbox.New(sa, workflows(t, sa, c.Now), inbox.WithClock(c.Now))
	b := inbox.New(sb, workflows(t, sb, c.Now), inbox.WithClock(c.Now))
	const threads = 20
	r, _ := a.Runner("approval")
	for i := range threads {
		if _, err := r.Run(ctx, fmt.Sprint("t", i), raw(`{"Title":"x"}`)); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(2 * time.Hour)

	var wg sync.WaitGroup
	counts := make([]int, 2)
	errs := make([]error, 2)
	for i, ib := range []*inbox.Inbox{a, b} {
		wg.Go(func() { counts[i], errs[i] = ib.FireDue(ctx) })
	}
	wg.Wait()
	t.Logf("first round: %d + %d", counts[0], counts[1])
	for i := range errs {
		if errs[i] != nil {
			t.Errorf("inbox %d: %v", i, errs[i])
		}
	}
	// Both may have been held up by a thread the other was running, and
	// left it for the next pass: a second round finishes the job.
	for _, ib := range []*inbox.Inbox{a, b} {
		n, err := ib.FireDue(ctx)
		if err != nil {
			t.Error(err)
		}
		counts[0] += n
	}
	if counts[0]+counts[1] != threads {
		t.Errorf("handled %d + %d, want %d in all", counts[0], counts[1], threads)
	}
	for i := range threads {
		thread := fmt.Sprint("t", i)
		entries, err := a.Audit(ctx, thread)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Status != checkpoint.InterruptAnswered || entries[0].Author != inbox.DeadlineAuthor {
			t.Errorf("%s: %+v", thread, entries)
		}
		if row, _ := sa.Thread(ctx, thread); row.Status != weft.StatusCompleted {
			t.Errorf("%s: %s", thread, row.Status)
		}
	}
}

func TestFireDueConcurrent(t *testing.T) {
	store := memstore.New()
	concurrent(t, store, store)
}

func TestFireDueConcurrentSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	open := func(migrate bool) checkpoint.Store {
		s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{Migrate: migrate})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	concurrent(t, open(true), open(false))
}

func TestFireDueConcurrentPostgres(t *testing.T) {
	schema := pgtest.Schema(t)
	open := func(migrate bool) checkpoint.Store {
		s, err := pgstore.New(context.Background(), pgtest.NewPool(t, ""), pgstore.Options{Schema: schema, Migrate: migrate})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	concurrent(t, open(true), open(false))
}

func TestRunDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := memstore.New()
		// In the bubble, time.Now is the bubble's fake clock.
		ib := inbox.New(store, workflows(t, store, time.Now))
		r, _ := ib.Runner("approval")
		if _, err := r.Run(context.Background(), "a1", raw(`{"Title":"one"}`)); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- ib.RunDeadlines(ctx, time.Minute) }()

		time.Sleep(59 * time.Minute)
		synctest.Wait()
		if row, _ := store.Thread(ctx, "a1"); row.Status != weft.StatusInterrupted {
			t.Fatalf("status %s before the deadline", row.Status)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if row, _ := store.Thread(ctx, "a1"); row.Status != weft.StatusCompleted {
			t.Fatalf("status %s after the deadline", row.Status)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunDeadlines: %v", err)
		}
		if err := ib.RunDeadlines(context.Background(), 0); err == nil {
			t.Error("RunDeadlines with no interval")
		}
	})
}
