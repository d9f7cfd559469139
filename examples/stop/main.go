// Command stop runs a long node, stops it from another goroutine
// (seed 002's stop()), shows that the thread kept its last checkpoint with
// status stopped, and resumes it to the end.
//
//	go run ./examples/stop
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/weftgraph/weft"
)

// Job is the workflow's state.
type Job struct {
	Fetched  bool
	Batches  int
	Finished bool
}

// started tells the stopper that the long node is running.
var started = make(chan struct{}, 1)

func build() (*weft.Workflow[Job], error) {
	g := weft.NewGraph[Job]("batch")
	g.AddNode("fetch", func(ctx context.Context, j Job) (Job, error) {
		j.Fetched = true
		return j, nil
	})
	attempt := 0
	g.AddNode("process", func(ctx context.Context, j Job) (Job, error) {
		attempt++
		if attempt == 1 {
			// The first attempt works until it is stopped.
			started <- struct{}{}
			<-ctx.Done()
			return j, ctx.Err()
		}
		j.Batches = 3
		return j, nil
	})
	g.AddNode("report", func(ctx context.Context, j Job) (Job, error) {
		j.Finished = true
		return j, nil
	})
	g.AddEdge(weft.Start, "fetch").AddEdge("fetch", "process").AddEdge("process", "report")
	return g.Compile()
}

func run(ctx context.Context, w io.Writer) error {
	wf, err := build()
	if err != nil {
		return err
	}
	go func() {
		<-started
		if err := wf.Stop(ctx, "job-1"); err != nil {
			log.Print(err)
		}
	}()
	res, err := wf.Run(ctx, "job-1", Job{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "run: %s with %+v\n", res.Status, res.State)
	snap, err := wf.State(ctx, "job-1")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "thread: %s, next %v\n", snap.Status, snap.Next)
	if err := wf.Stop(ctx, "job-1"); err != nil {
		fmt.Fprintln(w, "stop again:", err)
	}
	res, err = wf.Resume(ctx, "job-1")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "resume: %s with %+v\n", res.Status, res.State)
	return nil
}

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}
