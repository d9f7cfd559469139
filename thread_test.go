package weft_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgraph/weft"
)

func pipeline(t *testing.T, opts ...weft.CompileOption) *weft.Workflow[Counter] {
	g := weft.NewGraph[Counter]("pipeline")
	g.AddNode("a", logs("a")).AddNode("b", logs("b")).AddNode("c", logs("c"))
	g.AddEdge(weft.Start, "a").AddEdge("a", "b").AddEdge("b", "c")
	return must[*weft.Workflow[Counter]](t)(g.Compile(opts...))
}

func TestBreakpoints(t *testing.T) {
	tests := []struct {
		name     string
		compile  []weft.CompileOption
		run      []weft.RunOption
		wantNode string
		wantKind string
		wantLog  string // at the pause
	}{
		{"before at compile", []weft.CompileOption{weft.InterruptBefore("b")}, nil, "b", weft.KindBefore, "a"},
		{"after at compile", []weft.CompileOption{weft.InterruptAfter("b")}, nil, "b", weft.KindAfter, "a,b"},
		{"before per run", nil, []weft.RunOption{weft.InterruptBefore("c")}, "c", weft.KindBefore, "a,b"},
		{"after per run", nil, []weft.RunOption{weft.InterruptAfter("a")}, "a", weft.KindAfter, "a"},
		{"before the first node", []weft.CompileOption{weft.InterruptBefore("a")}, nil, "a", weft.KindBefore, ""},
	}
	for _, tt := range tests {
		eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
			t.Run(tt.name, func(t *testing.T) {
				wf := pipeline(t, append(opts, tt.compile...)...)
				res := must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{}, tt.run...))
				wantStatus(t, res, weft.StatusInterrupted, 1)
				q := res.Interrupts[0]
				if q.Node != tt.wantNode || q.Kind != tt.wantKind || strings.Join(res.State.Log, ",") != tt.wantLog {
					t.Fatalf("paused at %s/%s with log %v", q.Node, q.Kind, res.State.Log)
				}
				res = must[*weft.Result[Counter]](t)(wf.Resume(ctx, "t"))
				wantStatus(t, res, weft.StatusCompleted, 0)
				if strings.Join(res.State.Log, ",") != "a,b,c" {
					t.Fatalf("log after resume = %v", res.State.Log)
				}
			})
		})
	}
}

func TestBreakpointInLoopPausesEachTime(t *testing.T) {
	g := weft.NewGraph[Counter]("loop")
	g.AddNode("a", inc)
	g.AddEdge(weft.Start, "a")
	g.AddConditionalEdges("a", func(s Counter) string {
		if s.N == 3 {
			return weft.End
		}
		return "a"
	}, "a", weft.End)
	wf := must[*weft.Workflow[Counter]](t)(g.Compile(weft.InterruptAfter("a")))
	res := must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{}))
	for i := 1; i <= 3; i++ {
		wantStatus(t, res, weft.StatusInterrupted, 1)
		if res.State.N != i {
			t.Fatalf("pause %d at N=%d", i, res.State.N)
		}
		res = must[*weft.Result[Counter]](t)(wf.Resume(ctx, "t"))
	}
	wantStatus(t, res, weft.StatusCompleted, 0)
}

func TestUpdateStateAtBreakpoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		wf := pipeline(t, append(opts, weft.InterruptBefore("c"))...)
		must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{}))
		snap := must[*weft.Snapshot[Counter]](t)(wf.UpdateState(ctx, "t", func(s Counter) Counter {
			s.Who = "edited"
			return s
		}))
		if snap.Source != "update" || snap.Next[0] != "c" || snap.Status != weft.StatusStopped {
			t.Fatalf("update snapshot = %+v", snap)
		}
		res := must[*weft.Result[Counter]](t)(wf.Resume(ctx, "t"))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if res.State.Who != "edited" || strings.Join(res.State.Log, ",") != "a,b,c" {
			t.Fatalf("state = %+v", res.State)
		}
	})
}

