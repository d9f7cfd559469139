package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/internal/pgtest"
	"github.com/weftgraph/weft/worker"
)

// Job is the state of the "job" workflow, which only the worker of the
// remote tests has: work (which blocks until it is stopped, the first
// time, when Block is set), approve (which asks, when Ask is set), done.
type Job struct {
	Name     string
	Block    bool
	Ask      bool
	Approved bool
	Done     bool
}

// jobRuns counts the runs of the job workflow's work node, per thread,
// and says when one starts.
type jobRuns struct {
	mu      sync.Mutex
	n       map[string]int
	started chan string
}

func (j *jobRuns) count(name string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n[name]
}

// waitStarted waits until the work node of thread starts.
func (j *jobRuns) waitStarted(t testing.TB, thread string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case name := <-j.started:
			if name == thread {
				return
			}
		case <-deadline:
			t.Fatalf("the work node of %s did not start", thread)
		}
	}
}

func jobWorkflow(t testing.TB, store checkpoint.Store, runs *jobRuns) *weft.Workflow[Job] {
	t.Helper()
	g := weft.NewGraph[Job]("job")
	g.AddNode("work", func(ctx context.Context, j Job) (Job, error) {
		runs.mu.Lock()
		runs.n[j.Name]++
		n := runs.n[j.Name]
		runs.mu.Unlock()
		runs.started <- j.Name
		if j.Block && n == 1 {
			<-ctx.Done() // the first run blocks until it is stopped
			return j, ctx.Err()
		}
		return j, nil
	})
	g.AddNode("approve", func(ctx context.Context, j Job) (Job, error) {
		if !j.Ask {
			return j, nil
		}
		ok, err := weft.Interrupt[bool](ctx, j.Name, weft.Reason("approve the job?"))
		j.Approved = ok
		return j, err
	})
	g.AddNode("done", func(ctx context.Context, j Job) (Job, error) { j.Done = true; return j, nil })
	g.AddEdge(weft.Start, "work").AddEdge("work", "approve").AddEdge("approve", "done").AddEdge("done", weft.End)
	// The worker beats often, so that it hears of a stop soon on the
	// stores that do not notify.
	wf, err := g.Compile(weft.WithStore(store), weft.WithOwner("worker-1"), weft.WithHeartbeat(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return wf
}

// remoteStores runs fn on a memstore, a SQLite file and PostgreSQL.
func remoteStores(t *testing.T, fn func(t *testing.T, store checkpoint.Store)) {
	t.Run("memstore", func(t *testing.T) { fn(t, memstore.New()) })
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "weft.db"), sqlitestore.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := pgstore.Open(context.Background(), pgtest.URL(t), pgstore.Options{Schema: pgtest.Schema(t), Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

// newBareEnv is a server over store without any workflow, as a server
// is whose workflows are registered in the workers' processes.
func newBareEnv(t testing.TB, store checkpoint.Store) *env {
	t.Helper()
	ib := inbox.New(store, nil)
	srv, err := New(ib, WithTokens(testTokens))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(srv.CloseStreams)
	return &env{t: t, store: store, feed: srv.Feed(), ib: ib, srv: srv, ts: ts}
}

// waitThread polls the store until thread has status want, with a
// generous deadline.
func waitThread(t testing.TB, store checkpoint.Store, thread string, want weft.Status) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
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

// TestControlThreadsOfOtherProcesses checks stop, resume and cancel,
// through the API and the thread page, of threads whose workflow the
// server does not have, on a store it shares with a worker that has it:
// a stop reaches the running thread in the worker, a resume makes the
// stopped thread run there again, and a cancel of a paused thread needs
// no worker.
func TestControlThreadsOfOtherProcesses(t *testing.T) {
	remoteStores(t, func(t *testing.T, store checkpoint.Store) {
		ctx := context.Background()
		runs := &jobRuns{n: map[string]int{}, started: make(chan string, 100)}
		wf := jobWorkflow(t, store, runs)
		e := newBareEnv(t, store)
		ops := e.browser()
		csrf := ops.login("olga-token-for-tests")
		viewer := e.browser()
		viewer.login("vera-token-for-tests")

		w, err := worker.New(store, []weft.Runner{wf.Runner()}, worker.Config{Poll: 10 * time.Millisecond, Deadlines: -1})
		if err != nil {
			t.Fatal(err)
		}
		wctx, stopWorker := context.WithCancel(ctx)
		workerDone := make(chan error, 1)
		go func() { workerDone <- w.Run(wctx) }()
		workerStopped := false
		shutdown := func() {
			if !workerStopped {
				workerStopped = true
				stopWorker()
				if err := <-workerDone; err != nil {
					t.Errorf("worker: %v", err)
				}
			}
		}
		defer shutdown()

		// webDone posts an action of the thread page and returns the
		// message of the page it leads to.
		webDone := func(thread, action string, form url.Values) string {
			t.Helper()
			form.Set("csrf", csrf)
			res, body := ops.post("/threads/"+thread+"/"+action, form)
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s of %s from the page: %d\n%s", action, thread, res.StatusCode, body)
			}
			_, page := ops.get(res.Header.Get("Location"))
			i := strings.Index(page, `id="thread-message">`)
			if i < 0 {
				t.Fatalf("no message after %s of %s:\n%s", action, thread, page)
			}
			msg := page[i+len(`id="thread-message">`):]
			return msg[:strings.Index(msg, "<")]
		}

		for _, via := range []string{checkpoint.ChannelAPI, checkpoint.ChannelUI} {
			run := "run-" + via
			if _, err := wf.Submit(ctx, run, Job{Name: run, Block: true}); err != nil {
				t.Fatal(err)
			}
			runs.waitStarted(t, run)

			// The page offers the actions to an operator, and says that a
			// worker carries them out; a viewer gets none.
			_, page := ops.get("/threads/" + run)
			for _, want := range []string{`id="thread-status">running<`, `id="remote-note"`, `action="/threads/` + run + `/stop"`,
				"a worker will stop it at its next checkpoint"} {
				if !strings.Contains(page, want) {
					t.Errorf("the page of a thread another process runs lacks %s", want)
				}
			}
			if _, page := viewer.get("/threads/" + run); strings.Contains(page, `id="actions"`) {
				t.Error("a viewer is offered actions")
			}

			// A running thread cannot be cancelled: stop it first.
			before := snapshotThread(t, store, run)
			e.apiErr("POST", "/v1/threads/"+run+"/cancel", "olga-token-for-tests", map[string]string{"reason": "no"}, http.StatusConflict, CodeBusy)
			if after := snapshotThread(t, store, run); after.Row.Version != before.Row.Version || after.Row.Status != weft.StatusRunning {
				t.Errorf("the refused cancel changed the thread: %+v", after.Row)
			}

			// Stop reaches the run in the worker.
			if via == checkpoint.ChannelAPI {
				var stop stopResponse
				e.json("POST", "/v1/threads/"+run+"/stop", "olga-token-for-tests", nil, http.StatusAccepted, &stop)
				if stop.Status != stopStopping {
					t.Errorf("stop: %+v", stop)
				}
			} else if msg := webDone(run, "stop", url.Values{}); !strings.Contains(msg, "a worker will stop it at its next checkpoint") {
				t.Errorf("message after stop: %q", msg)
			}
			waitThread(t, store, run, weft.StatusStopped)
			if n := runs.count(run); n != 1 {
				t.Errorf("work ran %d times before the resume", n)
			}

			// Resume makes it run in the worker again, to the end.
			if via == checkpoint.ChannelAPI {
				res, body := e.do("POST", "/v1/threads/"+run+"/resume", "olga-token-for-tests", nil)
				var out resultJSON
				_ = json.Unmarshal(body, &out)
				if res.StatusCode != http.StatusAccepted || res.Header.Get("Location") != "/v1/threads/"+run ||
					(out.Status != weft.StatusReady && out.Status != weft.StatusRunning && out.Status != weft.StatusCompleted) {
					t.Errorf("resume: %d %s", res.StatusCode, body)
				}
			} else if msg := webDone(run, "resume", url.Values{}); !strings.Contains(msg, `a worker that has workflow &#34;job&#34; will carry it on`) {
				t.Errorf("message after resume: %q", msg)
			}
			waitThread(t, store, run, weft.StatusCompleted)
			if n := runs.count(run); n != 2 {
				t.Errorf("work ran %d times, want 2", n)
			}
			// The server reads the state from the store alone: a field per
			// state field.
			var snap snapshotJSON
			e.json("GET", "/v1/threads/"+run, "vera-token-for-tests", nil, http.StatusOK, &snap)
			if st, _ := snap.Values.(map[string]any); st["Done"] != true {
				t.Errorf("state after the resume: %v", snap.Values)
			}

			// Nothing more to do on a completed thread.
			before = snapshotThread(t, store, run)
			e.apiErr("POST", "/v1/threads/"+run+"/stop", "olga-token-for-tests", nil, http.StatusConflict, CodeNotRunning)
			e.apiErr("POST", "/v1/threads/"+run+"/resume", "olga-token-for-tests", nil, http.StatusConflict, CodeThreadCompleted)
			e.apiErr("POST", "/v1/threads/"+run+"/cancel", "olga-token-for-tests", map[string]string{"reason": "late"}, http.StatusConflict, CodeThreadCompleted)
			if after := snapshotThread(t, store, run); after.Row.Version != before.Row.Version {
				t.Errorf("a refusal changed the completed thread: %+v", after.Row)
			}

			// A thread the worker paused, for the cancel below.
			if _, err := wf.Submit(ctx, "ask-"+via, Job{Name: "ask-" + via, Ask: true}); err != nil {
				t.Fatal(err)
			}
			waitThread(t, store, "ask-"+via, weft.StatusInterrupted)
		}

		// From here on no worker runs.
		shutdown()

		for _, via := range []string{checkpoint.ChannelAPI, checkpoint.ChannelUI} {
			// A paused thread is cancelled without a worker, its question
			// withdrawn by the caller with the reason.
			ask := "ask-" + via
			if via == checkpoint.ChannelAPI {
				var out resultJSON
				e.json("POST", "/v1/threads/"+ask+"/cancel", "olga-token-for-tests", map[string]string{"reason": "not needed"}, http.StatusOK, &out)
				if out.Status != weft.StatusCancelled || len(out.Interrupts) != 0 {
					t.Errorf("cancel: %+v", out)
				}
			} else if msg := webDone(ask, "cancel", url.Values{"reason": {"not needed"}}); msg != "Cancelled." {
				t.Errorf("message after cancel: %q", msg)
			}
			waitThread(t, store, ask, weft.StatusCancelled)
			withdrawnBy(t, store, ask, "olga", via, "not needed")
			before := snapshotThread(t, store, ask)
			e.apiErr("POST", "/v1/threads/"+ask+"/cancel", "olga-token-for-tests", map[string]string{"reason": "again"}, http.StatusConflict, CodeThreadCancelled)
			if after := snapshotThread(t, store, ask); after.Row.Version != before.Row.Version {
				t.Errorf("the second cancel changed the thread: %+v", after.Row)
			}

			// A ready thread stopped and resumed without a worker: stopped
			// at once, then ready again, for a worker to come.
			later := "later-" + via
			if _, err := wf.Submit(ctx, later, Job{Name: later}); err != nil {
				t.Fatal(err)
			}
			if via == checkpoint.ChannelAPI {
				var stop stopResponse
				e.json("POST", "/v1/threads/"+later+"/stop", "olga-token-for-tests", nil, http.StatusAccepted, &stop)
				if stop.Status != stopStopped {
					t.Errorf("stop of a ready thread: %+v", stop)
				}
				var out resultJSON
				e.json("POST", "/v1/threads/"+later+"/resume", "olga-token-for-tests", nil, http.StatusAccepted, &out)
				if out.Status != weft.StatusReady {
					t.Errorf("resume without a worker: %+v", out)
				}
			} else {
				if msg := webDone(later, "stop", url.Values{}); !strings.HasPrefix(msg, "Stopped") {
					t.Errorf("message after stop of a ready thread: %q", msg)
				}
				if msg := webDone(later, "resume", url.Values{}); !strings.Contains(msg, "the thread is ready") {
					t.Errorf("message after resume: %q", msg)
				}
			}
			waitThread(t, store, later, weft.StatusReady)
			if n := runs.count(later); n != 0 {
				t.Errorf("%s ran %d times without a worker", later, n)
			}
		}
		e.apiErr("POST", "/v1/threads/nope/stop", "olga-token-for-tests", nil, http.StatusNotFound, CodeNotFound)
		e.apiErr("POST", "/v1/threads/nope/resume", "olga-token-for-tests", nil, http.StatusNotFound, CodeNotFound)
		e.apiErr("POST", "/v1/threads/nope/cancel", "olga-token-for-tests", map[string]string{"reason": "x"}, http.StatusNotFound, CodeNotFound)
	})
}

// TestThreadPageStopRequested: a thread another process runs, asked to
// stop from the page, says until it stops that a worker will stop it at
// its next checkpoint; the stop is recorded in the store, and nothing else
// changes.
func TestThreadPageStopRequested(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	runs := &jobRuns{n: map[string]int{}, started: make(chan string, 10)}
	wf := jobWorkflow(t, store, runs)
	if _, err := wf.Submit(ctx, "j1", Job{Name: "j1"}); err != nil {
		t.Fatal(err)
	}
	row, err := store.Thread(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	// Claimed by a process that does not answer here: running, on a live
	// lease.
	if _, err := store.Claim(ctx, &checkpoint.Claim{ThreadID: "j1", ExpectedVersion: row.Version, Owner: "worker-elsewhere", Lease: time.Hour}); err != nil {
		t.Fatal(err)
	}
	e := newBareEnv(t, store)
	b := e.browser()
	csrf := b.login("olga-token-for-tests")
	if _, page := b.get("/threads/j1"); strings.Contains(page, `id="stop-requested"`) || !strings.Contains(page, `id="stop-form"`) {
		t.Errorf("before the stop:\n%s", page)
	}
	res, body := b.post("/threads/j1/stop", url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/threads/j1?done=stopping" {
		t.Fatalf("stop: %d %s\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	_, page := b.get("/threads/j1?done=stopping")
	for _, want := range []string{
		`id="thread-message">Stop requested: a worker will stop it at its next checkpoint.<`,
		`id="thread-status">running<`, `id="stop-requested"`, ": a worker will stop it at its next checkpoint)",
		`<code class="id">worker-elsewhere</code>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page after the stop lacks %s", want)
		}
	}
	after, err := store.Thread(ctx, "j1")
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != weft.StatusRunning || after.StopRequested.IsZero() || after.Owner != "worker-elsewhere" {
		t.Errorf("after the stop: %+v", after)
	}
	// A stop requested again is no error: it stands.
	var stop stopResponse
	e.json("POST", "/v1/threads/j1/stop", "olga-token-for-tests", nil, http.StatusAccepted, &stop)
	if stop.Status != stopStopping {
		t.Errorf("second stop: %+v", stop)
	}
}
