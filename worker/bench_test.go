package worker_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/pgstore"
	"github.com/weftgraph/weft/checkpoint/sqlitestore"
	"github.com/weftgraph/weft/internal/pgtest"
	"github.com/weftgraph/weft/worker"
)

type benchJob struct {
	N  int
	ID string
}

// BenchmarkThroughput measures supersteps per second: b.N threads of three
// nodes each (so 3·b.N supersteps) are submitted, then run by 1, 2 or 4
// workers, each on its own store handle as separate processes would be
// (its own SQLite connection pool, its own PostgreSQL pool), with nodes
// that do nothing or wait 20 ms (a model call). The time per op is per
// thread.
func BenchmarkThroughput(b *testing.B) {
	for _, st := range []string{"sqlite", "postgres"} {
		for _, wait := range []time.Duration{0, 20 * time.Millisecond} {
			for _, workers := range []int{1, 2, 4} {
				b.Run(fmt.Sprintf("store=%s/node=%v/workers=%d", st, wait, workers), func(b *testing.B) {
					throughput(b, st, wait, workers)
				})
			}
		}
	}
}

// opener returns a function that opens a new handle on one store of kind
// ("sqlite": a file; "postgres": a schema), as another process would.
func opener(b *testing.B, kind string) func() checkpoint.Store {
	ctx := context.Background()
	if kind == "sqlite" {
		path := filepath.Join(b.TempDir(), "bench.db")
		return func() checkpoint.Store {
			s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Migrate: true})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}
	}
	url, schema := pgtest.URL(b), pgtest.Schema(b)
	return func() checkpoint.Store {
		s, err := pgstore.New(ctx, pgtest.NewPool(b, url), pgstore.Options{Schema: schema, Migrate: true})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
}

func throughput(b *testing.B, kind string, wait time.Duration, workers int) {
	ctx := context.Background()
	open := opener(b, kind)
	build := func(store checkpoint.Store) *weft.Workflow[benchJob] {
		g := weft.NewGraph[benchJob]("bench")
		step := func(ctx context.Context, j benchJob) (benchJob, error) {
			if wait > 0 {
				time.Sleep(wait)
			}
			j.N++
			return j, nil
		}
		g.AddNode("a", step).AddNode("b", step).AddNode("c", step)
		g.AddEdge(weft.Start, "a").AddEdge("a", "b").AddEdge("b", "c")
		wf, err := g.Compile(weft.WithStore(store))
		if err != nil {
			b.Fatal(err)
		}
		return wf
	}
	submitter := build(open())
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("t%d", i)
		if _, err := submitter.Submit(ctx, ids[i], benchJob{}); err != nil {
			b.Fatal(err)
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, workers)
	b.ResetTimer()
	for range workers {
		store := open()
		w, err := worker.New(store, []weft.Runner{build(store).Runner()}, worker.Config{Poll: 5 * time.Millisecond, Slots: 16, Deadlines: -1})
		if err != nil {
			b.Fatal(err)
		}
		go func() { done <- w.Run(wctx) }()
	}
	// Wait for the last thread; they complete in about submission order.
	for i := len(ids) - 1; i >= 0; {
		row, err := submitter.Runner().Store().Thread(ctx, ids[i])
		if err != nil {
			b.Fatal(err)
		}
		if row.Status == checkpoint.StatusCompleted {
			i--
			continue
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(3*b.N)/b.Elapsed().Seconds(), "supersteps/s")
	cancel()
	for range workers {
		<-done
	}
}

// BenchmarkAnswerToNextNode measures how soon an answer recorded by one
// process (its own store handle, as the CLI or another server would be)
// starts the next node in a worker of another: the median and p99 over
// b.N paused threads. On PostgreSQL the worker hears of the answer by
// LISTEN/NOTIFY (notify) or only by polling every 100 ms (poll); SQLite
// is polled.
func BenchmarkAnswerToNextNode(b *testing.B) {
	for _, bc := range []struct {
		name, store string
		noListen    bool
	}{{"postgres/notify", "postgres", false}, {"postgres/poll", "postgres", true}, {"sqlite/poll", "sqlite", true}} {
		b.Run(bc.name, func(b *testing.B) { answerToNode(b, bc.store, bc.noListen) })
	}
}

func answerToNode(b *testing.B, kind string, noListen bool) {
	ctx := context.Background()
	open := opener(b, kind)
	started := make(chan string, 1024)
	build := func(store checkpoint.Store) *weft.Workflow[benchJob] {
		g := weft.NewGraph[benchJob]("answer")
		g.AddNode("ask", func(ctx context.Context, j benchJob) (benchJob, error) {
			_, err := weft.Interrupt[bool](ctx, "go?")
			return j, err
		})
		g.AddNode("next", func(ctx context.Context, j benchJob) (benchJob, error) {
			started <- j.ID
			return j, nil
		})
		g.AddEdge(weft.Start, "ask").AddEdge("ask", "next")
		wf, err := g.Compile(weft.WithStore(store))
		if err != nil {
			b.Fatal(err)
		}
		return wf
	}
	// The worker's process.
	ws := open()
	w, err := worker.New(ws, []weft.Runner{build(ws).Runner()}, worker.Config{Poll: 100 * time.Millisecond, NoListen: noListen, Deadlines: -1})
	if err != nil {
		b.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { cancel(); <-done }()
	// The answering process pauses b.N threads first.
	as := open()
	answerer := build(as)
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("a%d", i)
		if _, err := answerer.Run(ctx, ids[i], benchJob{ID: ids[i]}); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // the worker is listening
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for _, id := range ids {
		snap, err := answerer.State(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		_, err = as.Answer(ctx, &checkpoint.AnswerRequest{ThreadID: id, Answers: []checkpoint.Answer{{ThreadID: id, InterruptID: snap.Interrupts[0].ID, Value: []byte("true"), At: time.Now()}}})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		for got := <-started; got != id; got = <-started {
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "ms-p99")
}
