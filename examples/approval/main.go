// Command approval is the smallest human-in-the-loop workflow: a draft is
// written, a human approves or rejects it, and the decision is published.
//
// The run pauses at the review node; the program prints the question, then
// answers it as the reviewer would and resumes the thread.
//
//	go run ./examples/approval
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/weftgraph/weft"
)

// Post is the workflow's state.
type Post struct {
	Prompt    string
	Draft     string
	Decision  string
	Published string
}

// Verdict is the reviewer's answer; its JSON schema is shown with the
// question and answers are checked against it.
type Verdict struct {
	Approve bool   `json:"approve"`
	Comment string `json:"comment,omitempty"`
}

func build(opts ...weft.CompileOption) (*weft.Workflow[Post], error) {
	g := weft.NewGraph[Post]("approval")
	g.AddNode("generate_draft", func(ctx context.Context, p Post) (Post, error) {
		p.Draft = "Blog post about: " + p.Prompt
		return p, nil
	})
	g.AddNode("approval", func(ctx context.Context, p Post) (Post, error) {
		v, err := weft.Interrupt[Verdict](ctx, map[string]string{"draft": p.Draft}, weft.Reason("publish this draft?"))
		if err != nil {
			return p, err
		}
		p.Decision = "rejected"
		if v.Approve {
			p.Decision = "approved: " + v.Comment
		}
		return p, nil
	})
	g.AddNode("finalize", func(ctx context.Context, p Post) (Post, error) {
		p.Published = fmt.Sprintf("Published (%s): %s", p.Decision, p.Draft)
		return p, nil
	})
	g.AddEdge(weft.Start, "generate_draft")
	g.AddEdge("generate_draft", "approval")
	g.AddEdge("approval", "finalize")
	g.AddEdge("finalize", weft.End)
	return g.Compile(opts...)
}

func run(ctx context.Context, w io.Writer) error {
	wf, err := build()
	if err != nil {
		return err
	}
	res, err := wf.Run(ctx, "post-1", Post{Prompt: "Go generics"})
	if err != nil {
		return err
	}
	q := res.Interrupts[0]
	fmt.Fprintf(w, "paused at %s: %s %s\n", q.Node, q.Reason, q.Value)

	res, err = wf.Resume(ctx, "post-1", weft.Answer(q.ID, Verdict{Approve: true, Comment: "looks great"}), weft.By("ann", "cli"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %s\n", res.Status, res.State.Published)
	return nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}
