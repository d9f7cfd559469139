package weft_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/weftgraph/weft"
)

// Agent is the state of the composition tests.
type Agent struct {
	Calls   []string
	Results []string
	Log     []string
	Route   string
}

func TestGotoChosenByTheHuman(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		g := weft.NewGraph[Agent]("goto")
		g.AddNode("ask", func(ctx context.Context, s Agent) (Agent, error) {
			to, err := weft.Interrupt[string](ctx, "where to?")
			if err != nil {
				return s, err
			}
			s.Log = append(s.Log, "ask")
			return weft.Return(ctx, weft.Command[Agent]{Update: s, Goto: []string{to}})
		}, weft.Destinations("left", "right"))
		for _, n := range []string{"left", "right"} {
			g.AddNode(n, func(ctx context.Context, s Agent) (Agent, error) { s.Log = append(s.Log, n); return s, nil })
		}
		g.AddEdge(weft.Start, "ask")
		wf := must[*weft.Workflow[Agent]](t)(g.Compile(opts...))

		res := must[*weft.Result[Agent]](t)(wf.Run(ctx, "g", Agent{}))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		res = must[*weft.Result[Agent]](t)(wf.Resume(ctx, "g", weft.Answer(res.Interrupts[0].ID, "right")))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if got := strings.Join(res.State.Log, ","); got != "ask,right" {
			t.Fatalf("log = %s, want ask,right", got)
		}

		// A destination that was not declared fails the node.
		res = must[*weft.Result[Agent]](t)(wf.Run(ctx, "g2", Agent{}))
		_, err := wf.Resume(ctx, "g2", weft.Answer(res.Interrupts[0].ID, "nowhere"))
		if !errors.Is(err, weft.ErrInvalidGraph) || !strings.Contains(err.Error(), `"nowhere"`) {
			t.Fatalf("Goto to an undeclared node: %v", err)
		}
	})
}

func TestGotoSurvivesAPauseOfItsSuperstep(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		var jumps atomic.Int32
		g := weft.NewGraph[Agent]("goto-pause")
		g.AddNode("jump", func(ctx context.Context, s Agent) (Agent, error) {
			jumps.Add(1)
			return weft.Goto(ctx, s, "target")
		}, weft.Destinations("target"))
		g.AddNode("wait", func(ctx context.Context, s Agent) (Agent, error) {
			_, err := weft.Interrupt[bool](ctx, "ok?")
			return s, err
		})
		g.AddNode("target", func(ctx context.Context, s Agent) (Agent, error) { s.Log = append(s.Log, "target"); return s, nil })
		g.AddEdge(weft.Start, "jump").AddEdge(weft.Start, "wait")
		wf := must[*weft.Workflow[Agent]](t)(g.Compile(opts...))
		res := must[*weft.Result[Agent]](t)(wf.Run(ctx, "t", Agent{}))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		res = must[*weft.Result[Agent]](t)(wf.Resume(ctx, "t", weft.Answer(res.Interrupts[0].ID, true)))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if strings.Join(res.State.Log, ",") != "target" || jumps.Load() != 1 {
			t.Fatalf("log %v, jump ran %d times; want target once, jump once", res.State.Log, jumps.Load())
		}
	})
}

func TestGotoOutsideNode(t *testing.T) {
	if _, err := weft.Goto(ctx, Agent{}, "x"); !errors.Is(err, weft.ErrOutsideNode) {
		t.Fatalf("Goto outside a node: %v", err)
	}
	if _, err := weft.Do(ctx, "k", func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, weft.ErrOutsideNode) {
		t.Fatalf("Do outside a node: %v", err)
	}
	if err := weft.Emit(ctx, 1); !errors.Is(err, weft.ErrOutsideNode) {
		t.Fatalf("Emit outside a node: %v", err)
	}
}

