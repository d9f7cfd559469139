package weftest_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/worker"
)

// TestDeadlineInSynctestBubble: a day-long deadline, tested in a moment.
// Inside a testing/synctest bubble time is fake for everything, weft's
// worker included: time.Sleep(25 * time.Hour) returns once every
// goroutine of the bubble is blocked and the clock has jumped, so the
// worker's maintenance fires the fallback as it would a day later.
func TestDeadlineInSynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		store := memstore.New()
		g := weft.NewGraph[Refund]("refund")
		g.AddNode("approve", func(ctx context.Context, r Refund) (Refund, error) {
			ok, err := weft.Interrupt[bool](ctx, "refund?", weft.Key("ok"), weft.Within(24*time.Hour, false))
			r.Paid = ok
			return r, err
		})
		g.AddEdge(weft.Start, "approve")
		wf, err := g.Compile(weft.WithStore(store))
		if err != nil {
			t.Fatal(err)
		}
		res, err := wf.Run(ctx, "r1", Refund{Amount: 120})
		if err != nil || !res.Paused() {
			t.Fatalf("run: %v %+v", err, res)
		}
		w, err := worker.New(store, []weft.Runner{wf.Runner()}, worker.Config{})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()

		time.Sleep(23 * time.Hour) // not due yet
		synctest.Wait()
		if s, _ := wf.State(ctx, "r1"); s.Status != weft.StatusInterrupted {
			t.Fatalf("after 23 h: %s, want still waiting", s.Status)
		}
		time.Sleep(2 * time.Hour) // past the deadline: the worker fires it
		synctest.Wait()
		s, err := wf.State(ctx, "r1")
		if err != nil || s.Status != weft.StatusCompleted || s.Values.Paid {
			t.Fatalf("after 25 h: %v %s %+v, want completed with the fallback (not paid)", err, s.Status, s.Values)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
