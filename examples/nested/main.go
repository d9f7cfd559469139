// Command nested runs a subgraph with an approval inside it (seed 000's
// nested example): an outer workflow calls an inner one as a node, the
// inner one pauses, the question surfaces in the outer thread with its path
// ("inner/approval"), and the answer resumes the inner graph where it
// stopped.
//
//	go run ./examples/nested
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/weftgraph/weft"
)

// Order is the outer workflow's state.
type Order struct {
	Item   string
	Amount int
	Status string
}

// Refund is the inner workflow's state: it knows nothing of orders.
type Refund struct {
	Amount   int
	Approved bool
	Note     string
}

func build() (*weft.Workflow[Order], error) {
	ig := weft.NewGraph[Refund]("refund")
	ig.AddNode("check", func(ctx context.Context, r Refund) (Refund, error) {
		r.Note = fmt.Sprintf("refund of %d checked", r.Amount)
		return r, nil
	})
	ig.AddNode("approval", func(ctx context.Context, r Refund) (Refund, error) {
		ok, err := weft.Interrupt[bool](ctx, map[string]any{"amount": r.Amount, "note": r.Note}, weft.Reason("approve this refund?"))
		if err != nil {
			return r, err
		}
		r.Approved = ok
		return r, nil
	})
	ig.AddEdge(weft.Start, "check").AddEdge("check", "approval")
	inner, err := ig.Compile()
	if err != nil {
		return nil, err
	}

	og := weft.NewGraph[Order]("orders")
	og.AddNode("receive", func(ctx context.Context, o Order) (Order, error) {
		o.Status = "received"
		return o, nil
	})
	og.AddSubgraph("inner", weft.Subgraph(inner,
		func(o Order) Refund { return Refund{Amount: o.Amount} },
		func(o Order, r Refund) Order {
			o.Status = "refund rejected"
			if r.Approved {
				o.Status = "refunded"
			}
			return o
		}))
	og.AddEdge(weft.Start, "receive").AddEdge("receive", "inner")
	return og.Compile()
}

func run(ctx context.Context, w io.Writer) error {
	wf, err := build()
	if err != nil {
		return err
	}
	res, err := wf.Run(ctx, "order-7", Order{Item: "kettle", Amount: 40})
	if err != nil {
		return err
	}
	q := res.Interrupts[0]
	fmt.Fprintf(w, "paused at %s: %s %s\n", q.Node, q.Reason, q.Value)

	snap, err := wf.State(ctx, "order-7")
	if err != nil {
		return err
	}
	for _, sub := range snap.Subgraphs {
		fmt.Fprintf(w, "inside %s: %+v, next %v\n", sub.Path, sub.Values, sub.Next)
	}

	res, err = wf.Resume(ctx, "order-7", weft.Answer(q.ID, true))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %s\n", res.Status, res.State.Status)
	return nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}
