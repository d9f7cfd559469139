package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
	"github.com/weftgraph/weft/inbox"
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
	args:    "THREAD ID JSON  |  THREAD --key KEY JSON",
	nargs:   [2]int{2, 3},
	summary: "answer a question, by its ID or by its key or node",
	help: `Answer answers the question ID of THREAD with the JSON value (- reads it
from standard input). With --key KEY instead of an ID it answers the one
pending question of THREAD whose key (weft.Key) or node path is KEY; if
none or several match, it answers nothing and lists the questions that wait,
with their IDs, keys and nodes (exit code 3 for none, 2 for several: answer
one of them by ID). The answer is checked against the question's schema
(exit code 5 if it does not fit, and nothing is recorded) and recorded
exactly once, with --as as its author and "cli" as its channel: if someone
answered first, the command fails with exit code 4 and their answer stands.

The command then waits until the thread has carried on with the answer,
and prints where it stopped (its next questions, or that it completed,
failed, with exit code 1, or stopped). For a thread of one of the demo
workflows it carries the thread on here. For any other workflow it records
the answer and makes the thread ready in one step, and a worker that has
the workflow (package worker, in the program that has its code) carries
it on; the command waits for that, and says so if no worker has picked
the thread up after a few seconds. --no-wait returns once the answer is
recorded (the program's next Resume also carries the thread on);
--timeout, like Ctrl-C, stops waiting (exit code 6) and the answer stands.

Quote the JSON for the shell; put -- before a value that starts with "-":

  weft answer post-1 3f9c0e1a2b4d '{"action":"approve"}'
  weft answer refund-large-1 9a0b1c2d3e4f '{"approve":false,"note":"ask the carrier"}' --as grace
  weft answer agent-1 5e6f7a8b9c0d -- -1
  weft answer post-1 --key review '{"action":"approve"}'`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var as, key string
		var w waitFlags
		fs.StringVar(&as, "as", defaultAuthor(), "the `name` recorded as the answer's author; the default is $WEFT_AUTHOR, else $USER")
		fs.StringVar(&key, "key", "", "answer the one pending question with this `key` (weft.Key) or node path, instead of giving its ID")
		w.declare(fs, "the answer")
		return func(args []string) error {
			switch {
			case key == "" && len(args) != 3:
				return usagef("want THREAD ID JSON (or THREAD --key KEY JSON)")
			case key != "" && len(args) != 2:
				return usagef("with --key, want THREAD JSON: the key stands for the ID")
			}
			return runAnswer(c, args, as, key, w)
		}
	},
}

// questionByKey returns the ID of the one pending question of thread whose
// key or node path is key. None is an error wrapping ErrUnknownInterrupt,
// several one wrapping ErrAmbiguousAnswer; both list the questions that
// wait.
func questionByKey(c *cli, ib *inbox.Inbox, thread, key string) (string, error) {
	page, err := ib.List(c.ctx, inbox.Query{Thread: thread, Limit: inbox.MaxLimit})
	if err != nil {
		return "", err
	}
	var match []inbox.Item
	for _, it := range page.Items {
		if it.Key == key || it.Node == key {
			match = append(match, it)
		}
	}
	describe := func(items []inbox.Item) string {
		var parts []string
		for _, it := range items {
			d := it.ID + " (node " + it.Node
			if it.Task != "" && it.Task != it.Node {
				d += ", task " + it.Task
			}
			if it.Key != "" {
				d += ", key " + it.Key
			}
			parts = append(parts, d+")")
		}
		return strings.Join(parts, ", ")
	}
	switch {
	case len(match) == 1:
		return match[0].ID, nil
	case len(match) > 1:
		return "", fmt.Errorf("--key %q matches %d questions of thread %s: %s; answer one by ID: %w",
			key, len(match), thread, describe(match), weft.ErrAmbiguousAnswer)
	case len(page.Items) == 0:
		return "", fmt.Errorf("--key %q: thread %s waits for no question: %w", key, thread, weft.ErrUnknownInterrupt)
	}
	return "", fmt.Errorf("--key %q matches no question of thread %s; it waits for %s: %w",
		key, thread, describe(page.Items), weft.ErrUnknownInterrupt)
}

