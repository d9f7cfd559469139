package weft_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/weftgraph/weft"
)

type Counter struct {
	N     int
	Log   []string
	Notes []string
	Who   string
}

func inc(ctx context.Context, s Counter) (Counter, error) { s.N++; return s, nil }

func logs(name string) weft.NodeFunc[Counter] {
	return func(ctx context.Context, s Counter) (Counter, error) {
		s.Log = append(s.Log, name)
		return s, nil
	}
}

func TestCompileReportsEveryProblem(t *testing.T) {
	g := weft.NewGraph[Counter]("bad")
	g.AddNode("a", inc)
	g.AddNode("a", inc)
	g.AddNode(weft.End, inc)
	g.AddNode("x/y", inc)
	g.AddNode("lonely", inc)
	g.AddNode("nilfn", nil)
	g.AddEdge(weft.Start, "a")
	g.AddEdge("a", "ghost")
	g.AddConditionalEdges("a", func(Counter) string { return weft.End }, "phantom", weft.End)
	g.Reduce("Nope", weft.Append())
	g.Reduce("N", weft.Append())
	_, err := g.Compile(weft.InterruptBefore("nowhere"))
	wantErr(t, err, weft.ErrInvalidGraph)
	var ce *weft.CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("error %T is not a *CompileError", err)
	}
	for _, want := range []string{
		`node "a" is added twice`, `node name "__end__" is reserved`, `node name "x/y" contains`,
		`node "nilfn" has a nil function`, `unknown node "ghost"`, `unknown target "phantom"`,
		`node "lonely" is unreachable`, `reducer for unknown field "Nope"`, `reducer for field "N"`,
		`InterruptBefore names unknown node "nowhere"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("compile error lacks %q:\n%v", want, err)
		}
	}
	if len(ce.Problems) != 10 {
		t.Errorf("%d problems, want 10:\n%v", len(ce.Problems), err)
	}
}

func TestCompileNeedsEntry(t *testing.T) {
	g := weft.NewGraph[Counter]("noentry")
	g.AddNode("a", inc)
	_, err := g.Compile()
	if !errors.Is(err, weft.ErrInvalidGraph) || !strings.Contains(err.Error(), "no entry point") {
		t.Fatalf("err = %v", err)
	}
}

func TestLinearAndEntryPoint(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		g := weft.NewGraph[Counter]("linear")
		g.AddNode("a", logs("a")).AddNode("b", logs("b")).AddNode("c", logs("c"))
		g.SetEntryPoint("a").AddEdge("a", "b").AddEdge("b", "c").AddEdge("c", weft.End)
		wf := must[*weft.Workflow[Counter]](t)(g.Compile(opts...))
		res := must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{}))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if got := strings.Join(res.State.Log, ","); got != "a,b,c" {
			t.Fatalf("log = %s", got)
		}
		snap := must[*weft.Snapshot[Counter]](t)(wf.State(ctx, "t"))
		if snap.Status != weft.StatusCompleted || len(snap.Next) != 0 || snap.Step != 3 {
			t.Fatalf("snapshot = %+v", snap)
		}
	})
}

func TestLoopStopsAtStepLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		g := weft.NewGraph[Counter]("loop")
		g.AddNode("a", inc)
		g.AddEdge(weft.Start, "a")
		g.AddConditionalEdges("a", func(s Counter) string {
			if s.N >= 5 {
				return weft.End
			}
			return "a"
		}, "a", weft.End)
		wf := must[*weft.Workflow[Counter]](t)(g.Compile(append(opts, weft.StepLimit(4))...))
		_, err := wf.Run(ctx, "t", Counter{})
		wantErr(t, err, weft.ErrStepLimit)
		snap := must[*weft.Snapshot[Counter]](t)(wf.State(ctx, "t"))
		if snap.Status != weft.StatusFailed || snap.Values.N != 4 || !strings.Contains(snap.Error, "step limit") {
			t.Fatalf("after step limit: %+v", snap)
		}
		// A larger limit for one run lets the loop finish from where it failed.
		res := must[*weft.Result[Counter]](t)(wf.Resume(ctx, "t", weft.StepLimit(10)))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if res.State.N != 5 {
			t.Fatalf("N = %d, want 5", res.State.N)
		}
	})
}

func TestParallelMerge(t *testing.T) {
	build := func(reduce bool, b, c weft.NodeFunc[Counter]) *weft.Graph[Counter] {
		g := weft.NewGraph[Counter]("fan")
		g.AddNode("a", logs("a")).AddNode("b", b).AddNode("c", c).AddNode("d", logs("d"))
		g.AddEdge(weft.Start, "a").AddEdge("a", "b").AddEdge("a", "c").AddEdge("b", "d").AddEdge("c", "d")
		if reduce {
			g.Reduce("Log", weft.Append())
		}
		return g
	}
	setWho := func(who string) weft.NodeFunc[Counter] {
		return func(ctx context.Context, s Counter) (Counter, error) { s.Who = who; return s, nil }
	}
	note := func(ctx context.Context, s Counter) (Counter, error) {
		s.Notes = append(s.Notes, "c")
		return s, nil
	}
	tests := []struct {
		name    string
		g       *weft.Graph[Counter]
		wantLog string
		wantErr string
	}{
		{"different fields", build(false, logs("b"), note), "a,b,d", ""},
		{"same list with Append", build(true, logs("b"), logs("c")), "a,b,c,d", ""},
		{"same list without reducer", build(false, logs("b"), logs("c")), "", "field Log changed by parallel nodes b and c"},
		{"same scalar without reducer", build(false, setWho("b"), setWho("c")), "", "field Who changed by parallel nodes b and c"},
	}
	for _, tt := range tests {
		eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
			t.Run(tt.name, func(t *testing.T) {
				wf := must[*weft.Workflow[Counter]](t)(tt.g.Compile(opts...))
				res, err := wf.Run(ctx, "t", Counter{})
				if tt.wantErr != "" {
					var me *weft.MergeError
					if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("err = %v, want a MergeError with %q", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Join(res.State.Log, ","); got != tt.wantLog {
					t.Fatalf("log = %s, want %s", got, tt.wantLog)
				}
			})
		})
	}
}

func TestMergeReducer(t *testing.T) {
	g := weft.NewGraph[Counter]("sum")
	g.AddNode("a", inc).AddNode("b", inc).AddNode("c", inc)
	g.AddEdge(weft.Start, "a").AddEdge(weft.Start, "b").AddEdge(weft.Start, "c")
	g.Reduce("N", weft.Merge(func(base, ours, theirs int) int { return ours + theirs - base }))
	wf := must[*weft.Workflow[Counter]](t)(g.Compile())
	res := must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{N: 10}))
	if res.State.N != 13 {
		t.Fatalf("N = %d, want 13", res.State.N)
	}
}

func TestPanicNamesNode(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		g := weft.NewGraph[Counter]("panic")
		g.AddNode("boom", func(ctx context.Context, s Counter) (Counter, error) {
			var m map[string]int
			m["x"] = 1
			return s, nil
		})
		g.AddEdge(weft.Start, "boom")
		wf := must[*weft.Workflow[Counter]](t)(g.Compile(opts...))
		_, err := wf.Run(ctx, "t", Counter{})
		var ne *weft.NodeError
		if !errors.As(err, &ne) || ne.Node != "boom" || ne.Panic == nil || !strings.Contains(err.Error(), "node boom panicked") {
			t.Fatalf("err = %v", err)
		}
		snap := must[*weft.Snapshot[Counter]](t)(wf.State(ctx, "t"))
		if snap.Status != weft.StatusFailed {
			t.Fatalf("status = %s", snap.Status)
		}
	})
}

func TestRouterOutsideTargets(t *testing.T) {
	g := weft.NewGraph[Counter]("route")
	g.AddNode("a", inc).AddNode("b", inc)
	g.AddEdge(weft.Start, "a")
	g.AddConditionalEdges("a", func(Counter) string { return "c" }, "b", weft.End)
	wf := must[*weft.Workflow[Counter]](t)(g.Compile())
	_, err := wf.Run(ctx, "t", Counter{})
	if err == nil || !strings.Contains(err.Error(), `router returned "c"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestDefaultsAndNewTurn(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		g := weft.NewGraph[Counter]("turns")
		g.AddNode("a", func(ctx context.Context, s Counter) (Counter, error) {
			s.N++
			s.Log = append(s.Log, s.Who)
			return s, nil
		})
		g.AddEdge(weft.Start, "a")
		g.Reduce("Notes", weft.Append())
		wf := must[*weft.Workflow[Counter]](t)(g.Compile(append(opts, weft.WithDefaults(Counter{Who: "anon", N: 100}))...))
		res := must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{Notes: []string{"1"}}))
		if res.State.Who != "anon" || res.State.N != 101 {
			t.Fatalf("defaults not applied: %+v", res.State)
		}
		// A completed thread takes a new turn: zero fields keep their value,
		// reduced fields merge, others are replaced.
		res = must[*weft.Result[Counter]](t)(wf.Run(ctx, "t", Counter{Who: "bob", Notes: []string{"2"}}))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if res.State.N != 102 || res.State.Who != "bob" || strings.Join(res.State.Notes, ",") != "1,2" || strings.Join(res.State.Log, ",") != "anon,bob" {
			t.Fatalf("second turn state: %+v", res.State)
		}
	})
}