// charge is a workflow whose node charges a card (a side effect counted by
// charges) and then asks for a confirmation.
func charge(t *testing.T, opts []weft.CompileOption, charges *atomic.Int32, ids *sync.Map) *weft.Workflow[Agent] {
	g := weft.NewGraph[Agent]("charge")
	g.AddNode("charge", func(ctx context.Context, s Agent) (Agent, error) {
		receipt, err := weft.Do(ctx, "card", func(ctx context.Context) (string, error) {
			n := charges.Add(1)
			ids.Store(weft.EffectID(ctx), true)
			return fmt.Sprintf("receipt-%d", n), nil
		})
		if err != nil {
			return s, err
		}
		again, err := weft.Do(ctx, "card", func(ctx context.Context) (string, error) { return "never", nil })
		if err != nil || again != receipt {
			return s, fmt.Errorf("second Do with the same key: %q, %v", again, err)
		}
		ok, err := weft.Interrupt[bool](ctx, receipt)
		if err != nil {
			return s, err
		}
		s.Results = append(s.Results, fmt.Sprintf("%s:%v", receipt, ok))
		return s, nil
	})
	g.AddEdge(weft.Start, "charge")
	return must[*weft.Workflow[Agent]](t)(g.Compile(opts...))
}

func TestDoRunsOnceAcrossPauseResumeAndRestart(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		var charges atomic.Int32
		var ids sync.Map
		wf := charge(t, opts, &charges, &ids)
		res := must[*weft.Result[Agent]](t)(wf.Run(ctx, "d", Agent{}))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		if string(res.Interrupts[0].Value) != `"receipt-1"` {
			t.Fatalf("question payload %s", res.Interrupts[0].Value)
		}
		if len(opts) > 0 {
			// A restart: a new Workflow on the same store.
			wf = charge(t, opts, &charges, &ids)
		}
		res = must[*weft.Result[Agent]](t)(wf.Resume(ctx, "d", weft.Answer(res.Interrupts[0].ID, true)))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if charges.Load() != 1 || !slices.Equal(res.State.Results, []string{"receipt-1:true"}) {
			t.Fatalf("charged %d times, results %v; want once, [receipt-1:true]", charges.Load(), res.State.Results)
		}
		var got []string
		ids.Range(func(k, _ any) bool { got = append(got, k.(string)); return true })
		if len(got) != 1 || got[0] == "" {
			t.Fatalf("effect IDs %q, want one that is not empty", got)
		}
	})
}

func TestDoErrorIsNotJournaled(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		var calls atomic.Int32
		g := weft.NewGraph[Agent]("do-error")
		g.AddNode("n", func(ctx context.Context, s Agent) (Agent, error) {
			v, err := weft.Do(ctx, "flaky", func(ctx context.Context) (int, error) {
				if calls.Add(1) == 1 {
					return 0, errors.New("transient")
				}
				return 7, nil
			})
			if err != nil {
				return s, err
			}
			s.Log = append(s.Log, fmt.Sprint(v))
			return s, nil
		})
		g.AddEdge(weft.Start, "n")
		wf := must[*weft.Workflow[Agent]](t)(g.Compile(opts...))
		if _, err := wf.Run(ctx, "e", Agent{}); err == nil || !strings.Contains(err.Error(), "transient") {
			t.Fatalf("first run: %v", err)
		}
		res := must[*weft.Result[Agent]](t)(wf.Resume(ctx, "e"))
		if calls.Load() != 2 || !slices.Equal(res.State.Log, []string{"7"}) {
			t.Fatalf("calls %d, log %v", calls.Load(), res.State.Log)
		}
	})
}