func runAnswer(c *cli, args []string, as, key string, w waitFlags) error {
	tid, raw := args[0], args[len(args)-1]
	id, value := "", []byte(raw)
	if key == "" {
		id = args[1]
	}
	if raw == "-" {
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
	if key != "" {
		if id, err = questionByKey(c, ib, tid, key); err != nil {
			return err
		}
	}
	by := inbox.Author{Name: as, Channel: checkpoint.ChannelCLI}
	if _, ok := ib.Runner(row.Workflow); !ok {
		if err := ib.Record(c.ctx, tid, id, value, by); err != nil {
			return err
		}
		if !w.noWait {
			after, err := await(c, ib.Store(), tid, "the answer", w, settled)
			if err != nil {
				return err
			}
			if !c.json {
				fmt.Fprintf(c.stdout, "Answered %s as %s; a worker carried thread %s on.\n", id, as, tid)
			}
			return printOutcome(c, ib, after, map[string]any{"question": id, "recorded": true})
		}
		status := weft.StatusReady
		if after, err := ib.Store().Thread(c.ctx, tid); err == nil {
			status = after.Status
		}
		if c.json {
			return c.printJSON(map[string]any{"thread": tid, "question": id, "recorded": true, "ran": false,
				"workflow": row.Workflow, "status": status})
		}
		fmt.Fprintf(c.stdout, "Recorded the answer to %s as %s.\n", id, as)
		switch status {
		case weft.StatusReady:
			fmt.Fprintf(c.stdout, "Thread %s is ready for a worker: one that has workflow %s carries it on (or its program's next Resume).\n", tid, row.Workflow)
		case weft.StatusRunning:
			fmt.Fprintf(c.stdout, "Thread %s is running (in %s), which carries on with the answer.\n", tid, orDash(row.Owner))
		default:
			fmt.Fprintf(c.stdout, "Thread %s is %s; workflow %s is not one this command runs.\n", tid, status, row.Workflow)
		}
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

var stopCmd = &command{
	name:    "stop",
	args:    "THREAD",
	nargs:   [2]int{1, 1},
	summary: "stop a thread, or take a waiting one out of the inbox",
	help: `Stop stops a thread of any workflow, through the store, as the
workflow's own Stop would:

  running            the process that runs it (a worker, a server, your
                     program) is asked to stop it, durably: it stops at its
                     next heartbeat, at its last checkpoint, and the thread
                     becomes "stopped". The command waits for that, unless
                     --no-wait (--timeout: exit code 6, the request stands).
  ready              (answered or submitted, not picked up yet) it becomes
                     "stopped" at once.
  waiting            its pending questions are withdrawn (they leave the
                     inbox; answering them fails with exit code 4), with
                     --as as who did it, and the thread is cancelled: it
                     has ended, and its program's Run starts a new turn.

'weft resume THREAD' carries a stopped thread on. A thread that is already
stopped or cancelled is left as it is (exit code 0); a failed or completed
one cannot be stopped (exit code 4: cancel a failed one with 'weft cancel').
A server stops threads with POST /v1/threads/THREAD/stop and cancels them
with POST /v1/threads/THREAD/cancel.

  weft stop essay-1`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var as string
		var w waitFlags
		fs.StringVar(&as, "as", defaultAuthor(), "the `name` recorded as who withdrew the questions; the default is $WEFT_AUTHOR, else $USER")
		w.declare(fs, "the stop request")
		return func(args []string) error { return runStop(c, args[0], as, w) }
	},
}

func runStop(c *cli, id, as string, w waitFlags) error {
	ib, row, err := c.openThread(id)
	if err != nil {
		return err
	}
	report := func(row *checkpoint.Thread, withdrawn int, msg string) error {
		if c.json {
			return c.printJSON(map[string]any{"thread": id, "status": row.Status, "withdrawn": withdrawn,
				"stop_requested": !row.StopRequested.IsZero()})
		}
		_, err := fmt.Fprintln(c.stdout, msg)
		return err
	}
	switch row.Status {
	case weft.StatusStopped:
		return report(row, 0, fmt.Sprintf("Thread %s is already stopped; 'weft resume %s' carries it on.", id, id))
	case weft.StatusCancelled:
		return report(row, 0, fmt.Sprintf("Thread %s is already cancelled; nothing waits in the inbox for it.", id))
	case weft.StatusCompleted:
		return fmt.Errorf("thread %q has completed; there is nothing to stop: %w", id, weft.ErrThreadCompleted)
	case weft.StatusFailed:
		return fmt.Errorf("thread %q has failed (%s); there is nothing to stop: 'weft resume %s' runs it again, 'weft cancel %s' ends it: %w",
			id, row.Error, id, id, weft.ErrNotRunning)
	}
	page, err := ib.List(c.ctx, inbox.Query{Thread: id, Limit: inbox.MaxLimit})
	if err != nil {
		return err
	}
	after, err := ib.Stop(c.ctx, id, inbox.Author{Name: as, Channel: checkpoint.ChannelCLI})
	if err != nil {
		return err
	}
	switch after.Status {
	case weft.StatusRunning:
		if !w.noWait {
			if !c.json {
				fmt.Fprintf(c.stderr, "Asked %s, which runs thread %s, to stop it; waiting for it to stop at its next heartbeat.\n", orDash(after.Owner), id)
			}
			row, err := await(c, ib.Store(), id, "the stop request", w, func(r *checkpoint.Thread) bool { return r.Status != weft.StatusRunning })
			if err != nil {
				return err
			}
			return printOutcome(c, ib, row, map[string]any{"withdrawn": 0, "stop_requested": true})
		}
		if !after.LeaseUntil.After(time.Now()) {
			return report(after, 0, fmt.Sprintf("Asked thread %s to stop. Its owner %s no longer renews its claim (it died?): the worker that takes it over stops it at once.",
				id, orDash(after.Owner)))
		}
		return report(after, 0, fmt.Sprintf("Asked %s, which runs thread %s, to stop it: it stops at its next heartbeat, at its last checkpoint.\n'weft show %s' shows when it has; 'weft resume %s' then carries it on.",
			orDash(after.Owner), id, id, id))
	case weft.StatusCancelled:
		return report(after, len(page.Items), fmt.Sprintf("Withdrew %d question(s) of thread %s and cancelled it.", len(page.Items), id))
	}
	return report(after, 0, fmt.Sprintf("Stopped thread %s before it ran on; 'weft resume %s' carries it on.", id, id))
}

var cancelCmd = &command{
	name:    "cancel",
	args:    "THREAD",
	nargs:   [2]int{1, 1},
	summary: "end a waiting, stopped or failed thread, withdrawing its questions",
	help: `Cancel ends a thread of any workflow that waits (for answers, or ready,
stopped or failed), through the store, as the workflow's own Cancel would:
its pending questions are withdrawn, with --as as who did it and --reason as
why (both in 'weft history'), and its status becomes "cancelled". It keeps
its history; its program's Run starts a new turn on it.

A running thread cannot be cancelled (exit code 4): 'weft stop' it first.
A completed or cancelled one has ended (exit code 4).

  weft cancel refund-large-1 --reason "customer withdrew the request"`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var as, reason string
		fs.StringVar(&as, "as", defaultAuthor(), "the `name` recorded as who cancelled; the default is $WEFT_AUTHOR, else $USER")
		fs.StringVar(&reason, "reason", "cancelled from the command line", "why, recorded on each withdrawn question")
		return func(args []string) error { return runCancel(c, args[0], as, reason) }
	},
}

func runCancel(c *cli, id, as, reason string) error {
	ib, _, err := c.openThread(id)
	if err != nil {
		return err
	}
	page, err := ib.List(c.ctx, inbox.Query{Thread: id, Limit: inbox.MaxLimit})
	if err != nil {
		return err
	}
	after, err := ib.Cancel(c.ctx, id, reason, inbox.Author{Name: as, Channel: checkpoint.ChannelCLI})
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(map[string]any{"thread": id, "status": after.Status, "withdrawn": len(page.Items)})
	}
	_, err = fmt.Fprintf(c.stdout, "Cancelled thread %s; withdrew %d question(s).\n", id, len(page.Items))
	return err
}

