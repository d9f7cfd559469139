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
	wf := linear10(b)
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
	jan := &janitor[pauseState]{wf: wf}
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
		jan.done(b, thread)
	}
}

type level struct {
	Depth int
	Text  string
	OK    bool
}

// BenchmarkSubgraph3Interrupt runs a question three subgraphs deep on
// memstore: a new thread per iteration pauses inside the innermost graph
// and is resumed with the answer.
func BenchmarkSubgraph3Interrupt(b *testing.B) {
	g := weft.NewGraph[level]("l3")
	g.AddNode("ask", func(ctx context.Context, s level) (level, error) {
		ok, err := weft.Interrupt[bool](ctx, s.Text)
		if err != nil {
			return s, err
		}
		s.OK = ok
		return s, nil
	})
	g.AddEdge(weft.Start, "ask")
	wf, err := g.Compile()
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{"l2", "l1", "l0"} {
		g := weft.NewGraph[level](name)
		g.AddSubgraph("sub", weft.Subgraph(wf,
			func(s level) level { return level{Depth: s.Depth + 1, Text: s.Text} },
			func(s level, c level) level { s.OK = c.OK; return s }))
		g.AddEdge(weft.Start, "sub")
		opts := []weft.CompileOption{}
		if name == "l0" {
			opts = append(opts, weft.WithStore(memstore.New()))
		}
		if wf, err = g.Compile(opts...); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	jan := &janitor[level]{wf: wf}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		thread := "t" + strconv.Itoa(i)
		res, err := wf.Run(ctx, thread, level{Text: "deep"})
		if err != nil || !res.Paused() || res.Interrupts[0].Node != "sub/sub/sub/ask" {
			b.Fatal(err, res)
		}
		res, err = wf.Resume(ctx, thread, weft.Answer(res.Interrupts[0].ID, true))
		if err != nil || !res.State.OK {
			b.Fatal(err, res)
		}
		jan.done(b, thread)
	}
}

type fan struct {
	Items   []int
	Results []int
}

// BenchmarkMap100With10Interrupts fans out over 100 items on memstore;
// every tenth branch asks a question. Each iteration runs a new thread,
// answers the ten questions in one Resume, and finishes.
func BenchmarkMap100With10Interrupts(b *testing.B) {
	g := weft.NewGraph[fan]("map100")
	g.AddMap("each", weft.Map(func(s fan) []int { return s.Items },
		func(ctx context.Context, s fan, item int) (fan, error) {
			if item%10 == 0 {
				ok, err := weft.Interrupt[bool](ctx, item)
				if err != nil {
					return s, err
				}
				if !ok {
					return s, nil
				}
			}
			s.Results = append(s.Results, item*2)
			return s, nil
		}))
	g.AddEdge(weft.Start, "each")
	g.Reduce("Results", weft.Append())
	wf, err := g.Compile(weft.WithStore(memstore.New()))
	if err != nil {
		b.Fatal(err)
	}
	items := make([]int, 100)
	for i := range items {
		items[i] = i
	}
	ctx := context.Background()
	jan := &janitor[fan]{wf: wf}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		thread := "t" + strconv.Itoa(i)
		res, err := wf.Run(ctx, thread, fan{Items: items})
		if err != nil || len(res.Interrupts) != 10 {
			b.Fatal(err, res)
		}
		answers := make([]weft.RunOption, len(res.Interrupts))
		for j, q := range res.Interrupts {
			answers[j] = weft.Answer(q.ID, true)
		}
		res, err = wf.Resume(ctx, thread, answers...)
		if err != nil || len(res.State.Results) != 100 {
			b.Fatal(err, res)
		}
		jan.done(b, thread)
	}
}

func linear10(b *testing.B) *weft.Workflow[benchState] {
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
	return wf
}

// BenchmarkStreamLinear10 is BenchmarkLinear10 through Stream, consuming
// every event: the cost of streaming (target: at most 1.5× Run).
func BenchmarkStreamLinear10(b *testing.B) {
	wf := linear10(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for e, err := range wf.Stream(ctx, "", benchState{}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
			_ = e
		}
		if n != 32 {
			b.Fatalf("%d events", n)
		}
	}
}

// janitor deletes finished benchmark threads, untimed and in batches, so
// the store does not grow with b.N (and the garbage collector's work with
// it) while stopping the timer only once per batch.
type janitor[S any] struct {
	wf      *weft.Workflow[S]
	threads []string
}

func (j *janitor[S]) done(b *testing.B, thread string) {
	j.threads = append(j.threads, thread)
	if len(j.threads) < 512 {
		return
	}
	b.StopTimer()
	for _, t := range j.threads {
		if err := j.wf.Delete(context.Background(), t); err != nil {
			b.Fatal(err)
		}
	}
	j.threads = j.threads[:0]
	b.StartTimer()
}