// tools fans out over Calls: each call asks for approval, and approved
// calls run (counted per call).
func tools(t *testing.T, opts []weft.CompileOption, runs *sync.Map) *weft.Workflow[Agent] {
	g := weft.NewGraph[Agent]("tools")
	g.AddMap("call", weft.Map(func(s Agent) []string { return s.Calls },
		func(ctx context.Context, s Agent, call string) (Agent, error) {
			n, _ := runs.LoadOrStore(call, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
			if strings.HasPrefix(call, "safe") {
				s.Results = append(s.Results, call+"=auto")
				return s, nil
			}
			ok, err := weft.Interrupt[bool](ctx, call, weft.Reason("tool call needs approval"))
			if err != nil {
				return s, err
			}
			s.Results = append(s.Results, fmt.Sprintf("%s=%v", call, ok))
			return s, nil
		}))
	g.AddNode("done", func(ctx context.Context, s Agent) (Agent, error) {
		slices.Sort(s.Results)
		return s, nil
	})
	g.AddEdge(weft.Start, "call").AddEdge("call", "done")
	g.Reduce("Results", weft.Append())
	return must[*weft.Workflow[Agent]](t)(g.Compile(opts...))
}

func TestMapBranchesPauseAlone(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		var runs sync.Map
		wf := tools(t, opts, &runs)
		res := must[*weft.Result[Agent]](t)(wf.Run(ctx, "m", Agent{Calls: []string{"rm", "safe-ls", "curl"}}))
		wantStatus(t, res, weft.StatusInterrupted, 2)
		q0, q2 := res.Interrupts[0], res.Interrupts[1]
		if q0.Node != "call" || q0.Task != "call#0" || q2.Task != "call#2" || q0.ID == q2.ID ||
			string(q0.Value) != `"rm"` || q0.Reason != "tool call needs approval" {
			t.Fatalf("questions = %+v", res.Interrupts)
		}
		res = must[*weft.Result[Agent]](t)(wf.Resume(ctx, "m", weft.Answer(q2.ID, true)))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		if res.Interrupts[0].ID != q0.ID {
			t.Fatalf("waiting on %+v, want %s", res.Interrupts, q0.ID)
		}
		res = must[*weft.Result[Agent]](t)(wf.Resume(ctx, "m", weft.Answer(q0.ID, false)))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if got := strings.Join(res.State.Results, ","); got != "curl=true,rm=false,safe-ls=auto" {
			t.Fatalf("results = %s", got)
		}
		for call, want := range map[string]int32{"safe-ls": 1, "curl": 2, "rm": 2} {
			n, _ := runs.Load(call)
			if got := n.(*atomic.Int32).Load(); got != want {
				t.Errorf("branch %s ran %d times, want %d", call, got, want)
			}
		}
		steps := must[[]weft.Step](t)(wf.Steps(ctx, "m"))
		if steps[0].Node != "call" || steps[0].Task != "call#0" {
			t.Fatalf("first step = %+v", steps[0])
		}
	})
}

func TestMapAnsweredAllTogetherAndEmpty(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		var runs sync.Map
		wf := tools(t, opts, &runs)
		res := must[*weft.Result[Agent]](t)(wf.Run(ctx, "all", Agent{Calls: []string{"a", "b", "c"}}))
		wantStatus(t, res, weft.StatusInterrupted, 3)
		var answers []weft.RunOption
		for _, q := range res.Interrupts {
			answers = append(answers, weft.Answer(q.ID, true))
		}
		res = must[*weft.Result[Agent]](t)(wf.Resume(ctx, "all", answers...))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if got := strings.Join(res.State.Results, ","); got != "a=true,b=true,c=true" {
			t.Fatalf("results = %s", got)
		}
		res = must[*weft.Result[Agent]](t)(wf.Run(ctx, "none", Agent{}))
		wantStatus(t, res, weft.StatusCompleted, 0)
	})
}

// Nested is the state of the subgraph tests: each level has its own type.
type Outer struct {
	Topic  string
	Report string
	Side   int
}

type Middle struct {
	Text  string
	Notes []string
}

type Inner struct {
	Draft    string
	Approved bool
}