var resumeCmd = &command{
	name:    "resume",
	args:    "THREAD",
	nargs:   [2]int{1, 1},
	summary: "carry a stopped, failed or answered thread on",
	help: `Resume carries a thread on from where it is: a stopped thread runs again,
a failed one re-runs the superstep that failed, and one whose questions were
all answered continues.

For a thread of one of the demo workflows it runs here, until the thread
completes or pauses, and prints where it stopped (with --ready, it is left
ready for the worker of 'weft demo' instead). For any other workflow it
makes the thread ready in the store, and a worker that has the workflow
(package worker, in your program) carries it on: the command waits until
it has, and prints where the thread stopped, unless --no-wait (--timeout,
like Ctrl-C, stops waiting with exit code 6; the thread stays ready). A
thread that still waits for answers stays as it is; a running one is busy
(exit code 4), a completed or cancelled one has ended (exit code 4).

  weft resume essay-1`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var w waitFlags
		fs.BoolVar(&c.queue, "ready", false, "make the thread ready for a worker even if this command could run it")
		w.declare(fs, "the resume")
		return func(args []string) error { return runResume(c, args[0], w) }
	},
}

func runResume(c *cli, id string, w waitFlags) error {
	ib, row, err := c.openThread(id)
	if err != nil {
		return err
	}
	_, runnable := ib.Runner(row.Workflow)
	runnable = runnable && !c.queue
	res, err := ib.Resume(c.ctx, id)
	if err != nil {
		return err
	}
	if !runnable && res.Status == weft.StatusReady && !w.noWait {
		row, err := await(c, ib.Store(), id, "the resume", w, settled)
		if err != nil {
			return err
		}
		if !c.json {
			fmt.Fprintf(c.stdout, "Resumed; a worker carried thread %s on.\n", id)
		}
		return printOutcome(c, ib, row, nil)
	}
	if c.json {
		return c.printJSON(resultOf(res))
	}
	switch {
	case runnable:
		fmt.Fprintf(c.stdout, "Resumed; %s.\n", statusLine(res))
		printQuestions(c, res.Thread, res.Interrupts)
	case res.Status == weft.StatusReady:
		fmt.Fprintf(c.stdout, "Thread %s is ready: a worker that has workflow %s carries it on (or its program's next Resume).\n", id, row.Workflow)
	default:
		fmt.Fprintf(c.stdout, "Thread %s is %s; nothing to resume ('weft show %s' lists what it waits for).\n", id, res.Status, id)
	}
	return nil
}
