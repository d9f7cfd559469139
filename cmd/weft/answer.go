package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
	"github.com/weftgraph/weft/internal/demo"
)

// defaultAuthor is the author of answers without --as.
func defaultAuthor() string {
	for _, v := range []string{"WEFT_AUTHOR", "USER", "USERNAME"} {
		if s := os.Getenv(v); s != "" {
			return s
		}
	}
	return "cli"
}

var answerCmd = &command{
	name:    "answer",
	args:    "THREAD ID JSON",
	nargs:   [2]int{3, 3},
	summary: "answer a question",
	help: `Answer answers the question ID of THREAD with the JSON value (- reads it
from standard input). The answer is checked against the question's schema
(exit code 5 if it does not fit, and nothing is recorded) and recorded
exactly once, with --as as its author and "cli" as its channel: if someone
answered first, the command fails with exit code 4 and their answer stands.

For a thread of one of the demo workflows, the command then carries the
thread on, here, until it completes or asks again, and prints where it
stopped. For any other workflow it records the answer in the store and
nothing more: the thread carries on when its own program resumes it (a
Resume with no answers, or any answer through an inbox that has the
workflow; weft's Resume continues a thread whose questions were answered
while it was not running).

Quote the JSON for the shell; put -- before a value that starts with "-":

  weft answer post-1 3f9c0e1a2b4d '{"action":"approve"}'
  weft answer refund-large-1 9a0b1c2d3e4f '{"approve":false,"note":"ask the carrier"}' --as grace
  weft answer agent-1 5e6f7a8b9c0d -- -1`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var as string
		fs.StringVar(&as, "as", defaultAuthor(), "the `name` recorded as the answer's author; the default is $WEFT_AUTHOR, else $USER")
		fs.BoolVar(&c.verbose, "verbose", false, "log what the run does")
		return func(args []string) error { return runAnswer(c, args, as) }
	},
}

func runAnswer(c *cli, args []string, as string) error {
	tid, id, value := args[0], args[1], []byte(args[2])
	if args[2] == "-" {
		data, err := io.ReadAll(c.stdin)
		if err != nil {
			return err
		}
		value = data
	}
	if !json.Valid(value) {
		return fmt.Errorf("the answer is not JSON: %s (quote it for the shell: '{\"action\":\"approve\"}'): %w",
			compact(value, 80), weft.ErrInvalidAnswer)
	}
	ib, row, err := c.openThread(tid)
	if err != nil {
		return err
	}
	by := inbox.Author{Name: as, Channel: checkpoint.ChannelCLI}
	if _, ok := ib.Runner(row.Workflow); !ok {
		if err := ib.Record(c.ctx, tid, id, value, by); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(map[string]any{"thread": tid, "question": id, "recorded": true, "ran": false, "workflow": row.Workflow})
		}
		fmt.Fprintf(c.stdout, "Recorded the answer to %s as %s.\nWorkflow %s is not one this command runs: thread %s carries on when its program resumes it.\n",
			id, as, row.Workflow, tid)
		return nil
	}
	res, err := ib.Answer(c.ctx, tid, id, value, by)
	if err != nil {
		if !isRefusal(err) {
			if q, qerr := ib.Question(c.ctx, tid, id); qerr == nil && q.Status == checkpoint.InterruptAnswered &&
				q.Author == as && q.Channel == checkpoint.ChannelCLI {
				return fmt.Errorf("the answer was recorded, but the thread failed after it: %w", err)
			}
		}
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"thread": tid, "question": id, "recorded": true, "ran": true, "result": resultOf(res)})
	}
	fmt.Fprintf(c.stdout, "Answered %s as %s; %s.\n", id, as, statusLine(res))
	printQuestions(c, res.Thread, res.Interrupts)
	return nil
}