// nested builds outer -> middle -> inner, with a question in inner's
// review and counters for every node.
func nested(t *testing.T, opts []weft.CompileOption, counts *sync.Map) *weft.Workflow[Outer] {
	count := func(name string) {
		n, _ := counts.LoadOrStore(name, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
	}
	ig := weft.NewGraph[Inner]("inner")
	ig.AddNode("draft", func(ctx context.Context, s Inner) (Inner, error) {
		count("inner/draft")
		s.Draft += "+drafted"
		return s, nil
	})
	ig.AddNode("review", func(ctx context.Context, s Inner) (Inner, error) {
		count("inner/review")
		ok, err := weft.Interrupt[bool](ctx, s.Draft)
		if err != nil {
			return s, err
		}
		s.Approved = ok
		return s, nil
	})
	ig.AddEdge(weft.Start, "draft").AddEdge("draft", "review")
	inner := must[*weft.Workflow[Inner]](t)(ig.Compile())

	mg := weft.NewGraph[Middle]("middle")
	mg.AddNode("prepare", func(ctx context.Context, s Middle) (Middle, error) {
		count("middle/prepare")
		s.Notes = append(s.Notes, "prepared")
		return s, nil
	})
	mg.AddSubgraph("inner", weft.Subgraph(inner,
		func(s Middle) Inner { return Inner{Draft: s.Text} },
		func(s Middle, c Inner) Middle {
			s.Notes = append(s.Notes, fmt.Sprintf("%s approved=%v", c.Draft, c.Approved))
			return s
		}))
	mg.AddEdge(weft.Start, "prepare").AddEdge("prepare", "inner")
	middle := must[*weft.Workflow[Middle]](t)(mg.Compile())

	og := weft.NewGraph[Outer]("outer")
	og.AddSubgraph("middle", weft.Subgraph(middle,
		func(s Outer) Middle { return Middle{Text: s.Topic} },
		func(s Outer, c Middle) Outer { s.Report = strings.Join(c.Notes, "; "); return s }))
	og.AddNode("side", func(ctx context.Context, s Outer) (Outer, error) {
		count("side")
		s.Side++
		return s, nil
	})
	og.AddEdge(weft.Start, "middle").AddEdge(weft.Start, "side")
	return must[*weft.Workflow[Outer]](t)(og.Compile(opts...))
}

func TestSubgraphsThreeLevelsDeep(t *testing.T) {
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		var counts sync.Map
		wf := nested(t, opts, &counts)
		res := must[*weft.Result[Outer]](t)(wf.Run(ctx, "n", Outer{Topic: "go"}))
		wantStatus(t, res, weft.StatusInterrupted, 1)
		q := res.Interrupts[0]
		if q.Node != "middle/inner/review" || string(q.Value) != `"go+drafted"` {
			t.Fatalf("question = %+v", q)
		}
		snap := must[*weft.Snapshot[Outer]](t)(wf.State(ctx, "n"))
		if len(snap.Subgraphs) != 2 || snap.Subgraphs[0].Path != "middle" || snap.Subgraphs[1].Path != "middle/inner" ||
			snap.Subgraphs[1].Values.(Inner).Draft != "go+drafted" || !slices.Equal(snap.Subgraphs[1].Next, []string{"review"}) ||
			len(snap.Interrupts) != 1 || snap.Interrupts[0].ID != q.ID {
			t.Fatalf("state shows subgraphs %+v, questions %+v", snap.Subgraphs, snap.Interrupts)
		}
		if len(opts) > 0 {
			wf = nested(t, opts, &counts) // a restart
		}
		res = must[*weft.Result[Outer]](t)(wf.Resume(ctx, "n", weft.Answer(q.ID, true)))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if res.State.Report != "prepared; go+drafted approved=true" || res.State.Side != 1 {
			t.Fatalf("state = %+v", res.State)
		}
		for name, want := range map[string]int32{"side": 1, "middle/prepare": 1, "inner/draft": 1, "inner/review": 2} {
			n, _ := counts.Load(name)
			if got := n.(*atomic.Int32).Load(); got != want {
				t.Errorf("%s ran %d times, want %d", name, got, want)
			}
		}
		snap = must[*weft.Snapshot[Outer]](t)(wf.State(ctx, "n"))
		if len(snap.Subgraphs) != 0 {
			t.Fatalf("subgraphs of a completed thread: %+v", snap.Subgraphs)
		}
		steps := must[[]weft.Step](t)(wf.Steps(ctx, "n"))
		var nodes []string
		for _, s := range steps {
			nodes = append(nodes, s.Node+":"+string(s.Status))
		}
		if !slices.Contains(nodes, "middle/inner/review:interrupted") || !slices.Contains(nodes, "middle/inner/review:completed") {
			t.Fatalf("steps = %v", nodes)
		}
	})
}

