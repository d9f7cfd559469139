// Command escalation classifies support tickets and escalates to a human
// only when its confidence is low (seed 002's set_interrupt): the node
// decides at run time whether to ask, and says why with weft.Reason; the
// question carries the data the human needs.
//
//	go run ./examples/escalation
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

// Ticket is the workflow's state.
type Ticket struct {
	Text       string
	Category   string
	Confidence float64
	ReviewedBy string
}

// Label is the human's answer.
type Label struct {
	Category string `json:"category" jsonschema:"enum=billing,enum=bug,enum=other"`
}

// classify is a deterministic stand-in for a model.
func classify(text string) (string, float64) {
	switch {
	case strings.Contains(text, "invoice"):
		return "billing", 0.97
	case strings.Contains(text, "crash"):
		return "bug", 0.91
	default:
		return "other", 0.35
	}
}

func build() (*weft.Workflow[Ticket], error) {
	g := weft.NewGraph[Ticket]("triage")
	g.AddNode("classify", func(ctx context.Context, t Ticket) (Ticket, error) {
		t.Category, t.Confidence = classify(t.Text)
		if t.Confidence >= 0.8 {
			return t, nil
		}
		label, err := weft.Interrupt[Label](ctx,
			map[string]any{"text": t.Text, "guess": t.Category, "confidence": t.Confidence},
			weft.Reason(fmt.Sprintf("low confidence (%.2f)", t.Confidence)), weft.Assign("support-leads"))
		if err != nil {
			return t, err
		}
		t.Category, t.ReviewedBy = label.Category, "human"
		return t, nil
	})
	g.AddEdge(weft.Start, "classify")
	return g.Compile()
}

func run(ctx context.Context, w io.Writer) error {
	wf, err := build()
	if err != nil {
		return err
	}
	for i, text := range []string{"my invoice is wrong", "the app crashes on start", "do you ship to Mars?"} {
		thread := fmt.Sprintf("ticket-%d", i+1)
		res, err := wf.Run(ctx, thread, Ticket{Text: text})
		if err != nil {
			return err
		}
		if res.Paused() {
			q := res.Interrupts[0]
			fmt.Fprintf(w, "%s escalated to %v: %s %s\n", thread, q.Assignees, q.Reason, q.Value)
			if res, err = wf.Resume(ctx, thread, weft.Answer(q.ID, Label{Category: "other"}), weft.By("lee", "ui")); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "%s: %s (%.2f) %s\n", thread, res.State.Category, res.State.Confidence, res.State.ReviewedBy)
	}
	return nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}
