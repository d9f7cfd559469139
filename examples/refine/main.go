// Command refine is an iterative-refinement loop: a writer drafts, a human
// reviews with approve, edit or reject and feedback, and the loop goes on
// until the draft is approved.
//
//	go run ./examples/refine
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/weftgraph/weft"
)

// Review is the workflow's state.
type Review struct {
	Topic    string
	Draft    string
	Feedback []string
	Status   string
	Version  int
}

// Decision is the reviewer's answer.
type Decision struct {
	Action string `json:"action" jsonschema:"enum=approve,enum=edit,enum=reject"`
	Text   string `json:"text,omitempty"`
}

func build(opts ...weft.CompileOption) (*weft.Workflow[Review], error) {
	g := weft.NewGraph[Review]("refine")
	g.AddNode("write", func(ctx context.Context, r Review) (Review, error) {
		r.Version++
		r.Draft = fmt.Sprintf("v%d: %s", r.Version, r.Topic)
		if len(r.Feedback) > 0 {
			r.Draft += " (" + strings.Join(r.Feedback, "; ") + ")"
		}
		return r, nil
	})
	g.AddNode("review", func(ctx context.Context, r Review) (Review, error) {
		d, err := weft.Interrupt[Decision](ctx, map[string]any{"draft": r.Draft, "version": r.Version},
			weft.Assign("editors"))
		if err != nil {
			return r, err
		}
		switch d.Action {
		case "approve":
			r.Status = "approved"
		case "edit":
			r.Feedback = append(r.Feedback, d.Text)
			r.Status = "needs edits"
		case "reject":
			r.Feedback = nil
			r.Status = "rejected"
		}
		return r, nil
	})
	g.AddEdge(weft.Start, "write")
	g.AddEdge("write", "review")
	g.AddConditionalEdges("review", func(r Review) string {
		if r.Status == "approved" {
			return weft.End
		}
		return "write"
	}, "write", weft.End)
	return g.Compile(opts...)
}

func run(ctx context.Context, w io.Writer) error {
	wf, err := build()
	if err != nil {
		return err
	}
	res, err := wf.Run(ctx, "essay", Review{Topic: "durable workflows in Go"})
	if err != nil {
		return err
	}
	// The reviewer's answers, one per round.
	for _, d := range []Decision{
		{Action: "edit", Text: "add an example"},
		{Action: "reject"},
		{Action: "edit", Text: "shorter"},
		{Action: "approve"},
	} {
		q := res.Interrupts[0]
		fmt.Fprintf(w, "review %s -> %s %s\n", q.Value, d.Action, d.Text)
		if res, err = wf.Resume(ctx, "essay", weft.Answer(q.ID, d)); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "%s after %d drafts: %s\n", res.Status, res.State.Version, res.State.Draft)
	return nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}
