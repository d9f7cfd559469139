package weft_test

import (
	"context"
	"fmt"

	"github.com/weftgraph/weft"
)

type Refund struct {
	Order    string
	Amount   int
	Approved bool
	Note     string
}

type RefundDecision struct {
	Approve bool   `json:"approve"`
	Note    string `json:"note,omitempty" jsonschema:"maxLength=200"`
}

func refundWorkflow() *weft.Workflow[Refund] {
	g := weft.NewGraph[Refund]("refunds")
	g.AddNode("decide", func(ctx context.Context, r Refund) (Refund, error) {
		d, err := weft.Interrupt[RefundDecision](ctx,
			map[string]any{"order": r.Order, "amount": r.Amount},
			weft.Reason("refund over 100"), weft.Assign("support-leads"))
		if err != nil {
			return r, err // the pause travels as an error
		}
		r.Approved, r.Note = d.Approve, d.Note
		return r, nil
	})
	g.AddEdge(weft.Start, "decide")
	wf, err := g.Compile()
	if err != nil {
		panic(err)
	}
	return wf
}

// A run pauses at a question; Resume answers it and the node carries on.
func Example() {
	ctx := context.Background()
	wf := refundWorkflow()

	res, err := wf.Run(ctx, "order-7", Refund{Order: "7", Amount: 250})
	if err != nil {
		panic(err)
	}
	q := res.Interrupts[0]
	fmt.Println(res.Status, q.Node, q.Reason, string(q.Value), q.Assignees)

	res, err = wf.Resume(ctx, "order-7", weft.Answer(q.ID, RefundDecision{Approve: true, Note: "loyal customer"}))
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Status, res.State.Approved, res.State.Note)
	// Output:
	// interrupted decide refund over 100 {"amount":250,"order":"7"} [support-leads]
	// completed true loyal customer
}

// State shows a paused thread: its values, what runs next and the
// questions it waits for.
func ExampleWorkflow_State() {
	ctx := context.Background()
	wf := refundWorkflow()
	if _, err := wf.Run(ctx, "order-8", Refund{Order: "8", Amount: 120}); err != nil {
		panic(err)
	}
	snap, err := wf.State(ctx, "order-8")
	if err != nil {
		panic(err)
	}
	fmt.Println(snap.Status, snap.Next, snap.Values.Amount, len(snap.Interrupts))
	fmt.Println(string(snap.Interrupts[0].Schema))
	// Output:
	// interrupted [decide] 120 1
	// {"additionalProperties":false,"properties":{"approve":{"type":"boolean"},"note":{"maxLength":200,"type":"string"}},"required":["approve"],"type":"object"}
}

// An answer that does not fit the question's schema is refused, and the
// thread stays paused as it was.
func ExampleWorkflow_Resume_invalidAnswer() {
	ctx := context.Background()
	wf := refundWorkflow()
	res, _ := wf.Run(ctx, "order-9", Refund{Order: "9", Amount: 300})
	_, err := wf.Resume(ctx, "order-9", weft.Answer(res.Interrupts[0].ID, map[string]any{"approve": "yes"}))
	fmt.Println(err != nil)
	snap, _ := wf.State(ctx, "order-9")
	fmt.Println(snap.Status, len(snap.Interrupts))
	// Output:
	// true
	// interrupted 1
}

// InterruptBefore pauses before a node; Resume with no answer goes on.
func ExampleInterruptBefore() {
	ctx := context.Background()
	g := weft.NewGraph[Refund]("pay")
	g.AddNode("check", func(ctx context.Context, r Refund) (Refund, error) { r.Note = "checked"; return r, nil })
	g.AddNode("pay", func(ctx context.Context, r Refund) (Refund, error) { r.Approved = true; return r, nil })
	g.AddEdge(weft.Start, "check").AddEdge("check", "pay")
	wf, _ := g.Compile(weft.InterruptBefore("pay"))

	res, _ := wf.Run(ctx, "r", Refund{})
	fmt.Println(res.Status, res.Interrupts[0].Kind, res.Interrupts[0].Node, res.State.Approved)
	res, _ = wf.Resume(ctx, "r")
	fmt.Println(res.Status, res.State.Approved)
	// Output:
	// interrupted before pay false
	// completed true
}
