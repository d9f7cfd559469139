package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/worker"
)

// A worker runs whatever is ready in the store: here a run submitted
// without waiting, and the same thread again once its question was
// answered by someone who does not have the workflow. With pgstore, start
// the same program on as many machines as you like.
func Example() {
	type Refund struct {
		Amount   int
		Approved bool
	}
	g := weft.NewGraph[Refund]("refund")
	g.AddNode("approve", func(ctx context.Context, s Refund) (Refund, error) {
		ok, err := weft.Interrupt[bool](ctx, map[string]int{"amount": s.Amount})
		s.Approved = ok
		return s, err
	})
	g.AddEdge(weft.Start, "approve")
	store := memstore.New()
	wf, err := g.Compile(weft.WithStore(store))
	if err != nil {
		panic(err)
	}

	w, err := worker.New(store, []weft.Runner{wf.Runner()}, worker.Config{Poll: 10 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()

	// Anywhere: submit a run and return at once.
	if _, err := wf.Submit(ctx, "refund-7", Refund{Amount: 30}); err != nil {
		panic(err)
	}
	waitFor := func(status weft.Status) {
		for {
			if row, err := store.Thread(ctx, "refund-7"); err == nil && row.Status == status {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(weft.StatusInterrupted)

	// Anywhere else, with the store alone: answer.
	page, _ := store.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: "refund-7", Status: checkpoint.InterruptPending})
	ib := inbox.New(store, nil)
	if err := ib.Record(ctx, "refund-7", page.Interrupts[0].ID, json.RawMessage(`true`), inbox.Author{Name: "ann"}); err != nil {
		panic(err)
	}
	waitFor(weft.StatusCompleted)
	snap, _ := wf.State(ctx, "refund-7")
	fmt.Printf("%s: %+v\n", snap.Status, snap.Values)

	cancel()
	<-done
	// Output: completed: {Amount:30 Approved:true}
}