func TestUpdateStateAsNode(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		wf := pipeline(t, append(opts, weft.InterruptBefore("b"))...)
		must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{}))
		// Count the edit as b's output: the thread skips to c.
		snap := must[*weft.Snapshot[Counter]](t)(wf.UpdateState(ctx, "t", func(s Counter) Counter {
			s.Log = append(s.Log, "b by hand")
			return s
		}, weft.AsNode("b")))
		if strings.Join(snap.Next, ",") != "c" {
			t.Fatalf("next = %v", snap.Next)
		}
		res := must[*weft.Result[Counter]](t)(wf.Resume(ctx, "t"))
		if strings.Join(res.State.Log, ",") != "a,b by hand,c" {
			t.Fatalf("log = %v", res.State.Log)
		}
		_, err := wf.UpdateState(ctx, "t", func(s Counter) Counter { return s }, weft.AsNode("zzz"))
		wantErr(t, err, weft.ErrInvalidGraph)
	})
}

func TestHistoryAndFork(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		wf := pipeline(t, opts...)
		must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{}))
		var hist []*weft.Snapshot[Counter]
		for s, err := range wf.History(ctx, "t") {
			if err != nil {
				t.Fatal(err)
			}
			hist = append(hist, s)
		}
		if len(hist) != 4 {
			t.Fatalf("%d checkpoints, want 4 (input, a, b, c)", len(hist))
		}
		for i, want := range []string{"a,b,c", "a,b", "a", ""} {
			if got := strings.Join(hist[i].Values.Log, ","); got != want {
				t.Fatalf("checkpoint %d (%s): log %q, want %q", i, hist[i].Checkpoint, got, want)
			}
		}
		// Rewind to the checkpoint after a, change the state, run again.
		afterA := hist[2]
		if afterA.Next[0] != "b" || afterA.Parent != hist[3].Checkpoint {
			t.Fatalf("checkpoint after a = %+v", afterA)
		}
		fork := must[*weft.Snapshot[Counter]](t)(wf.Fork(ctx, "t", afterA.Checkpoint, func(s Counter) Counter {
			s.Who = "forked"
			return s
		}))
		if fork.Parent != afterA.Checkpoint || fork.Source != "fork" {
			t.Fatalf("fork = %+v", fork)
		}
		res := must[*weft.Result[Counter]](t)(wf.Resume(ctx, "t"))
		if strings.Join(res.State.Log, ",") != "a,b,c" || res.State.Who != "forked" {
			t.Fatalf("after fork: %+v", res.State)
		}
		old := must[*weft.Snapshot[Counter]](t)(wf.StateAt(ctx, "t", hist[0].Checkpoint))
		if old.Values.Who != "" {
			t.Fatal("the abandoned branch changed")
		}
		n := 0
		for range wf.History(ctx, "t") {
			n++
		}
		if n != 7 {
			t.Fatalf("%d checkpoints after the fork, want 7", n)
		}
	})
}

// blocking blocks until cancelled the first time it runs.
func blocking(started chan<- struct{}) weft.NodeFunc[Counter] {
	var once atomic.Bool
	return func(ctx context.Context, s Counter) (Counter, error) {
		s.N++
		if once.CompareAndSwap(false, true) {
			close(started)
			<-ctx.Done()
			return s, ctx.Err()
		}
		return s, nil
	}
}

