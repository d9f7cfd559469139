package inbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/worker"
)

// Job is the state of the control workflow.
type Job struct {
	Name     string
	Approved bool
	Done     bool
}

// ctl is a store with the control workflow "job" (work, which fails while
// fail is set, then approve, which asks, then done) and two inboxes over
// it: ib has the workflow and runs threads inline; bare has no workflow,
// as the weft command has none of a user's.
type ctl struct {
	t     *testing.T
	store checkpoint.Store
	wf    *weft.Workflow[Job]
	fail  *atomic.Bool
	ib    *inbox.Inbox
	bare  *inbox.Inbox
}

var cli = inbox.Author{Name: "ann", Channel: checkpoint.ChannelCLI}

func jobWorkflow(t *testing.T, store checkpoint.Store, owner string, fail *atomic.Bool, opts ...weft.CompileOption) *weft.Workflow[Job] {
	t.Helper()
	g := weft.NewGraph[Job]("job")
	g.AddNode("work", func(ctx context.Context, j Job) (Job, error) {
		if fail.Load() {
			return j, errors.New("boom")
		}
		return j, nil
	})
	g.AddNode("approve", func(ctx context.Context, j Job) (Job, error) {
		ok, err := weft.Interrupt[bool](ctx, j.Name, weft.Assign("ops"))
		j.Approved = ok
		return j, err
	})
	g.AddNode("done", func(ctx context.Context, j Job) (Job, error) { j.Done = true; return j, nil })
	g.AddEdge(weft.Start, "work").AddEdge("work", "approve").AddEdge("approve", "done").AddEdge("done", weft.End)
	wf, err := g.Compile(append([]weft.CompileOption{weft.WithStore(store), weft.WithOwner(owner)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

func newCtl(t *testing.T, store checkpoint.Store, opts ...inbox.Option) *ctl {
	fail := new(atomic.Bool)
	wf := jobWorkflow(t, store, "here", fail)
	return &ctl{t: t, store: store, wf: wf, fail: fail,
		ib:   inbox.New(store, []weft.Runner{wf.Runner()}, opts...),
		bare: inbox.New(store, nil)}
}

// stores runs fn on a memstore and on a SQLite file.
func stores(t *testing.T, fn func(t *testing.T, open func(t *testing.T) checkpoint.Store)) {
	t.Run("memstore", func(t *testing.T) {
		fn(t, func(t *testing.T) checkpoint.Store { return memstore.New() })
	})
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) checkpoint.Store {
			s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "weft.db"), sqlitestore.Options{Migrate: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

// The states a test thread can be put in.
const (
	asRunning     = "running"     // claimed by another process, on a live lease
	asReady       = "ready"       // submitted, not picked up
	asInterrupted = "interrupted" // waits in approve
	asStopped     = "stopped"     // submitted, then stopped before it ran
	asFailed      = "failed"      // work failed
	asCompleted   = "completed"   // approved and done
	asCancelled   = "cancelled"   // cancelled while it waited
	asMissing     = "missing"     // never created
)

// make puts thread in the state as and checks that it is there.
func (c *ctl) make(thread, as string) {
	c.t.Helper()
	ctx := context.Background()
	in := Job{Name: thread}
	switch as {
	case asMissing:
		return
	case asRunning:
		if _, err := c.wf.Submit(ctx, thread, in); err != nil {
			c.t.Fatal(err)
		}
		row, err := c.store.Thread(ctx, thread)
		if err != nil {
			c.t.Fatal(err)
		}
		if _, err := c.store.Claim(ctx, &checkpoint.Claim{ThreadID: thread, ExpectedVersion: row.Version, Owner: "another-process", Lease: time.Hour}); err != nil {
			c.t.Fatal(err)
		}
	case asReady:
		if _, err := c.wf.Submit(ctx, thread, in); err != nil {
			c.t.Fatal(err)
		}
	case asStopped:
		if _, err := c.wf.Submit(ctx, thread, in); err != nil {
			c.t.Fatal(err)
		}
		if _, err := c.store.RequestStop(ctx, &checkpoint.StopRequest{ThreadID: thread, At: time.Now()}); err != nil {
			c.t.Fatal(err)
		}
	case asInterrupted:
		if _, err := c.wf.Run(ctx, thread, in); err != nil {
			c.t.Fatal(err)
		}
	case asFailed:
		c.fail.Store(true)
		_, err := c.wf.Run(ctx, thread, in)
		c.fail.Store(false)
		if err == nil {
			c.t.Fatal("the failing run did not fail")
		}
	case asCompleted:
		if _, err := c.wf.Run(ctx, thread, in); err != nil {
			c.t.Fatal(err)
		}
		if _, err := c.wf.Resume(ctx, thread, weft.Reply(true)); err != nil {
			c.t.Fatal(err)
		}
	case asCancelled:
		if _, err := c.wf.Run(ctx, thread, in); err != nil {
			c.t.Fatal(err)
		}
		if err := c.wf.Cancel(ctx, thread, "test"); err != nil {
			c.t.Fatal(err)
		}
	default:
		c.t.Fatalf("no state %q", as)
	}
	if got := c.row(thread).Status; string(got) != as {
		c.t.Fatalf("thread %s is %s, want %s", thread, got, as)
	}
}

func (c *ctl) row(thread string) *checkpoint.Thread {
	c.t.Helper()
	row, err := c.store.Thread(context.Background(), thread)
	if err != nil {
		c.t.Fatal(err)
	}
	return row
}

// snapshot is what a refusal must leave as it was: the thread's row and
// every question it asked, in any status.
type snapshot struct {
	Row        *checkpoint.Thread
	Interrupts []checkpoint.InterruptRecord
}

func (c *ctl) snapshot(thread string) snapshot {
	c.t.Helper()
	ctx := context.Background()
	row, err := c.store.Thread(ctx, thread)
	if errors.Is(err, checkpoint.ErrNotFound) {
		return snapshot{}
	}
	if err != nil {
		c.t.Fatal(err)
	}
	page, err := c.store.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: thread, Limit: 1000})
	if err != nil {
		c.t.Fatal(err)
	}
	return snapshot{Row: row, Interrupts: page.Interrupts}
}

// unchanged fails the test if thread is not as before.
func (c *ctl) unchanged(thread string, before snapshot) {
	c.t.Helper()
	if after := c.snapshot(thread); !reflect.DeepEqual(before, after) {
		c.t.Errorf("a refusal changed the thread:\nbefore %+v\nafter  %+v", before, after)
	}
}

// withdrawn checks that every question of thread was cancelled by cli with
// the note, and that none is pending.
func (c *ctl) withdrawn(thread, note string) {
	c.t.Helper()
	s := c.snapshot(thread)
	if len(s.Interrupts) == 0 {
		c.t.Fatal("the thread asked nothing")
	}
	for _, rec := range s.Interrupts {
		if rec.Status != checkpoint.InterruptCancelled || rec.Author != cli.Name || rec.Channel != cli.Channel ||
			rec.Note != note || rec.AnsweredAt.IsZero() {
			c.t.Errorf("question %s: %s by %q via %q (%q) at %v", rec.ID, rec.Status, rec.Author, rec.Channel, rec.Note, rec.AnsweredAt)
		}
	}
	page, err := c.bare.List(context.Background(), inbox.Query{Thread: thread})
	if err != nil {
		c.t.Fatal(err)
	}
	if len(page.Items) != 0 {
		c.t.Errorf("%d questions still in the inbox", len(page.Items))
	}
}

func TestStop(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) checkpoint.Store) {
		for _, tt := range []struct {
			from    string
			want    weft.Status // the status afterwards, if it succeeds
			refused error
		}{
			{from: asRunning, want: weft.StatusRunning},
			{from: asReady, want: weft.StatusStopped},
			{from: asInterrupted, want: weft.StatusCancelled},
			{from: asStopped, refused: inbox.ErrNotRunning},
			{from: asFailed, refused: inbox.ErrNotRunning},
			{from: asCompleted, refused: inbox.ErrNotRunning},
			{from: asCancelled, refused: inbox.ErrNotRunning},
			{from: asMissing, refused: inbox.ErrNotFound},
		} {
			t.Run(tt.from, func(t *testing.T) {
				c := newCtl(t, open(t))
				c.make("j1", tt.from)
				before := c.snapshot("j1")
				row, err := c.bare.Stop(context.Background(), "j1", cli)
				if tt.refused != nil {
					if !errors.Is(err, tt.refused) || row != nil {
						t.Fatalf("Stop: %v %+v, want %v", err, row, tt.refused)
					}
					c.unchanged("j1", before)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				stored := c.row("j1")
				if row.Status != tt.want || stored.Status != tt.want || row.Version != stored.Version {
					t.Fatalf("Stop returned %s (v%d), the store has %s (v%d); want %s", row.Status, row.Version, stored.Status, stored.Version, tt.want)
				}
				switch tt.from {
				case asRunning:
					// Another process runs it: the request is recorded, and
					// that process stops it at its next heartbeat.
					if stored.StopRequested.IsZero() || stored.Owner != "another-process" || stored.Version != before.Row.Version ||
						stored.Epoch != before.Row.Epoch {
						t.Errorf("after Stop of a running thread: %+v", stored)
					}
				case asInterrupted:
					c.withdrawn("j1", "stopped")
				case asReady:
					// Stopped before it ran: a Resume carries it on.
					res, err := c.ib.Resume(context.Background(), "j1")
					if err != nil || res.Status != weft.StatusInterrupted {
						t.Errorf("Resume after Stop: %v %+v", err, res)
					}
				}
			})
		}
	})
}

// TestStopSameEitherWay checks that a waiting thread stopped through the
// inbox ends as one stopped by its workflow does.
func TestStopSameEitherWay(t *testing.T) {
	ctx := context.Background()
	c := newCtl(t, memstore.New())
	c.make("by-inbox", asInterrupted)
	c.make("by-workflow", asInterrupted)
	if _, err := c.bare.Stop(ctx, "by-inbox", inbox.Author{}); err != nil {
		t.Fatal(err)
	}
	if err := c.wf.Stop(ctx, "by-workflow"); err != nil {
		t.Fatal(err)
	}
	a, b := c.snapshot("by-inbox"), c.snapshot("by-workflow")
	if a.Row.Status != b.Row.Status || a.Row.Head != b.Row.Head || a.Row.Owner != b.Row.Owner || a.Row.Error != b.Row.Error ||
		a.Row.Version != b.Row.Version || len(a.Interrupts) != len(b.Interrupts) {
		t.Fatalf("inbox %+v\nworkflow %+v", a.Row, b.Row)
	}
	for i := range a.Interrupts {
		x, y := a.Interrupts[i], b.Interrupts[i]
		if x.Status != y.Status || x.Author != y.Author || x.Channel != y.Channel || x.Note != y.Note {
			t.Errorf("question: inbox %s %q %q %q, workflow %s %q %q %q", x.Status, x.Author, x.Channel, x.Note, y.Status, y.Author, y.Channel, y.Note)
		}
	}
	// Both are ended alike: Resume refuses them, Run starts a new turn.
	for _, thread := range []string{"by-inbox", "by-workflow"} {
		if _, err := c.wf.Resume(ctx, thread); !errors.Is(err, weft.ErrThreadCancelled) {
			t.Errorf("%s: Resume: %v", thread, err)
		}
	}
}

func TestCancel(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) checkpoint.Store) {
		for _, tt := range []struct {
			from    string
			refused error
		}{
			{from: asInterrupted},
			{from: asReady},
			{from: asStopped},
			{from: asFailed},
			{from: asRunning, refused: inbox.ErrBusy},
			{from: asCompleted, refused: inbox.ErrNotRunning},
			{from: asCancelled, refused: inbox.ErrNotRunning},
			{from: asMissing, refused: inbox.ErrNotFound},
		} {
			t.Run(tt.from, func(t *testing.T) {
				c := newCtl(t, open(t))
				c.make("j1", tt.from)
				before := c.snapshot("j1")
				row, err := c.bare.Cancel(context.Background(), "j1", "no longer needed", cli)
				if tt.refused != nil {
					if !errors.Is(err, tt.refused) || row != nil {
						t.Fatalf("Cancel: %v %+v, want %v", err, row, tt.refused)
					}
					c.unchanged("j1", before)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				stored := c.row("j1")
				if row.Status != weft.StatusCancelled || stored.Status != weft.StatusCancelled || stored.Error != "" ||
					stored.Version != before.Row.Version+1 {
					t.Fatalf("after Cancel: returned %+v, stored %+v", row, stored)
				}
				// The cancel is a checkpoint of its own on the head, with who
				// and why, questions withdrawn or not.
				if before.Row.Head == "" {
					if stored.Head != "" {
						t.Fatalf("a thread without checkpoints got one: %s", stored.Head)
					}
				} else {
					cp, err := c.bare.Store().Checkpoint(context.Background(), "j1", "", stored.Head)
					if err != nil {
						t.Fatal(err)
					}
					if cp.Source != checkpoint.SourceCancel || cp.ParentID != before.Row.Head ||
						cp.Meta[weft.MetaAuthor] != cli.Name || cp.Meta[weft.MetaChannel] != checkpoint.ChannelCLI || cp.Meta[weft.MetaNote] != "no longer needed" {
						t.Fatalf("the cancel's checkpoint: %+v", cp)
					}
				}
				if tt.from == asInterrupted {
					c.withdrawn("j1", "no longer needed")
				}
				// The workflow sees it cancelled; Run starts a new turn
				// (of a thread that ran before: weft cannot start a new
				// turn of a submitted thread cancelled before it ran, with
				// either Cancel).
				if _, err := c.wf.Resume(context.Background(), "j1"); !errors.Is(err, weft.ErrThreadCancelled) {
					t.Errorf("Resume of the cancelled thread: %v", err)
				}
				if before.Row.Head == "" {
					return
				}
				if res, err := c.wf.Run(context.Background(), "j1", Job{Name: "again"}); err != nil || res.Status != weft.StatusInterrupted {
					t.Errorf("a new turn: %v %+v", err, res)
				}
			})
		}
	})
}

