package weft_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// A Runner edits a paused thread's state from JSON, with who made the
// edit, and forks it from its first checkpoint, through StateEditor.
func ExampleStateEditor() {
	ctx := context.Background()
	g := weft.NewGraph[Refund]("refunds")
	g.AddNode("pay", func(_ context.Context, r Refund) (Refund, error) { r.Approved = true; return r, nil })
	g.AddEdge(weft.Start, "pay")
	wf, err := g.Compile(weft.InterruptBefore("pay"))
	if err != nil {
		panic(err)
	}
	if _, err := wf.Run(ctx, "order-8", Refund{Order: "8", Amount: 900}); err != nil {
		panic(err)
	}

	var rn weft.Runner = wf.Runner()
	ed, ok := rn.(weft.StateEditor)
	if !ok {
		panic("this Runner cannot edit states")
	}
	snap, err := ed.UpdateStateJSON(ctx, "order-8", json.RawMessage(`{"Amount": 90}`),
		weft.By("ana", checkpoint.ChannelUI), weft.Note("the customer asked for 90"))
	if err != nil {
		panic(err)
	}
	fmt.Println(snap.Values.(Refund).Amount, snap.Author, snap.Note)

	_, err = ed.UpdateStateJSON(ctx, "order-8", json.RawMessage(`{"Amount": "lots"}`))
	fmt.Println(err != nil, errors.Is(err, weft.ErrInvalidInput))

	snap, err = ed.ForkJSON(ctx, "order-8", snap.Parent, nil, weft.By("bo", checkpoint.ChannelAPI))
	if err != nil {
		panic(err)
	}
	fmt.Println(snap.Source, snap.Values.(Refund).Amount, snap.Author)
	// Output:
	// 90 ana the customer asked for 90
	// true true
	// fork 900 bo
}
