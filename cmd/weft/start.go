package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/inbox"
)

var startCmd = &command{
	name:    "start",
	args:    "WORKFLOW THREAD [INPUT]",
	nargs:   [2]int{2, 3},
	summary: "start a thread of a demo workflow, for a worker or (--wait) here",
	help: `Start starts a run of THREAD with workflow WORKFLOW and INPUT, the JSON
of the workflow's state (- reads it from standard input; none is the zero
state). It records the run and returns: the thread is ready, and the worker
of 'weft demo' (or 'weft serve --demo') runs it; 'weft events THREAD
--follow' follows it. With --wait it runs the thread here instead, until it
completes or asks a question, and prints where it stopped.

A thread that exists must have completed or been cancelled: the run is a
new turn of it (exit code 4 otherwise).

This command has only the demo workflows (demo-approval, demo-refine,
demo-refund, demo-agent, demo-long): the code of your workflows lives in
your program, and only it can start their threads, with Workflow.Run or
Submit, or through the HTTP API of a server it runs
(POST /v1/workflows/WORKFLOW/threads; 'weft serve' has no workflows of
yours either). For any other workflow start refuses, and records nothing.

  weft start demo-approval post-7 '{"Title":"Release notes"}'
  weft start demo-long long-2 '{"Seconds":60}'
  weft start demo-refund refund-9 '{"Customer":"ann","Amount":20}' --wait`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var wait bool
		fs.BoolVar(&wait, "wait", false, "run the thread here, until it completes or asks, instead of leaving it to a worker")
		return func(args []string) error { return runStart(c, args, wait) }
	},
}

func runStart(c *cli, args []string, wait bool) error {
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
		return fmt.Errorf("workflow %q is not one this command has (it has %s): %w",
			workflow, strings.Join(ib.Workflows(), ", "), inbox.ErrUnknownWorkflow)
	}
	if !wait {
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
