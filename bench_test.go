package weft_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/memstore"
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

type pauseState struct {
	Topic, Draft, Decision string
	Published              bool
}

// BenchmarkPauseResume runs write → review (asks a human) → publish on
// memstore: a new thread per iteration, paused once and resumed with the
// answer, a checkpoint written at every superstep.
func BenchmarkPauseResume(b *testing.B) {
	g := weft.NewGraph[pauseState]("pause-resume")
	g.AddNode("write", func(ctx context.Context, s pauseState) (pauseState, error) {
		s.Draft = "a draft about " + s.Topic
		return s, nil
	})
	g.AddNode("review", func(ctx context.Context, s pauseState) (pauseState, error) {
		d, err := weft.Interrupt[string](ctx, s.Draft)
		if err != nil {
			return s, err
		}
		s.Decision = d
		return s, nil
	})
	g.AddNode("publish", func(ctx context.Context, s pauseState) (pauseState, error) {
		s.Published = true
		return s, nil
	})
	g.AddEdge(weft.Start, "write")
	g.AddEdge("write", "review")
	g.AddEdge("review", "publish")
	wf, err := g.Compile(weft.WithStore(memstore.New()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		thread := "t" + strconv.Itoa(i)
		res, err := wf.Run(ctx, thread, pauseState{Topic: "go"})
		if err != nil || !res.Paused() {
			b.Fatal(err, res)
		}
		res, err = wf.Resume(ctx, thread, weft.Answer(res.Interrupts[0].ID, "approve"))
		if err != nil || !res.State.Published {
			b.Fatal(err, res)
		}
	}
}
