package weft_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
)

type growState struct {
	Log   []string
	Steps int
}

// growWorkflow is a graph whose one node appends an element to a list and
// loops until the list has n elements: a thread of n appended supersteps.
func growWorkflow(tb testing.TB, st *sqlitestore.Store, n int) *weft.Workflow[growState] {
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

// BenchmarkColdState is State of a thread whose list field grew by one
// element per superstep, read as another process would (nothing decoded
// in memory), on SQLite: the read of the store and the decode of the
// Append chain.
//
//	go test -run '^$' -bench ColdState -benchmem -count 6 .
func BenchmarkColdState(b *testing.B) {
	for _, n := range []int{10, 2000, 5000} {
		b.Run(fmt.Sprintf("supersteps=%d", n), func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "weft.db"), sqlitestore.Options{Migrate: true})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			wf := growWorkflow(b, st, n)
			if _, err := wf.Run(ctx, "t", growState{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				weft.ForgetHeads(wf)
				s, err := wf.State(ctx, "t")
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Values.Log) != n {
					b.Fatalf("%d entries, want %d", len(s.Values.Log), n)
				}
			}
		})
	}
}