func TestResume(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) checkpoint.Store) {
		for _, tt := range []struct {
			from    string
			bare    weft.Status // what the store-level Resume leaves
			inline  weft.Status // what the inline Resume (with the runner) ends with
			refused error
		}{
			{from: asStopped, bare: weft.StatusReady, inline: weft.StatusInterrupted},
			{from: asFailed, bare: weft.StatusReady, inline: weft.StatusInterrupted},
			{from: asReady, bare: weft.StatusReady, inline: weft.StatusInterrupted},
			{from: asInterrupted, bare: weft.StatusInterrupted, inline: weft.StatusInterrupted},
			{from: asRunning, refused: inbox.ErrBusy},
			{from: asCompleted, refused: weft.ErrThreadCompleted},
			{from: asCancelled, refused: weft.ErrThreadCancelled},
			{from: asMissing, refused: inbox.ErrNotFound},
		} {
			t.Run(tt.from, func(t *testing.T) {
				for _, via := range []string{"bare", "inline", "queue"} {
					t.Run(via, func(t *testing.T) {
						store := open(t)
						c := newCtl(t, store)
						ib, want := c.bare, tt.bare
						switch via {
						case "inline":
							ib, want = c.ib, tt.inline
						case "queue":
							ib = inbox.New(store, []weft.Runner{c.wf.Runner()}, inbox.WithQueue())
						}
						c.make("j1", tt.from)
						before := c.snapshot("j1")
						res, err := ib.Resume(context.Background(), "j1")
						if tt.refused != nil {
							if !errors.Is(err, tt.refused) {
								t.Fatalf("Resume: %v %+v, want %v", err, res, tt.refused)
							}
							c.unchanged("j1", before)
							return
						}
						if err != nil {
							t.Fatal(err)
						}
						stored := c.row("j1")
						if res.Status != want || stored.Status != want {
							t.Fatalf("Resume: %s, stored %s; want %s", res.Status, stored.Status, want)
						}
						if want == weft.StatusReady && (stored.Error != "" || stored.Head != before.Row.Head) {
							t.Errorf("ready row %+v", stored)
						}
						if tt.from == asInterrupted || (tt.from == asReady && via != "inline") {
							c.unchanged("j1", before)
						}
					})
				}
			})
		}
	})
}

