// Command fromtemporal is an expense approval as a Temporal user would
// write it, with weft (see docs/from-temporal.md):
//
//   - the workflow is a graph; its state is durable after every step, like
//     Temporal's event history, but kept as checkpoints you can read,
//     edit and fork;
//   - an activity is weft.Do: it runs once, its result is journaled, and a
//     node that runs again (after a crash, a retry or an answer) gets the
//     journaled result instead of running it again;
//   - a retry policy is weft.Retry on the node;
//   - a signal that the workflow waits for is a question
//     (weft.Interrupt): typed, validated, audited, with a timer
//     (weft.Within) that answers it if nobody does;
//   - a worker is worker.Worker: it runs the ready threads of the
//     workflows it has, from the store, in one process or many.
//
// Run it with
//
//	go run ./examples/fromtemporal
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sync/atomic"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/checkpoint/memstore"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/worker"
)

// Expense is the workflow's state.
type Expense struct {
	Amount      int
	Reservation string
	Approved    bool
	Paid        string
}

var errFlaky = errors.New("bank timeout")

func graph(bank *atomic.Int32) *weft.Graph[Expense] {
	g := weft.NewGraph[Expense]("expense")
	g.AddNode("reserve", func(ctx context.Context, e Expense) (Expense, error) {
		// An activity: runs once, journaled.
		r, err := weft.Do(ctx, "reserve", func(ctx context.Context) (string, error) {
			return fmt.Sprintf("hold-%d", e.Amount), nil
		})
		e.Reservation = r
		return e, err
	})
	g.AddNode("approve", func(ctx context.Context, e Expense) (Expense, error) {
		// A signal the workflow waits for, with a timer: if nobody
		// answers within two days, the answer is "no".
		ok, err := weft.Interrupt[bool](ctx, map[string]any{"amount": e.Amount, "hold": e.Reservation},
			weft.Key("approved"), weft.Assign("finance"), weft.Within(48*time.Hour, false))
		e.Approved = ok
		return e, err
	})
	g.AddNode("pay", func(ctx context.Context, e Expense) (Expense, error) {
		if !e.Approved {
			return e, nil
		}
		// A flaky activity with a retry policy: the first call fails.
		id, err := weft.Do(ctx, "pay", func(ctx context.Context) (string, error) {
			if bank.Add(1) == 1 {
				return "", errFlaky
			}
			return "paid-" + weft.EffectID(ctx)[:6], nil
		})
		e.Paid = id
		return e, err
	}, weft.Retry(weft.RetryPolicy{Attempts: 3, Initial: time.Millisecond}))
	g.AddEdge(weft.Start, "reserve").AddEdge("reserve", "approve").AddEdge("approve", "pay")
	return g
}

func run(ctx context.Context, out io.Writer) error {
	store := memstore.New() // sqlitestore or pgstore in production
	var bank atomic.Int32
	wf, err := graph(&bank).Compile(weft.WithStore(store))
	if err != nil {
		return err
	}
	// The worker: runs ready threads until ctx ends.
	w, err := worker.New(store, []weft.Runner{wf.Runner()}, worker.Config{Poll: 10 * time.Millisecond})
	if err != nil {
		return err
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { stop(); <-done }()

	// client.ExecuteWorkflow → Submit: the thread is ready, a worker runs it.
	if _, err := wf.Submit(ctx, "exp-1", Expense{Amount: 120}); err != nil {
		return err
	}
	q, err := waitQuestion(ctx, store, "exp-1")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "waiting for %s (assigned to %v)\n", q.Key, q.Assignees)
	// client.SignalWorkflow → an answer through the store, from any
	// process: validated, recorded with who gave it, and the thread is
	// ready for the worker.
	ib := inbox.New(store, nil)
	if err := ib.Record(ctx, "exp-1", q.ID, json.RawMessage(`true`), inbox.Author{Name: "fin-lead", Channel: checkpoint.ChannelAPI}); err != nil {
		return err
	}
	snap, err := waitStatus(ctx, wf, "exp-1", weft.StatusCompleted)
	if err != nil {
		return err
	}
	steps, err := wf.Steps(ctx, "exp-1")
	if err != nil {
		return err
	}
	retried := 0
	for _, st := range steps {
		if st.Status == checkpoint.StepRetried {
			retried++
		}
	}
	fmt.Fprintf(out, "completed: reserved %s, approved %v, paid %v after %d retry; bank called %d times\n",
		snap.Values.Reservation, snap.Values.Approved, snap.Values.Paid != "", retried, bank.Load())
	return nil
}

// waitQuestion polls until the thread asks (a real client would use the
// inbox, the API's event stream or a webhook).
func waitQuestion(ctx context.Context, store checkpoint.Store, thread string) (checkpoint.InterruptRecord, error) {
	for {
		page, err := store.Interrupts(ctx, &checkpoint.InterruptQuery{ThreadID: thread, Status: checkpoint.InterruptPending})
		if err != nil || len(page.Interrupts) > 0 {
			if err != nil {
				return checkpoint.InterruptRecord{}, err
			}
			return page.Interrupts[0], nil
		}
		select {
		case <-ctx.Done():
			return checkpoint.InterruptRecord{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func waitStatus(ctx context.Context, wf *weft.Workflow[Expense], thread string, want weft.Status) (*weft.Snapshot[Expense], error) {
	for {
		snap, err := wf.State(ctx, thread)
		if err != nil {
			return nil, err
		}
		if snap.Status == want {
			return snap, nil
		}
		if snap.Status == weft.StatusFailed {
			return nil, fmt.Errorf("thread failed: %s", snap.Error)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		log.Fatal(err)
	}
}
