package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/worker"
)

// Slow is the state of ext-slow, whose node works until it is stopped.
type Slow struct{ Runs int }

// runWorker runs a worker in this process, on its own handle of dir's
// store, for ext-review and ext-slow: the program that has the workflows
// the command does not.
func runWorker(t *testing.T, dir string) {
	t.Helper()
	store, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "weft.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := weft.NewGraph[Slow]("ext-slow")
	g.AddNode("work", func(ctx context.Context, s Slow) (Slow, error) {
		s.Runs++
		<-ctx.Done() // until stopped
		return s, ctx.Err()
	})
	g.AddEdge(weft.Start, "work")
	slow, err := g.Compile(weft.WithStore(store), weft.WithHeartbeat(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(store, []weft.Runner{extWorkflow(t, store).Runner(), slow.Runner()}, worker.Config{Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		store.Close()
	})
}

// TestWaitForTheWorker: answer, start, stop and resume of a workflow the
// command does not have record the request and wait until the worker of
// the program that has it has carried it out, then print where the thread
// stopped.
func TestWaitForTheWorker(t *testing.T) {
	dir := fixture(t)
	runWorker(t, dir)

	id := question(t, dir, "ext-1")
	weftIn(t, dir, "", "answer", "ext-1", id, "true", "--as", "quinn").
		want(t, 0, "Answered "+id+" as quinn; a worker carried thread ext-1 on.", "Thread ext-1 is completed.")

	// A new thread: it runs to its question, which the command lists with
	// the command that answers it.
	weftIn(t, dir, "", "start", "ext-review", "ext-5", `{"Doc":"five.md"}`).
		want(t, 0, "Started thread ext-5 of ext-review", "Thread ext-5 is waiting for 1 question(s).", "five.md", "weft answer ext-5 ")
	var out struct {
		Thread, Status string
		Recorded       bool
		Questions      []questionJSON
	}
	weftIn(t, dir, "", "answer", "ext-5", "--key", "check", "false", "--json").want(t, 0).json(t, &out)
	if out.Thread != "ext-5" || out.Status != "completed" || !out.Recorded || len(out.Questions) != 0 {
		t.Errorf("answer --json: %+v", out)
	}

	// Input that does not fit the state: the thread fails when the worker
	// starts it, and the command says so (exit code 1), once.
	r := weftIn(t, dir, "", "start", "ext-review", "ext-6", `{"Nope":1}`).want(t, exitError, "Thread ext-6 failed", "Nope")
	if n := strings.Count(r.stdout+r.stderr, "unknown field"); n < 1 {
		t.Errorf("the failure does not say why:\n%s%s", r.stdout, r.stderr)
	}
	weftIn(t, dir, "", "start", "ext-review", "ext-6b", `{"Nope":1}`, "--json").want(t, exitError, `"code":"thread_failed"`)

	// A workflow with no thread in the store yet needs --new; then a
	// running thread's stop waits until its owner stopped it.
	weftIn(t, dir, "", "start", "ext-slow", "s1").want(t, exitError, "no thread of workflow", "--new")
	weftIn(t, dir, "", "start", "ext-slow", "s1", "--new", "--no-wait").want(t, 0, "Submitted thread s1 of ext-slow")
	waitRow(t, dir, "s1", "running", func(r *checkpoint.Thread) bool { return r.Status == weft.StatusRunning && r.Owner != "" })
	weftIn(t, dir, "", "stop", "s1").want(t, 0, "waiting for it to stop", "Thread s1 is stopped.")

	// Resumed, it runs until it is stopped again: --timeout gives up
	// waiting (exit code 6) and the thread runs on.
	weftIn(t, dir, "", "resume", "s1", "--timeout", "300ms").want(t, exitWaiting, "stopped waiting", "the resume is recorded")
	row := waitRow(t, dir, "s1", "running again", func(r *checkpoint.Thread) bool { return r.Status == weft.StatusRunning && r.Owner != "" })
	if row.Epoch < 2 {
		t.Errorf("s1 resumed: %+v", row)
	}
	var st struct {
		Status        string
		StopRequested bool `json:"stop_requested"`
	}
	weftIn(t, dir, "", "stop", "s1", "--json").want(t, 0).json(t, &st)
	if st.Status != "stopped" || !st.StopRequested {
		t.Errorf("stop --json: %+v", st)
	}
}

// TestWaitWithoutWorker: with no worker for the workflow, the command
// gives up at --timeout (exit code 6) and what it recorded stands.
func TestWaitWithoutWorker(t *testing.T) {
	dir := fixture(t)
	id := question(t, dir, "ext-1")
	weftIn(t, dir, "", "answer", "ext-1", id, "true", "--timeout", "200ms").
		want(t, exitWaiting, "stopped waiting after", "thread ext-1 is ready and the answer is recorded")
	var s snapshotJSON
	weftIn(t, dir, "", "show", "ext-1", "--json").want(t, 0).json(t, &s)
	if s.Status != weft.StatusReady {
		t.Errorf("after giving up: %s", s.Status)
	}
	weftIn(t, dir, "", "answer", "ext-1", id, "false").want(t, exitConflict, "already answered")
	weftIn(t, dir, "", "start", "ext-review", "ext-7", `{"Doc":"x"}`, "--timeout", "200ms", "--json").want(t, exitWaiting, `"code":"still_waiting"`)
	weftIn(t, dir, "", "show", "ext-7", "--json").want(t, 0).json(t, &s)
	if s.Status != weft.StatusReady || s.Workflow != "ext-review" {
		t.Errorf("ext-7 after giving up: %+v", s)
	}
}