// TestResumeByWorker checks that a thread made ready by the store-level
// Resume is carried on by any worker that has the workflow, and that a
// thread stopped by the store-level Stop while another process runs it
// stops there at its next heartbeat.
func TestResumeByWorker(t *testing.T) {
	stores(t, func(t *testing.T, open func(t *testing.T) checkpoint.Store) {
		ctx := context.Background()
		store := open(t)
		var runs atomic.Int32
		started := make(chan struct{}, 10)
		slow := func(owner string, opts ...weft.CompileOption) *weft.Workflow[Job] {
			g := weft.NewGraph[Job]("slow")
			g.AddNode("work", func(ctx context.Context, j Job) (Job, error) {
				n := runs.Add(1)
				started <- struct{}{}
				if j.Name == "blocks" && n == 1 {
					<-ctx.Done() // the first run blocks until it is stopped
					return j, ctx.Err()
				}
				j.Done = true
				return j, nil
			})
			g.AddEdge(weft.Start, "work").AddEdge("work", weft.End)
			wf, err := g.Compile(append([]weft.CompileOption{weft.WithStore(store), weft.WithOwner(owner)}, opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			return wf
		}
		// The worker's workflow keeps the default heartbeat; the other
		// process beats often, so that it hears of the stop soon.
		wf := slow("worker-1")
		other := slow("process-2", weft.WithHeartbeat(20*time.Millisecond))
		bare := inbox.New(store, nil)

		// A thread another process runs, stopped from the store alone.
		ran := make(chan error, 1)
		go func() {
			res, err := other.Run(ctx, "blocks", Job{Name: "blocks"})
			if err == nil && res.Status != weft.StatusStopped {
				err = errors.New("the run ended " + string(res.Status))
			}
			ran <- err
		}()
		<-started
		row, err := bare.Stop(ctx, "blocks", cli)
		if err != nil || row.Status != weft.StatusRunning || row.StopRequested.IsZero() || row.Owner != "process-2" {
			t.Fatalf("Stop: %v %+v", err, row)
		}
		if err := <-ran; err != nil {
			t.Fatalf("the stopped run: %v", err)
		}
		waitStatus(t, store, "blocks", weft.StatusStopped)

		// Submitted, stopped before any worker saw it.
		if _, err := wf.Submit(ctx, "later", Job{Name: "later"}); err != nil {
			t.Fatal(err)
		}
		if row, err := bare.Stop(ctx, "later", cli); err != nil || row.Status != weft.StatusStopped {
			t.Fatalf("Stop: %v %+v", err, row)
		}

		// Both resumed from the store alone: a worker started after runs
		// them to the end.
		for _, thread := range []string{"blocks", "later"} {
			if res, err := bare.Resume(ctx, thread); err != nil || res.Status != weft.StatusReady {
				t.Fatalf("Resume %s: %v %+v", thread, err, res)
			}
		}
		w, err := worker.New(store, []weft.Runner{wf.Runner()}, worker.Config{Poll: 10 * time.Millisecond, Deadlines: -1})
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(wctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()
		waitStatus(t, store, "blocks", weft.StatusCompleted)
		waitStatus(t, store, "later", weft.StatusCompleted)
	})
}

// waitStatus polls the store until thread has status want, with a
// generous deadline.
func waitStatus(t *testing.T, store checkpoint.Store, thread string, want weft.Status) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last *checkpoint.Thread
	for time.Now().Before(deadline) {
		row, err := store.Thread(context.Background(), thread)
		if err == nil && row.Status == want {
			return
		}
		last = row
		time.Sleep(5 * time.Millisecond)
	}
	data, _ := json.Marshal(last)
	t.Fatalf("thread %s did not become %s: %s", thread, want, data)
}
