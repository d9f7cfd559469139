package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
)

var startCmd = &command{
	name:    "start",
	args:    "WORKFLOW THREAD [INPUT]",
	nargs:   [2]int{2, 3},
	summary: "start a thread of any workflow a worker serves, and wait for where it stops",
	help: `Start starts a run of THREAD with workflow WORKFLOW and INPUT, the JSON
of the workflow's state (- reads it from standard input; none is the zero
state), and waits until the thread completes, asks a question, fails or
stops, then prints where it stopped.

For one of the demo workflows (demo-approval, demo-refine, demo-refund,
demo-agent, demo-long) the thread runs here. For any other workflow the
run is recorded in the store, ready, and a worker that has the workflow
runs it (package worker in the program that has the workflow's code, or a
server that program runs): the command waits for it, and says so if no
worker has picked the thread up after a few seconds. The input is checked
against the workflow's state when the run starts: input that does not fit
fails the thread (exit code 1). A workflow of which the store has no thread
yet is refused unless --new (a misspelt name would wait forever).

With --no-wait the run is recorded and the command returns at once (the
worker of 'weft demo' or 'weft serve --demo' runs a demo thread); 'weft
events THREAD --follow' follows it. --timeout gives up waiting (exit code
6); the run goes on.

A thread that exists must have completed or been cancelled: the run is a
new turn of it (exit code 4 otherwise).

  weft start demo-approval post-7 '{"Title":"Release notes"}'
  weft start demo-long long-2 '{"Seconds":60}' --no-wait
  weft start refunds refund-9 '{"Customer":"ann","Amount":20}' --timeout 30s`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var w waitFlags
		var isNew bool
		w.declare(fs, "the run")
		fs.BoolVar(&isNew, "new", false, "start a thread of a workflow that has no thread in the store yet")
		return func(args []string) error { return runStart(c, args, w, isNew) }
	},
}

func runStart(c *cli, args []string, w waitFlags, isNew bool) error {
	workflow, thread := args[0], args[1]
	input := json.RawMessage("null")
	if len(args) == 3 {
		input = json.RawMessage(args[2])
		if args[2] == "-" {
			data, err := io.ReadAll(c.stdin)
			if err != nil {
				return err
			}
			input = data
		}
		if !json.Valid(input) {
			return fmt.Errorf("the input is not JSON: %s (quote it for the shell: '{\"Title\":\"...\"}'): %w",
				compact(input, 80), weft.ErrInvalidInput)
		}
	}
	ib, err := c.openInbox(false)
	if err != nil {
		return err
	}
	r, ok := ib.Runner(workflow)
	if !ok {
		return startElsewhere(c, ib, workflow, thread, input, w, isNew)
	}
	if w.noWait {
		if err := r.Submit(c.ctx, thread, input); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(map[string]any{"thread": thread, "workflow": workflow, "status": weft.StatusReady, "ran": false})
		}
		_, err := fmt.Fprintf(c.stdout, "Submitted thread %s of %s: it is ready, and the worker of 'weft demo' (or 'weft serve --demo') runs it.\nFollow it with: weft events %s --follow%s\n",
			thread, workflow, shellQuote(thread), storeFlag(c))
		return err
	}
	// At Ctrl-C the run is handed back at its last checkpoint: the thread
	// is ready, for a worker, not stopped.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(c.ctx))
	defer cancel(nil)
	stop := context.AfterFunc(c.ctx, func() { cancel(weft.ErrHandedBack) })
	defer stop()
	if w.timeout > 0 { // as Ctrl-C, after the timeout
		var cancelT context.CancelFunc
		ctx, cancelT = context.WithTimeoutCause(ctx, w.timeout, weft.ErrHandedBack)
		defer cancelT()
	}
	res, err := r.Run(ctx, thread, input)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(resultOf(res))
	}
	fmt.Fprintf(c.stdout, "Started; %s.\n", statusLine(res))
	printQuestions(c, res.Thread, res.Interrupts)
	return nil
}

// startElsewhere records a run of a workflow this command does not have,
// for a worker that has it, and waits for its outcome unless --no-wait.
func startElsewhere(c *cli, ib *inbox.Inbox, workflow, thread string, input json.RawMessage, w waitFlags, isNew bool) error {
	st := ib.Store()
	if !isNew {
		page, err := st.Threads(c.ctx, &checkpoint.ThreadQuery{Workflow: workflow, Limit: 1})
		if err != nil {
			return err
		}
		if len(page.Threads) == 0 {
			return fmt.Errorf("the store has no thread of workflow %q: if the name is right and a worker serves it, start it with --new: %w",
				workflow, inbox.ErrUnknownWorkflow)
		}
	}
	if err := weft.SubmitRun(c.ctx, st, workflow, thread, input); err != nil {
		return err
	}
	if w.noWait {
		if c.json {
			return c.printJSON(map[string]any{"thread": thread, "workflow": workflow, "status": weft.StatusReady, "ran": false})
		}
		_, err := fmt.Fprintf(c.stdout, "Submitted thread %s of %s: it is ready, and a worker that has workflow %s runs it.\nFollow it with: weft events %s --follow%s\n",
			thread, workflow, workflow, shellQuote(thread), storeFlag(c))
		return err
	}
	row, err := await(c, st, thread, "the run", w, settled)
	if err != nil {
		return err
	}
	if !c.json {
		fmt.Fprintf(c.stdout, "Started thread %s of %s; a worker ran it.\n", thread, workflow)
	}
	return printOutcome(c, ib, row, map[string]any{"submitted": true})
}
