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

// BenchmarkColdState is State of a thread whose list field grew by one
// element per superstep, read as another process would (nothing decoded
// in memory), on SQLite and on PostgreSQL (WEFT_TEST_POSTGRES; without
// table statistics, as a fresh schema is): the read of the store and the
// decode of the Append chain.
//
//	go test -run '^$' -bench ColdState -benchmem -count 6 .
func BenchmarkColdState(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) checkpoint.Store
	}{
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
	for _, sc := range stores {
		for _, n := range []int{10, 2000, 5000} {
			b.Run(fmt.Sprintf("store=%s/supersteps=%d", sc.name, n), func(b *testing.B) {
				coldState(b, sc.open(b), n)
			})
		}
	}
}

func coldState(b *testing.B, st checkpoint.Store, n int) {
	ctx := context.Background()
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
}