// isRefusal reports whether err refused an answer, so that nothing was
// recorded.
func isRefusal(err error) bool {
	for _, e := range []error{weft.ErrInvalidAnswer, weft.ErrAlreadyAnswered, weft.ErrUnknownInterrupt,
		weft.ErrNotFound, weft.ErrBusy, weft.ErrThreadCompleted, inbox.ErrUnknownWorkflow, weft.ErrGraphChanged} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func printQuestions(c *cli, thread string, qs []weft.Question) {
	for _, q := range qs {
		fmt.Fprintf(c.stdout, "  %s  %s  %s\n    %s\n", q.ID, q.Node, compact(q.Value, 80), answerCommand(c, thread, q.ID))
	}
}

// errRunningElsewhere: the thread runs in another process, which only that
// process (or its server) can stop.
var errRunningElsewhere = errors.New("the thread is running in another process")

var stopCmd = &command{
	name:    "stop",
	args:    "THREAD",
	nargs:   [2]int{1, 1},
	summary: "stop a thread and take its questions out of the inbox",
	help: `Stop stops a thread so that nothing more happens to it until someone
resumes it.

A thread that waits for answers (or has failed) is stopped here: its pending
questions are withdrawn (cancelled: they leave the inbox, and answering them
fails with exit code 4) and its status becomes "stopped", its state kept.
'weft resume THREAD' carries it on, and its nodes ask their questions again.
This works for the demo workflows; for a thread of another workflow, stop it
from its program (Workflow.UpdateState, or Stop while it runs).

A thread that is running right now runs in another process, which is the
only one that can stop it (weft runs a thread in one place at a time): the
command fails with exit code 4 and says which; stop it there, for a server
with POST /v1/threads/THREAD/stop. A thread that is already stopped is left
as it is (exit code 0); a completed one cannot be stopped (exit code 4).

  weft stop essay-1`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		return func(args []string) error { return runStop(c, args[0]) }
	},
}

func runStop(c *cli, id string) error {
	ib, row, err := c.openThread(id)
	if err != nil {
		return err
	}
	report := func(status weft.Status, withdrawn int, msg string) error {
		if c.json {
			return c.printJSON(map[string]any{"thread": id, "status": status, "withdrawn": withdrawn})
		}
		_, err := fmt.Fprintln(c.stdout, msg)
		return err
	}
	switch row.Status {
	case weft.StatusStopped:
		return report(row.Status, 0, fmt.Sprintf("Thread %s is already stopped; 'weft resume %s' carries it on.", id, id))
	case weft.StatusCompleted:
		return fmt.Errorf("thread %q has completed; there is nothing to stop: %w", id, weft.ErrThreadCompleted)
	case weft.StatusRunning:
		if row.LeaseUntil.After(time.Now()) {
			return fmt.Errorf("thread %q is running in another process (%s) until %s at least: stop it there (POST /v1/threads/%s/stop on its server): %w",
				id, orDash(row.Owner), row.LeaseUntil.Local().Format(time.DateTime), id, errRunningElsewhere)
		}
		// Its process is gone (the lease lapsed): stop it here.
	}
	r, ok := ib.Runner(row.Workflow)
	w, canWithdraw := r.(demo.Withdrawer)
	if !ok || !canWithdraw {
		return fmt.Errorf("thread %q belongs to workflow %q, which this command cannot stop: stop it from its program: %w",
			id, row.Workflow, inbox.ErrUnknownWorkflow)
	}
	page, err := ib.List(c.ctx, inbox.Query{Thread: id, Limit: inbox.MaxLimit})
	if err != nil {
		return err
	}
	if err := w.Withdraw(c.ctx, id); err != nil {
		return err
	}
	return report(weft.StatusStopped, len(page.Items),
		fmt.Sprintf("Stopped thread %s; withdrew %d question(s). 'weft resume %s' carries it on.", id, len(page.Items), id))
}

var resumeCmd = &command{
	name:    "resume",
	args:    "THREAD",
	nargs:   [2]int{1, 1},
	summary: "carry a stopped, failed or answered thread on (demo workflows)",
	help: `Resume carries a thread on from where it is: a stopped thread runs again
(its nodes ask their questions again), a failed one re-runs the superstep
that failed, and one whose questions were all answered (by 'weft answer' on
a workflow it could not run, say) continues. It runs here, until the thread
completes or pauses, and prints where it stopped. A thread that still waits
for answers stays as it is.

It works for the demo workflows; resume the threads of other workflows from
their programs.

  weft resume essay-1`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		fs.BoolVar(&c.verbose, "verbose", false, "log what the run does")
		return func(args []string) error { return runResume(c, args[0]) }
	},
}

func runResume(c *cli, id string) error {
	ib, row, err := c.openThread(id)
	if err != nil {
		return err
	}
	r, ok := ib.Runner(row.Workflow)
	if !ok {
		return fmt.Errorf("thread %q belongs to workflow %q, which this command cannot run: resume it from its program: %w",
			id, row.Workflow, inbox.ErrUnknownWorkflow)
	}
	res, err := r.Resume(c.ctx, id, weft.By(defaultAuthor(), checkpoint.ChannelCLI))
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(resultOf(res))
	}
	fmt.Fprintf(c.stdout, "Resumed; %s.\n", statusLine(res))
	printQuestions(c, res.Thread, res.Interrupts)
	return nil
}