func TestSubgraphFailureNamesThePath(t *testing.T) {
	ig := weft.NewGraph[Inner]("inner")
	ig.AddNode("boom", func(ctx context.Context, s Inner) (Inner, error) { return s, errors.New("kaput") })
	ig.AddEdge(weft.Start, "boom")
	inner := must[*weft.Workflow[Inner]](t)(ig.Compile())
	og := weft.NewGraph[Outer]("outer")
	og.AddSubgraph("sub", weft.Subgraph(inner, func(Outer) Inner { return Inner{} }, func(s Outer, _ Inner) Outer { return s }))
	og.AddEdge(weft.Start, "sub")
	wf := must[*weft.Workflow[Outer]](t)(og.Compile())
	_, err := wf.Run(ctx, "f", Outer{})
	var ne *weft.NodeError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "sub/boom") || !strings.Contains(err.Error(), "kaput") {
		t.Fatalf("error = %v", err)
	}
}

func TestResolvers(t *testing.T) {
	approve := weft.ResolverFunc("auto-approve", func(ctx context.Context, q weft.Question) (any, bool, error) {
		if q.Reason == "low risk" {
			return Decision{Action: "approve"}, true, nil
		}
		return nil, false, nil
	})
	g := func(reason string) *weft.Graph[Doc] {
		g := weft.NewGraph[Doc]("resolved")
		g.AddNode("review", func(ctx context.Context, s Doc) (Doc, error) {
			d, err := weft.Interrupt[Decision](ctx, s.Draft, weft.Reason(reason))
			if err != nil {
				return s, err
			}
			s.Answers = append(s.Answers, d.Action)
			return s, nil
		})
		g.AddEdge(weft.Start, "review")
		return g
	}
	eachBackend(t, func(t *testing.T, opts []weft.CompileOption) {
		var answered []weft.Event
		watch := weft.WithObserver(weft.ObserverFunc(func(_ context.Context, e weft.Event) {
			if e.Type == weft.EventAnswered {
				answered = append(answered, e)
			}
		}))
		wf := must[*weft.Workflow[Doc]](t)(g("low risk").Compile(append(opts, weft.WithResolver(approve))...))
		res := must[*weft.Result[Doc]](t)(wf.Run(ctx, "auto", Doc{}, watch))
		wantStatus(t, res, weft.StatusCompleted, 0)
		if !slices.Equal(res.State.Answers, []string{"approve"}) || len(answered) != 1 ||
			answered[0].Answer.Author != "auto-approve" || answered[0].Answer.Channel != "resolver" {
			t.Fatalf("state %+v, answered events %+v", res.State, answered)
		}

		// A resolver that declines: the thread pauses.
		wf = must[*weft.Workflow[Doc]](t)(g("risky").Compile(opts...))
		res = must[*weft.Result[Doc]](t)(wf.Run(ctx, "declined", Doc{}, weft.WithResolver(approve)))
		wantStatus(t, res, weft.StatusInterrupted, 1)

		// A resolver that fails fails the run with its error.
		broken := weft.ResolverFunc("broken", func(context.Context, weft.Question) (any, bool, error) {
			return nil, false, errors.New("model unavailable")
		})
		if _, err := wf.Run(ctx, "broken", Doc{}, weft.WithResolver(broken)); err == nil || !strings.Contains(err.Error(), "model unavailable") {
			t.Fatalf("failing resolver: %v", err)
		}
		// A resolver's answer must fit the schema.
		wrong := weft.ResolverFunc("wrong", func(context.Context, weft.Question) (any, bool, error) {
			return map[string]string{"action": "maybe"}, true, nil
		})
		if _, err := wf.Run(ctx, "wrong", Doc{}, weft.WithResolver(wrong)); !errors.Is(err, weft.ErrInvalidAnswer) {
			t.Fatalf("invalid resolver answer: %v", err)
		}
	})
}
