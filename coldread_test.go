package weft_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/internal/pgtest"
)

type growState struct {
	Log   []string
	Steps int
}

// growWorkflow is a graph whose one node appends an element to a list and
// loops until the list has n elements: a thread of n appended supersteps.
func growWorkflow(tb testing.TB, st checkpoint.Store, n int) *weft.Workflow[growState] {
	tb.Helper()
	g := weft.NewGraph[growState]("grow")
	g.AddNode("step", func(_ context.Context, s growState) (growState, error) {
		s.Steps++
		s.Log = append(s.Log, fmt.Sprintf("entry number %d", s.Steps))
		return s, nil
	})
	g.AddEdge(weft.Start, "step")
	g.AddConditionalEdges("step", func(s growState) string {
		if s.Steps >= n {
			return weft.End
		}
		return "step"
	}, "step", weft.End)
	wf, err := g.Compile(weft.WithStore(st), weft.StepLimit(n+10))
	if err != nil {
		tb.Fatal(err)
	}
	return wf
}

// flatWorkflow is a graph whose one node writes the list growWorkflow ends
// with, its n elements at once: a thread of one superstep, whose list is
// one full value rather than an Append chain.
func flatWorkflow(tb testing.TB, st checkpoint.Store, n int) *weft.Workflow[growState] {
	tb.Helper()
	g := weft.NewGraph[growState]("flat")
	g.AddNode("all", func(_ context.Context, s growState) (growState, error) {
		for s.Steps < n {
			s.Steps++
			s.Log = append(s.Log, fmt.Sprintf("entry number %d", s.Steps))
		}
		return s, nil
	})
	g.AddEdge(weft.Start, "all")
	g.AddEdge("all", weft.End)
	wf, err := g.Compile(weft.WithStore(st))
	if err != nil {
		tb.Fatal(err)
	}
	return wf
}

// benchStore is a store the benchmarks of State run on.
type benchStore struct {
	name string
	open func(b *testing.B) checkpoint.Store
}

// benchStores are SQLite and PostgreSQL (WEFT_TEST_POSTGRES; without table
// statistics, as a fresh schema is).
var benchStores = []benchStore{
	{"sqlite", func(b *testing.B) checkpoint.Store {
		st, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "weft.db"), sqlitestore.Options{Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
	{"postgres", func(b *testing.B) checkpoint.Store {
		st, err := pgstore.New(context.Background(), pgtest.Pool(b), pgstore.Options{Schema: pgtest.Schema(b), Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		return st
	}},
}

// BenchmarkColdState is State of a thread whose list field grew by one
// element per superstep, read as another process would (nothing decoded
// in memory), on SQLite and on PostgreSQL: the read of the store and the
// decode of the Append chain. The flat cases are the same final value
// written in one superstep, read the same way: what the read costs
// without a history, so that supersteps=N less flat=N is the history's
// share.
//
//	go test -run '^$' -bench ColdState -benchmem -count 6 .
func BenchmarkColdState(b *testing.B) {
	for _, sc := range benchStores {
		for _, n := range []int{10, 2000, 5000} {
			b.Run(fmt.Sprintf("store=%s/supersteps=%d", sc.name, n), func(b *testing.B) {
				readState(b, growWorkflow(b, sc.open(b), n), n, true)
			})
		}
		for _, n := range []int{10, 5000} {
			b.Run(fmt.Sprintf("store=%s/flat=%d", sc.name, n), func(b *testing.B) {
				readState(b, flatWorkflow(b, sc.open(b), n), n, true)
			})
		}
	}
}

// BenchmarkWarmState is State of the thread of BenchmarkColdState in the
// process that ran it, its head decoded and cached: what a read costs
// when the decode of the checkpoint is saved. What is left to grow is the
// copy of the state handed to the caller, which flat=5000 (the same value
// written in one superstep) pays too.
//
//	go test -run '^$' -bench WarmState -benchmem -count 6 .
func BenchmarkWarmState(b *testing.B) {
	for _, sc := range benchStores {
		for _, n := range []int{10, 5000} {
			b.Run(fmt.Sprintf("store=%s/supersteps=%d", sc.name, n), func(b *testing.B) {
				readState(b, growWorkflow(b, sc.open(b), n), n, false)
			})
		}
		b.Run(fmt.Sprintf("store=%s/flat=5000", sc.name), func(b *testing.B) {
			readState(b, flatWorkflow(b, sc.open(b), 5000), 5000, false)
		})
	}
}

// readState runs wf on thread "t" and times its State, which must have n
// entries; cold forgets the decoded heads before each read, as another
// process would not have them.
func readState(b *testing.B, wf *weft.Workflow[growState], n int, cold bool) {
	ctx := context.Background()
	if _, err := wf.Run(ctx, "t", growState{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if cold {
			weft.ForgetHeads(wf)
		}
		s, err := wf.State(ctx, "t")
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Values.Log) != n || s.Values.Steps != n || s.Values.Log[n-1] != fmt.Sprintf("entry number %d", n) {
			b.Fatalf("%d entries (steps %d), want %d", len(s.Values.Log), s.Values.Steps, n)
		}
	}
}

// BenchmarkResumeLongThread is one human round trip on a thread whose list
// field grew by one element per superstep for n supersteps: Resume with
// the answer, which the node appends, and the pause at the next question.
// Warm, the run starts from the head this workflow keeps; cold, from the
// store alone (ForgetHeads before each Resume, as another process would).
//
//	go test -run '^$' -bench ResumeLongThread -benchmem -benchtime 200x .
func BenchmarkResumeLongThread(b *testing.B) {
	for _, sc := range benchStores {
		for _, cold := range []bool{false, true} {
			for _, n := range []int{10, 5000} {
				name := fmt.Sprintf("store=%s/cold=%t/supersteps=%d", sc.name, cold, n)
				b.Run(name, func(b *testing.B) { resumeLong(b, sc.open(b), n, cold) })
			}
		}
	}
}

func resumeLong(b *testing.B, st checkpoint.Store, n int, cold bool) {
	ctx := context.Background()
	g := weft.NewGraph[growState]("askgrow")
	g.AddNode("step", func(_ context.Context, s growState) (growState, error) {
		s.Steps++
		s.Log = append(s.Log, fmt.Sprintf("entry number %d", s.Steps))
		return s, nil
	})
	g.AddNode("ask", func(ctx context.Context, s growState) (growState, error) {
		a, err := weft.Interrupt[string](ctx, "next?", weft.Key("next"))
		if err != nil {
			return s, err
		}
		s.Steps++
		s.Log = append(s.Log, a)
		return s, nil
	})
	g.AddEdge(weft.Start, "step")
	g.AddConditionalEdges("step", func(s growState) string {
		if s.Steps >= n {
			return "ask"
		}
		return "step"
	}, "step", "ask")
	g.AddEdge("ask", "ask")
	wf, err := g.Compile(weft.WithStore(st), weft.StepLimit(n+10))
	if err != nil {
		b.Fatal(err)
	}
	res, err := wf.Run(ctx, "t", growState{})
	if err != nil || !res.Paused() {
		b.Fatal(err, res)
	}
	b.ReportAllocs()
	for b.Loop() {
		if cold {
			weft.ForgetHeads(wf)
		}
		steps := res.State.Steps
		res, err = wf.Resume(ctx, "t", weft.Answers(map[string]any{"next": "answer"}))
		if err != nil || !res.Paused() || res.State.Steps != steps+1 || len(res.State.Log) != steps+1 {
			b.Fatal(err, res.Status, res.State.Steps)
		}
	}
}