func TestBusyAndStop(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		started := make(chan struct{})
		g := weft.NewGraph[Counter]("slow")
		g.AddNode("a", inc).AddNode("slow", blocking(started)).AddNode("c", logs("c"))
		g.AddEdge(weft.Start, "a").AddEdge("a", "slow").AddEdge("slow", "c")
		wf := must[*weft.Workflow[Counter]](t)(g.Compile(opts...))

		wantErr(t, wf.Stop(ctx, "t"), weft.ErrNotRunning)
		type out struct {
			res *weft.Result[Counter]
			err error
		}
		done := make(chan out)
		go func() {
			res, err := wf.Run(ctx, "t", Counter{})
			done <- out{res, err}
		}()
		<-started
		_, err := wf.Run(ctx, "t", Counter{})
		wantErr(t, err, weft.ErrBusy)
		_, err = wf.Resume(ctx, "t")
		wantErr(t, err, weft.ErrBusy)
		snap := must[*weft.Snapshot[Counter]](t)(wf.State(ctx, "t"))
		if snap.Status != weft.StatusRunning {
			t.Fatalf("status while running = %s", snap.Status)
		}
		if err := wf.Stop(ctx, "t"); err != nil {
			t.Fatal(err)
		}
		o := <-done
		if o.err != nil {
			t.Fatalf("stopped run returned %v", o.err)
		}
		wantStatus(t, o.res, weft.StatusStopped, 0)
		if o.res.State.N != 1 {
			t.Fatalf("stopped state = %+v (the last checkpoint)", o.res.State)
		}
		snap = must[*weft.Snapshot[Counter]](t)(wf.State(ctx, "t"))
		if snap.Status != weft.StatusStopped || snap.Next[0] != "slow" {
			t.Fatalf("state after stop = %+v", snap)
		}
		_, err = wf.Run(ctx, "t", Counter{})
		wantErr(t, err, weft.ErrThreadPaused)
		// The node finishes this time.
		res := must[*weft.Result[Counter]](t)(wf.Resume(ctx, "t"))
		wantStatus(t, res, weft.StatusCompleted, 0)
		steps := must[[]weft.Step](t)(wf.Steps(ctx, "t"))
		var stopped bool
		for _, s := range steps {
			stopped = stopped || s.Status == "stopped"
		}
		if !stopped {
			t.Fatal("the step log has no stopped step")
		}
	})
}

func TestCallerCancel(t *testing.T) {
	started := make(chan struct{})
	g := weft.NewGraph[Counter]("cancel")
	g.AddNode("a", inc).AddNode("slow", blocking(started))
	g.AddEdge(weft.Start, "a").AddEdge("a", "slow")
	wf := must[*weft.Workflow[Counter]](t)(g.Compile())
	cctx, cancel := context.WithCancel(ctx)
	go func() { <-started; cancel() }()
	res, err := wf.Run(cctx, "t", Counter{})
	wantErr(t, err, context.Canceled)
	wantStatus(t, res, weft.StatusStopped, 0)
}

func TestFailedSuperstepResumes(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		var fail atomic.Bool
		fail.Store(true)
		var okRuns atomic.Int32
		g := weft.NewGraph[Counter]("flaky")
		g.AddNode("ok", func(ctx context.Context, s Counter) (Counter, error) {
			okRuns.Add(1)
			s.Notes = append(s.Notes, "ok")
			return s, nil
		})
		g.AddNode("flaky", func(ctx context.Context, s Counter) (Counter, error) {
			if fail.Load() {
				return s, errors.New("upstream down")
			}
			s.N++
			return s, nil
		})
		g.AddEdge(weft.Start, "ok").AddEdge(weft.Start, "flaky")
		wf := must[*weft.Workflow[Counter]](t)(g.Compile(opts...))
		_, err := wf.Run(ctx, "t", Counter{})
		var ne *weft.NodeError
		if !errors.As(err, &ne) || ne.Node != "flaky" || !strings.Contains(err.Error(), "upstream down") {
			t.Fatalf("err = %v", err)
		}
		snap := must[*weft.Snapshot[Counter]](t)(wf.State(ctx, "t"))
		if snap.Status != weft.StatusFailed || !strings.Contains(snap.Error, "upstream down") {
			t.Fatalf("state = %+v", snap)
		}
		fail.Store(false)
		res := must[*weft.Result[Counter]](t)(wf.Resume(ctx, "t"))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if res.State.N != 1 || len(res.State.Notes) != 1 || okRuns.Load() != 1 {
			t.Fatalf("state %+v, ok ran %d times (must not re-run)", res.State, okRuns.Load())
		}
	})
}

func TestDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		wf := pipeline(t, opts...)
		must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{}))
		if err := wf.Delete(ctx, "t"); err != nil {
			t.Fatal(err)
		}
		_, err := wf.State(ctx, "t")
		wantErr(t, err, weft.ErrNotFound)
	})
}

var _ = time.Second
