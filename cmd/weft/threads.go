package main

import (
	"flag"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/weftgraph/weft"
	"github.com/weftgraph/weft/checkpoint"
)

// timeLayout is how text output shows a point in time: local time, with
// its offset from UTC, so that a time copied from one machine reads right
// on another.
const timeLayout = "2006-01-02 15:04:05 -07:00"

// maxThreads caps --limit of threads.
const maxThreads = 1000

// threadStatuses are the statuses --status takes.
var threadStatuses = []weft.Status{
	weft.StatusRunning, weft.StatusReady, weft.StatusInterrupted, weft.StatusStopped,
	weft.StatusCompleted, weft.StatusFailed, weft.StatusCancelled,
}

var threadsCmd = &command{
	name:    "threads",
	nargs:   [2]int{0, 0},
	summary: "list the threads in the store",
	help: `Threads lists the threads in the store, ordered by ID: each with its
workflow, its status, the process that runs it (while it runs) and when it
last changed, in local time with the offset from UTC. It works for threads
of any workflow.

--status keeps the threads in one status (running, ready, interrupted,
stopped, completed, failed, cancelled), --workflow those of one workflow. A
page holds --limit threads (at most 1000); the next one is read with --after
CURSOR, the cursor printed under the page (or "next" with --json).

  weft threads --status interrupted
  weft threads --workflow demo-refund --json`,
	setup: func(c *cli, fs *flag.FlagSet) func([]string) error {
		var q checkpoint.ThreadQuery
		var status string
		fs.StringVar(&status, "status", "", "only threads in this `status` (running, ready, interrupted, stopped, completed, failed, cancelled)")
		fs.StringVar(&q.Workflow, "workflow", "", "only threads of this workflow")
		fs.IntVar(&q.Limit, "limit", 100, "threads per page, at most 1000")
		fs.StringVar(&q.After, "after", "", "the cursor of the page to read, printed under the previous one")
		return func([]string) error {
			q.Status = weft.Status(status)
			return runThreads(c, &q)
		}
	},
}

// threadJSON is a thread in the output of threads.
type threadJSON struct {
	ID            string      `json:"id"`
	Workflow      string      `json:"workflow"`
	Status        weft.Status `json:"status"`
	Owner         string      `json:"owner,omitempty"`
	LeaseUntil    time.Time   `json:"lease_until,omitzero"`
	StopRequested time.Time   `json:"stop_requested,omitzero"`
	Error         string      `json:"error,omitempty"`
	Version       int64       `json:"version"`
	Created       time.Time   `json:"created"`
	Updated       time.Time   `json:"updated"`
}

func runThreads(c *cli, q *checkpoint.ThreadQuery) error {
	if q.Status != "" && !slices.Contains(threadStatuses, q.Status) {
		return usagef("--status %q: want one of %v", q.Status, threadStatuses)
	}
	if q.Limit < 1 || q.Limit > maxThreads {
		return usagef("--limit %d: want 1 to %d", q.Limit, maxThreads)
	}
	store, err := c.openStore(false)
	if err != nil {
		return err
	}
	page, err := store.Threads(c.ctx, q)
	if err != nil {
		return err
	}
	if c.json {
		out := struct {
			Threads []threadJSON `json:"threads"`
			Next    string       `json:"next"`
		}{Threads: []threadJSON{}, Next: page.Next}
		for _, t := range page.Threads {
			out.Threads = append(out.Threads, threadJSON{ID: t.ID, Workflow: t.Workflow, Status: t.Status,
				Owner: t.Owner, LeaseUntil: t.LeaseUntil, StopRequested: t.StopRequested, Error: t.Error,
				Version: t.Version, Created: t.CreatedAt, Updated: t.UpdatedAt})
		}
		return c.printJSON(out)
	}
	if len(page.Threads) == 0 {
		_, err := fmt.Fprintln(c.stdout, "No threads match.")
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "THREAD\tWORKFLOW\tSTATUS\tOWNER\tUPDATED")
	for _, t := range page.Threads {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Workflow, t.Status, orDash(t.Owner), t.UpdatedAt.Local().Format(timeLayout))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != "" {
		fmt.Fprintf(c.stdout, "\nMore: weft threads --after %s\n", shellQuote(page.Next))
	}
	return nil
}
