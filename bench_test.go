package weft_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/weftgraph/weft"
)

type benchState struct{ N int }

// BenchmarkLinear10 runs ten nodes in a line, each incrementing one field,
// without a store.
func BenchmarkLinear10(b *testing.B) {
	g := weft.NewGraph[benchState]("linear10")
	prev := weft.Start
	for i := range 10 {
		name := "n" + strconv.Itoa(i)
		g.AddNode(name, func(ctx context.Context, s benchState) (benchState, error) { s.N++; return s, nil })
		g.AddEdge(prev, name)
		prev = name
	}
	wf, err := g.Compile()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := wf.Run(ctx, "", benchState{})
		if err != nil || res.State.N != 10 {
			b.Fatal(err, res)
		}
	}
}
