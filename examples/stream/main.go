// Command stream prints a run's events as they happen: nodes starting and
// finishing, a model's tokens emitted from inside a node (weft.Emit), each
// saved superstep, the pause with its question, and after the answer the
// rest of the run.
//
//	go run ./examples/stream
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

// Reply is the workflow's state.
type Reply struct {
	Prompt string
	Text   string
	Sent   bool
}

func build() (*weft.Workflow[Reply], error) {
	g := weft.NewGraph[Reply]("reply")
	g.AddNode("generate", func(ctx context.Context, r Reply) (Reply, error) {
		// A stand-in for a model that streams tokens.
		for _, tok := range strings.SplitAfter("Thanks for writing in!", " ") {
			if err := weft.Emit(ctx, tok); err != nil {
				return r, err
			}
			r.Text += tok
		}
		return r, nil
	})
	g.AddNode("confirm", func(ctx context.Context, r Reply) (Reply, error) {
		ok, err := weft.Interrupt[bool](ctx, r.Text, weft.Reason("send this reply?"))
		if err != nil {
			return r, err
		}
		r.Sent = ok
		return r, nil
	})
	g.AddEdge(weft.Start, "generate").AddEdge("generate", "confirm")
	return g.Compile()
}

func show(w io.Writer, e weft.Event) {
	switch e.Type {
	case weft.EventCustom:
		fmt.Fprintf(w, "%3d %s %s %q\n", e.Seq, e.Type, e.Node, e.Data)
	case weft.EventInterrupted:
		fmt.Fprintf(w, "%3d %s: %s %s\n", e.Seq, e.Type, e.Questions[0].Reason, e.Questions[0].Value)
	case weft.EventNodeFinished:
		fmt.Fprintf(w, "%3d %s %s -> %+v\n", e.Seq, e.Type, e.Node, e.Update)
	default:
		fmt.Fprintf(w, "%3d %s %s\n", e.Seq, e.Type, e.Node)
	}
}

func run(ctx context.Context, w io.Writer) error {
	wf, err := build()
	if err != nil {
		return err
	}
	var question string
	for e, err := range wf.Stream(ctx, "reply-1", Reply{Prompt: "hello"}) {
		if err != nil {
			return err
		}
		show(w, e)
		if e.Type == weft.EventInterrupted {
			question = e.Questions[0].ID
		}
	}
	fmt.Fprintln(w, "-- answered")
	for e, err := range wf.StreamResume(ctx, "reply-1", weft.Answer(question, true)) {
		if err != nil {
			return err
		}
		show(w, e)
	}
	return nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}
