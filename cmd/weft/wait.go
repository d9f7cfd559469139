package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
)

// The commands that ask a worker for something (answer, resume, stop and
// start of a workflow this command does not run) record the request in
// the store and then wait for its outcome, polling the thread's row: until
// the thread is neither ready nor running (it completed, failed, asked
// again, was stopped), or, for stop, until it no longer runs. --no-wait
// returns once the request is recorded; --timeout gives up waiting, as
// Ctrl-C does, with exit code 6: what was recorded stands either way.

// errGaveUp is returned when the command stopped waiting for the outcome
// of a recorded request (Ctrl-C or --timeout): exit code exitWaiting.
var errGaveUp = errors.New("stopped waiting")

// gaveUp is the error of a wait that stopped; it is errGaveUp.
type gaveUp struct {
	after time.Duration
	where string // where the thread was, what stands
}

func (g *gaveUp) Error() string { return fmt.Sprintf("stopped waiting after %s: %s", g.after, g.where) }

// Is makes a gaveUp errGaveUp for errors.Is.
func (g *gaveUp) Is(target error) bool { return target == errGaveUp }

// errThreadFailed is returned when the thread failed after the request
// was carried out (a node after the answer failed): exit code exitError.
var errThreadFailed = errors.New("the thread failed")

// waitFlags are the flags of a command that waits for an outcome.
type waitFlags struct {
	noWait  bool
	timeout time.Duration
}

// declare adds --no-wait and --timeout to fs; what names the request.
func (w *waitFlags) declare(fs *flag.FlagSet, what string) {
	fs.BoolVar(&w.noWait, "no-wait", false, "record "+what+" and return, without waiting for a worker to carry it out")
	fs.DurationVar(&w.timeout, "timeout", 0, "stop waiting for the outcome after this `duration` (exit code 6; what was recorded stands); 0 waits until Ctrl-C")
}

// The polling of await: it starts fast, for a worker woken by NOTIFY or
// polling on its own, and slows down for a long node.
const (
	awaitFirst = 20 * time.Millisecond
	awaitMax   = 500 * time.Millisecond
	// awaitHint is how long a thread may stay ready, claimed by nobody,
	// before the command says that no worker seems to have the workflow.
	awaitHint = 5 * time.Second
)

// settled reports whether a thread's row is where a request leaves it:
// neither ready for a worker nor running.
func settled(row *checkpoint.Thread) bool {
	return row.Status != weft.StatusReady && row.Status != weft.StatusRunning
}

// await waits until done(row) holds for thread's row and returns it. what
// names the request, for the messages ("the answer").
func await(c *cli, st checkpoint.Store, thread, what string, w waitFlags, done func(*checkpoint.Thread) bool) (*checkpoint.Thread, error) {
	ctx := c.ctx
	if w.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.timeout)
		defer cancel()
	}
	began, interval, hinted := time.Now(), awaitFirst, false
	var last *checkpoint.Thread
	for {
		row, err := st.Thread(ctx, thread)
		switch {
		case ctx.Err() != nil:
			status := weft.Status("unknown")
			if last != nil {
				status = last.Status
			}
			return last, &gaveUp{after: time.Since(began).Round(time.Millisecond),
				where: fmt.Sprintf("thread %s is %s and %s is recorded ('weft show %s' shows where it stands)",
					thread, status, what, shellQuote(thread)+storeFlag(c))}
		case err != nil:
			return nil, err
		case done(row):
			return row, nil
		}
		last = row
		if !hinted && !c.json && row.Status == weft.StatusReady && row.Owner == "" && time.Since(began) > awaitHint {
			hinted = true
			fmt.Fprintf(c.stderr, "No worker has picked thread %s up yet: one runs in a program that has workflow %s (package worker, or 'weft serve'/'weft demo' for the demo's). Waiting; Ctrl-C stops waiting, %s stays recorded.\n",
				thread, row.Workflow, what)
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
		interval = min(interval*3/2, awaitMax)
	}
}

// printOutcome prints where a request left thread (its row): the status,
// the error of a failed thread (then it returns errThreadFailed) and the
// questions it waits for. fields are added to the JSON output.
func printOutcome(c *cli, ib *inbox.Inbox, row *checkpoint.Thread, fields map[string]any) error {
	var items []inbox.Item
	if row.Status == weft.StatusInterrupted {
		page, err := ib.List(c.ctx, inbox.Query{Thread: row.ID, Limit: inbox.MaxLimit})
		if err != nil {
			return err
		}
		items = page.Items
	}
	if c.json {
		out := map[string]any{"thread": row.ID, "workflow": row.Workflow, "status": row.Status, "ran": false, "questions": []questionJSON{}}
		qs := []questionJSON{}
		for i := range items {
			qs = append(qs, itemOf(&items[i]))
		}
		out["questions"] = qs
		if row.Error != "" {
			out["error"] = row.Error
		}
		for k, v := range fields {
			out[k] = v
		}
		if err := c.printJSON(out); err != nil {
			return err
		}
	} else {
		switch row.Status {
		case weft.StatusInterrupted:
			fmt.Fprintf(c.stdout, "Thread %s is waiting for %d question(s).\n", row.ID, len(items))
			for i := range items {
				it := &items[i]
				fmt.Fprintf(c.stdout, "  %s  %s  %s\n    %s\n", it.ID, it.Node, compact(it.Value, 80), answerCommand(c, row.ID, it.ID))
			}
		case weft.StatusFailed:
			fmt.Fprintf(c.stdout, "Thread %s failed: %s\n", row.ID, row.Error)
		case weft.StatusRunning:
			fmt.Fprintf(c.stdout, "Thread %s is running (in %s).\n", row.ID, orDash(row.Owner))
		default:
			fmt.Fprintf(c.stdout, "Thread %s is %s.\n", row.ID, row.Status)
		}
	}
	if row.Status == weft.StatusFailed {
		return fmt.Errorf("thread %s: %w: %s", row.ID, errThreadFailed, row.Error)
	}
	return nil
}
